"""A new city's year set up from nothing, in the portal only, at desktop width and at 375 px.

The platform operator opens 深圳市 with its first city admin; she picks her own password, adds a
district and a school, builds the year's rule in the builder, sets up the period and creates a
provider. No page scrolls sideways at 375 px (conftest.Journey).
"""

import pytest
from playwright.sync_api import expect

from courses.models import Provider, TrainingPeriod
from credits.models import RuleSet
from portal.models import Role, RoleAssignment, Unit
from tests.factories.credits import preloaded
from tests.factories.portal import UserFactory, id_number

ADMIN_PASSWORD, OWN_PASSWORD = "Shenzhen-first-2026", "Futian-own-2026!"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("journey", ["desktop", "phone"], indirect=True)
def test_a_new_citys_year_is_set_up_from_nothing_in_the_portal(journey):
    preloaded()  # the data migration's topics and kinds (a transactional test may have flushed them)
    operator = UserFactory(is_operator=True, name="平台运营")
    admin_number = id_number()

    # The operator opens the city and names its first admin.
    page = journey.login(operator.id_number, "pw-123456")
    journey.nav(page, "城市")
    page.get_by_label("城市代码").fill("440300")
    page.get_by_label("城市名称").fill("深圳市")
    page.get_by_label("首位市级管理员身份证号").fill(admin_number)
    page.get_by_label("管理员姓名").fill("邓敏")
    page.get_by_label("初始密码").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="建立城市").click()
    expect(page.locator(".alert-success")).to_contain_text("已建立深圳市")
    journey.check(page, "city-year-1-operator-city")
    city = Unit.objects.get(code="440300")

    # The admin logs in, is asked for a password of her own, and adds a district and a school.
    page = journey.login(admin_number, ADMIN_PASSWORD)
    page.locator("input[name='old_password']").fill(ADMIN_PASSWORD)
    page.locator("input[name='new_password1']").fill(OWN_PASSWORD)
    page.locator("input[name='new_password2']").fill(OWN_PASSWORD)
    page.locator("input[name='new_password2']").press("Enter")
    page.wait_for_load_state()
    journey.nav(page, "年度设置")
    journey.check(page, "city-year-2-setup-hub")
    journey.setup(page, "portal:unit_tree")
    for kind, parent, code, name in (
        ("district", "440300", "440304", "福田区"),
        ("school", "440304", "44030401", "福田中学"),
    ):
        page.locator("summary", has_text="新增区（县）或学校").click()
        page.locator("[name='unit-parent']").select_option(str(Unit.objects.get(code=parent).pk))
        page.locator("[name='unit-kind']").select_option(kind)
        page.locator("[name='unit-code']").fill(code)
        page.locator("[name='unit-name']").fill(name)
        page.get_by_role("button", name="新增单位").click()
        expect(page.locator(".alert-success")).to_contain_text(f"已新增单位“{name}”")
    journey.check(page, "city-year-3-units")

    # The year's rule, built row by row: the sentence follows.
    journey.setup(page, "credits:rule_list")
    page.get_by_role("link", name="新建规则").click()
    page.locator("#id_year").fill("2027")
    page.locator("#id_name").fill("深圳市2027年度学时要求")
    page.locator("select[name='rows-0-measure']").select_option(label="总学时")
    page.locator("input[name='rows-0-hours']").fill("72")
    page.locator("select[name='rows-1-measure']").select_option(label="公需科目")
    page.locator("input[name='rows-1-hours']").fill("24")
    expect(page.locator("#rule-sentence")).to_have_text(
        "以下要求须全部达到：总学时不少于 72 学时；公需科目不少于 24 学时。"
    )
    journey.check(page, "city-year-4-rule-builder")
    page.get_by_role("button", name="保存规则").click()
    page.wait_for_url(f"{journey.base}/credits/setup/rules/")

    # The period, with the rule just built.
    journey.setup(page, "courses:period_list")
    page.get_by_role("link", name="新建培训周期").click()
    form = page.locator("#period-form")
    form.locator("[name='year']").fill("2027")
    form.locator("[name='code']").fill("2701")
    form.locator("[name='name']").fill("深圳市2027年度继续教育")
    form.locator("[name='rule_set']").select_option(str(RuleSet.objects.get(year=2027, city__code="440300").pk))
    for field, value in (
        ("selection_opens_at", "2027-03-01T09:00"),
        ("selection_closes_at", "2027-03-20T00:00"),
        ("late_opens_at", "2027-03-25T09:00"),
        ("late_closes_at", "2027-03-30T00:00"),
        ("training_starts_on", "2027-04-01"),
        ("training_ends_on", "2027-11-30"),
    ):
        form.locator(f"[name='{field}']").fill(value)
    page.get_by_role("button", name="预览教师看到的安排").click()
    page.wait_for_load_state()
    journey.check(page, "city-year-5-period-preview")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()

    # A provider that serves the city.
    journey.setup(page, "courses:provider_list")
    page.locator("summary", has_text="新建机构").click()
    page.locator("[name='new-code']").fill("SZOU")
    page.locator("[name='new-name']").fill("深圳开放大学")
    page.get_by_role("button", name="新建", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("已新建施教机构“深圳开放大学”")
    journey.check(page, "city-year-6-provider")

    rule_set = RuleSet.objects.get(city=city, year=2027)
    assert rule_set.tree == {
        "all_of": [{"min_total": {"hours": 72}}, {"min_hours": {"category": "public", "hours": 24}}]
    }
    assert list(TrainingPeriod.objects.filter(city=city).values_list("code", "rule_set")) == [("2701", rule_set.pk)]
    assert list(Provider.objects.filter(cities=city).values_list("code", flat=True)) == ["SZOU"]
    assert list(Unit.objects.filter(path__startswith=city.path).order_by("path").values_list("name", flat=True)) == [
        "深圳市",
        "福田区",
        "福田中学",
    ]
    assert RoleAssignment.objects.filter(unit=city, role=Role.CITY_ADMIN).count() == 1

"""A new city's year set up from nothing, in the portal only, at desktop width and at 375 px.

The platform operator opens 深圳市 with its first city admin; she picks her own password, adds a
district and a school, builds the year's rule in the builder, sets up the period and creates a
provider; a programme with its chain and quota table; the provider's course, published from the city's
review queue. No page scrolls sideways at 375 px (conftest.Journey).
"""

import pytest
from playwright.sync_api import expect

from courses import services
from courses.models import Course, CourseStatus, Provider, TrainingPeriod
from credits.models import RuleSet
from enrollment.models import Programme
from portal.models import Role, RoleAssignment, Unit, User
from tests.browser.conftest import Journey
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
    expect(page.locator(".alert-success")).to_contain_text("培训周期“深圳市2027年度继续教育”已保存。")

    # Who pays which category, shown on the period's preview.
    page.get_by_role("link", name="培训费用承担").click()
    page.get_by_label("公需科目").select_option("city")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#fee-payers")).to_have_text(
        "培训费用：公需科目由市级财政承担；专业科目由任职单位（学校）承担；选修科目由任职单位（学校）承担。"
    )
    journey.check(page, "city-year-5b-fee-payers")

    # A provider that serves the city.
    journey.setup(page, "courses:provider_list")
    page.locator("summary", has_text="新建机构").click()
    page.locator("[name='new-code']").fill("SZOU")
    page.locator("[name='new-name']").fill("深圳开放大学")
    page.get_by_role("button", name="新建", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("已新建施教机构“深圳开放大学”")
    journey.check(page, "city-year-6-provider")

    # A programme with its chain of levels, deadlines and the quota table typed on one page.
    period = TrainingPeriod.objects.get(city=city, code="2701")
    journey.setup(page, "enrollment:setup_programme_list")
    page.get_by_role("link", name="新建项目").click()
    form = page.locator("#programme-form")
    form.locator("[name='period']").select_option(str(period.pk))
    form.locator("[name='title']").fill("深圳市骨干教师高级研修")
    form.locator("[name='total_seats']").fill("10")
    form.locator("[name='registration_opens_at']").fill("2027-03-01T09:00")
    form.locator("[name='registration_closes_at']").fill("2027-03-05T23:59")
    for i, deadline in enumerate(("2027-03-05T23:59", "2027-03-10T23:59", "2027-03-15T23:59")):
        form.locator(f"[name='levels-{i}-deadline']").fill(deadline)
    form.get_by_label("福田区").fill("10")
    page.get_by_role("button", name="保存项目").click()
    expect(page.locator(".alert-success")).to_contain_text("项目“深圳市骨干教师高级研修”已保存（名额变动 1 个区）。")
    journey.check(page, "city-year-7-programme")

    # The provider's staff member adds a course; it waits in the city's review queue until the city publishes it.
    provider, admin = Provider.objects.get(code="SZOU"), User.objects.get(id_number=admin_number)
    staff = UserFactory(name="周文")
    services.provider_staff_add(actor=admin, provider=provider, id_number=staff.id_number, name="周文")
    provider_side = Journey(journey.browser, journey.base, journey.viewport)
    try:
        staff_page = provider_side.login(staff.id_number, "pw-123456")
        provider_side.nav(staff_page, "课程管理")
        staff_page.get_by_role("link", name="新增课程").click()
        staff_page.locator("#id_period").select_option(str(period.pk))
        staff_page.locator("#id_code").fill("SZ-001")
        staff_page.locator("#id_title").fill("新时代师德师风专题")
        staff_page.locator("#id_category").select_option("public")
        staff_page.locator("#id_hours").fill("6")
        staff_page.get_by_role("button", name="保存").click()
        expect(staff_page.locator(".alert-success")).to_contain_text("课程“新时代师德师风专题”已保存")
        provider_side.check(staff_page, "city-year-8-provider-course")
    finally:
        provider_side.close()
    journey.setup(page, "courses:provider_list")
    expect(page.locator("#review-queue")).to_contain_text("待审核课程 1 门")
    page.locator("#review-queue a").click()
    page.locator("tr", has_text="新时代师德师风专题").get_by_role("link", name="编辑").click()
    page.locator("#id_status").select_option("published")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("课程“新时代师德师风专题”已保存")
    journey.check(page, "city-year-9-course-published")

    rule_set = RuleSet.objects.get(city=city, year=2027)
    assert rule_set.tree == {
        "all_of": [{"min_total": {"hours": 72}}, {"min_hours": {"category": "public", "hours": 24}}]
    }
    assert list(TrainingPeriod.objects.filter(city=city).values_list("code", "rule_set")) == [("2701", rule_set.pk)]
    assert list(Provider.objects.filter(cities=city).values_list("code", flat=True)) == ["SZOU"]
    programme = Programme.objects.get(period=period)
    assert list(programme.levels.order_by("order").values_list("unit_kind", flat=True)) == [
        "school",
        "district",
        "city",
    ]
    assert list(programme.quotas.values_list("district__name", "seats")) == [("福田区", 10)]
    assert list(Course.objects.filter(period=period).values_list("code", "provider__code", "status")) == [
        ("SZ-001", "SZOU", CourseStatus.PUBLISHED)
    ]
    assert list(Unit.objects.filter(path__startswith=city.path).order_by("path").values_list("name", flat=True)) == [
        "深圳市",
        "福田区",
        "福田中学",
    ]
    assert RoleAssignment.objects.filter(unit=city, role=Role.CITY_ADMIN).count() == 1

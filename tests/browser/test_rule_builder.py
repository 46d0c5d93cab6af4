import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from credits.models import RuleSet
from portal.models import TeacherStatus
from tests.factories.credits import entries, preloaded
from tests.factories.portal import TeacherFactory

SCREENSHOT = Path(tempfile.gettempdir()) / "jijiao-rule-builder.png"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_city_admin_builds_a_rule_and_sees_sentence_and_pass_count_follow(live_server, page, tree):
    preloaded()  # the data migration's topics and kinds (a transactional test may have flushed them)
    ok = TeacherFactory(unit=tree.school_a)
    entries(ok, 2025, ("public", 24, None, ["ethics"]), ("professional", 36), ("elective", 12))
    short = TeacherFactory(unit=tree.school_c)
    entries(short, 2025, ("public", 23, None, ["ethics"]), ("professional", 40), ("elective", 12))
    retired = TeacherFactory(unit=tree.school_b, status=TeacherStatus.RETIRED)
    entries(retired, 2025, ("public", 30, None, ["ethics"]), ("professional", 42), ("elective", 18))

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("身份证号").fill(tree.erin.id_number)
    page.get_by_label("密码").fill("pw-123456")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="年度设置").click()
    page.locator("#setup-links").get_by_role("link", name="学时规则", exact=False).last.click()
    page.get_by_role("link", name="新建规则").click()

    page.locator("#id_year").fill("2026")
    page.locator("#id_name").fill("2026 年度学时要求")
    page.locator("select[name='rows-0-measure']").select_option(label="总学时")
    page.locator("input[name='rows-0-hours']").fill("72")

    sentence, count = page.locator("#rule-sentence"), page.locator("#rule-pass-count")
    expect(sentence).to_have_text("年度学时要求：总学时不少于 72 学时。")
    expect(count).to_have_text("按 2025 年度的学时记录：全市 5 名在职教师中 2 人达标（40.0%）。")

    page.locator("select[name='rows-1-measure']").select_option(label="公需科目")
    page.locator("input[name='rows-1-hours']").fill("24")

    expect(sentence).to_have_text("以下要求须全部达到：总学时不少于 72 学时；公需科目不少于 24 学时。")
    expect(count).to_have_text("按 2025 年度的学时记录：全市 5 名在职教师中 1 人达标（20.0%）。")
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_role("button", name="保存规则").click()
    page.wait_for_url(f"{live_server.url}/credits/setup/rules/")

    assert RuleSet.objects.get(city=tree.city, year=2026).tree == {
        "all_of": [{"min_total": {"hours": 72}}, {"min_hours": {"category": "public", "hours": 24}}]
    }

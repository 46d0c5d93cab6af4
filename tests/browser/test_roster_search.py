import tempfile
from pathlib import Path

import pytest

from tests.factories.portal import TeacherFactory

SCREENSHOT = Path(tempfile.gettempdir()) / "jijiao-roster-search.png"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_school_admin_logs_in_and_finds_a_teacher(live_server, page, tree):
    TeacherFactory(unit=tree.school_a, name="王小明", subject="物理")
    TeacherFactory(unit=tree.school_a, name="李大山")
    TeacherFactory(unit=tree.school_b, name="王小明的邻校同事")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("身份证号").fill(tree.alice.id_number.lower())
    page.get_by_label("密码").fill("pw-123456")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="教师名册").first.click()
    page.get_by_label("姓名或身份证号").fill("小明")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/portal/roster/?*")

    rows = page.locator("#roster-table tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").nth(1).inner_text() == "王小明"
    assert "共 1 名教师" in page.content()
    page.screenshot(path=SCREENSHOT, full_page=True)

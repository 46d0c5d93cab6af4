"""A Maoming principal chooses the school's provider, enters the agreed fee, uploads the signed agreement,
sees it filed once the county files it, and exports the participant information form."""

import io
import tempfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from courses import services
from courses.models import Agreement, AgreementState
from portal.models import Stage
from tests.factories.partnership import IN_TRAINING, maoming, private_files_in, real_pdf

SCREENSHOT = Path(tempfile.gettempdir()) / "jijiao-school-provider.png"


@pytest.fixture
def stages(transactional_db):
    """The stage rows of the data migration (see test_special_programme_review.py for why)."""
    Stage.objects.get_or_create(code="junior", defaults={"name": "初中", "order": 30, "compulsory": True})


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_principal_chooses_uploads_sees_filed_and_exports_the_form(
    live_server, page, stages, tree, monkeypatch, tmp_path
):
    private_files_in(monkeypatch, tmp_path)
    m = maoming(tree)
    agreement_pdf = tmp_path / "协议书.pdf"
    agreement_pdf.write_bytes(real_pdf())

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("身份证号").fill(tree.alice.id_number)
    page.get_by_label("密码").fill("pw-123456")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    assert "本校尚未选择施教机构，请于 2024年9月15日 前完成协议备案。" in page.content()

    # choose
    page.get_by_role("link", name="选择施教机构").click()
    page.get_by_label("施教机构").select_option(label=m.p1.name)
    page.get_by_role("button", name="选择").click()
    page.wait_for_load_state()
    assert f"已选择“{m.p1.name}”" in page.content()

    # fee, upload
    page.get_by_label("协商确定的收费（元/人/学时）").fill("3.50")
    page.get_by_label("签订的协议书（PDF）").set_input_files(str(agreement_pdf))
    page.get_by_role("button", name="上传").click()
    page.wait_for_load_state()
    assert page.locator("#agreement-state").inner_text().strip() == "待备案"

    # the county files it
    agreement = Agreement.objects.get(school=tree.school_a)
    services.agreement_file(agreement, tree.carol, IN_TRAINING)

    # see filed
    page.goto(f"{live_server.url}/")
    assert f"与{m.p1.name}的协议已备案。" in page.content()
    page.get_by_role("link", name="查看协议").click()
    assert page.locator("#agreement-state").inner_text().strip() == "已备案"
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # usable on a phone
    page.screenshot(path=SCREENSHOT, full_page=True)

    # export the form
    with page.expect_download() as download:
        page.get_by_role("link", name="导出学员信息采集表").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    rows = list(book.active.iter_rows(values_only=True))
    assert list(rows[1]) == ["序号", "姓名", "性别", "身份证号", "学段", "任教学科", "手机号码", "学校", "所属区县"]
    assert [r[1] for r in rows[2:]] == ["teacher_a"]
    assert Agreement.objects.get(pk=agreement.pk).state == AgreementState.FILED

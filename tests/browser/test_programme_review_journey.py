"""A special programme from roster to final list, at desktop width and at 375 px.

The school admin fixes a roster file the portal refused row by row and approves her teacher's
application; the district approves up to its quota and is refused beyond it; the city finalizes
the list and opens the 达标率 dashboard. The programme, its chain and the applications are made
by factories and domain services around the real clock (the live server does not travel in time).
"""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook
from playwright.sync_api import expect

from enrollment import services
from enrollment.models import Application, ApplicationState
from portal import idcard
from portal.models import Teacher, UnitKind
from tests.factories.courses import PeriodFactory
from tests.factories.enrollment import programme_with_chain

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BAD_ID = "440106199001011234"  # wrong check digit


def roster_file(id_number: str) -> dict:
    book = Workbook()
    sheet = book.active
    sheet.append(["A校教师花名册"])
    sheet.append(["姓名", "身份证号", "学段", "任教学科", "手机号码", "状态"])
    sheet.append(["林晓", id_number, "初中", "数学", "13800138000", "在职"])
    out = io.BytesIO()
    book.save(out)
    return {"name": "A校名册.xlsx", "mimeType": XLSX, "buffer": out.getvalue()}


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def programme(tree):
    """Registration open now; school, district and city review each a day after the other; 天河区 has one seat."""
    now = timezone.now()
    period = PeriodFactory(city=tree.city, year=timezone.localdate().year, name="本年度全员培训")
    chain = [(UnitKind.SCHOOL, _local(now + dt.timedelta(days=1)))]
    chain += [
        (UnitKind.DISTRICT, _local(now + dt.timedelta(days=2))),
        (UnitKind.CITY, _local(now + dt.timedelta(days=3))),
    ]
    programme = programme_with_chain(
        tree.city,
        chain=chain,
        quotas={tree.district1: 1, tree.district2: 1},
        period=period,
        title="骨干教师高级研修",
        registration_opens_at=now - dt.timedelta(days=1),
        registration_closes_at=now + dt.timedelta(days=1),
    )
    for teacher in (tree.teacher_a, tree.teacher_b):
        services.application_submit(actor=teacher, programme=programme, now=now)
    b = Application.objects.get(teacher__user=tree.teacher_b)
    services.application_approve(actor=tree.bob, application=b, now=now)  # B校 has approved its teacher already
    return programme


def _open_application(journey, page, name: str) -> None:
    journey.nav(page, "报名审核")
    page.locator("#review-table").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("journey", ["desktop", "phone"], indirect=True)
def test_a_programme_goes_from_roster_to_final_list(journey, tree, programme, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the pending roster file

    # b. The school admin's roster file is refused by row and column; the fixed file is imported.
    page = journey.login(tree.alice.id_number, "pw-123456")
    journey.nav(page, "教师名册")
    page.locator(f"a[href='{reverse('portal:roster_import')}']").first.click()
    page.get_by_label("名册文件（.xlsx）").set_input_files(roster_file(BAD_ID))
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#import-errors")).to_contain_text("第 3 行 身份证号")
    journey.check(page, "programme-1-roster-error")
    page.locator(f"a[href='{reverse('portal:roster_import')}']").first.click()
    page.get_by_label("名册文件（.xlsx）").set_input_files(roster_file(idcard.make("440106", dt.date(1990, 5, 4), 21)))
    page.get_by_role("button", name="上传并预览").click()
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator(".alert-success")).to_contain_text("导入完成")
    journey.check(page, "programme-2-roster-imported")

    # ...and she approves her teacher's application.
    _open_application(journey, page, "teacher_a")
    page.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("已通过。")

    # c. The district approves up to its one seat and is refused beyond it.
    page = journey.login(tree.carol.id_number, "pw-123456")
    _open_application(journey, page, "teacher_a")
    page.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("已通过。")
    _open_application(journey, page, "teacher_b")
    page.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator(".alert-danger")).to_contain_text(
        "天河区超出名额：已通过 1 / 名额 1，本次选择 1 份，未做任何修改。"
    )
    journey.check(page, "programme-3-district-refused")

    # d. The city finalizes the list and opens the 达标率 dashboard.
    page = journey.login(tree.erin.id_number, "pw-123456")
    journey.nav(page, "报名审核")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="审定", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("已审定 1 人。")
    journey.check(page, "programme-4-finalized")
    journey.nav(page, "学时达标")
    expect(page.locator("h1")).to_have_text(f"{tree.city.name} 学时达标率")
    journey.check(page, "programme-5-dashboard")

    states = sorted(Application.objects.values_list("teacher__name", "state", "level__unit_kind"))
    assert states == [
        ("teacher_a", ApplicationState.FINALIZED, UnitKind.CITY),
        ("teacher_b", ApplicationState.APPROVED, UnitKind.DISTRICT),  # still waiting for 天河区, which has no seat left
    ]
    assert list(Teacher.objects.filter(unit=tree.school_a).order_by("name").values_list("name", flat=True)) == [
        "teacher_a",
        "林晓",
    ]

"""Credit pages: scoping of every view, the dashboard's fixed query count, certificates."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from credits.certificates import certificate_verify
from credits.models import Certificate, CreditEntry, Source
from portal.figures import figures_forget
from tests.factories.credits import GUANGZHOU_TREE, RuleSetFactory, entries, preloaded
from tests.factories.portal import SchoolFactory, TeacherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gz(tree):
    preloaded()
    RuleSetFactory(city=tree.city, year=2022, tree=GUANGZHOU_TREE, name="广州2022")
    entries(tree.teacher_a.teacher, 2022, ("public", 30, None, ["ethics"]), ("professional", 36), ("elective", 18))
    return tree


def _get(client, user, url):
    client.force_login(user)
    return client.get(url)


# --------------------------------------------------------------------------- teacher page


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("teacher_a", 200),
        ("alice", 200),
        ("carol", 200),
        ("erin", 200),
        ("teacher_b", 404),
        ("bob", 404),
        ("dave", 404),
    ],
)
def test_teacher_page_scoped(gz, client, who, status):
    url = reverse("credits:teacher", args=[gz.teacher_a.teacher.pk]) + "?year=2022"
    assert _get(client, getattr(gz, who), url).status_code == status


def test_teacher_page_shows_shortfall(gz, client):
    response = _get(client, gz.teacher_a, reverse("credits:mine") + "?year=2022")
    assert response.status_code == 302
    page = client.get(response.url)
    assert page.context["evaluation"].sentence == "总学时还差 6 学时；专业科目还差 6 学时"
    assert "专业科目还差 6 学时" in page.content.decode()


def test_teacher_page_anonymous_redirects_to_login(gz, client):
    url = reverse("credits:teacher", args=[gz.teacher_a.teacher.pk])
    assert client.get(url).status_code == 302


# --------------------------------------------------------------------------- adjustment and reversal


@pytest.mark.parametrize(
    ("who", "status"), [("carol", 302), ("erin", 302), ("alice", 403), ("teacher_a", 403), ("dave", 404), ("bob", 404)]
)
def test_adjust_scoped(gz, client, who, status):
    client.force_login(getattr(gz, who))
    url = reverse("credits:adjust", args=[gz.teacher_a.teacher.pk])
    response = client.post(
        url, {"year": 2022, "category": "professional", "hours": "6", "source": "manual", "reason": "线下培训补录"}
    )
    assert response.status_code == status
    assert CreditEntry.objects.filter(source=Source.MANUAL).count() == (1 if status == 302 else 0)


def test_adjust_without_reason_records_nothing(gz, client):
    client.force_login(gz.carol)
    client.post(
        reverse("credits:adjust", args=[gz.teacher_a.teacher.pk]),
        {"year": 2022, "category": "public", "hours": "6", "source": "manual", "reason": ""},
    )
    assert CreditEntry.objects.filter(source=Source.MANUAL).count() == 0


@pytest.mark.parametrize(("who", "status", "reversed_"), [("erin", 302, 1), ("alice", 403, 0), ("dave", 404, 0)])
def test_reverse_scoped(gz, client, who, status, reversed_):
    entry = CreditEntry.objects.filter(teacher=gz.teacher_a.teacher).first()
    client.force_login(getattr(gz, who))
    response = client.post(reverse("credits:reverse", args=[entry.pk]), {"reason": "重复登记"})
    assert response.status_code == status
    assert CreditEntry.objects.filter(reverses=entry).count() == reversed_


# --------------------------------------------------------------------------- dashboard


@pytest.mark.parametrize(
    ("who", "unit", "status"),
    [
        ("erin", None, 200),
        ("erin", "school_c", 200),
        ("carol", None, 200),
        ("carol", "school_b", 200),
        ("carol", "district2", 404),
        ("carol", "city", 404),
        ("alice", None, 200),
        ("alice", "school_b", 404),
        ("teacher_a", None, 403),
        ("dave", "school_a", 404),
    ],
)
def test_dashboard_scoped(gz, client, who, unit, status):
    url = reverse("credits:dashboard") + "?year=2022"
    if unit:
        url += f"&unit={getattr(gz, unit).pk}"
    assert _get(client, getattr(gz, who), url).status_code == status


def test_dashboard_of_a_year_without_a_rule_says_so(gz, client):
    response = _get(client, gz.erin, reverse("credits:dashboard") + "?year=2019")
    assert response.status_code == 200
    assert response.context["overview"] is None
    assert "2019 年度本市尚未发布学时规则" in response.content.decode()
    assert response.context["years"] == [2022]  # the years offered: those with a rule


def test_dashboard_city_rates_and_short_list(gz, client):
    response = _get(client, gz.erin, reverse("credits:dashboard") + "?year=2022")
    overview = response.context["overview"]
    assert (overview.total.teachers, overview.total.compliant) == (3, 0)
    assert [r.name for r in response.context["page"].object_list] == ["teacher_a", "teacher_b", "teacher_c"]


@pytest.mark.parametrize("extra", [0, 30])
def test_dashboard_query_count_independent_of_teachers(gz, client, django_assert_max_num_queries, extra):
    for i in range(extra):
        teacher = TeacherFactory(unit=SchoolFactory(parent=gz.district2) if i % 10 == 0 else gz.school_c)
        entries(teacher, 2022, ("public", 10))
    client.force_login(gz.erin)
    client.get(reverse("credits:dashboard") + "?year=2022")  # warm the names cache
    figures_forget()  # counted anew: the most queries the page makes
    with django_assert_max_num_queries(10):
        response = client.get(reverse("credits:dashboard") + "?year=2022")
    assert response.context["overview"].total.teachers == 3 + extra


def test_dashboard_export_lists_short_teachers(gz, client):
    import io

    from python_calamine import CalamineWorkbook

    response = _get(client, gz.carol, reverse("credits:dashboard_export") + "?year=2022")
    content = b"".join(response.streaming_content)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "天河区 2022 年度学时未达标教师"
    assert rows[1] == [
        "单位",
        "姓名",
        "身份证号",
        "总学时",
        "公需科目",
        "专业科目",
        "选修科目",
        "师德师风专题学时",
        "是否达标",
        "未达标说明",
    ]
    assert [r[1] for r in rows[2:]] == ["teacher_a", "teacher_b"]
    assert rows[2][2] == gz.teacher_a.teacher.masked_id_number  # a compliance list needs no whole number
    assert rows[2][3:8] == [84.0, 30.0, 36.0, 18.0, 30.0]
    assert rows[2][-1] == "总学时还差 6 学时；专业科目还差 6 学时"


def test_xlsx_stream_escapes_and_opens_in_openpyxl(tmp_path):
    import openpyxl

    from credits.xlsx_stream import write_rows

    path = tmp_path / "x.xlsx"
    write_rows(str(path), title="A&B <c>", headers=["名", "数"], rows=[["x<y & z\x01", 1.5], [None, 2]])
    sheet = openpyxl.load_workbook(path).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["A&B <c>", None],
        ["名", "数"],
        ["x<y & z", 1.5],
        [None, 2],
    ]
    assert sheet.freeze_panes == "A3"


def test_dashboard_export_teacher_forbidden(gz, client):
    assert _get(client, gz.teacher_a, reverse("credits:dashboard_export")).status_code == 403


# --------------------------------------------------------------------------- certificates


@pytest.mark.parametrize(("who", "status"), [("teacher_a", 200), ("alice", 200), ("bob", 404), ("teacher_b", 404)])
def test_certificate_download_scoped(gz, client, who, status):
    url = reverse("credits:certificate", args=[gz.teacher_a.teacher.pk])
    client.force_login(getattr(gz, who))
    response = client.post(url, {"year": 2022})
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response.content[:5] == b"%PDF-"


def test_certificate_same_content_reissued_once(gz, client):
    url = reverse("credits:certificate", args=[gz.teacher_a.teacher.pk])
    client.force_login(gz.teacher_a)
    client.post(url, {"year": 2022})
    client.post(url, {"year": 2022})
    assert Certificate.objects.count() == 1


def test_certificate_is_never_issued_by_a_get(gz, client):
    client.force_login(gz.teacher_a)
    response = client.get(reverse("credits:certificate", args=[gz.teacher_a.teacher.pk]) + "?year=2022")
    assert response.status_code == 405
    assert Certificate.objects.count() == 0


@pytest.mark.parametrize("year", ["-1", "99999999999999999999", "², ", "2022.0", ""])
def test_certificate_year_out_of_range_is_404(gz, client, year):
    client.force_login(gz.teacher_a)
    response = client.post(reverse("credits:certificate", args=[gz.teacher_a.teacher.pk]), {"year": year})
    assert response.status_code == 404
    assert Certificate.objects.count() == 0


def test_verify_genuine_certificate_public(gz, client):
    client.force_login(gz.teacher_a)
    client.post(reverse("credits:certificate", args=[gz.teacher_a.teacher.pk]), {"year": 2022})
    cert = Certificate.objects.get()
    client.logout()
    response = client.get(reverse("credits:verify_code", args=[cert.code]))
    body = response.content.decode()
    assert response.context["result"].genuine is True
    assert gz.teacher_a.teacher.masked_id_number in body
    assert gz.teacher_a.teacher.id_number not in body


def test_verify_rejects_altered_content_and_unknown_code(gz):
    from credits.certificates import certificate_issue

    cert = certificate_issue(gz.teacher_a.teacher, 2022)
    assert certificate_verify(cert.code).genuine is True
    content = dict(cert.content, total="96")
    Certificate.objects.filter(pk=cert.pk).update(content=content)
    assert certificate_verify(cert.code).genuine is False
    altered = cert.code[:-1] + ("0" if cert.code[-1] != "0" else "1")
    assert certificate_verify(altered).found is False


def test_verify_form_redirects_to_code(client):
    response = client.get(reverse("credits:verify"), {"code": "abcd abcd-abcd-abcd-abcd"})
    assert response.status_code == 302
    assert response.url == reverse("credits:verify_code", args=["ABCD-ABCD-ABCD-ABCD-ABCD"])


def test_home_cards_show_teacher_verdict(gz, client, settings):
    import time_machine

    with time_machine.travel("2022-06-01 10:00 +0800"):
        response = _get(client, gz.teacher_a, reverse("home"))
    assert "总学时还差 6 学时；专业科目还差 6 学时" in response.content.decode()
    assert D(1) == 1


@pytest.mark.parametrize(("who", "status"), [("erin", 403), ("alice", 403), ("teacher_b", 302)])
def test_mine_only_for_teachers(gz, client, who, status):
    assert _get(client, getattr(gz, who), reverse("credits:mine")).status_code == status


def test_dashboard_anonymous_redirects_to_login(client):
    assert client.get(reverse("credits:dashboard")).status_code == 302


@pytest.mark.parametrize("extra", [0, 12])
def test_teacher_page_query_count_independent_of_entries(gz, client, django_assert_max_num_queries, extra):
    from credits.services import credit_entry_reverse

    made = entries(gz.teacher_a.teacher, 2022, *[("elective", 1, "", ["shuangjian"])] * extra)
    for entry in made[:3]:
        credit_entry_reverse(entry, gz.erin, "重复")
    client.force_login(gz.erin)
    url = reverse("credits:teacher", args=[gz.teacher_a.teacher.pk]) + "?year=2022"
    client.get(url)
    with django_assert_max_num_queries(11):
        response = client.get(url)
    assert len(response.context["entries"]) == 3 + extra + min(extra, 3)


def test_dashboard_shows_trend_from_snapshots(gz, client):
    import datetime as dt

    from credits.services import compliance_snapshot_take

    compliance_snapshot_take(2022, dt.date(2022, 5, 1))
    compliance_snapshot_take(2022, dt.date(2022, 6, 1))
    response = _get(client, gz.erin, reverse("credits:dashboard") + "?year=2022")
    assert response.context["trend_chart"]["xAxis"]["data"] == ["2022-05-01", "2022-06-01"]


def test_certificate_pdf_embeds_chinese_font(gz):
    import os

    from credits.certificates import CJK_TTF_CANDIDATES, certificate_issue, certificate_pdf

    pdf = certificate_pdf(certificate_issue(gz.teacher_a.teacher, 2022), "https://example.cn/v/")
    installed = any(os.path.exists(p) for p in CJK_TTF_CANDIDATES)
    assert (b"WenQuanYiZenHei" if installed else b"STSong-Light") in pdf


def test_cjk_font_falls_back_to_cid_font(monkeypatch):
    from credits import certificates

    certificates.cjk_font.cache_clear()
    monkeypatch.setattr(certificates, "CJK_TTF_CANDIDATES", ("/nonexistent/font.ttc",))
    try:
        assert certificates.cjk_font() == "STSong-Light"
    finally:
        certificates.cjk_font.cache_clear()

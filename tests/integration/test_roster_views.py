import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal import idcard, selectors
from portal.models import RosterConflict, Stage, Teacher, TeacherMove, TeacherStatus
from portal.pagination import CappedPaginator
from portal.scoping import scope_for
from portal.views import roster as roster_views
from tests.factories.portal import SchoolFactory, TeacherFactory

ROSTER = reverse("portal:roster")
BULK = reverse("portal:roster_bulk")


def _logs_in(id_number: str, password: str):
    """The user a fresh browser is logged in as after the login form (None if refused)."""
    from django.test import Client

    from portal.models import User

    client = Client()
    client.post(reverse("login"), {"username": id_number, "password": password})
    pk = client.session.get("_auth_user_id")
    return User.objects.get(pk=pk) if pk else None


def _roster_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(ROSTER)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_roster_query_count_does_not_grow_with_teachers(client, tree, django_assert_max_num_queries):
    # school A holds teacher_a only; then 59 more
    few = _roster_queries(client, tree.alice)
    TeacherFactory.create_batch(59, unit=tree.school_a)

    with django_assert_max_num_queries(few):
        response = client.get(ROSTER)

    assert response.context["page"].paginator.count == 60
    assert len(response.context["page"]) == 50


def test_district_roster_query_count_does_not_grow_with_teachers(client, tree, django_assert_max_num_queries):
    few = _roster_queries(client, tree.carol)
    TeacherFactory.create_batch(30, unit=tree.school_a)
    TeacherFactory.create_batch(30, unit=tree.school_b)

    with django_assert_max_num_queries(few):
        response = client.get(ROSTER, {"ordering": "unit"})

    assert response.context["page"].paginator.count == 62


def test_roster_search_by_name(client, tree):
    TeacherFactory(unit=tree.school_a, name="王小明")
    TeacherFactory(unit=tree.school_a, name="李四")
    client.force_login(tree.alice)

    response = client.get(ROSTER, {"q": "小明"})

    assert [t.name for t in response.context["page"]] == ["王小明"]


def test_roster_search_by_id_number_typed_loosely(client, tree):
    number = idcard.make("440106", dt.date(1985, 5, 5), 12)
    while not number.endswith("X"):  # a number ending in X, to type it as lower-case x
        number = idcard.make("440106", dt.date(1985, 5, 5), int(number[14:17]) + 1)
    wanted = TeacherFactory(unit=tree.school_a, id_number=number)
    client.force_login(tree.alice)
    typed = f" {number[:6]} {number[6:14]} {number[14:17]}x "

    response = client.get(ROSTER, {"q": typed})

    assert [t.pk for t in response.context["page"]] == [wanted.pk]


def test_roster_search_by_last_digits_of_id_number(client, tree):
    number = idcard.make("440106", dt.date(1985, 5, 5), 12)
    while not number.endswith("X"):
        number = idcard.make("440106", dt.date(1985, 5, 5), int(number[14:17]) + 1)
    wanted = TeacherFactory(unit=tree.school_a, id_number=number)
    TeacherFactory(unit=tree.school_a, id_number=idcard.make("440106", dt.date(1985, 5, 5), int(number[14:17]) + 1))
    TeacherFactory(unit=tree.school_b, id_number=idcard.make("440106", dt.date(1987, 5, 5), int(number[14:17])))
    client.force_login(tree.alice)

    tails = (number[-4:].lower(), number[-6:])  # 尾号, as offices ask: the last four (x typed small) or six

    found = {tail: [t.pk for t in client.get(ROSTER, {"q": tail}).context["page"]] for tail in tails}

    assert found == {number[-4:].lower(): [wanted.pk], number[-6:]: [wanted.pk]}


def test_roster_filters_status_stage_subject(client, tree):
    senior = Stage.objects.get(code="senior")
    hit = TeacherFactory(unit=tree.school_a, stage=senior, subject="化学")
    TeacherFactory(unit=tree.school_a, stage=senior, subject="化学", status=TeacherStatus.RETIRED)
    TeacherFactory(unit=tree.school_a, stage=senior, subject="物理")
    client.force_login(tree.alice)

    response = client.get(ROSTER, {"status": "active", "stage": senior.pk, "subject": "化学"})

    assert [t.pk for t in response.context["page"]] == [hit.pk]


def test_roster_problem_filter_lists_teachers_without_login(client, tree):
    no_login = TeacherFactory(unit=tree.school_a)
    client.force_login(tree.alice)

    response = client.get(ROSTER, {"problem": "no_login"})

    assert [t.pk for t in response.context["page"]] == [no_login.pk]


def test_district_roster_filters_by_school_in_reach_only(client, tree):
    client.force_login(tree.carol)

    inside = client.get(ROSTER, {"unit": tree.school_b.pk})
    outside = client.get(ROSTER, {"unit": tree.school_c.pk})

    assert [t.pk for t in inside.context["page"]] == [tree.teacher_b.teacher.pk]
    assert outside.context["filter"].errors.keys() == {"unit"}


def test_school_admin_has_no_school_filter(client, tree):
    client.force_login(tree.alice)

    response = client.get(ROSTER)

    assert "unit" not in response.context["filter"].form.fields


def _bulk(client, ids, **extra):
    data = {"ids": [str(i) for i in ids], "date": "2026-07-01", "next": ROSTER, **extra}
    return client.post(BULK, data)


def test_bulk_retire_many_with_fixed_query_count(client, tree, django_assert_max_num_queries):
    client.force_login(tree.alice)
    few = TeacherFactory.create_batch(2, unit=tree.school_a)
    with CaptureQueriesContext(connection) as ctx:
        _bulk(client, [t.pk for t in few], action="retire")
    many = TeacherFactory.create_batch(40, unit=tree.school_a)

    with django_assert_max_num_queries(len(ctx.captured_queries)):
        response = _bulk(client, [t.pk for t in many], action="retire")

    assert response.status_code == 302
    assert Teacher.objects.filter(unit=tree.school_a, status=TeacherStatus.RETIRED).count() == 42
    assert TeacherMove.objects.filter(status=TeacherStatus.RETIRED, date=dt.date(2026, 7, 1)).count() == 42


def test_bulk_transfer_out_of_city_marks_transferred(client, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(tree.alice)

    _bulk(client, [teacher.pk], action="transfer")

    teacher.refresh_from_db()
    assert (teacher.status, teacher.status_date, teacher.unit_id) == (
        TeacherStatus.TRANSFERRED,
        dt.date(2026, 7, 1),
        tree.school_a.pk,
    )
    move = TeacherMove.objects.get(teacher=teacher)
    assert (move.from_unit_id, move.to_unit_id, move.recorded_by_id) == (tree.school_a.pk, None, tree.alice.pk)


def test_bulk_transfer_inside_city_moves_teachers(client, tree, django_assert_max_num_queries):
    client.force_login(tree.carol)
    few = TeacherFactory.create_batch(2, unit=tree.school_a)
    with CaptureQueriesContext(connection) as ctx:
        _bulk(client, [t.pk for t in few], action="transfer", destination=tree.school_b.pk)
    many = TeacherFactory.create_batch(30, unit=tree.school_a)

    with django_assert_max_num_queries(len(ctx.captured_queries)):
        _bulk(client, [t.pk for t in many], action="transfer", destination=tree.school_b.pk)

    moved = Teacher.objects.filter(pk__in=[t.pk for t in few + many])
    assert set(moved.values_list("unit_id", "status")) == {(tree.school_b.pk, TeacherStatus.ACTIVE)}
    assert TeacherMove.objects.filter(to_unit=tree.school_b, from_unit=tree.school_a).count() == 32


def test_bulk_transfer_to_unit_outside_reach_is_refused(client, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(tree.carol)

    _bulk(client, [teacher.pk], action="transfer", destination=tree.school_c.pk)

    teacher.refresh_from_db()
    assert (teacher.unit_id, teacher.status) == (tree.school_a.pk, TeacherStatus.ACTIVE)
    assert TeacherMove.objects.count() == 0


def test_bulk_action_ignores_teachers_of_other_schools(client, tree):
    client.force_login(tree.alice)

    response = _bulk(client, [tree.teacher_a.teacher.pk, tree.teacher_b.teacher.pk], action="retire")

    assert response.status_code == 302
    assert Teacher.objects.filter(status=TeacherStatus.RETIRED).count() == 0  # the whole form is invalid


def test_bulk_retire_skips_teachers_already_retired(client, tree):
    retired = TeacherFactory(unit=tree.school_a, status=TeacherStatus.RETIRED, status_date=dt.date(2025, 1, 1))
    client.force_login(tree.alice)

    _bulk(client, [retired.pk, tree.teacher_a.teacher.pk], action="retire")

    retired.refresh_from_db()
    assert retired.status_date == dt.date(2025, 1, 1)
    assert TeacherMove.objects.count() == 1


def test_teacher_edit_rejects_bad_id_number_with_chinese_message(client, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(tree.alice)
    bad = teacher.id_number[:17] + ("0" if teacher.id_number[17] != "0" else "1")

    response = client.post(
        reverse("portal:teacher_edit", args=[teacher.pk]),
        {"name": teacher.name, "id_number": bad, "position": "teacher"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["id_number"] == [
        f"身份证号校验位错误（最后一位应为 {teacher.id_number[17]}），请核对号码是否抄错"
    ]


def _edit_id(client, teacher, number):
    return client.post(
        reverse("portal:teacher_edit", args=[teacher.pk]),
        {"name": teacher.name, "id_number": number, "position": "teacher"},
    )


def test_teacher_edit_id_number_of_another_district_names_no_school_and_is_kept_for_the_district(client, tree):
    teacher, other = tree.teacher_a.teacher, tree.teacher_c.teacher
    client.force_login(tree.alice)

    response = _edit_id(client, teacher, other.id_number)

    assert response.context["form"].errors["id_number"] == [
        f"身份证号 {idcard.mask(other.id_number)} 已在其他单位的花名册中：请联系区级管理员办理调动"
    ]
    assert list(RosterConflict.objects.values_list("teacher", "unit", "district", "source", "actor")) == [
        (other.pk, tree.school_a.pk, tree.district1.pk, "edit", tree.alice.pk)
    ]


def test_teacher_edit_id_number_of_a_school_in_the_same_district_names_it(client, tree):
    client.force_login(tree.alice)

    response = _edit_id(client, tree.teacher_a.teacher, tree.teacher_b.teacher.id_number)

    number = idcard.mask(tree.teacher_b.teacher.id_number)
    assert response.context["form"].errors["id_number"] == [
        f"身份证号 {number} 已在B校的花名册中：请联系区级管理员办理调动"
    ]


def test_teacher_edit_by_district_admin_names_a_school_of_her_district_and_keeps_nothing(client, tree):
    client.force_login(tree.carol)

    response = _edit_id(client, tree.teacher_a.teacher, tree.teacher_b.teacher.id_number)

    number = idcard.mask(tree.teacher_b.teacher.id_number)
    assert response.context["form"].errors["id_number"] == [
        f"身份证号 {number} 已在 B校 的花名册中，调动请使用“调动”功能"
    ]
    assert RosterConflict.objects.count() == 0


def test_teacher_edit_page_shows_the_id_number_masked_only(client, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(tree.alice)

    body = client.get(reverse("portal:teacher_edit", args=[teacher.pk])).content.decode()

    assert teacher.id_number not in body
    assert teacher.masked_id_number in body


def test_teacher_edit_with_the_number_left_empty_keeps_it(client, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(tree.alice)

    response = client.post(
        reverse("portal:teacher_edit", args=[teacher.pk]),
        {"name": "改名", "id_number": "", "position": "teacher", "stage": teacher.stage_id},
    )

    teacher.refresh_from_db()
    assert response.status_code == 302
    assert (teacher.name, teacher.id_number) == ("改名", tree.teacher_a.id_number)


def test_district_admin_sees_the_refusals_of_her_schools_only(client, tree):
    client.force_login(tree.alice)
    _edit_id(client, tree.teacher_a.teacher, tree.teacher_c.teacher.id_number)
    client.force_login(tree.dave)
    _edit_id(client, tree.teacher_c.teacher, tree.teacher_b.teacher.id_number)

    client.force_login(tree.carol)
    carol = client.get(reverse("portal:roster_conflicts"))
    client.force_login(tree.erin)
    erin = client.get(reverse("portal:roster_conflicts"))

    assert [(c.unit.name, c.teacher.name, c.where) for c in carol.context["page"]] == [("A校", "teacher_c", "")]
    assert "辖区以外的单位" in carol.content.decode()
    assert tree.teacher_c.teacher.id_number not in carol.content.decode()
    assert sorted((c.unit.name, c.where) for c in erin.context["page"]) == [("A校", "C校"), ("C校", "B校")]
    client.force_login(tree.alice)
    assert client.get(reverse("portal:roster_conflicts")).status_code == 403


def test_teacher_edit_id_number_change_rederives_and_moves_login(client, tree):
    teacher = tree.teacher_a.teacher
    new_number = idcard.make("440106", dt.date(1990, 2, 3), 2)  # even sequence: female
    client.force_login(tree.alice)

    client.post(
        reverse("portal:teacher_edit", args=[teacher.pk]),
        {"name": teacher.name, "id_number": new_number.lower(), "position": "teacher", "mobile": "139 1234 5678"},
    )

    teacher.refresh_from_db()
    assert (teacher.id_number, teacher.birth_date, teacher.gender, teacher.mobile) == (
        new_number,
        dt.date(1990, 2, 3),
        "F",
        "13912345678",
    )
    assert _logs_in(new_number, "pw-123456") == tree.teacher_a


def test_set_first_password_creates_login(client, tree):
    teacher = TeacherFactory(unit=tree.school_a)
    client.force_login(tree.alice)

    response = client.post(
        reverse("portal:teacher_password", args=[teacher.pk]),
        {"password1": "Kx8-winter-sun", "password2": "Kx8-winter-sun"},
    )

    assert response.status_code == 302
    teacher.refresh_from_db()
    assert _logs_in(teacher.id_number, "Kx8-winter-sun") == teacher.user


def test_set_password_rejects_weak_password(client, tree):
    teacher = TeacherFactory(unit=tree.school_a)
    client.force_login(tree.alice)

    response = client.post(
        reverse("portal:teacher_password", args=[teacher.pk]), {"password1": "12345678", "password2": "12345678"}
    )

    assert response.status_code == 200
    teacher.refresh_from_db()
    assert teacher.user is None


def test_teacher_detail_shows_status_history(client, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(tree.carol)
    _bulk(client, [teacher.pk], action="transfer", destination=tree.school_b.pk)

    response = client.get(reverse("portal:teacher_detail", args=[teacher.pk]))

    assert [(m.from_unit.name, m.to_unit.name) for m in response.context["moves"]] == [("A校", "B校")]
    assert "B校" in response.content.decode()


def test_unit_tree_counts_with_one_query(tree, django_assert_num_queries):
    TeacherFactory.create_batch(3, unit=tree.school_b)
    TeacherFactory(unit=tree.school_b, status=TeacherStatus.RETIRED)
    scope_for(tree.erin)  # the user's scope is read once per request, before any page query

    with django_assert_num_queries(1):
        (city,) = selectors.unit_tree_for(tree.erin)

    district1 = next(n for n in city.children if n.unit == tree.district1)
    assert (city.active, city.total) == (6, 7)
    assert (district1.active, district1.total) == (5, 6)
    assert [(s.unit.name, s.active, s.total) for s in district1.children] == [("A校", 1, 1), ("B校", 4, 5)]


def test_unit_tree_page_for_district_admin(client, tree):
    client.force_login(tree.carol)

    response = client.get(reverse("portal:unit_tree"))

    assert [root.unit for root in response.context["roots"]] == [tree.district1]
    assert "B校" in response.content.decode()


@pytest.mark.parametrize("user", ["alice", "teacher_a"])
def test_unit_tree_forbidden_for_school_admins_and_teachers(client, tree, user):
    client.force_login(getattr(tree, user))

    assert client.get(reverse("portal:unit_tree")).status_code == 403


def test_new_school_shows_in_district_filter(client, tree):
    new = SchoolFactory(parent=tree.district1, name="新校")
    client.force_login(tree.carol)

    response = client.get(ROSTER)

    assert new in response.context["filter"].filters["unit"].queryset


# --------------------------------------------------------------------------- Excel pages


def _xlsx(rows, header=("姓名", "身份证号", "学段", "任教学科", "手机号码", "状态")) -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["A校教师花名册"])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(client, content: bytes, unit, name="名册.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, content)
    return client.post(reverse("portal:roster_import"), {"file": upload, "unit": unit.pk})


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _rows(n, start=0):
    return [
        (
            f"新教师{i}",
            idcard.make("440106", dt.date(1990, 1, 1) + dt.timedelta(days=i), 11),
            "初中",
            "数学",
            "13800138000",
            "在职",
        )
        for i in range(start, start + n)
    ]


def test_import_preview_writes_nothing_then_confirm_writes(client, tree, media):
    client.force_login(tree.alice)

    preview = _upload(client, _xlsx(_rows(3)), tree.school_a)

    assert preview.status_code == 200
    result = preview.context["result"]
    assert (result.created, result.updated, result.unchanged, result.errors) == (3, 0, 0, [])
    assert Teacher.objects.filter(unit=tree.school_a).count() == 1
    token = preview.context["token"]
    assert [p.name for p in (media / "imports").iterdir()] == [f"{token}.xlsx"]

    confirmed = client.post(reverse("portal:roster_import_confirm", args=[token]))

    assert confirmed.status_code == 302
    assert Teacher.objects.filter(unit=tree.school_a).count() == 4
    assert list((media / "imports").iterdir()) == []
    again = _upload(client, _xlsx(_rows(3)), tree.school_a)
    assert (again.context["result"].created, again.context["result"].unchanged) == (0, 3)


def test_import_errors_listed_on_page_and_as_xlsx_and_nothing_written(client, tree, media):
    import io

    from openpyxl import load_workbook

    rows = _rows(2)
    rows.append(("", "440106199001011234", "初中", "数学", "12345", "在职"))
    client.force_login(tree.alice)

    preview = _upload(client, _xlsx(rows), tree.school_a)

    lines = [str(e) for e in preview.context["result"].errors]
    assert lines and all(line.startswith("第 5 行 ") for line in lines)
    page = preview.content.decode()
    assert all(line in page for line in lines)
    token = preview.context["token"]
    download = client.get(reverse("portal:roster_import_errors", args=[token]))
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert [tuple(r) for r in sheet.iter_rows(min_row=3, values_only=True)] == [
        (e.row, e.column, e.message) for e in preview.context["result"].errors
    ]
    client.post(reverse("portal:roster_import_confirm", args=[token]))
    assert Teacher.objects.filter(unit=tree.school_a).count() == 1


def test_import_of_a_file_that_is_not_xlsx_says_so(client, tree, media):
    client.force_login(tree.alice)

    response = _upload(client, b"name,id\n", tree.school_a, name="roster.csv")

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "文件不是 Excel 的 .xlsx 格式，请用 Excel 或 WPS 打开后“另存为” .xlsx 再导入"
    ]
    assert list((media / "imports").iterdir()) == []


def test_pending_import_belongs_to_its_uploader(client, tree, media):
    from django.test import Client

    client.force_login(tree.alice)
    token = _upload(client, _xlsx(_rows(1)), tree.school_a).context["token"]
    other = Client()
    other.force_login(tree.carol)

    assert other.post(reverse("portal:roster_import_confirm", args=[token])).status_code == 404
    assert other.get(reverse("portal:roster_import_errors", args=[token])).status_code == 404
    assert Teacher.objects.filter(unit=tree.school_a).count() == 1


def test_school_admin_cannot_import_into_another_school(client, tree, media):
    client.force_login(tree.alice)

    response = _upload(client, _xlsx(_rows(1)), tree.school_b)

    assert response.context["form"].errors.keys() == {"unit"}
    assert Teacher.objects.filter(unit=tree.school_b).count() == 1


def test_district_import_with_school_codes(client, tree, media):
    rows = [(tree.school_b.code, *r) for r in _rows(2)]
    client.force_login(tree.carol)

    preview = _upload(
        client,
        _xlsx(rows, header=("学校代码", "姓名", "身份证号", "学段", "任教学科", "手机号码", "状态")),
        tree.district1,
    )
    client.post(reverse("portal:roster_import_confirm", args=[preview.context["token"]]))

    assert Teacher.objects.filter(unit=tree.school_b).count() == 3


def test_template_download_for_school_and_district(client, tree):
    import io

    from openpyxl import load_workbook

    client.force_login(tree.carol)

    response = client.get(reverse("portal:roster_template"))

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    headers = [c.value for c in load_workbook(io.BytesIO(response.content)).active[2]]
    assert headers[0] == "学校代码*"


def test_export_district_subtree_only(client, tree):
    import io

    from openpyxl import load_workbook

    client.force_login(tree.carol)

    response = client.get(reverse("portal:roster_export"))

    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[2]]
    numbers = {row[header.index("身份证号")] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert numbers == {tree.teacher_a.teacher.masked_id_number, tree.teacher_b.teacher.masked_id_number}


def test_export_follows_the_roster_filters(client, tree):
    import io

    from openpyxl import load_workbook

    client.force_login(tree.erin)

    response = client.get(reverse("portal:roster_export"), {"q": tree.teacher_c.teacher.name})

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 1


def test_reactivate_undoes_a_wrong_retirement(client, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(tree.alice)
    _bulk(client, [teacher.pk], action="retire")

    client.post(reverse("portal:teacher_reactivate", args=[teacher.pk]))

    teacher.refresh_from_db()
    assert teacher.status == TeacherStatus.ACTIVE
    assert list(TeacherMove.objects.filter(teacher=teacher).order_by("id").values_list("status", flat=True)) == [
        TeacherStatus.RETIRED,
        TeacherStatus.ACTIVE,
    ]


def test_reactivate_by_outsider_is_404(client, tree):
    client.force_login(tree.bob)

    response = client.post(reverse("portal:teacher_reactivate", args=[tree.teacher_a.teacher.pk]))

    assert response.status_code == 404


def test_school_admin_cannot_reset_password_of_a_higher_admin_on_her_roster(client, tree):
    from portal.models import Role, RoleAssignment

    principal = tree.teacher_a
    RoleAssignment.objects.create(user=principal, role=Role.DISTRICT_ADMIN, unit=tree.district1)
    client.force_login(tree.alice)

    response = client.post(
        reverse("portal:teacher_password", args=[principal.teacher.pk]),
        {"password1": "Kx8-winter-sun", "password2": "Kx8-winter-sun"},
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["该教师同时拥有其他管理权限，请由其上级管理员重置密码"]
    principal.refresh_from_db()
    assert principal.check_password("pw-123456")


def test_district_admin_may_reset_password_of_a_school_admin_in_her_district(client, tree):
    from portal.models import Role, RoleAssignment

    principal = tree.teacher_a
    RoleAssignment.objects.create(user=principal, role=Role.SCHOOL_ADMIN, unit=tree.school_a)
    client.force_login(tree.carol)

    client.post(
        reverse("portal:teacher_password", args=[principal.teacher.pk]),
        {"password1": "Kx8-winter-sun", "password2": "Kx8-winter-sun"},
    )

    principal.refresh_from_db()
    assert principal.check_password("Kx8-winter-sun")


def test_school_admin_cannot_change_login_id_of_a_higher_admin(client, tree):
    from portal.models import Role, RoleAssignment

    principal = tree.teacher_a
    RoleAssignment.objects.create(user=principal, role=Role.DISTRICT_ADMIN, unit=tree.district1)
    client.force_login(tree.alice)
    new_number = idcard.make("440106", dt.date(1990, 2, 3), 4)

    response = client.post(
        reverse("portal:teacher_edit", args=[principal.teacher.pk]),
        {"name": principal.name, "id_number": new_number, "position": "teacher"},
    )

    assert response.context["form"].errors["id_number"] == [
        "该教师同时拥有其他管理权限，其身份证号（登录账号）请由上级管理员修改"
    ]
    principal.refresh_from_db()
    assert principal.teacher.id_number == principal.id_number != new_number


def test_import_of_a_50_mb_file_is_refused_before_it_is_read(client, tree, media):
    client.force_login(tree.alice)
    before = Teacher.objects.count()

    response = _upload(client, b"PK\x03\x04" + b"\0" * (50 * 2**20), tree.school_a)

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "文件有 50.0 MB，超过上限 20 MB；请删除无关的工作表或拆分后再导入"
    ]
    assert (Teacher.objects.count(), list((media / "imports").iterdir()) if (media / "imports").exists() else []) == (
        before,
        [],
    )


def test_roster_sort_options_are_all_in_chinese(client, tree):
    client.force_login(tree.alice)

    response = client.get(ROSTER)

    labels = [label for _value, label in response.context["filter"].form.fields["ordering"].choices]
    assert labels[:3] == ["默认排序", "姓名", "姓名（降序）"]


# --------------------------------------------------------------------------- the unit filter, one level at a time


def _offered(response, name="unit") -> list[str]:
    """The labels of the unit select as rendered, without the indentation."""
    return [label.strip("\u3000") for value, label in response.context["filter"].form.fields[name].widget.choices][1:]


def test_city_roster_offers_the_districts_not_every_school(client, tree):
    client.force_login(tree.erin)

    response = client.get(ROSTER)

    assert _offered(response) == [tree.city.name, "天河区", "海珠区"]


def test_city_roster_offers_a_districts_schools_once_it_is_chosen_and_lists_the_district(client, tree):
    client.force_login(tree.erin)

    response = client.get(ROSTER, {"unit": tree.district1.pk})

    assert _offered(response) == [tree.city.name, "天河区", "A校", "B校"]
    assert {t.pk for t in response.context["page"]} == {tree.teacher_a.teacher.pk, tree.teacher_b.teacher.pk}
    # The transfer offers the schools shown, no others.
    assert [label for _, label in response.context["bulk_form"].fields["destination"].widget.choices][1:] == [
        "A校",
        "B校",
    ]


def test_city_roster_with_a_school_chosen_offers_its_neighbours(client, tree):
    client.force_login(tree.erin)

    response = client.get(ROSTER, {"unit": tree.school_c.pk})

    assert _offered(response) == [tree.city.name, "海珠区", "C校"]
    assert [t.pk for t in response.context["page"]] == [tree.teacher_c.teacher.pk]


def test_district_roster_offers_only_its_own_schools_even_when_asked_for_another_district(client, tree):
    client.force_login(tree.carol)

    response = client.get(ROSTER, {"unit": tree.district2.pk})

    assert response.context["filter"].errors.keys() == {"unit"}
    assert _offered(response) == ["天河区", "A校", "B校"]


def test_city_roster_query_count_does_not_grow_with_teachers_or_a_chosen_district(
    client, tree, django_assert_max_num_queries
):
    client.force_login(tree.erin)
    with CaptureQueriesContext(connection) as ctx:
        client.get(ROSTER, {"unit": tree.district1.pk})
    for k in range(30):
        SchoolFactory(parent=tree.district1, name=f"新校{k}")
    TeacherFactory.create_batch(60, unit=tree.school_a)

    with django_assert_max_num_queries(len(ctx.captured_queries)):
        response = client.get(ROSTER, {"unit": tree.district1.pk})

    assert response.context["page"].paginator.count == 62


def test_roster_past_the_count_cap_says_more_than_and_has_no_last_page(client, tree, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    monkeypatch.setattr(roster_views, "PAGE_SIZE", 2)
    TeacherFactory.create_batch(4, unit=tree.school_a)
    client.force_login(tree.alice)

    response = client.get(ROSTER)

    paginator = response.context["page"].paginator
    assert (paginator.count, paginator.capped, paginator.num_pages) == (3, True, 2)
    body = response.content.decode()
    assert "超过 3 名教师" in body
    assert "末页" not in body


def test_roster_at_the_count_cap_counts_exactly(client, tree, monkeypatch):
    monkeypatch.setattr(CappedPaginator, "cap", 5)
    TeacherFactory.create_batch(4, unit=tree.school_a)
    client.force_login(tree.alice)

    paginator = client.get(ROSTER).context["page"].paginator

    assert (paginator.count, paginator.capped) == (5, False)


def test_a_list_that_counted_no_rows_builds_no_rows_query(tree, django_assert_num_queries):
    from portal.pagination import Paginator

    empty, some = Teacher.objects.filter(name="nobody"), Teacher.objects.order_by("pk")

    with django_assert_num_queries(1):  # the count only
        page = Paginator(empty, 2).get_page(1)
    # Django's own page holds the sliced queryset, compiled when the template iterates it.
    assert type(page.object_list) is list and list(page) == []
    with django_assert_num_queries(2):
        assert len(Paginator(some, 2).get_page(1)) == 2

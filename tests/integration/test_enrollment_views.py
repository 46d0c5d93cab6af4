"""The special-programme pages: who sees what, deadlines at request time, lists on paper, admin."""

import io
import re

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enrollment import services
from enrollment.models import Application, ApplicationState, AuditAction, AuditEntry, Quota
from portal.models import PersonalDataAccess, Role, User
from tests.factories.enrollment import at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory, admin_user


@pytest.fixture
def programme(tree):
    return programme_with_chain(
        tree.city, title="中学(中职)校长任职资格培训", quotas={tree.district1: 15, tree.district2: 10}
    )


def _apply(user, programme, when="2022-03-14 09:00"):
    return services.application_submit(actor=user, programme=programme, now=at(when))


def test_teacher_applies_and_sees_the_timeline(client, tree, programme):
    client.force_login(tree.teacher_a)

    with time_machine.travel(at("2022-03-14 08:30"), tick=False):
        response = client.post(reverse("enrollment:programme_apply", args=[programme.pk]), {"note": ""})
        application = Application.objects.get()
        detail = client.get(reverse("enrollment:application_detail", args=[application.pk]))

    assert response.status_code == 302
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "待学校审核" in body
    assert "2022-03-18 23:59" in body


def test_rejection_reason_is_shown_to_the_teacher(client, tree, programme):
    application = _apply(tree.teacher_a, programme)
    services.application_reject(
        actor=tree.alice, application=application, now=at("2022-03-15 10:00"), reason="请先完成年度验证"
    )
    client.force_login(tree.teacher_a)

    with time_machine.travel(at("2022-03-15 11:00"), tick=False):
        body = client.get(reverse("enrollment:application_detail", args=[application.pk])).content.decode()

    assert "请先完成年度验证" in body
    assert "学校审核未通过" in body


def test_school_admin_gets_404_for_another_schools_application(client, tree, programme):
    application = _apply(tree.teacher_b, programme)
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-03-15 10:00"), tick=False):
        seen = client.get(reverse("enrollment:application_detail", args=[application.pk]))
        acted = client.post(reverse("enrollment:application_decide", args=[application.pk]), {"action": "approve"})

    assert (seen.status_code, acted.status_code) == (404, 404)
    assert Application.objects.get().state == ApplicationState.SUBMITTED


def test_district_admin_gets_404_for_another_districts_application(client, tree, programme):
    application = _apply(tree.teacher_c, programme)
    client.force_login(tree.carol)

    with time_machine.travel(at("2022-03-15 10:00"), tick=False):
        response = client.post(reverse("enrollment:application_decide", args=[application.pk]), {"action": "approve"})

    assert response.status_code == 404


def test_school_admin_may_see_but_not_decide_at_district_level(client, tree, programme):
    application = _apply(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-15 10:00"))
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-03-20 10:00"), tick=False):
        seen = client.get(reverse("enrollment:application_detail", args=[application.pk]))
        acted = client.post(reverse("enrollment:application_decide", args=[application.pk]), {"action": "approve"})

    assert (seen.status_code, acted.status_code) == (200, 403)


def test_teacher_gets_403_on_the_review_page(client, tree, programme):
    client.force_login(tree.teacher_a)

    assert client.get(reverse("enrollment:review")).status_code == 403


@pytest.mark.parametrize(("when", "state"), [("2022-03-18 23:59", "approved"), ("2022-03-19 00:00", "submitted")])
def test_school_decision_through_the_page_at_the_boundary_minute(client, tree, programme, when, state):
    application = _apply(tree.teacher_a, programme)
    client.force_login(tree.alice)

    with time_machine.travel(at(when), tick=False):
        client.post(reverse("enrollment:application_decide", args=[application.pk]), {"action": "approve"})

    application.refresh_from_db()
    assert application.state == state


def test_expired_application_shows_as_expired_without_any_job(client, tree, programme):
    application = _apply(tree.teacher_a, programme)
    client.force_login(tree.teacher_a)

    with time_machine.travel(at("2022-03-19 00:00"), tick=False):
        body = client.get(reverse("enrollment:application_detail", args=[application.pk])).content.decode()

    assert "学校审核已逾期" in body
    assert Application.objects.get().state == ApplicationState.SUBMITTED


def test_school_queue_shows_only_her_teachers(client, tree, programme):
    _apply(tree.teacher_a, programme)
    _apply(tree.teacher_b, programme)
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-03-15 10:00"), tick=False):
        page = client.get(reverse("enrollment:review"), {"programme": programme.pk}).context["page"]

    assert [a.teacher__name for a in page] == ["teacher_a"]


def test_district_queue_shows_the_quota_count(client, tree, programme):
    application = _apply(tree.teacher_a, programme)
    waiting = _apply(tree.teacher_b, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-15 10:00"))
    services.application_approve(actor=tree.bob, application=waiting, now=at("2022-03-15 10:00"))
    services.application_approve(actor=tree.carol, application=application, now=at("2022-03-20 10:00"))
    client.force_login(tree.carol)

    with time_machine.travel(at("2022-03-21 10:00"), tick=False):
        response = client.get(reverse("enrollment:review"), {"programme": programme.pk})

    body = response.content.decode()
    assert "已通过 1 / 名额 15" in body
    assert "海珠区" not in body
    assert [a.teacher__name for a in response.context["page"]] == ["teacher_b"]


def test_city_queue_filtered_by_a_district_lists_its_schools_and_offers_them(client, tree, programme):
    for user in (tree.teacher_a, tree.teacher_b, tree.teacher_c):
        _apply(user, programme)
    client.force_login(tree.erin)

    with time_machine.travel(at("2022-03-15 10:00"), tick=False):
        response = client.get(
            reverse("enrollment:review"), {"programme": programme.pk, "state": "submitted", "school": tree.district1.pk}
        )

    assert sorted(a.teacher__name for a in response.context["page"]) == ["teacher_a", "teacher_b"]
    offered = [label.strip("\u3000") for _, label in response.context["filter"].form.fields["school"].widget.choices]
    assert offered[1:] == [tree.city.name, "天河区", "A校", "B校"]


@pytest.mark.parametrize("rows", [1, 60])
def test_review_page_query_count_is_fixed(client, tree, programme, rows, django_assert_max_num_queries):
    bulk_applications(programme, TeacherFactory.create_batch(rows, unit=tree.school_a))
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-03-15 10:00"), tick=False), django_assert_max_num_queries(14):
        response = client.get(reverse("enrollment:review"), {"programme": programme.pk})

    assert response.status_code == 200
    assert len(response.context["page"]) == min(rows, 50)


def test_review_page_reads_its_first_page_with_its_count_and_counts_other_pages_without_joins(client, tree, programme):
    bulk_applications(programme, TeacherFactory.create_batch(55, unit=tree.school_a))
    client.force_login(tree.alice)

    def review(**query):
        with time_machine.travel(at("2022-03-15 10:00"), tick=False), CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("enrollment:review"), {"programme": programme.pk, **query})
        applications = [q["sql"] for q in queries if "enrollment_application" in q["sql"]]
        rows = [sql for sql in applications if '"portal_teacher"."name"' in sql]
        counts = [sql for sql in applications if "COUNT(*)" in sql]
        return response.context["page"], rows, counts

    page, rows, counts = review()
    assert (page.paginator.count, len(page)) == (55, 50)
    assert len(rows) == 1 and "OVER ()" in rows[0] and counts == []  # one query for the rows and their count

    page, rows, counts = review(page=2)
    assert (page.paginator.count, len(page)) == (55, 5)
    assert len(rows) == 1 and len(counts) == 1 and " JOIN " not in counts[0]


def test_bulk_approve_through_the_page(client, tree, programme):
    ids = [a.pk for a in bulk_applications(programme, TeacherFactory.create_batch(3, unit=tree.school_a))]
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-03-16 10:00"), tick=False):
        response = client.post(reverse("enrollment:review_bulk"), {"ids": ids, "action": "approve", "comment": ""})

    assert response.status_code == 302
    assert Application.objects.filter(state=ApplicationState.APPROVED).count() == 3


def test_bulk_reject_through_the_page_without_reason_changes_nothing(client, tree, programme):
    ids = [a.pk for a in bulk_applications(programme, TeacherFactory.create_batch(2, unit=tree.school_a))]
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-03-16 10:00"), tick=False):
        client.post(reverse("enrollment:review_bulk"), {"ids": ids, "action": "reject", "comment": ""})

    assert Application.objects.filter(state=ApplicationState.SUBMITTED).count() == 2


def _finalized(tree, programme):
    application = _apply(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-15 10:00"))
    services.application_approve(actor=tree.carol, application=application, now=at("2022-03-20 10:00"))
    return application


def _sheet(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def test_city_final_list_has_the_office_layout_and_whole_id_numbers(client, tree, programme):
    application = _finalized(tree, programme)
    services.application_finalize(actor=tree.erin, programme=programme, now=at("2022-03-30 10:00"))
    client.force_login(tree.erin)

    with time_machine.travel(at("2022-03-30 11:00"), tick=False):
        rows = _sheet(client.get(reverse("enrollment:programme_export", args=[programme.pk]), {"list": "final"}))

    teacher = application.teacher
    assert "中学(中职)校长任职资格培训" in rows[0][0] and programme.period.name in rows[0][0]
    assert rows[1] == ("序号", "区", "学校", "姓名", "性别", "身份证号", "学段", "职务", "手机号码")
    assert rows[2] == (
        1,
        "天河区",
        "A校",
        "teacher_a",
        teacher.get_gender_display(),
        teacher.id_number,
        "初中",
        "教师",
        "13800138000",
    )
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert (entry.actor, entry.data) == (tree.erin, {"rows": 1, "masked": False})
    assert list(PersonalDataAccess.objects.values_list("user", "unit", "count")) == [(tree.erin.pk, tree.city.pk, 1)]


def test_city_approved_list_and_roster_mask_id_numbers(client, tree, programme):
    application = _finalized(tree, programme)
    client.force_login(tree.erin)

    with time_machine.travel(at("2022-03-30 11:00"), tick=False):
        approved = _sheet(client.get(reverse("enrollment:programme_export", args=[programme.pk])))
        roster = _sheet(client.get(reverse("enrollment:roster", args=[programme.pk]), {"format": "xlsx"}))

    masked = application.teacher.masked_id_number
    assert (approved[2][5], roster[2][4]) == (masked, masked)
    assert PersonalDataAccess.objects.count() == 0


def test_district_approved_list_masks_id_numbers(client, tree, programme):
    application = _finalized(tree, programme)
    client.force_login(tree.carol)

    with time_machine.travel(at("2022-03-21 10:00"), tick=False):
        rows = _sheet(
            client.get(reverse("enrollment:programme_export", args=[programme.pk]), {"district": tree.district1.pk})
        )

    number = application.teacher.id_number
    assert rows[2][5] == number[:6] + "********" + number[14:]
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).data == {"rows": 1, "masked": True}


def test_district_admin_cannot_export_the_final_list_or_another_district(client, tree, programme):
    client.force_login(tree.carol)

    final = client.get(reverse("enrollment:programme_export", args=[programme.pk]), {"list": "final"})
    other = client.get(reverse("enrollment:programme_export", args=[programme.pk]), {"district": tree.district2.pk})

    assert (final.status_code, other.status_code) == (403, 404)


def test_district_roster_lists_every_teacher_with_the_application_state(client, tree, programme):
    _apply(tree.teacher_a, programme)
    client.force_login(tree.carol)

    with time_machine.travel(at("2022-03-15 10:00"), tick=False):
        page = client.get(reverse("enrollment:roster", args=[programme.pk])).context["page"]
        export = client.get(reverse("enrollment:roster", args=[programme.pk]), {"format": "xlsx"})

    assert [(t.name, t.application_label) for t in page] == [("teacher_a", "待学校审核"), ("teacher_b", "")]
    assert [r[2] for r in _sheet(export)[2:]] == ["teacher_a", "teacher_b"]


def test_city_admin_imports_the_quota_table(client, tree, programme):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2022年中小学教师继续教育专项培训名额分配表"])
    sheet.append(["序号", "区", "名额"])
    sheet.append([1, "天河区", 20])
    sheet.append([2, "海珠区", 8])
    sheet.append([None, "合计", 28])
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    out.name = "名额分配表.xlsx"
    client.force_login(tree.erin)

    response = client.post(
        reverse("enrollment:quota_manage", args=[programme.pk]), {"form": "import", "import-file": out}
    )

    assert response.status_code == 302
    assert dict(Quota.objects.values_list("district__name", "seats")) == {"天河区": 20, "海珠区": 8}
    assert AuditEntry.objects.filter(action=AuditAction.QUOTA_IMPORT).count() == 1


def test_quota_import_with_an_unknown_district_writes_nothing(client, tree, programme):
    workbook = openpyxl.Workbook()
    workbook.active.append(["区", "名额"])
    workbook.active.append(["天河区", 30])
    workbook.active.append(["越秀区", 5])
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    out.name = "q.xlsx"
    client.force_login(tree.erin)

    response = client.post(
        reverse("enrollment:quota_manage", args=[programme.pk]), {"form": "import", "import-file": out}
    )

    assert "第 3 行 区" in response.content.decode()
    assert dict(Quota.objects.values_list("district__name", "seats")) == {"天河区": 15, "海珠区": 10}


def test_quota_page_is_for_the_city_admin(client, tree, programme):
    client.force_login(tree.carol)

    assert client.get(reverse("enrollment:quota_manage", args=[programme.pk])).status_code == 403


def test_city_quota_table_labels_the_districts_waiting_count(client, tree, programme):
    """The city sees what waits for each district's review, not "待本级审核" (the city is not that level)."""
    application = _apply(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-15 10:00"))
    client.force_login(tree.erin)

    with time_machine.travel(at("2022-03-20 10:00"), tick=False):
        body = client.get(reverse("enrollment:quota_manage", args=[programme.pk])).content.decode()

    table = body.split('id="quota-fill"', 1)[1].split("</table>", 1)[0]
    headers = re.findall(r'<th scope="col">(.*?)</th>', table)
    cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)]
    assert headers == ["区（县）", "已通过 / 名额", "待该区（县）审核", "延长审核至"]
    assert (cells[0], cells[2]) == ("天河区", "1")  # teacher_a, approved by her school, waits for 天河区
    assert "待本级审核" not in body


def test_home_card_tells_the_school_admin_what_waits_and_until_when(client, tree, programme):
    _apply(tree.teacher_a, programme)
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-03-16 10:00"), tick=False):
        body = client.get(reverse("home")).content.decode()

    assert "待审核 1 份，截止 3月18日" in body


def test_audit_log_is_read_only_in_the_admin(client, tree, programme):
    application = _apply(tree.teacher_a, programme)
    entry = AuditEntry.objects.get(application=application)
    root = User.objects.create_superuser(id_number="110101199003070035", name="root", password="x-Strong-pass-1")
    client.force_login(root)

    changed = client.post(reverse("admin:enrollment_auditentry_change", args=[entry.pk]), {"comment": "改"})
    deleted = client.post(reverse("admin:enrollment_auditentry_delete", args=[entry.pk]), {"post": "yes"})

    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert AuditEntry.objects.get(pk=entry.pk).comment == ""


def test_city_staff_sets_up_a_programme_in_the_admin(client, tree):
    tree.erin.is_staff = True
    tree.erin.save(update_fields=["is_staff"])
    period = programme_with_chain(tree.city).period
    client.force_login(tree.erin)

    response = client.post(
        reverse("admin:enrollment_programme_add"),
        {
            "period": period.pk,
            "title": "茂名义务教育全员轮训",
            "description": "",
            "total_seats": 50,
            "registration_opens_at_0": "2022-03-14",
            "registration_opens_at_1": "00:00:00",
            "registration_closes_at_0": "2022-03-18",
            "registration_closes_at_1": "23:59:59",
            "levels-TOTAL_FORMS": "2",
            "levels-INITIAL_FORMS": "0",
            "levels-MIN_NUM_FORMS": "1",
            "levels-MAX_NUM_FORMS": "1000",
            "levels-0-order": "1",
            "levels-0-unit_kind": "school",
            "levels-0-deadline_0": "2022-03-18",
            "levels-0-deadline_1": "23:59:59",
            "levels-1-order": "2",
            "levels-1-unit_kind": "district",
            "levels-1-deadline_0": "2022-03-25",
            "levels-1-deadline_1": "23:59:59",
            "quotas-TOTAL_FORMS": "1",
            "quotas-INITIAL_FORMS": "0",
            "quotas-MIN_NUM_FORMS": "0",
            "quotas-MAX_NUM_FORMS": "1000",
            "quotas-0-district": tree.district1.pk,
            "quotas-0-seats": "30",
            "sessions-TOTAL_FORMS": "1",
            "sessions-INITIAL_FORMS": "0",
            "sessions-MIN_NUM_FORMS": "0",
            "sessions-MAX_NUM_FORMS": "1000",
            "sessions-0-date": "2022-04-25",
            "sessions-0-starts_at": "09:00",
            "sessions-0-ends_at": "16:30",
            "sessions-0-place": "教师发展中心报告厅",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    created = period.programmes.get(title="茂名义务教育全员轮训")
    assert list(created.levels.values_list("unit_kind", flat=True)) == ["school", "district"]
    assert list(created.sessions.values_list("place", flat=True)) == ["教师发展中心报告厅"]
    assert AuditEntry.objects.get(action=AuditAction.QUOTA_SET).data == {"from": None, "to": 30, "via": "admin"}


def test_district_admin_of_another_district_sees_no_quota_of_district1(client, tree, programme):
    carl = admin_user(Role.DISTRICT_ADMIN, tree.district2, name="carl")
    client.force_login(carl)

    with time_machine.travel(at("2022-03-21 10:00"), tick=False):
        body = client.get(reverse("enrollment:review"), {"programme": programme.pk}).content.decode()

    assert "名额 10" in body
    assert "名额 15" not in body


def test_admin_refuses_a_chain_whose_deadlines_go_backwards(client, tree):
    tree.erin.is_staff = True
    tree.erin.save(update_fields=["is_staff"])
    period = programme_with_chain(tree.city).period
    client.force_login(tree.erin)

    response = client.post(
        reverse("admin:enrollment_programme_add"),
        {
            "period": period.pk,
            "title": "倒序的项目",
            "description": "",
            "total_seats": 5,
            "registration_opens_at_0": "2022-03-14",
            "registration_opens_at_1": "00:00:00",
            "registration_closes_at_0": "2022-03-18",
            "registration_closes_at_1": "23:59:59",
            "levels-TOTAL_FORMS": "2",
            "levels-INITIAL_FORMS": "0",
            "levels-MIN_NUM_FORMS": "1",
            "levels-MAX_NUM_FORMS": "1000",
            "levels-0-order": "1",
            "levels-0-unit_kind": "school",
            "levels-0-deadline_0": "2022-03-25",
            "levels-0-deadline_1": "23:59:59",
            "levels-1-order": "2",
            "levels-1-unit_kind": "district",
            "levels-1-deadline_0": "2022-03-20",
            "levels-1-deadline_1": "23:59:59",
            "quotas-TOTAL_FORMS": "0",
            "quotas-INITIAL_FORMS": "0",
            "quotas-MIN_NUM_FORMS": "0",
            "quotas-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 200
    assert "后一级的审核截止时间必须晚于前一级" in response.content.decode()
    assert not period.programmes.filter(title="倒序的项目").exists()


@pytest.mark.parametrize("rows", [1, 40])
def test_roster_and_audit_pages_keep_a_fixed_query_count(client, tree, programme, rows, django_assert_max_num_queries):
    teachers = TeacherFactory.create_batch(rows, unit=tree.school_a)
    for application in bulk_applications(programme, teachers):
        services.application_reject(
            actor=tree.alice, application=application, now=at("2022-03-15 10:00"), reason="名额有限"
        )
    client.force_login(tree.carol)

    with time_machine.travel(at("2022-03-16 10:00"), tick=False):
        with django_assert_max_num_queries(12):
            roster = client.get(reverse("enrollment:roster", args=[programme.pk]))
        with django_assert_max_num_queries(12):
            audit = client.get(reverse("enrollment:audit_log", args=[programme.pk]))

    assert (roster.status_code, audit.status_code) == (200, 200)
    assert len(audit.context["page"]) == min(rows, 50)


@pytest.mark.parametrize("programmes", [1, 12])
def test_teacher_pages_keep_a_fixed_query_count(client, tree, programmes, django_assert_max_num_queries):
    for _ in range(programmes):
        p = programme_with_chain(tree.city)
        _apply(tree.teacher_a, p)
    client.force_login(tree.teacher_a)

    with time_machine.travel(at("2022-03-16 10:00"), tick=False):
        with django_assert_max_num_queries(10):
            listing = client.get(reverse("enrollment:programme_list"))
        with django_assert_max_num_queries(10):
            mine = client.get(reverse("enrollment:my_applications"))

    assert len(listing.context["rows"]) == programmes
    assert len(mine.context["applications"]) == programmes


def test_teacher_withdraws_through_the_page(client, tree, programme):
    application = _apply(tree.teacher_a, programme)
    client.force_login(tree.teacher_a)

    with time_machine.travel(at("2022-03-16 10:00"), tick=False):
        response = client.post(reverse("enrollment:application_withdraw", args=[application.pk]))

    application.refresh_from_db()
    assert response.status_code == 302
    assert application.state == ApplicationState.WITHDRAWN


def test_other_teacher_gets_404_for_an_application(client, tree, programme):
    application = _apply(tree.teacher_a, programme)
    client.force_login(tree.teacher_b)

    seen = client.get(reverse("enrollment:application_detail", args=[application.pk]))
    withdrawn = client.post(reverse("enrollment:application_withdraw", args=[application.pk]))

    assert (seen.status_code, withdrawn.status_code) == (404, 404)


def test_city_finalizes_one_district_through_the_page(client, tree, programme):
    application = _finalized(tree, programme)
    client.force_login(tree.erin)

    with time_machine.travel(at("2022-03-30 23:59"), tick=False):
        client.post(reverse("enrollment:programme_finalize", args=[programme.pk]), {"district": tree.district1.pk})

    application.refresh_from_db()
    assert application.state == ApplicationState.FINALIZED


def test_city_finalize_after_the_city_deadline_changes_nothing(client, tree, programme):
    application = _finalized(tree, programme)
    client.force_login(tree.erin)

    with time_machine.travel(at("2022-03-31 00:00"), tick=False):
        client.post(reverse("enrollment:programme_finalize", args=[programme.pk]), {"district": ""})

    application.refresh_from_db()
    assert application.state == ApplicationState.APPROVED


def test_city_moves_and_reopens_through_the_quota_page(client, tree, programme):
    client.force_login(tree.erin)
    url = reverse("enrollment:quota_manage", args=[programme.pk])

    with time_machine.travel(at("2022-03-26 09:00"), tick=False):
        client.post(
            url,
            {
                "form": "move",
                "move-from_district": tree.district1.pk,
                "move-to_district": tree.district2.pk,
                "move-seats": 4,
                "move-comment": "调剂",
            },
        )
        client.post(
            url,
            {
                "form": "reopen",
                "reopen-district": tree.district2.pk,
                "reopen-until": "2022-03-28T23:59",
                "reopen-comment": "延期两天",
            },
        )

    quotas = {q.district.name: (q.seats, q.reopened_until) for q in Quota.objects.select_related("district")}
    assert quotas == {"天河区": (11, None), "海珠区": (14, at("2022-03-28 23:59"))}
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [
        AuditAction.QUOTA_MOVE,
        AuditAction.QUOTA_REOPEN,
    ]

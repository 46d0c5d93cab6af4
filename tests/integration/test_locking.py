"""One locking helper: a row (or the roster import's key) held by another transaction gives the
user "请稍后重试" within the lock timeout, on every path that locks: never a 500, never a hang."""

import datetime as dt
import io
import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest
import time_machine
from django.db import connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from openpyxl import Workbook

from enrollment.models import Application, Quota
from portal import idcard
from portal.locking import LockBusy, is_busy, lock_rows
from portal.middleware import LockBusyMiddleware
from portal.roster_import import ROSTER_LOCK_KEY
from tests.factories.courses import CourseFactory, PeriodFactory, shanghai
from tests.factories.enrollment import at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory

RETRY = "请稍后重试"


@contextmanager
def held(sql: str, params: list):
    """Run ``sql`` (a locking statement) in another connection and keep its transaction open."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                locked.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        holder.join()


@pytest.fixture
def short_timeout(settings):
    settings.DB_LOCK_TIMEOUT_MS = 200


def timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_course_select_on_a_held_course_answers_retry_in_place(client, tree, short_timeout):
    course = CourseFactory(period=PeriodFactory(city=tree.city), capacity=10)
    client.force_login(tree.teacher_a)
    url = reverse("courses:course_select", args=[course.pk])

    with (
        time_machine.travel(shanghai(2022, 3, 20, 9)),
        held("SELECT 1 FROM courses_course WHERE id = %s FOR UPDATE", [course.pk]),
    ):
        response, seconds = timed(lambda: client.post(url, HTTP_HX_REQUEST="true"))

    assert response.status_code == 200
    assert RETRY in response.content.decode()
    assert seconds < 3
    assert course.selections.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bulk_approval_of_a_held_application_answers_retry(client, tree, short_timeout):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5, tree.district2: 5})
    bulk_applications(programme, [TeacherFactory(unit=tree.school_a) for _ in range(2)])
    ids = list(Application.objects.values_list("pk", flat=True))
    client.force_login(tree.alice)

    with (
        time_machine.travel(at("2022-03-16 09:00")),
        held("SELECT 1 FROM enrollment_application WHERE id = %s FOR UPDATE", [ids[-1]]),
    ):
        response, seconds = timed(
            lambda: client.post(reverse("enrollment:review_bulk"), {"ids": ids, "action": "approve"}, follow=True)
        )

    assert response.status_code == 200
    assert RETRY in response.content.decode()
    assert seconds < 3
    assert set(Application.objects.values_list("state", flat=True)) == {"submitted"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_quota_move_on_a_held_quota_row_answers_retry(client, tree, short_timeout):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5, tree.district2: 5})
    source = Quota.objects.get(programme=programme, district=tree.district1)
    client.force_login(tree.erin)
    form = {
        "form": "move",
        "move-from_district": tree.district1.pk,
        "move-to_district": tree.district2.pk,
        "move-seats": 2,
    }

    with (
        time_machine.travel(at("2022-03-16 09:00")),
        held("SELECT 1 FROM enrollment_quota WHERE id = %s FOR UPDATE", [source.pk]),
    ):
        response, seconds = timed(lambda: client.post(reverse("enrollment:quota_manage", args=[programme.pk]), form))

    assert response.status_code == 200
    assert RETRY in response.content.decode()
    assert seconds < 3
    assert dict(Quota.objects.values_list("district_id", "seats")) == {tree.district1.pk: 5, tree.district2.pk: 5}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_roster_import_while_another_import_runs_answers_retry(client, tree, short_timeout, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    wb = Workbook()
    wb.active.append(["姓名", "身份证号", "学段", "任教学科", "手机号码", "状态"])
    wb.active.append(["新教师", idcard.make("440106", dt.date(1990, 1, 1), 11), "初中", "数学", "13800138000", "在职"])
    out = io.BytesIO()
    wb.save(out)
    out.name = "名册.xlsx"
    out.seek(0)
    client.force_login(tree.alice)
    token = client.post(reverse("portal:roster_import"), {"file": out, "unit": tree.school_a.pk}).context["token"]

    with held("SELECT pg_advisory_xact_lock(%s)", [ROSTER_LOCK_KEY]):
        response, seconds = timed(
            lambda: client.post(reverse("portal:roster_import_confirm", args=[token]), follow=True)
        )

    assert response.status_code == 200
    assert RETRY in response.content.decode()
    assert seconds < 3
    assert tree.school_a.teachers.count() == 1


def test_lock_rows_outside_a_transaction_is_a_programming_error(transactional_db):
    with pytest.raises(RuntimeError):
        lock_rows(Quota.objects.all())


def test_a_busy_sqlite_file_is_recognised_by_its_error_code(tmp_path):
    path = tmp_path / "busy.sqlite3"
    first = sqlite3.connect(path, isolation_level=None)
    second = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    first.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError) as exc:
            second.execute("BEGIN IMMEDIATE")
    finally:
        first.execute("ROLLBACK")
        first.close()
        second.close()

    assert is_busy(exc.value)
    assert not is_busy(sqlite3.OperationalError("no such table: x"))


def test_an_uncaught_lock_timeout_is_a_503_asking_to_retry(db, tree):
    request = RequestFactory().post("/anything/")
    request.user = tree.teacher_a

    response = LockBusyMiddleware(lambda r: None).process_exception(request, LockBusy())

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert RETRY in response.content.decode()

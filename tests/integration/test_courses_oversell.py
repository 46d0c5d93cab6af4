"""Capacity is never oversold: many truly parallel transactions against one course (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from courses import services
from courses.models import Course, CourseSelection, SelectionStatus, WaitlistEntry
from portal.locking import LockBusy
from tests.factories.courses import CourseFactory, PeriodFactory, shanghai
from tests.factories.portal import SchoolFactory, TeacherFactory

CLIENTS = 60


def _select_retrying(teacher, course, now) -> str:
    """What a teacher gets who, asked to retry (the lock timeout under a crowd), clicks again."""
    for _attempt in range(20):
        try:
            result = services.course_select(teacher, course, now)
        except services.SelectionError:
            return "refused"
        except LockBusy:
            continue
        return "waitlisted" if result.waitlisted else "enrolled"
    return "gave up"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_course_select_parallel_never_oversells():
    school = SchoolFactory()
    period = PeriodFactory(city=school.parent.parent)
    course = CourseFactory(period=period, capacity=10)
    teachers = [TeacherFactory(unit=school) for _ in range(CLIENTS)]
    now = shanghai(2022, 3, 20, 9)
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client(teacher_id: int) -> None:
        try:
            teacher = type(teachers[0]).objects.select_related("unit").get(pk=teacher_id)
            fresh = Course.objects.select_related("period__city").get(pk=course.pk)
            barrier.wait(timeout=30)
            outcome = _select_retrying(teacher, fresh, now)
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(t.pk,)) for t in teachers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert len(outcomes) == CLIENTS
    assert outcomes.count("enrolled") == 10
    assert outcomes.count("waitlisted") + outcomes.count("refused") == CLIENTS - 10
    assert CourseSelection.objects.filter(course=course, status=SelectionStatus.SELECTED).count() == 10
    assert Course.objects.get(pk=course.pk).enrolled_count == 10
    assert WaitlistEntry.objects.filter(course=course).count() == outcomes.count("waitlisted")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_course_select_lock_timeout_asks_to_retry(settings):
    from django.db import transaction

    school = SchoolFactory()
    course = CourseFactory(period=PeriodFactory(city=school.parent.parent), capacity=10)
    teacher = TeacherFactory(unit=school)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            Course.objects.select_for_update().get(pk=course.pk)
            locked.set()
            release.wait(timeout=10)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    locked.wait(timeout=10)
    settings.DB_LOCK_TIMEOUT_MS = 200
    try:
        with pytest.raises(LockBusy) as exc:
            services.course_select(
                teacher, Course.objects.select_related("period__city").get(pk=course.pk), shanghai(2022, 3, 20, 9)
            )
    finally:
        release.set()
        holder.join()

    assert str(exc.value) == "当前办理的人较多，请稍后重试。"
    assert CourseSelection.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_course_select_view_parallel_posts_never_oversell_nor_fail():
    import time_machine
    from django.test import Client
    from django.urls import reverse

    from tests.factories.portal import teacher_user

    school = SchoolFactory()
    course = CourseFactory(period=PeriodFactory(city=school.parent.parent), capacity=10)
    users = [teacher_user(unit=school) for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    bodies: list[str] = []
    lock = threading.Lock()

    def teacher(user) -> None:
        try:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            barrier.wait(timeout=30)
            response = client.post(reverse("courses:course_select", args=[course.pk]), HTTP_HX_REQUEST="true")
            with lock:
                statuses.append(response.status_code)
                bodies.append(response.content.decode())
        finally:
            connection.close()

    with time_machine.travel(shanghai(2022, 3, 20, 9), tick=True):
        threads = [threading.Thread(target=teacher, args=(u,)) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert statuses == [200] * CLIENTS
    assert sum("已选课程《" in body for body in bodies) == 10
    assert sum("候补名单第" in body for body in bodies) + sum("请稍后重试" in body for body in bodies) == CLIENTS - 10
    assert Course.objects.get(pk=course.pk).enrolled_count == 10

"""A background job whose target is gone fails `manage.py check` at start-up, not the job at 2 a.m."""

import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django_celery_beat.models import PeriodicTask

from enrollment import services
from portal.registry import JOBS, Job


def test_check_passes_with_every_task_module_and_job_in_place():
    call_command("check")


def test_a_renamed_domain_function_that_a_job_points_at_fails_the_check(monkeypatch):
    monkeypatch.delattr(services, "application_expire_overdue")
    monkeypatch.delitem(sys.modules, "enrollment.tasks", raising=False)

    with pytest.raises(SystemCheckError) as exc:
        call_command("check")

    assert "portal.E001" in str(exc.value)
    assert "enrollment.tasks cannot be imported" in str(exc.value)
    assert "application_expire_overdue" in str(exc.value)


def test_a_job_naming_a_task_that_does_not_exist_fails_the_check(monkeypatch):
    monkeypatch.setitem(JOBS, "gone", Job("gone", "enrollment.tasks.gone", ("0", "8"), "—"))

    with pytest.raises(SystemCheckError) as exc:
        call_command("check")

    assert "portal.E002" in str(exc.value)
    assert "enrollment.tasks.gone" in str(exc.value)


@pytest.mark.django_db
def test_a_schedule_row_naming_a_task_that_does_not_exist_fails_the_database_check():
    PeriodicTask.objects.filter(task="credits.tasks.hours_reminders").update(task="portal.tasks.reminders_send")

    with pytest.raises(SystemCheckError) as exc:
        call_command("check", databases=["default"])

    assert "portal.E003" in str(exc.value)
    assert "portal.tasks.reminders_send" in str(exc.value)


@pytest.mark.django_db
def test_every_registered_job_has_its_schedule_row():
    assert set(PeriodicTask.objects.values_list("name", "task")) == {(job.name, job.task) for job in JOBS.values()}


def test_a_model_admin_without_a_reach_fails_the_check(monkeypatch):
    from django.contrib import admin

    from courses.models import CourseSession

    class CourseSessionAdmin(admin.ModelAdmin):
        pass

    monkeypatch.setitem(admin.site._registry, CourseSession, CourseSessionAdmin(CourseSession, admin.site))

    with pytest.raises(SystemCheckError) as exc:
        call_command("check")

    assert "portal.E004" in str(exc.value)
    assert "admin of courses.CourseSession" in str(exc.value)


def test_an_inline_without_scoping_fails_the_check(monkeypatch):
    from django.contrib import admin

    from courses.models import Course, CourseSession

    class PlainInline(admin.TabularInline):
        model = CourseSession

    monkeypatch.setattr(type(admin.site._registry[Course]), "inlines", [PlainInline])

    with pytest.raises(SystemCheckError) as exc:
        call_command("check")

    assert "PlainInline (admin of courses.Course) declares no reach" in str(exc.value)

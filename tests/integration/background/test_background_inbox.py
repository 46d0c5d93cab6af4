"""Inbox, e-mail preferences, export pages and the scheduled jobs' data (no worker needed)."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from portal.export_runner import export_job_start
from portal.models import ExportJob, ExportStatus, Notification, NotificationPreference
from portal.notifications import (
    notification_preferences_set,
    notifications_email_pending,
    notifications_email_send,
)
from tests.factories.portal import UserFactory

pytestmark = pytest.mark.django_db


def _note(user, **kw):
    defaults = {"kind": "reminder.hours", "title": "学时提醒", "body": "还差30学时", "url": "/credits/"}
    return Notification.objects.create(user=user, **{**defaults, **kw})


def test_inbox_lists_only_own_messages_with_unread_count(client, tree):
    _note(tree.teacher_a, title="给A的")
    _note(tree.teacher_b, title="给B的")
    client.force_login(tree.teacher_a)

    response = client.get(reverse("inbox:list"))

    assert [n.title for n in response.context["page"]] == ["给A的"]
    assert "给B的" not in response.content.decode()


def test_inbox_mark_read_of_someone_elses_message_is_404(client, tree):
    other = _note(tree.teacher_b)
    client.force_login(tree.teacher_a)

    response = client.post(reverse("inbox:mark_read", args=[other.pk]))

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.read_at is None


def test_inbox_mark_read_and_open_goes_to_the_link(client, tree):
    note = _note(tree.teacher_a, url="/courses/")
    client.force_login(tree.teacher_a)

    response = client.post(reverse("inbox:mark_read", args=[note.pk]), {"open": "1"})

    assert (response.status_code, response["Location"]) == (302, "/courses/")
    note.refresh_from_db()
    assert note.read_at is not None


def test_inbox_mark_all_read_touches_only_own(client, tree):
    _note(tree.teacher_a)
    _note(tree.teacher_a)
    theirs = _note(tree.teacher_b)
    client.force_login(tree.teacher_a)

    client.post(reverse("inbox:mark_all_read"))

    assert Notification.objects.filter(user=tree.teacher_a, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_inbox_list_query_count_is_fixed(client, tree, django_assert_max_num_queries):
    client.force_login(tree.teacher_a)
    _note(tree.teacher_a)
    with django_assert_max_num_queries(8) as one:
        client.get(reverse("inbox:list"))
    Notification.objects.bulk_create([Notification(user=tree.teacher_a, kind="x", title=f"t{i}") for i in range(40)])
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("inbox:list"))


def test_preferences_page_saves_email_kinds(client, tree):
    client.force_login(tree.teacher_a)

    response = client.post(reverse("inbox:preferences"), {"email_kinds": ["reminder.hours", "export.done"]})

    assert response.status_code == 302
    wanted = set(NotificationPreference.objects.filter(user=tree.teacher_a, email=True).values_list("kind", flat=True))
    assert wanted == {"reminder.hours", "export.done"}


def test_email_goes_only_to_opted_in_users_with_an_address_and_only_once(tree):
    tree.teacher_a.email, tree.teacher_b.email = "a@example.cn", "b@example.cn"
    tree.teacher_a.save(update_fields=["email"])
    tree.teacher_b.save(update_fields=["email"])
    notification_preferences_set(tree.teacher_a, ["reminder.hours"])
    notification_preferences_set(tree.teacher_c, ["reminder.hours"])  # opted in but no address
    notes = [_note(u) for u in (tree.teacher_a, tree.teacher_b, tree.teacher_c)]

    first = notifications_email_send([n.pk for n in notes])
    second = notifications_email_send([n.pk for n in notes])

    assert (first, second) == (1, 0)
    assert [m.to for m in mail.outbox] == [["a@example.cn"]]
    assert mail.outbox[0].subject == "[继教通] 学时提醒"
    assert "http://127.0.0.1:8000/credits/" in mail.outbox[0].body


def test_export_start_by_teacher_is_403(client, tree):
    client.force_login(tree.teacher_a)

    response = client.post(reverse("inbox:export_start", args=["roster"]))

    assert response.status_code == 403
    assert ExportJob.objects.count() == 0


def test_export_of_another_user_is_404(client, tree):
    job = ExportJob.objects.create(user=tree.erin, kind="roster", status=ExportStatus.DONE, progress=100)
    client.force_login(tree.alice)

    assert client.get(reverse("inbox:export_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("inbox:export_download", args=[job.pk])).status_code == 404


def test_export_status_fragment_polls_while_running_and_stops_when_done(client, tree):
    job = ExportJob.objects.create(user=tree.erin, kind="roster", status=ExportStatus.RUNNING, progress=42, total=100)
    client.force_login(tree.erin)

    running = client.get(reverse("inbox:export_detail", args=[job.pk]), headers={"HX-Request": "true"}).content.decode()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE, progress=100, file="exports/roster.xlsx", finished_at=timezone.now()
    )
    done = client.get(reverse("inbox:export_detail", args=[job.pk]), headers={"HX-Request": "true"}).content.decode()

    assert running.lstrip().startswith('<div id="export-status"')
    assert 'hx-trigger="every 1s"' in running
    assert 'value="42"' in running
    assert "<html" not in running
    assert 'hx-trigger="every 1s"' not in done
    assert reverse("inbox:export_download", args=[job.pk]) in done


def test_export_start_twice_while_running_returns_the_same_job(tree):
    first = export_job_start(tree.erin, "roster", {"status": "active"})
    second = export_job_start(tree.erin, "roster", {"status": "active"})

    assert first.pk == second.pk
    assert ExportJob.objects.count() == 1


def test_export_list_shows_only_own_jobs(client, tree):
    ExportJob.objects.create(user=tree.erin, kind="roster")
    ExportJob.objects.create(user=UserFactory(), kind="roster")
    client.force_login(tree.erin)

    response = client.get(reverse("inbox:exports"))

    assert [j.user_id for j in response.context["page"]] == [tree.erin.pk]


def test_schedules_are_rows_a_city_admin_can_change():
    tasks = dict(PeriodicTask.objects.values_list("task", "crontab__hour"))
    assert tasks == {
        "enrollment.tasks.applications_expire_overdue": "*",
        "enrollment.tasks.approval_reminders": "8",
        "courses.tasks.waitlists_release_closed": "*",
        "courses.tasks.selection_reminders": "8",
        "courses.tasks.roster_reminders": "8",
        "courses.tasks.agreement_reminders": "8",
        "credits.tasks.compliance_snapshot_nightly": "1",
        "credits.tasks.hours_reminders": "8",
        "credits.tasks.declaration_reminders": "8",
        "portal.tasks.notifications_email_pending": "*",
        "portal.tasks.announcements_send": "*",
        "portal.tasks.exports_expire": "3",
        "portal.tasks.login_records_purge": "3",
    }


def test_header_shows_unread_count(client, tree):
    _note(tree.teacher_a)
    _note(tree.teacher_a)
    _note(tree.teacher_a, read_at=tree.teacher_a.date_joined)
    _note(tree.teacher_b)  # someone else's
    client.force_login(tree.teacher_a)

    html = client.get(reverse("inbox:preferences")).content.decode()

    assert '<span class="badge rounded-pill text-bg-danger" data-inbox-unread>2<' in html


def test_export_list_query_count_is_fixed(client, tree, django_assert_max_num_queries):
    client.force_login(tree.erin)
    ExportJob.objects.create(user=tree.erin, kind="roster")
    with django_assert_max_num_queries(10) as one:
        client.get(reverse("inbox:exports"))
    ExportJob.objects.bulk_create([ExportJob(user=tree.erin, kind="compliance") for _ in range(19)])
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("inbox:exports"))


def test_inbox_mark_read_with_htmx_returns_the_item_fragment(client, tree):
    note = _note(tree.teacher_a, title="选课提醒")
    client.force_login(tree.teacher_a)

    html = client.post(reverse("inbox:mark_read", args=[note.pk]), headers={"HX-Request": "true"}).content.decode()

    assert html.lstrip().startswith('<li class="list-group-item')
    assert f'id="notification-{note.pk}"' in html
    assert "选课提醒" in html
    assert "未读" not in html
    assert "<html" not in html


def test_export_detail_page_without_js_refreshes_while_running(client, tree):
    job = ExportJob.objects.create(user=tree.erin, kind="roster", status=ExportStatus.QUEUED)
    client.force_login(tree.erin)

    html = client.get(reverse("inbox:export_detail", args=[job.pk])).content.decode()

    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert '<h1 class="h3 mb-3">教师花名册</h1>' in html


def test_email_still_owed_is_sent_by_the_retry_job_once(tree):
    tree.teacher_a.email = "a@example.cn"
    tree.teacher_a.save(update_fields=["email"])
    notification_preferences_set(tree.teacher_a, ["reminder.hours"])
    _note(tree.teacher_a)  # its e-mail task was never queued (say the broker was down)

    first = notifications_email_pending()
    second = notifications_email_pending()

    assert (first, second) == (1, 0)
    assert [m.to for m in mail.outbox] == [["a@example.cn"]]

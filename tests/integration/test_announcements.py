"""Q&A contacts shown to a district's teachers; announcements shown from their publish time on the
home pages of those they concern and sent to their inboxes once, on that date."""

import pytest
import time_machine
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from enrollment.models import ApplicationState
from portal import services
from portal.models import Announcement, AnnouncementKind, Audience, Contact, Notification
from tests.factories.enrollment import at, bulk_applications, programme_with_chain

pytestmark = pytest.mark.django_db

BEFORE, PUBLISH, AFTER = at("2022-03-09 23:59"), at("2022-03-10 08:00"), at("2022-03-10 08:05")


def _announcement(unit, audience=Audience.EVERYONE, **extra) -> Announcement:
    fields = {
        "unit": unit,
        "audience": audience,
        "kind": AnnouncementKind.SELECTION,
        "title": "关于做好2022年度选课工作的通知",
        "body": "选课 3 月 15 日开始。",
        "publish_at": PUBLISH,
    }
    return Announcement.objects.create(**(fields | extra))


def _home_titles(client, user) -> list[str]:
    client.force_login(user)
    return [a.title for a in client.get(reverse("home")).context["announcements"]]


def test_district_admin_publishes_her_districts_contacts_for_its_teachers(client, tree):
    client.force_login(tree.carol)

    client.post(
        reverse("portal:contacts"),
        {"unit": tree.district1.pk, "name": "陈老师", "phone": "020-38000001", "duty": "选课咨询", "order": "1"},
    )
    refused = client.post(
        reverse("portal:contacts"), {"unit": tree.city.pk, "name": "越权", "phone": "1", "duty": "x", "order": "1"}
    )

    assert list(Contact.objects.values_list("unit__name", "name")) == [("天河区", "陈老师")]
    assert list(refused.context["form"].errors) == ["unit"]
    client.force_login(tree.teacher_a)
    help_page = client.get(reverse("portal:help")).content.decode()
    home = client.get(reverse("home"))
    assert "陈老师" in help_page and "020-38000001" in help_page
    cards = [c.text for _role, cards in home.context["sections"] for c in cards if c.title == "咨询联系人"]
    assert cards == ["陈老师 020-38000001（选课咨询）"]
    client.force_login(tree.teacher_c)  # the other district
    assert "陈老师" not in client.get(reverse("portal:help")).content.decode()


def test_the_city_sees_contacts_of_every_district(client, tree):
    Contact.objects.create(unit=tree.district2, name="海珠联系人", phone="1", duty="选课")
    client.force_login(tree.erin)

    response = client.get(reverse("portal:contacts"))

    assert [c.name for c in response.context["contacts"]] == ["海珠联系人"]


def test_contact_list_query_count_is_flat(client, tree, django_assert_max_num_queries):
    Contact.objects.create(unit=tree.district1, name="一", phone="1", duty="选课")
    client.force_login(tree.erin)
    client.get(reverse("portal:contacts"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("portal:contacts"))
    Contact.objects.bulk_create(Contact(unit=tree.district2, name=f"人{i}", phone="1", duty="选课") for i in range(20))

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("portal:contacts"))

    assert len(response.context["contacts"]) == 21


def test_city_admin_schedules_an_announcement(client, tree):
    client.force_login(tree.erin)

    response = client.post(
        reverse("portal:announcement_create"),
        {
            "unit": tree.city.pk,
            "audience": Audience.TEACHERS,
            "kind": AnnouncementKind.SELECTION,
            "title": "选课通知",
            "body": "正文",
            "publish_at": "2022-03-10T08:00",
        },
    )

    announcement = Announcement.objects.get()
    assert response.status_code == 302
    assert (announcement.publish_at, announcement.created_by, announcement.notified_at) == (PUBLISH, tree.erin, None)


def test_announcement_shows_on_home_pages_only_from_its_publish_time(client, tree):
    _announcement(tree.district1, Audience.TEACHERS)

    with time_machine.travel(BEFORE, tick=False):
        before = _home_titles(client, tree.teacher_a)
    with time_machine.travel(AFTER, tick=False):
        after = _home_titles(client, tree.teacher_a)
        other_district = _home_titles(client, tree.teacher_c)
        admin = _home_titles(client, tree.alice)  # teachers only

    assert (before, after, other_district, admin) == ([], ["关于做好2022年度选课工作的通知"], [], [])


def test_announcement_is_sent_once_on_its_date(tree):
    announcement = _announcement(tree.district1)

    with time_machine.travel(BEFORE, tick=False):
        early = services.announcements_send_due(BEFORE)
    with time_machine.travel(AFTER, tick=False):
        sent = services.announcements_send_due(AFTER)
        again = services.announcements_send_due(AFTER)

    recipients = set(Notification.objects.filter(kind="announcement").values_list("user__name", flat=True))
    assert (early, sent, again) == (0, 1, 0)
    assert recipients == {"teacher_a", "teacher_b", "alice", "bob", "carol"}  # district 1: teachers and admins
    assert Notification.objects.filter(kind="announcement").count() == 5
    announcement.refresh_from_db()
    assert announcement.notified_at == AFTER


def test_a_resend_after_a_lost_claim_reaches_nobody_twice(tree):
    announcement = _announcement(tree.city, Audience.ADMINS)
    services.announcements_send_due(AFTER)
    Announcement.objects.filter(pk=announcement.pk).update(notified_at=None)  # as if the claim were lost

    services.announcements_send_due(AFTER)

    assert Notification.objects.filter(kind="announcement").count() == 5  # alice, bob, carol, dave, erin, once each


def test_programme_applicants_get_its_start_date(client, tree):
    programme = programme_with_chain(tree.city, title="校长任职资格培训")
    bulk_applications(programme, [tree.teacher_a.teacher], state=ApplicationState.FINALIZED, level_order=3)
    bulk_applications(programme, [tree.teacher_b.teacher], state=ApplicationState.WITHDRAWN)
    _announcement(
        tree.city,
        "enrollment.applicants",
        target_id=programme.pk,
        kind=AnnouncementKind.PROGRAMME_START,
        title="校长任职资格培训开班通知",
    )

    services.announcements_send_due(AFTER)
    with time_machine.travel(AFTER, tick=False):
        homes = [_home_titles(client, user) for user in (tree.teacher_a, tree.teacher_b, tree.teacher_c)]

    assert list(Notification.objects.filter(kind="announcement").values_list("user__name", flat=True)) == ["teacher_a"]
    assert homes == [["校长任职资格培训开班通知"], [], []]


def test_a_district_admin_addresses_only_her_district(client, tree):
    programme = programme_with_chain(tree.city)
    client.force_login(tree.carol)
    data = {"kind": "other", "title": "通知", "body": "正文", "publish_at": "2022-03-10T08:00"}

    city_wide = client.post(
        reverse("portal:announcement_create"), data | {"unit": tree.city.pk, "audience": "everyone"}
    )
    applicants = client.post(
        reverse("portal:announcement_create"),
        data | {"unit": tree.district1.pk, "audience": "enrollment.applicants", "target_id": programme.pk},
    )

    assert list(city_wide.context["form"].errors) == ["unit"]
    assert list(applicants.context["form"].errors) == ["audience", "target_id"]
    assert Announcement.objects.count() == 0


def test_an_unconcerned_user_gets_404_for_the_announcement(client, tree):
    announcement = _announcement(tree.district1, Audience.TEACHERS)
    url = reverse("portal:announcement", args=[announcement.pk])

    with time_machine.travel(AFTER, tick=False):
        client.force_login(tree.teacher_c)
        outsider = client.get(url).status_code
        client.force_login(tree.teacher_a)
        concerned = client.get(url).status_code
    with time_machine.travel(BEFORE, tick=False):
        too_early = client.get(url).status_code

    assert (outsider, concerned, too_early) == (404, 200, 404)


def test_announcement_list_query_count_is_flat(client, tree, django_assert_max_num_queries):
    _announcement(tree.city)
    client.force_login(tree.erin)
    client.get(reverse("portal:announcements"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("portal:announcements"))
    for i in range(20):
        _announcement(tree.district2, title=f"通知{i}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("portal:announcements"))

    assert len(response.context["announcements"]) == 21


def test_the_sending_job_is_scheduled_after_migrate(db):
    task = PeriodicTask.objects.get(name="发布通知公告")

    assert (task.task, task.crontab.minute, task.enabled) == ("portal.tasks.announcements_send", "*/5", True)

"""Schools without a filed agreement are reminded (once per occasion) and listed for the county; providers
hand in their outcome compilations for the city."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses import services
from courses.models import OutcomeCompilation
from courses.reminders import agreement_reminders_send
from portal.models import Notification
from tests.factories.courses import shanghai
from tests.factories.partnership import IN_TRAINING, maoming, pdf_upload, private_files_in
from tests.factories.portal import CityFactory, admin_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def m(tree, monkeypatch, tmp_path):
    private_files_in(monkeypatch, tmp_path)
    return maoming(tree)


def _file(m, school, actor, provider=None):
    agreement = services.agreement_choose(
        school=school, period=m.period, provider=provider or m.p1, actor=actor, now=IN_TRAINING
    )
    services.agreement_upload(agreement, file=pdf_upload(), fee=3, actor=actor, now=IN_TRAINING)
    services.agreement_file(agreement, m.tree.carol, IN_TRAINING)


def reminded() -> list[tuple[str, str]]:
    return sorted(Notification.objects.filter(kind="reminder.agreement").values_list("user__name", "title"))


def test_nobody_is_reminded_long_before_the_date(m):
    assert agreement_reminders_send(shanghai(2024, 9, 7, 8)) == 0


def test_schools_without_a_filed_agreement_are_reminded_a_week_before_once(m):
    _file(m, m.tree.school_a, m.tree.alice)

    first = agreement_reminders_send(shanghai(2024, 9, 8, 8))
    again = agreement_reminders_send(shanghai(2024, 9, 9, 8))

    assert (first, again) == (2, 0)
    assert reminded() == [
        ("bob", "协议备案提醒：茂名市2024年专业科目远程培训"),
        ("dave", "协议备案提醒：茂名市2024年专业科目远程培训"),
    ]


def test_after_the_date_schools_and_their_counties_hear_once(m):
    agreement_reminders_send(shanghai(2024, 9, 16, 8))
    agreement_reminders_send(shanghai(2024, 9, 17, 8))

    county = Notification.objects.filter(kind="reminder.agreement", user=m.tree.carol).values_list("title", flat=True)
    assert list(county) == ["2 所学校的协议未按期备案"]
    assert [t for n, t in reminded() if n == "alice"] == ["协议备案已逾期：茂名市2024年专业科目远程培训"]


def test_the_county_lists_the_schools_without_a_filed_agreement(m, client):
    _file(m, m.tree.school_a, m.tree.alice)
    client.force_login(m.tree.carol)

    rows = client.get(reverse("courses:agreements_overview"), {"period": m.period.pk, "state": "unfiled"}).context[
        "page"
    ]

    assert [r.school.name for r in rows] == ["B校"]


def test_a_provider_uploads_its_compilation_and_the_city_downloads_it(m, client):
    client.force_login(m.staff1)
    response = client.post(
        reverse("courses:outcomes"),
        {"period": m.period.pk, "provider": m.p1.pk, "title": "2024年优秀研修成果汇编", "file": pdf_upload("汇编.pdf")},
    )
    assert response.status_code == 302
    compilation = OutcomeCompilation.objects.get()
    client.force_login(m.tree.erin)

    listed = client.get(reverse("courses:outcomes"), {"period": m.period.pk}).context["page"]
    download = client.get(reverse("courses:outcome_document", args=[compilation.pk]))

    assert [c.title for c in listed] == ["2024年优秀研修成果汇编"]
    assert (download.status_code, download["Content-Type"]) == (200, "application/pdf")
    assert Notification.objects.filter(kind="outcomes_uploaded", user=m.tree.erin).count() == 1


def test_a_compilation_must_be_a_pdf(m, client):
    client.force_login(m.staff1)

    response = client.post(
        reverse("courses:outcomes"),
        {"period": m.period.pk, "provider": m.p1.pk, "title": "汇编", "file": SimpleUploadedFile("a.pdf", b"MZ" * 500)},
    )

    assert "文件内容不是 PDF" in response.content.decode()
    assert OutcomeCompilation.objects.count() == 0


def test_another_provider_and_another_city_do_not_see_it(m, client):
    compilation = services.outcome_compilation_upload(
        period=m.period, provider=m.p1, title="汇编", file=pdf_upload(), actor=m.staff1, now=IN_TRAINING
    )
    from portal.models import Role

    for user in (m.staff2, admin_user(Role.CITY_ADMIN, CityFactory())):
        client.force_login(user)
        assert client.get(reverse("courses:outcome_document", args=[compilation.pk])).status_code == 404


@pytest.mark.parametrize("extra", [0, 4])
def test_outcomes_page_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    for _ in range(1 + extra):
        services.outcome_compilation_upload(
            period=m.period, provider=m.p1, title="汇编", file=pdf_upload(), actor=m.staff1, now=IN_TRAINING
        )
    client.force_login(m.tree.erin)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("courses:outcomes"), {"period": m.period.pk})

    assert len(response.context["page"]) == 1 + extra

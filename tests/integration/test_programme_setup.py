"""A special programme set up on one page: title, eligibility, seats, window, chain with deadlines, quota table."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from enrollment.models import ApplicationState, AuditAction, AuditEntry, Programme, ProgrammeLevel, Quota
from portal.models import Position, Stage
from tests.factories.enrollment import PeriodFactory, at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db


def _page(period, *levels, quotas=None, **extra) -> dict:
    """levels: (unit_kind, deadline) rows of a new programme's three-row chain."""
    data = {
        "form": "programme",
        "period": period.pk,
        "title": "中学(中职)校长任职资格培训",
        "description": "",
        "total_seats": "30",
        "registration_opens_at": "2022-03-14T00:00",
        "registration_closes_at": "2022-03-18T23:59",
        "eligible_positions": [Position.PRINCIPAL, Position.VICE_PRINCIPAL],
        "eligible_stages": [Stage.objects.get(code="junior").pk, Stage.objects.get(code="senior").pk],
        "levels-TOTAL_FORMS": "3",
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "1",
        "levels-MAX_NUM_FORMS": "1000",
    }
    for i, (kind, deadline) in enumerate(levels):
        data |= {f"levels-{i}-unit_kind": kind, f"levels-{i}-deadline": deadline}
    for district, seats in (quotas or {}).items():
        data[f"quota-seats_{district.pk}"] = str(seats)
    return data | extra


GUANGZHOU_CHAIN = (("school", "2022-03-18T23:59"), ("district", "2022-03-25T23:59"), ("city", "2022-03-30T23:59"))


def test_programme_with_chain_and_quota_table_in_one_post(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.erin)

    response = client.post(
        reverse("enrollment:setup_programme_create"),
        _page(period, *GUANGZHOU_CHAIN, quotas={tree.district1: 18, tree.district2: 12}),
    )

    programme = Programme.objects.get()
    assert response["Location"] == reverse("enrollment:setup_programme_edit", args=[programme.pk])
    assert list(programme.levels.order_by("order").values_list("order", "unit_kind")) == [
        (1, "school"),
        (2, "district"),
        (3, "city"),
    ]
    assert dict(Quota.objects.filter(programme=programme).values_list("district__name", "seats")) == {
        "天河区": 18,
        "海珠区": 12,
    }
    assert sorted(s.code for s in programme.eligible_stages.all()) == ["junior", "senior"]
    assert programme.eligible_positions == [Position.PRINCIPAL, Position.VICE_PRINCIPAL]
    assert AuditEntry.objects.filter(programme=programme, action=AuditAction.QUOTA_SET).count() == 2


def test_a_county_ending_chain_leaves_the_city_deadline_empty(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.erin)

    client.post(
        reverse("enrollment:setup_programme_create"),
        _page(period, ("school", "2022-03-18T23:59"), ("district", "2022-03-25T23:59"), ("city", "")),
    )

    assert list(ProgrammeLevel.objects.values_list("unit_kind", flat=True).order_by("order")) == ["school", "district"]


def test_deadlines_out_of_order_are_refused_and_nothing_is_saved(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.erin)

    response = client.post(
        reverse("enrollment:setup_programme_create"),
        _page(period, ("school", "2022-03-26T23:59"), ("district", "2022-03-25T23:59"), ("city", "")),
    )

    assert response.context["levels"].non_form_errors() == ["后一级的审核截止时间必须晚于前一级。"]
    assert Programme.objects.count() == 0


def test_first_deadline_before_registration_closes_is_refused(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.erin)

    response = client.post(
        reverse("enrollment:setup_programme_create"),
        _page(period, ("school", "2022-03-17T23:59"), ("district", "2022-03-25T23:59"), ("city", "")),
    )

    assert response.context["levels"].non_form_errors() == ["第一级审核截止时间不能早于报名截止时间。"]


@pytest.fixture
def running(tree):
    """A Guangzhou programme with 2 of the district's seats used (finalized)."""
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5, tree.district2: 5})
    teachers = [TeacherFactory(unit=tree.school_a) for _ in range(2)]
    bulk_applications(programme, teachers, state=ApplicationState.FINALIZED, level_order=3)
    return programme


def _edit(programme, **changes) -> dict:
    """The edit page's POST as it is rendered, with ``changes``."""
    levels = list(programme.levels.order_by("order"))
    data = _page(programme.period, title=programme.title, total_seats=str(programme.total_seats))
    data |= {
        "levels-TOTAL_FORMS": str(len(levels) + 1),
        "levels-INITIAL_FORMS": str(len(levels)),
        "registration_opens_at": "2022-03-14T00:00",
        "registration_closes_at": "2022-03-18T23:59",
    }
    for i, level in enumerate(levels):
        data |= {
            f"levels-{i}-id": level.pk,
            f"levels-{i}-unit_kind": level.unit_kind,
            f"levels-{i}-deadline": level.deadline.astimezone(at("2022-01-01 00:00").tzinfo).strftime("%Y-%m-%dT%H:%M"),
        }
    for quota in programme.quotas.all():
        data[f"quota-seats_{quota.district_id}"] = str(quota.seats)
    return data | changes


def test_a_moved_deadline_moves_the_waiting_applications(client, tree, running):
    waiting = bulk_applications(running, [TeacherFactory(unit=tree.school_b)], level_order=2)[0]
    client.force_login(tree.erin)

    client.post(
        reverse("enrollment:setup_programme_edit", args=[running.pk]),
        _edit(running, **{"levels-1-deadline": "2022-03-27T23:59"}),
    )

    waiting.refresh_from_db()
    assert waiting.deadline == at("2022-03-27 23:59")


def test_quota_below_the_seats_used_is_refused_all_or_nothing(client, tree, running):
    client.force_login(tree.erin)
    data = _edit(
        running,
        title="改过的名称",
        **{f"quota-seats_{tree.district1.pk}": "1", f"quota-seats_{tree.district2.pk}": "9"},
    )

    response = client.post(reverse("enrollment:setup_programme_edit", args=[running.pk]), data)

    assert response.context["quotas"].non_field_errors() == ["天河区已通过 2 人，名额不能少于 2。"]
    running.refresh_from_db()
    assert running.title != "改过的名称"
    assert dict(running.quotas.values_list("district__name", "seats")) == {"天河区": 5, "海珠区": 5}


def test_a_level_with_applications_cannot_be_deleted(client, tree, running):
    client.force_login(tree.erin)

    response = client.post(
        reverse("enrollment:setup_programme_edit", args=[running.pk]), _edit(running, **{"levels-2-DELETE": "on"})
    )

    assert response.context["levels"].non_form_errors() == ["“市”已有 2 份申请，不能删除或改变层级。"]
    assert running.levels.count() == 3


def test_quota_table_imported_on_the_same_page(client, tree, running):
    wb = openpyxl.Workbook()
    wb.active.append(["区", "名额"])
    wb.active.append(["天河", 7])
    wb.active.append(["海珠区", 3])
    wb.active.append(["合计", 10])
    buffer = io.BytesIO()
    wb.save(buffer)
    client.force_login(tree.erin)

    response = client.post(
        reverse("enrollment:setup_programme_edit", args=[running.pk]),
        {"form": "import", "import-file": SimpleUploadedFile("quota.xlsx", buffer.getvalue())},
    )

    assert response.status_code == 302
    assert dict(running.quotas.values_list("district__name", "seats")) == {"天河区": 7, "海珠区": 3}


def test_programme_setup_list_query_count_is_flat(client, tree, django_assert_max_num_queries):
    period = PeriodFactory(city=tree.city)
    programme_with_chain(tree.city, period=period, quotas={tree.district1: 3})
    client.force_login(tree.erin)
    client.get(reverse("enrollment:setup_programme_list"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("enrollment:setup_programme_list"))
    for _ in range(10):
        programme_with_chain(tree.city, period=period, quotas={tree.district1: 3, tree.district2: 2})

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("enrollment:setup_programme_list"))

    assert [(p.quota_seats, p.n_levels) for p in response.context["programmes"]] == [(3, 3)] + [(5, 3)] * 10


def test_only_city_admins_set_up_programmes(client, tree):
    client.force_login(tree.carol)

    assert client.get(reverse("enrollment:setup_programme_create")).status_code == 403

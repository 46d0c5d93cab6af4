"""Kept totals (TeacherYearTotal): always equal to the ledger's sums, whatever wrote the entries."""

import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection

from courses.models import CourseSelection
from courses.results_import import provider_results_import
from courses.services import selection_complete
from credits.models import CreditEntry, CreditKind, Source, TeacherYearTotal
from credits.selectors import compliance_by_path, teacher_rows, totals_for_teachers
from credits.services import credit_adjustment_record, credit_entry_record, credit_entry_reverse
from portal.exporting import xlsx_bytes
from portal.models import Role, User
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory, shanghai
from tests.factories.credits import GUANGZHOU_TREE, MAOMING_TREE, entries, preloaded
from tests.factories.portal import admin_user

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2022, 6, 15, 10, tzinfo=dt.UTC)  # within 2201's training dates (results are registered then)


def ledger_sums() -> dict[tuple[int, int], tuple]:
    """What the totals must hold, summed in Python from every entry."""
    sums: dict = defaultdict(lambda: [D(0), D(0), D(0), D(0), defaultdict(D), defaultdict(D)])
    for e in CreditEntry.objects.all():
        row = sums[(e.teacher_id, e.year)]
        row[0] += e.hours
        row[1 + ["public", "professional", "elective"].index(e.category)] += e.hours
        if e.kind_id:
            row[4][str(e.kind_id)] += e.hours
        for code in e.topics:
            row[5][code] += e.hours
    return {key: (*row[:4], dict(row[4]), dict(row[5])) for key, row in sums.items()}


def kept_sums() -> dict[tuple[int, int], tuple]:
    return {
        (t.teacher_id, t.year): (
            t.total,
            t.public,
            t.professional,
            t.elective,
            {k: D(str(v)) for k, v in t.kinds.items()},
            {k: D(str(v)) for k, v in t.topics.items()},
        )
        for t in TeacherYearTotal.objects.all()
    }


def mixed_ledger(tree) -> list[CreditEntry]:
    preloaded()
    a, b = tree.teacher_a.teacher, tree.teacher_b.teacher
    made = entries(a, 2022, ("public", 10, None, ["ethics"]), ("professional", D("22.5"), "ordinary"))
    made += entries(a, 2022, ("professional", 30, "rotation", ["ethics", "shuangjian"]), ("elective", D("0.5")))
    made += entries(a, 2023, ("public", 4))
    made += entries(b, 2022, ("elective", 18, None, ["shuangjian"]))
    return made


@pytest.mark.postgres
def test_totals_follow_record_reversal_and_adjustment(tree):
    made = mixed_ledger(tree)
    credit_entry_record(
        teacher=tree.teacher_b.teacher,
        year=2022,
        category="professional",
        hours="7.25",
        source=Source.TRANSFER,
        reference="transfer:1",
        kind="rotation",
        topics=["ethics"],
    )
    credit_entry_reverse(made[2], tree.erin, "重复登记")
    credit_adjustment_record(
        actor=tree.erin,
        teacher=tree.teacher_a.teacher,
        year=2022,
        category="public",
        hours=D("-2.5"),
        reason="核减",
        topics=["ethics"],
    )
    kept = kept_sums()
    assert kept == ledger_sums()
    a = kept[(tree.teacher_a.teacher.pk, 2022)]
    assert (a[0], a[1], a[4][str(CreditKind.objects.get(code="rotation").pk)]) == (D("30.5"), D("7.5"), D(0))


@pytest.mark.postgres
def test_totals_follow_provider_result_import(tree):
    from courses.models import ProviderStaff

    mixed_ledger(tree)
    provider = ProviderFactory()
    period = PeriodFactory(city=tree.city)
    course = CourseFactory(period=period, provider=provider, code="GZ-101", hours=D(12), category="public")
    staff = User.objects.create_user("110101199003070011", "pw", name="机构老师")
    ProviderStaff.objects.create(provider=provider, user=staff)
    teachers = [tree.teacher_a.teacher, tree.teacher_b.teacher, tree.teacher_c.teacher]
    for teacher in teachers:
        CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=NOW)
    sheet = xlsx_bytes(
        title="考核结果",
        headers=["身份证号", "姓名", "课程编号", "学时", "考核结果"],
        rows=[[t.id_number, t.name, "GZ-101", D("11.5"), "合格"] for t in teachers],
    )

    result = provider_results_import(sheet, provider=provider, period=period, actor=staff, now=NOW)

    assert (result.errors, result.created) == ([], 3)
    assert kept_sums() == ledger_sums()
    assert kept_sums()[(tree.teacher_c.teacher.pk, period.year)][:2] == (D("11.5"), D("11.5"))


@pytest.mark.postgres
def test_totals_follow_completion(tree):
    preloaded()
    period = PeriodFactory(city=tree.city)
    course = CourseFactory(period=period, provider=ProviderFactory(), category="professional", hours=D("1.5"))
    teacher = tree.teacher_a.teacher
    selection = CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=NOW)
    staff = admin_user(Role.CITY_ADMIN, tree.city)

    selection_complete(selection, staff, shanghai(2022, 6, 1))
    selection_complete(CourseSelection.objects.get(pk=selection.pk), staff, shanghai(2022, 6, 2))

    assert kept_sums() == ledger_sums() == {(teacher.pk, period.year): (D("1.5"), D(0), D("1.5"), D(0), {}, {})}


@pytest.mark.postgres
def test_totals_follow_raw_sql_insert(tree):
    mixed_ledger(tree)
    teacher = tree.teacher_c.teacher
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO credits_creditentry (teacher_id, year, category, topic_codes, hours, source, reference,"
            " recorded_at, reason) VALUES (%s, 2022, 'public', ',ethics,', 3, 'import', 'raw:1', now(), ''),"
            " (%s, 2022, 'elective', '', 2.25, 'import', 'raw:2', now(), ''),"
            " (%s, 2022, 'public', '', 1, 'import', 'raw:3', now(), '')",
            [teacher.pk, teacher.pk, tree.teacher_a.teacher.pk],
        )
    assert kept_sums() == ledger_sums()
    assert kept_sums()[(teacher.pk, 2022)] == (D("5.25"), D(3), D(0), D("2.25"), {}, {"ethics": D(3)})


@pytest.mark.postgres
def test_rebuild_credit_totals_gives_the_same_totals(tree):
    mixed_ledger(tree)
    before = kept_sums()
    TeacherYearTotal.objects.filter(teacher=tree.teacher_a.teacher).update(total=D(999))
    TeacherYearTotal.objects.filter(teacher=tree.teacher_b.teacher).delete()

    first, second = io.StringIO(), io.StringIO()
    call_command("rebuild_credit_totals", stdout=first)
    call_command("rebuild_credit_totals", stdout=second)

    assert kept_sums() == before == ledger_sums()
    assert len(before) == 3
    assert first.getvalue().startswith("已重建 3 条教师年度学时汇总")
    assert second.getvalue().startswith("已重建 3 条教师年度学时汇总")


@pytest.mark.parametrize("rule", [GUANGZHOU_TREE, MAOMING_TREE])
def test_current_compliance_equals_ledger_sums(tree, rule):
    """The current state (kept totals on PostgreSQL) agrees with the ledger read as of now (always the ledger)."""
    made = mixed_ledger(tree)
    entries(tree.teacher_b.teacher, 2022, ("public", 30), ("professional", 42, "ordinary"), ("elective", D("0.5")))
    credit_entry_reverse(made[0], tree.erin, "重复登记")
    later = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

    current = compliance_by_path(tree.city, 2022, rule)
    assert current == compliance_by_path(tree.city, 2022, rule, as_of=later)
    assert sum(n for _path, n, _ok in current) == 3
    rows = [(r.teacher_id, r.met, r.sums) for r in teacher_rows(tree.city, 2022, rule)]
    assert len(rows) == 3
    totals = totals_for_teachers([r[0] for r in rows], 2022)
    assert totals[tree.teacher_a.teacher.pk].by_kind == {"ordinary": D("22.5"), "rotation": D(30)}
    assert totals[tree.teacher_a.teacher.pk].by_topic == {"ethics": D(30), "shuangjian": D(30)}
    assert totals[tree.teacher_b.teacher.pk].by_kind == {"ordinary": D(42)}
    assert totals[tree.teacher_a.teacher.pk].by_category == {"professional": D("52.5"), "elective": D("0.5")}
    assert totals[tree.teacher_c.teacher.pk].total == D(0)

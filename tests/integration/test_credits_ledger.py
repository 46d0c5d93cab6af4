"""The ledger: recording is idempotent, entries are immutable, corrections are reversals."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from credits.models import CreditEntry, LedgerImmutableError, Source
from credits.selectors import teacher_totals, totals_for_teachers
from credits.services import credit_adjustment_record, credit_entry_record, credit_entry_reverse
from tests.factories.credits import entries, preloaded
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db


def test_credit_entry_record_twice_records_once():
    teacher = TeacherFactory()
    first = credit_entry_record(
        teacher=teacher,
        year=2022,
        category="public",
        hours=6,
        source=Source.COURSE,
        reference="enrollment:1",
        topics=["ethics"],
    )
    second = credit_entry_record(
        teacher=teacher, year=2022, category="public", hours=6, source=Source.COURSE, reference="enrollment:1"
    )
    assert first is not None
    assert second is None
    assert CreditEntry.objects.filter(teacher=teacher).count() == 1
    assert first.topics == ["ethics"]


def test_credit_entry_record_kind_of_other_category_refused():
    preloaded()
    with pytest.raises(ValidationError):
        credit_entry_record(
            teacher=TeacherFactory(),
            year=2024,
            category="public",
            hours=6,
            source=Source.COURSE,
            reference="enrollment:2",
            kind="rotation",
        )


def test_teacher_totals_sums_entries_in_one_query(django_assert_num_queries):
    preloaded()
    teacher = TeacherFactory()
    entries(
        teacher,
        2024,
        ("professional", 20, "ordinary", ["ethics"]),
        ("professional", D("22.5"), "ordinary"),
        ("professional", 30, "rotation"),
        ("public", 4),
    )
    entries(teacher, 2023, ("public", 99))
    with django_assert_num_queries(1):
        totals = teacher_totals(teacher.pk, 2024)
    assert totals.total == D("76.5")
    assert totals.by_category == {"professional": D("72.5"), "public": D(4)}
    assert totals.by_kind == {"ordinary": D("42.5"), "rotation": D(30)}
    assert totals.by_topic == {"ethics": D(20)}


def test_totals_for_teachers_one_query_for_many(django_assert_num_queries):
    teachers = TeacherFactory.create_batch(5)
    for t in teachers:
        entries(t, 2022, ("public", 10), ("elective", 3))
    with django_assert_num_queries(1):
        result = totals_for_teachers([t.pk for t in teachers], 2022)
    assert [r.total for r in result.values()] == [D(13)] * 5


def test_entry_save_again_refused():
    entry = entries(TeacherFactory(), 2022, ("public", 10))[0]
    entry.hours = D(100)
    with pytest.raises(LedgerImmutableError):
        entry.save()
    with pytest.raises(LedgerImmutableError):
        entry.delete()
    with pytest.raises(LedgerImmutableError):
        CreditEntry.objects.filter(pk=entry.pk).update(hours=D(100))
    with pytest.raises(LedgerImmutableError):
        CreditEntry.objects.filter(pk=entry.pk).delete()
    assert CreditEntry.objects.get(pk=entry.pk).hours == D(10)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql", ["UPDATE credits_creditentry SET hours = 100 WHERE id = %s", "DELETE FROM credits_creditentry WHERE id = %s"]
)
def test_entry_raw_sql_change_refused_by_database(sql):
    entry = entries(TeacherFactory(), 2022, ("public", 10))[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])
    assert CreditEntry.objects.get(pk=entry.pk).hours == D(10)


def test_credit_entry_reverse_writes_negative_entry_once(tree):
    entry = entries(TeacherFactory(unit=tree.school_a), 2022, ("public", 10))[0]
    reversal = credit_entry_reverse(entry, tree.erin, "重复登记")
    assert (reversal.hours, reversal.reverses_id, reversal.source, reversal.recorded_by) == (
        D(-10),
        entry.pk,
        Source.REVERSAL,
        tree.erin,
    )
    assert teacher_totals(entry.teacher_id, 2022).total == D(0)
    with pytest.raises(ValidationError):
        credit_entry_reverse(entry, tree.erin, "再来一次")
    with pytest.raises(ValidationError):
        credit_entry_reverse(reversal, tree.erin, "冲正的冲正")
    assert CreditEntry.objects.count() == 2


def test_credit_entry_reverse_requires_reason(tree):
    entry = entries(TeacherFactory(unit=tree.school_a), 2022, ("public", 10))[0]
    with pytest.raises(ValidationError):
        credit_entry_reverse(entry, tree.erin, "  ")


def test_credit_adjustment_record_by_district_admin_audited(tree):
    teacher = tree.teacher_a.teacher
    entry = credit_adjustment_record(
        actor=tree.carol, teacher=teacher, year=2022, category="public", hours=D(3), reason="线下培训补录"
    )
    assert (entry.recorded_by, entry.reason, entry.source) == (tree.carol, "线下培训补录", Source.MANUAL)


def test_credit_adjustment_record_without_reason_refused(tree):
    with pytest.raises(ValidationError):
        credit_adjustment_record(
            actor=tree.carol, teacher=tree.teacher_a.teacher, year=2022, category="public", hours=D(3), reason=""
        )


@pytest.mark.parametrize("who", ["alice", "dave"])
def test_credit_adjustment_record_outside_role_or_scope_refused(tree, who):
    actor = getattr(tree, who)
    with pytest.raises(PermissionDenied):
        credit_adjustment_record(
            actor=actor, teacher=tree.teacher_a.teacher, year=2022, category="public", hours=D(3), reason="补录"
        )


@pytest.mark.parametrize("who", ["alice", "dave"])
def test_credit_entry_reverse_outside_role_or_scope_refused(tree, who):
    entry = entries(TeacherFactory(unit=tree.school_a), 2022, ("public", 10))[0]
    with pytest.raises(PermissionDenied):
        credit_entry_reverse(entry, getattr(tree, who), "重复登记")
    assert CreditEntry.objects.count() == 1

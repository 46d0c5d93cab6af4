"""Writes to the credit-hour ledger. Every function owns all its side effects.

The ledger is append-only: recording and reversing insert rows, nothing is
ever updated. Idempotency comes from the unique (source, reference) pair, so
a second call for the same completion or the same import row records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from credits.models import Category, CreditEntry, CreditKind, Source
from portal.locking import lock_rows
from portal.models import Teacher, User


def _kind_for(kind: CreditKind | str | None) -> CreditKind | None:
    if kind is None or isinstance(kind, CreditKind):
        return kind
    return CreditKind.objects.get(code=kind)


def credit_entry_record(
    *,
    teacher: Teacher,
    year: int,
    category: str,
    hours: Decimal | int | str,
    source: str,
    reference: str,
    kind: CreditKind | str | None = None,
    topics: Iterable[str] = (),
    actor: User | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> CreditEntry | None:
    """Append one entry; return it, or None when (source, reference) was already recorded.

    Side effects: one INSERT into the ledger (in a savepoint, so a duplicate
    leaves the caller's transaction usable). ``reference`` names what produced
    the hours, e.g. "enrollment:123"; no foreign key, so apps stay decoupled.
    """
    hours = Decimal(str(hours))
    if category not in Category.values:
        raise ValidationError(_("科目类别“%(value)s”不存在") % {"value": category})
    if hours == 0:
        raise ValidationError(_("学时不能为 0"))
    kind_obj = _kind_for(kind)
    if kind_obj is not None and kind_obj.category != category:
        raise ValidationError(
            _("学时类型“%(kind)s”属于%(category)s，与所填科目类别不符")
            % {"kind": kind_obj.name, "category": Category(kind_obj.category).label}
        )
    if CreditEntry.objects.filter(source=source, reference=reference).exists():
        return None
    entry = CreditEntry(
        teacher=teacher,
        year=year,
        category=category,
        kind=kind_obj,
        hours=hours,
        source=source,
        reference=reference,
        topic_codes=CreditEntry.join_topics(topics),
        recorded_by=actor,
        reason=reason,
        recorded_at=now or timezone.now(),
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        # A concurrent call won the race on (source, reference).
        if CreditEntry.objects.filter(source=source, reference=reference).exists():
            return None
        raise
    return entry


def credit_entry_reverse(entry: CreditEntry, actor: User, reason: str, now: dt.datetime | None = None) -> CreditEntry:
    """Write the negative twin of ``entry`` (once) and return it.

    Only a district or city admin over the teacher's unit may reverse (PermissionDenied).
    Side effects: one INSERT. A reversal cannot itself be reversed (record a
    new entry instead), and an entry is reversed at most once (unique FK).
    """
    from portal.models import Role
    from portal.scoping import scope_for

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("请填写冲正原因"))
    teacher = Teacher.objects.select_related("unit").get(pk=entry.teacher_id)
    if not scope_for(actor).reaches(teacher.unit, roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)):
        raise PermissionDenied
    return credit_entry_reversal_insert(entry, actor, reason, now)


def credit_entry_reversal_insert(
    entry: CreditEntry, actor: User, reason: str, now: dt.datetime | None = None
) -> CreditEntry:
    """The reversal itself, for callers that checked who may reverse (a school revoking its own certification).

    Side effects: one INSERT under a lock on the original. Raises ValidationError for a reversal or an
    entry reversed before.
    """
    if entry.source == Source.REVERSAL:
        raise ValidationError(_("冲正记录不能再冲正；如需更正，请新增一条记录"))
    with transaction.atomic():
        # Lock the original so two admins cannot reverse it at the same moment.
        lock_rows(CreditEntry.objects.filter(pk=entry.pk))
        if CreditEntry.objects.filter(reverses=entry).exists():
            raise ValidationError(_("这条记录已经冲正过了"))
        reversal = CreditEntry(
            teacher_id=entry.teacher_id,
            year=entry.year,
            category=entry.category,
            kind_id=entry.kind_id,
            topic_codes=entry.topic_codes,
            hours=-entry.hours,
            source=Source.REVERSAL,
            reference=f"reversal:{entry.pk}",
            reverses=entry,
            recorded_by=actor,
            reason=reason,
            recorded_at=now or timezone.now(),
        )
        reversal.save()
    return reversal


def credit_adjustment_record(
    *,
    actor: User,
    teacher: Teacher,
    year: int,
    category: str,
    hours: Decimal,
    reason: str,
    kind: CreditKind | None = None,
    topics: Iterable[str] = (),
    source: str = Source.MANUAL,
    now: dt.datetime | None = None,
) -> CreditEntry:
    """A district or city admin adds (or, with negative hours, deducts) hours by hand.

    Checks the actor holds a district/city role over the teacher's unit; the
    reason is mandatory. The entry itself is the audit record (who, when, why).
    Side effects: one INSERT.
    """
    from portal.models import Role
    from portal.scoping import scope_for

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("人工调整必须填写原因"))
    scope = scope_for(actor)
    if not scope.reaches(teacher.unit, roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)):
        raise PermissionDenied
    if source not in (Source.MANUAL, Source.TRANSFER):
        raise ValidationError(_("人工调整的来源只能是人工调整或外市转入"))
    now = now or timezone.now()
    import uuid

    entry = credit_entry_record(
        teacher=teacher,
        year=year,
        category=category,
        hours=hours,
        source=source,
        reference=f"{source}:{uuid.uuid4().hex}",
        kind=kind,
        topics=topics,
        actor=actor,
        reason=reason,
        now=now,
    )
    assert entry is not None  # a fresh uuid cannot collide
    return entry


def compliance_snapshot_take(year: int, today: dt.date, as_of: dt.datetime | None = None) -> int:
    """Record every unit's teachers and compliant teachers for ``year`` on ``today``; return rows written.

    Set-based: per city with a rule set, one aggregation query (credits.selectors.compliance_by_path),
    one query for the unit ids and one bulk INSERT. Idempotent per unit per date: a rerun the same
    day writes nothing (ignore_conflicts on the unique (unit, year, date)). ``as_of`` counts only
    entries recorded before that moment (the demo back-dates a trend with it).
    """
    from credits.models import ComplianceSnapshot, RuleSet
    from credits.selectors import compliance_by_path
    from portal.models import Unit

    written = 0
    for rule_set in RuleSet.objects.filter(year=year).select_related("city"):
        city = rule_set.city
        counts: dict[str, list[int]] = {}
        for path, teachers, compliant in compliance_by_path(city, year, rule_set.tree, as_of):
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                ancestor = "/" + "/".join(parts[:depth]) + "/"
                pair = counts.setdefault(ancestor, [0, 0])
                pair[0] += teachers
                pair[1] += compliant
        ids = dict(Unit.objects.filter(path__startswith=city.path).values_list("path", "id"))
        rows = [
            ComplianceSnapshot(unit_id=ids[path], year=year, date=today, teachers=n, compliant=ok)
            for path, (n, ok) in counts.items()
            if path in ids
        ]
        before = ComplianceSnapshot.objects.filter(year=year, date=today, unit__path__startswith=city.path).count()
        ComplianceSnapshot.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        after = ComplianceSnapshot.objects.filter(year=year, date=today, unit__path__startswith=city.path).count()
        written += after - before
    return written


def credit_totals_rebuild() -> int | None:
    """Recompute every teacher's yearly totals (credits_teacheryeartotal) from the ledger; idempotent.

    Side effects: empties and refills the totals table in one INSERT ... SELECT
    (PostgreSQL; an EXCLUSIVE lock on the totals makes concurrent ledger inserts
    wait, so none is lost or counted twice, while readers keep reading). For recovery and after bulk loads that
    bypass the ledger's insert trigger. Returns the number of rows written, or
    None where the database keeps no totals table (SQLite sums the ledger).
    """
    if connection.vendor != "postgresql":
        return None
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT credits_totals_rebuild()")
        return int(cursor.fetchone()[0])

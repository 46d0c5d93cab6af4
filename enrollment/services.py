"""Every state change of a special programme, one function each.

Each function checks who acts and whether the level's window is still open at
``now``, saves with a conditional update (so a concurrent click or a worker
that got there first makes it a no-op), writes the immutable audit entries
and queues the notifications for after the commit. Bulk versions take a fixed
number of queries however many applications are selected.

Errors the user can fix raise ``ActionRefused`` with a complete Chinese
sentence; acting on something the role may see but not change raises
``PermissionDenied``.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from courses.attendance_selectors import programme_ban
from portal.importing import Column, ImportResult, excerpt, name, read_table
from portal.locking import lock_row, lock_rows
from portal.models import Role, Teacher, Unit, UnitKind, User
from portal.notifications import notify
from portal.scoping import scope_for

from . import chain
from .models import (
    PENDING_STATES,
    SYSTEM_ROLE,
    Application,
    ApplicationState,
    AuditAction,
    AuditEntry,
    Programme,
    ProgrammeLevel,
    Quota,
)


class ActionRefused(Exception):
    """A rule refused the action; ``str(exc)`` tells the user what happened and what to do."""


@dataclass
class BulkResult:
    done: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)


def _url(application_id: int) -> str:
    return reverse("enrollment:application_detail", args=[application_id])


def _audit(
    *, programme_id: int, actor: User | None, role: str, action: str, now: dt.datetime, **fields: Any
) -> AuditEntry:
    return AuditEntry(
        programme_id=programme_id,
        actor=actor,
        actor_name=actor.name if actor else _("系统"),
        actor_role=role,
        action=action,
        created_at=now,
        **fields,
    )


def _audit_many(
    rows: list[dict],
    *,
    programme_id: int,
    actor: User | None,
    role: str,
    action: str,
    level_id: int,
    from_state: str,
    to_state: str,
    comment: str,
    now: dt.datetime,
) -> None:
    """One audit entry per application in ``rows`` (dicts with ``pk`` and ``district_id``), all with the
    same decision, written set-based: one INSERT … SELECT on PostgreSQL, bulk_create elsewhere.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        sql = (
            "INSERT INTO enrollment_auditentry (programme_id, application_id, district_id, actor_id, actor_name,"
            " actor_role, action, level_id, from_state, to_state, comment, data, created_at)"
            " SELECT %s, a.id, a.district_id, %s, %s, %s, %s, %s, %s, %s, %s, '{}'::jsonb, %s"
            " FROM enrollment_application a WHERE a.id = ANY(%s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    programme_id,
                    actor.pk if actor else None,
                    actor.name if actor else _("系统"),
                    role,
                    action,
                    level_id,
                    from_state,
                    to_state,
                    comment,
                    now,
                    [r["pk"] for r in rows],
                ],
            )
        return
    AuditEntry.objects.bulk_create(
        [
            _audit(
                programme_id=programme_id,
                actor=actor,
                role=role,
                action=action,
                now=now,
                application_id=r["pk"],
                district_id=r["district_id"],
                level_id=level_id,
                from_state=from_state,
                to_state=to_state,
                comment=comment,
            )
            for r in rows
        ]
    )


def _audit_decisions(
    group: list[dict],
    *,
    action: str,
    to_state: str,
    actor: User,
    level_id: int,
    programme_id: int,
    comment: str,
    now: dt.datetime,
) -> None:
    """Audit a decided group: one set-based insert per (approver role, previous state) in it."""
    batches: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in group:
        batches[(r["role"], r["state"])].append(r)
    for (role, state), rows in sorted(batches.items()):
        _audit_many(
            rows,
            programme_id=programme_id,
            actor=actor,
            role=role,
            action=action,
            level_id=level_id,
            from_state=state,
            to_state=to_state,
            comment=comment,
            now=now,
        )


def _levels(programme_id: int) -> list[ProgrammeLevel]:
    return list(ProgrammeLevel.objects.filter(programme_id=programme_id).order_by("order"))


def _require_city_admin(actor: User, programme: Programme) -> None:
    if not scope_for(actor).reaches(programme.period.city, roles=(Role.CITY_ADMIN,)):
        raise PermissionDenied


# --- teachers -------------------------------------------------------------------------------------------------------


def application_eligibility_problem(teacher: Teacher, programme: Programme) -> str | None:
    """Why ``teacher`` may not apply to ``programme`` (a sentence), or None. One query for the stages."""
    if not teacher.is_active:
        return _("您的教师档案状态为“%(s)s”，不能报名。") % {"s": teacher.get_status_display()}
    if not teacher.unit.is_within(programme.period.city):
        return _("该项目只面向%(city)s的教师。") % {"city": programme.period.city.name}
    stage_ids = {s.pk for s in programme.eligible_stages.all()}
    if stage_ids and teacher.stage_id not in stage_ids:
        names = "、".join(s.name for s in programme.eligible_stages.all())
        return _("该项目只面向以下学段的教师：%(names)s。") % {"names": names}
    positions = programme.eligible_positions or []
    if positions and teacher.position not in positions:
        return _("该项目只面向以下职务：%(names)s。") % {"names": "、".join(programme.position_labels)}
    return None


def application_submit(*, actor: User, programme: Programme, now: dt.datetime, note: str = "") -> Application:
    """The logged-in teacher applies to ``programme``.

    Checks the registration window, eligibility, the district's quota row (when the
    programme has a quota table) and that she has not applied already; a withdrawn
    application is submitted again rather than duplicated.
    Side effects: creates (or revives) the application, writes a SUBMIT audit entry,
    notifies the teacher on commit.
    """
    teacher = scope_for(actor).teacher
    if teacher is None:
        raise PermissionDenied
    if not programme.registration_open(now):
        raise ActionRefused(
            _("报名时间为 %(a)s 至 %(b)s，现在不在报名时间内。")
            % {
                "a": timezone.localtime(programme.registration_opens_at).strftime("%Y-%m-%d %H:%M"),
                "b": timezone.localtime(programme.registration_closes_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
    problem = application_eligibility_problem(teacher, programme)
    if problem:
        raise ActionRefused(problem)
    ban = programme_ban(teacher, now)
    if ban is not None:
        raise ActionRefused(ban.message)
    levels = _levels(programme.pk)
    if not levels:
        raise ActionRefused(_("该项目尚未设置审核流程，请联系市级管理员。"))
    first = levels[0]
    if now > first.deadline:
        raise ActionRefused(_("学校审核已截止，不能再报名。"))
    district = chain.district_of(teacher.unit)
    quotas = Quota.objects.filter(programme=programme)
    if quotas.exists() and not quotas.filter(district=district, seats__gt=0).exists():
        raise ActionRefused(_("名额分配表中%(d)s没有该项目的名额。") % {"d": district.name})

    with transaction.atomic():
        mine = lock_rows(Application.objects.filter(programme=programme, teacher=teacher))
        existing = mine[0] if mine else None
        if existing is not None and existing.state != ApplicationState.WITHDRAWN:
            raise ActionRefused(_("您已报名该项目（%(s)s），不能重复报名。") % {"s": existing.status_text(now)})
        values = dict(
            school=teacher.unit,
            district=district,
            state=ApplicationState.SUBMITTED,
            level=first,
            deadline=first.deadline,
            note=note,
            reject_reason="",
            submitted_at=now,
            decided_at=None,
        )
        if existing is None:
            application = Application.objects.create(programme=programme, teacher=teacher, **values)
            from_state = ""
        else:
            changed = Application.objects.filter(pk=existing.pk, state=ApplicationState.WITHDRAWN).update(**values)
            if changed != 1:
                raise ActionRefused(_("该申请刚刚被修改，请刷新页面后重试。"))
            application = Application.objects.get(pk=existing.pk)
            from_state = ApplicationState.WITHDRAWN
        _audit(
            programme_id=programme.pk,
            actor=actor,
            role=Role.TEACHER,
            action=AuditAction.SUBMIT,
            now=now,
            application=application,
            district=district,
            level=first,
            from_state=from_state,
            to_state=ApplicationState.SUBMITTED,
            comment=note,
        ).save()
        notify(
            [actor.pk],
            "enrollment.submitted",
            _("已报名：%(t)s") % {"t": programme.title},
            _("请等待学校审核（截止 %(d)s）。")
            % {"d": date_format(timezone.localtime(first.deadline), "DATETIME_FORMAT")},
            _url(application.pk),
        )
    return application


def application_withdraw(*, actor: User, application: Application, now: dt.datetime) -> Application:
    """The teacher withdraws her application; only while it waits at the first level and that level is open.

    Side effects: state → withdrawn (conditional update), WITHDRAW audit entry, notification on commit.
    """
    if application.teacher.user_id != actor.pk:
        raise PermissionDenied
    levels = _levels(application.programme_id)
    if application.state != ApplicationState.SUBMITTED or application.level_id != levels[0].pk:
        raise ActionRefused(_("学校已经审核过该申请，不能再撤回。"))
    if now > application.deadline:
        raise ActionRefused(_("学校审核已截止，不能再撤回。"))
    with transaction.atomic():
        changed = Application.objects.filter(
            pk=application.pk, state=ApplicationState.SUBMITTED, level_id=levels[0].pk
        ).update(state=ApplicationState.WITHDRAWN, decided_at=now)
        if changed != 1:
            raise ActionRefused(_("学校刚刚处理了该申请，不能再撤回。"))
        _audit(
            programme_id=application.programme_id,
            actor=actor,
            role=Role.TEACHER,
            action=AuditAction.WITHDRAW,
            now=now,
            application=application,
            district_id=application.district_id,
            level_id=application.level_id,
            from_state=ApplicationState.SUBMITTED,
            to_state=ApplicationState.WITHDRAWN,
        ).save()
        notify(
            [actor.pk],
            "enrollment.withdrawn",
            _("已撤回报名：%(t)s") % {"t": application.programme.title},
            "",
            _url(application.pk),
        )
    application.state, application.decided_at = ApplicationState.WITHDRAWN, now
    return application


# --- approvers ------------------------------------------------------------------------------------------------------

_ROW_FIELDS = (
    "pk",
    "programme_id",
    "level_id",
    "state",
    "deadline",
    "district_id",
    "school__path",
    "district__kind",
    "teacher__user_id",
)


def _actionable_rows(actor: User, ids: Iterable[int], now: dt.datetime) -> tuple[list[dict], list[dict], dict]:
    """Lock the selected pending applications and split them into (actionable, skipped, levels by id).

    Three queries: the rows (locked, in id order so that two bulk actions never deadlock), the levels.
    """
    rows = lock_rows(Application.objects.filter(pk__in=list(ids)).values(*_ROW_FIELDS))
    programme_ids = {r["programme_id"] for r in rows}
    levels = {lv.pk: lv for lv in ProgrammeLevel.objects.filter(programme_id__in=programme_ids)}
    scope = scope_for(actor)
    actionable, skipped = [], []
    for row in rows:
        level = levels[row["level_id"]]
        role = chain.approver_role(level, row["district__kind"])
        reach = scope.admin_paths((role,))
        if row["state"] not in PENDING_STATES:
            row["why"] = _("已处理")
        elif not any(row["school__path"].startswith(p) for p in reach):
            row["why"] = _("不在您的审核范围")
        elif now > row["deadline"]:
            row["why"] = _("%(level)s已截止") % {"level": level.label}
        else:
            row["role"] = role
            actionable.append(row)
            continue
        skipped.append(row)
    return actionable, skipped, levels


def _check_quota(programme_id: int, rows: list[dict], levels_of_programme: list[ProgrammeLevel]) -> None:
    """Under the quota rows' locks, refuse when approving ``rows`` would exceed a district's seats.

    The lock is taken on the quota rows (sorted by id) or, for a programme without a
    quota table, on the programme row; the count is taken after the lock.
    """
    beyond = chain.beyond_quota(levels_of_programme)
    used_q = Q(state=ApplicationState.FINALIZED) | Q(state__in=PENDING_STATES, level_id__in=beyond)
    wanted: dict[int, int] = defaultdict(int)
    for row in rows:
        wanted[row["district_id"]] += 1
    quotas = {q.district_id: q for q in lock_rows(Quota.objects.filter(programme_id=programme_id))}
    if not quotas:
        programme = lock_row(Programme.objects.all(), programme_id)
        used = Application.objects.filter(used_q, programme_id=programme_id).count()
        if used + len(rows) > programme.total_seats:
            raise ActionRefused(
                _("超出总名额：已通过 %(used)d / 名额 %(seats)d，本次选择 %(n)d 份。")
                % {"used": used, "seats": programme.total_seats, "n": len(rows)}
            )
        return
    used_by_district = dict(
        Application.objects.filter(used_q, programme_id=programme_id, district_id__in=list(wanted))
        .values_list("district_id")
        .annotate(n=Count("pk"))
        .values_list("district_id", "n")
    )
    names = dict(Unit.objects.filter(pk__in=list(wanted)).values_list("pk", "name"))
    for district_id, n in sorted(wanted.items()):
        quota = quotas.get(district_id)
        seats = quota.seats if quota else 0
        used = used_by_district.get(district_id, 0)
        if used + n > seats:
            raise ActionRefused(
                _("%(d)s超出名额：已通过 %(used)d / 名额 %(seats)d，本次选择 %(n)d 份，未做任何修改。")
                % {"d": names.get(district_id, ""), "used": used, "seats": seats, "n": n}
            )


def _decide(
    *, actor: User, ids: Iterable[int], now: dt.datetime, approve: bool, comment: str, strict: bool
) -> BulkResult:
    """Approve or reject the selected applications at the level each waits at (set-based)."""
    result = BulkResult()
    with transaction.atomic():
        rows, skipped, levels = _actionable_rows(actor, ids, now)
        if strict and skipped:
            why = skipped[0]["why"]
            if why == _("不在您的审核范围"):
                raise PermissionDenied
            raise ActionRefused(_("该申请不能处理：%(why)s。") % {"why": why})
        result.skipped = len(skipped)
        result.reasons = sorted({r["why"] for r in skipped})
        groups: dict[tuple[int, int], list[dict]] = defaultdict(list)
        for row in rows:
            groups[(row["programme_id"], row["level_id"])].append(row)
        notices: dict[tuple[str, str], list[int]] = defaultdict(list)
        titles = dict(Programme.objects.filter(pk__in={p for p, _l in groups}).values_list("pk", "title"))
        for (programme_id, level_id), group in sorted(groups.items()):
            level = levels[level_id]
            chain_levels = sorted(
                (lv for lv in levels.values() if lv.programme_id == programme_id), key=lambda lv: lv.order
            )
            title = titles[programme_id]
            if approve:
                nxt = chain.next_level(chain_levels, level_id)
                if level.pk == chain.quota_level(chain_levels).pk:
                    _check_quota(programme_id, group, chain_levels)
                _advance(group, level, nxt, chain_levels, now, actor, comment)
                if nxt is None:
                    notices[(_("已审定：%(t)s") % {"t": title}, _("您已列入参训名单。"))] += [
                        r["teacher__user_id"] for r in group
                    ]
                else:
                    notices[
                        (
                            _("%(level)s通过：%(t)s") % {"level": level.label, "t": title},
                            _("已转%(next)s。") % {"next": nxt.label},
                        )
                    ] += [r["teacher__user_id"] for r in group]
            else:
                Application.objects.filter(
                    pk__in=[r["pk"] for r in group], state__in=PENDING_STATES, level_id=level_id
                ).update(state=ApplicationState.REJECTED, reject_reason=comment, decided_at=now)
                _audit_decisions(
                    group,
                    action=AuditAction.REJECT,
                    to_state=ApplicationState.REJECTED,
                    actor=actor,
                    level_id=level_id,
                    programme_id=programme_id,
                    comment=comment,
                    now=now,
                )
                notices[
                    (
                        _("%(level)s未通过：%(t)s") % {"level": level.label, "t": title},
                        _("原因：%(r)s") % {"r": comment},
                    )
                ] += [r["teacher__user_id"] for r in group]
            result.done += len(group)
        for (title, body), user_ids in notices.items():
            notify([u for u in user_ids if u], "enrollment.decided", title, body, reverse("enrollment:my_applications"))
    return result


def _advance(
    group: list[dict[str, Any]],
    level: ProgrammeLevel,
    nxt: ProgrammeLevel | None,
    chain_levels: list[ProgrammeLevel],
    now: dt.datetime,
    actor: User,
    comment: str,
) -> None:
    """Move ``group`` from ``level`` to ``nxt`` (or finalize): one UPDATE per distinct next deadline."""
    ids = [r["pk"] for r in group]
    base = Application.objects.filter(pk__in=ids, state__in=PENDING_STATES, level_id=level.pk)
    if nxt is None:
        base.update(state=ApplicationState.FINALIZED, decided_at=now)
        to_state, action = ApplicationState.FINALIZED, AuditAction.FINALIZE
    else:
        to_state, action = ApplicationState.APPROVED, AuditAction.APPROVE
        deadlines: dict[dt.datetime, list[int]] = defaultdict(list)
        extended: dict[int, dt.datetime] = {}
        if nxt.pk == chain.quota_level(chain_levels).pk:
            reopened = Quota.objects.filter(
                programme_id=level.programme_id,
                district_id__in={r["district_id"] for r in group},
                reopened_until__gt=nxt.deadline,
            ).values_list("district_id", "reopened_until")
            extended = {district_id: until for district_id, until in reopened if until is not None}
        for r in group:
            deadlines[extended.get(r["district_id"], nxt.deadline)].append(r["pk"])
        for deadline, pks in deadlines.items():
            base.filter(pk__in=pks).update(
                state=ApplicationState.APPROVED, level_id=nxt.pk, deadline=deadline, decided_at=now
            )
    _audit_decisions(
        group,
        action=action,
        to_state=to_state,
        actor=actor,
        level_id=level.pk,
        programme_id=level.programme_id,
        comment=comment,
        now=now,
    )


def application_approve(*, actor: User, application: Application, now: dt.datetime, comment: str = "") -> None:
    """Approve at the level the application waits at: on to the next level, or finalized at the last.

    Checks the actor's role at that level and its reach, the level's deadline, and at
    the quota level the district's seats under lock. Side effects: conditional update,
    APPROVE/FINALIZE audit entry, notification to the teacher on commit.
    """
    _decide(actor=actor, ids=[application.pk], now=now, approve=True, comment=comment.strip(), strict=True)


def application_reject(*, actor: User, application: Application, now: dt.datetime, reason: str) -> None:
    """Reject at the current level; the reason is required and shown to the teacher.

    Side effects: conditional update, REJECT audit entry, notification on commit.
    """
    if not (reason or "").strip():
        raise ActionRefused(_("请填写不通过的原因，教师会看到这条原因。"))
    _decide(actor=actor, ids=[application.pk], now=now, approve=False, comment=reason.strip(), strict=True)


def application_approve_bulk(*, actor: User, ids: Iterable[int], now: dt.datetime, comment: str = "") -> BulkResult:
    """Approve many at once in a fixed number of queries; rows the actor may not act on now are skipped.

    At the quota level the whole selection of a district is refused if it does not fit.
    Side effects as ``application_approve``.
    """
    return _decide(actor=actor, ids=ids, now=now, approve=True, comment=comment.strip(), strict=False)


def application_reject_bulk(*, actor: User, ids: Iterable[int], now: dt.datetime, reason: str) -> BulkResult:
    """Reject many at once with one reason. Side effects as ``application_reject``."""
    if not (reason or "").strip():
        raise ActionRefused(_("请填写不通过的原因，教师会看到这条原因。"))
    return _decide(actor=actor, ids=ids, now=now, approve=False, comment=reason.strip(), strict=False)


def application_finalize(
    *, actor: User, programme: Programme, now: dt.datetime, district: Unit | None = None
) -> BulkResult:
    """Finalize the participant list: approve at the last level everything waiting there
    (in the actor's reach, optionally one district). Side effects as ``application_approve_bulk``.
    """
    levels = _levels(programme.pk)
    if not levels:
        return BulkResult()
    last = levels[-1]
    qs = Application.objects.filter(programme=programme, level=last).pending(now)
    if district is not None:
        qs = qs.filter(district=district)
    ids = list(qs.values_list("pk", flat=True))
    if not ids and now > last.deadline:
        raise ActionRefused(
            _("%(level)s已于 %(d)s 截止。")
            % {"level": last.label, "d": timezone.localtime(last.deadline).strftime("%Y-%m-%d %H:%M")}
        )
    return _decide(actor=actor, ids=ids, now=now, approve=True, comment="", strict=False)


# --- background work ------------------------------------------------------------------------------------------------


def application_expire_overdue(now: dt.datetime, batch: int = 2000) -> int:
    """Mark pending applications whose level's deadline has passed as expired; returns how many.

    What users see does not depend on this (expiry is derived at request time); it
    makes the stored state match and tells the teachers. Works in batches of ``batch``
    applications, each its own transaction: rows are claimed with a locked, conditional
    update (SKIP LOCKED on PostgreSQL), so a rerun or a second worker changes nothing,
    and a worker killed mid-batch leaves that batch untouched. Side effects: EXPIRE audit
    entries (one per expired application) and one notice per teacher through
    ``portal.notifications.notify`` (deduplicated per application), in the batch's
    transaction; e-mail after each commit for the teachers who opted in.
    """
    claim = _expire_claim_postgresql if connection.vendor == "postgresql" else _expire_claim_orm
    total = 0
    after = 0  # batches walk up the ids instead of rescanning the rows already expired
    while True:
        with transaction.atomic():
            expired, claimed, last_id = claim(now, batch, after)
            _expired_notify(expired)
        total += claimed
        if claimed == batch:
            after = last_id
        elif after:
            after = 0  # once more from the start, for rows another worker held and then released
        else:
            return total


EXPIRED_KIND = "enrollment.expired"


@dataclass(frozen=True)
class _Expired:
    """The applications of one programme level that a batch expired: their teachers' logins."""

    programme_id: int
    level_id: int
    programme_title: str
    user_ids: list[int]


def _expired_notify(groups: list[_Expired]) -> None:
    """One notice per teacher through ``notify``, one call per programme level (the same message)."""
    url = reverse("enrollment:my_applications")
    for group in groups:
        # One application per teacher and programme: the key makes it once per application.
        notify(
            group.user_ids,
            EXPIRED_KIND,
            _("报名已逾期：%(t)s") % {"t": group.programme_title},
            _("审核截止前未处理，申请已失效。"),
            url,
            dedup_key=f"{EXPIRED_KIND}.{group.programme_id}.{group.level_id}",
        )


# PostgreSQL: the locked SELECT, the conditional UPDATE and the audit INSERT are data-modifying
# CTEs of one statement (one round trip, one pass over the rows), which returns what the notices need.
_EXPIRE_CLAIM_SQL = """
WITH picked AS MATERIALIZED (
    SELECT id, state FROM {application}
    WHERE state IN (%(submitted)s, %(approved)s) AND deadline < %(now)s AND id > %(after)s
    ORDER BY id LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE {application} SET state = %(expired)s, decided_at = %(now)s
    WHERE id = ANY(ARRAY(SELECT id FROM picked)) AND state IN (%(submitted)s, %(approved)s) AND deadline < %(now)s
    RETURNING id, programme_id, level_id, district_id, teacher_id
), audited AS (
    INSERT INTO {audit} (programme_id, application_id, district_id, actor_id, actor_name, actor_role, action,
        level_id, from_state, to_state, comment, data, created_at)
    SELECT e.programme_id, e.id, e.district_id, NULL, %(actor_name)s, %(role)s, %(action)s,
        e.level_id, p.state, %(expired)s, '', '{{}}'::jsonb, %(now)s
    FROM expired e JOIN picked p ON p.id = e.id
)
SELECT e.programme_id, e.level_id, pr.title, array_remove(array_agg(t.user_id ORDER BY t.user_id), NULL),
    (SELECT COUNT(*) FROM picked), (SELECT MAX(id) FROM picked)
FROM expired e JOIN {teacher} t ON t.id = e.teacher_id JOIN {programme} pr ON pr.id = e.programme_id
GROUP BY e.programme_id, e.level_id, pr.title
"""


def _expire_claim_postgresql(now: dt.datetime, batch: int, after: int) -> tuple[list[_Expired], int, int]:
    """Claim, expire and audit up to ``batch`` overdue applications with ids above ``after``, in one
    statement; returns (the expired, by programme level; how many were claimed; the highest claimed id)."""
    sql = _EXPIRE_CLAIM_SQL.format(
        application=Application._meta.db_table,
        audit=AuditEntry._meta.db_table,
        teacher=Teacher._meta.db_table,
        programme=Programme._meta.db_table,
    )
    params: dict[str, Any] = {
        "now": now,
        "batch": batch,
        "after": after,
        "submitted": ApplicationState.SUBMITTED.value,
        "approved": ApplicationState.APPROVED.value,
        "expired": ApplicationState.EXPIRED.value,
        "actor_name": str(_("系统")),
        "role": SYSTEM_ROLE,
        "action": AuditAction.EXPIRE.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
        if not fetched:  # every claimed row is expired (they are locked), so nothing was claimed
            return [], 0, after
    claimed, last_id = fetched[0][4], fetched[0][5]
    return [_Expired(*row[:4]) for row in fetched], claimed, last_id


def _expire_claim_orm(now: dt.datetime, batch: int, after: int) -> tuple[list[_Expired], int, int]:
    """The same as ``_expire_claim_postgresql`` through the ORM (SQLite): lock, conditional update, audit."""
    rows = list(
        Application.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(state__in=PENDING_STATES, deadline__lt=now, pk__gt=after)
        .order_by("pk")
        .values("pk", "programme_id", "level_id", "state", "district_id", "teacher__user_id", "programme__title")[
            :batch
        ]
    )
    if not rows:
        return [], 0, after
    Application.objects.filter(pk__in=[r["pk"] for r in rows], state__in=PENDING_STATES, deadline__lt=now).update(
        state=ApplicationState.EXPIRED, decided_at=now
    )
    audit_batches: dict[tuple[int, int, str], list[Any]] = defaultdict(list)
    for r in rows:
        audit_batches[(r["programme_id"], r["level_id"], r["state"])].append(r)
    for (programme_id, level_id, state), batch_rows in sorted(audit_batches.items()):
        _audit_many(
            batch_rows,
            programme_id=programme_id,
            actor=None,
            role=SYSTEM_ROLE,
            action=AuditAction.EXPIRE,
            level_id=level_id,
            from_state=state,
            to_state=ApplicationState.EXPIRED,
            comment="",
            now=now,
        )
    users: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for r in rows:
        if r["teacher__user_id"]:
            users[(r["programme_id"], r["level_id"], r["programme__title"])].append(r["teacher__user_id"])
    expired = [_Expired(*key, user_ids) for key, user_ids in sorted(users.items())]
    return expired, len(rows), rows[-1]["pk"]


# --- the city's quota table -----------------------------------------------------------------------------------------


def _used_seats(programme: Programme, district_ids: Iterable[int]) -> dict[int, int]:
    beyond = chain.beyond_quota(_levels(programme.pk))
    used_q = Q(state=ApplicationState.FINALIZED) | Q(state__in=PENDING_STATES, level_id__in=beyond)
    return dict(
        Application.objects.filter(used_q, programme=programme, district_id__in=list(district_ids))
        .values_list("district_id")
        .annotate(n=Count("pk"))
        .values_list("district_id", "n")
    )


def _check_quota_district(programme: Programme, district: Unit) -> None:
    if district.kind not in (UnitKind.DISTRICT, UnitKind.CITY) or not district.is_within(programme.period.city):
        raise ActionRefused(_("%(d)s不是本市的区（县）。") % {"d": district.name})


def _lock_quota(programme: Programme, district: Unit) -> Quota:
    """The district's quota row (created with no seats when missing), locked."""
    rows = lock_rows(Quota.objects.filter(programme=programme, district=district))  # sets the lock timeout too
    if rows:
        return rows[0]
    quota, _created = Quota.objects.get_or_create(programme=programme, district=district, defaults={"seats": 0})
    return lock_row(Quota.objects.all(), quota.pk)


def quota_set(*, actor: User, programme: Programme, district: Unit, seats: int, now: dt.datetime) -> Quota:
    """Set one district's seats (city admin). Refused below the seats already used.

    Side effects: creates or updates the quota row under lock, QUOTA_SET audit entry.
    """
    _require_city_admin(actor, programme)
    _check_quota_district(programme, district)
    if seats < 0:
        raise ActionRefused(_("名额不能为负数。"))
    with transaction.atomic():
        quota = _lock_quota(programme, district)
        used = _used_seats(programme, [district.pk]).get(district.pk, 0)
        if seats < used:
            raise ActionRefused(
                _("%(d)s已通过 %(used)d 人，名额不能少于 %(used)d。") % {"d": district.name, "used": used}
            )
        old = quota.seats
        Quota.objects.filter(pk=quota.pk).update(seats=seats)
        quota.seats = seats
        _audit(
            programme_id=programme.pk,
            actor=actor,
            role=Role.CITY_ADMIN,
            action=AuditAction.QUOTA_SET,
            now=now,
            district=district,
            data={"from": old, "to": seats},
        ).save()
    return quota


def quota_move(
    *,
    actor: User,
    programme: Programme,
    from_district: Unit,
    to_district: Unit,
    seats: int,
    now: dt.datetime,
    comment: str = "",
) -> None:
    """Move unused seats from one district to another (city admin).

    Side effects: both quota rows updated under locks taken in id order, QUOTA_MOVE audit entry.
    """
    _require_city_admin(actor, programme)
    if seats <= 0:
        raise ActionRefused(_("调剂的名额数必须大于 0。"))
    if from_district.pk == to_district.pk:
        raise ActionRefused(_("调出和调入不能是同一个区。"))
    _check_quota_district(programme, to_district)
    with transaction.atomic():
        rows = {
            q.district_id: q
            for q in lock_rows(Quota.objects.filter(programme=programme, district__in=[from_district, to_district]))
        }
        source = rows.get(from_district.pk)
        if source is None:
            raise ActionRefused(_("%(d)s没有名额可调出。") % {"d": from_district.name})
        used = _used_seats(programme, [from_district.pk]).get(from_district.pk, 0)
        free = source.seats - used
        if seats > free:
            raise ActionRefused(
                _("%(d)s只剩 %(free)d 个未用名额（已通过 %(used)d / 名额 %(seats)d）。")
                % {"d": from_district.name, "free": free, "used": used, "seats": source.seats}
            )
        Quota.objects.filter(pk=source.pk).update(seats=source.seats - seats)
        target = rows.get(to_district.pk)
        if target is None:
            Quota.objects.create(programme=programme, district=to_district, seats=seats)
        else:
            Quota.objects.filter(pk=target.pk).update(seats=target.seats + seats)
        _audit(
            programme_id=programme.pk,
            actor=actor,
            role=Role.CITY_ADMIN,
            action=AuditAction.QUOTA_MOVE,
            now=now,
            district=from_district,
            comment=comment,
            data={"from": from_district.name, "to": to_district.name, "seats": seats},
        ).save()


def quota_reopen(
    *, actor: User, programme: Programme, district: Unit, until: dt.datetime, now: dt.datetime, comment: str = ""
) -> int:
    """Give one district more time at the quota level (city admin), returning how many applications it revived.

    Pending applications of the district at that level get the new deadline; ones already
    marked expired there wait again. Side effects: quota row, conditional updates,
    QUOTA_REOPEN audit entry plus one per revived application.
    """
    _require_city_admin(actor, programme)
    _check_quota_district(programme, district)
    if until <= now:
        raise ActionRefused(_("延长的截止时间必须晚于现在。"))
    levels = _levels(programme.pk)
    qlevel = chain.quota_level(levels)
    if until <= qlevel.deadline:
        raise ActionRefused(
            _("延长的截止时间必须晚于%(level)s原定的截止时间 %(d)s。")
            % {"level": qlevel.label, "d": timezone.localtime(qlevel.deadline).strftime("%Y-%m-%d %H:%M")}
        )
    waiting_state = ApplicationState.SUBMITTED if qlevel.order == levels[0].order else ApplicationState.APPROVED
    with transaction.atomic():
        quota = _lock_quota(programme, district)
        Quota.objects.filter(pk=quota.pk).update(reopened_until=until)
        at_level = Application.objects.filter(programme=programme, district=district, level=qlevel)
        at_level.filter(state__in=PENDING_STATES).update(deadline=until)
        revived = lock_rows(at_level.filter(state=ApplicationState.EXPIRED).values_list("pk", flat=True))
        Application.objects.filter(pk__in=revived, state=ApplicationState.EXPIRED).update(
            state=waiting_state, deadline=until
        )
        entries = [
            _audit(
                programme_id=programme.pk,
                actor=actor,
                role=Role.CITY_ADMIN,
                action=AuditAction.QUOTA_REOPEN,
                now=now,
                district=district,
                level=qlevel,
                comment=comment,
                data={"until": until.isoformat(), "revived": len(revived)},
            )
        ]
        entries += [
            _audit(
                programme_id=programme.pk,
                actor=actor,
                role=Role.CITY_ADMIN,
                action=AuditAction.QUOTA_REOPEN,
                now=now,
                application_id=pk,
                district=district,
                level=qlevel,
                from_state=ApplicationState.EXPIRED,
                to_state=waiting_state,
                comment=comment,
            )
            for pk in revived
        ]
        AuditEntry.objects.bulk_create(entries)
    return len(revived)


def export_audit(
    *, actor: User, role: Role, programme: Programme, district: Unit | None, rows: int, masked: bool, now: dt.datetime
) -> None:
    """Record that a list left the system on paper. Side effect: EXPORT audit entry."""
    _audit(
        programme_id=programme.pk,
        actor=actor,
        role=role,
        action=AuditAction.EXPORT,
        now=now,
        district=district,
        data={"rows": rows, "masked": masked},
    ).save()


# --- quota table import (名额分配表) ----------------------------------------------------------------------------------


QUOTA_MAX_ROWS = 1_000  # a city has a few dozen districts
MAX_SEATS = 1_000_000


def _parse_seats(value: Any) -> int:
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SEATS:
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 7:
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEATS:
        raise ValueError(_("名额应为 0 到 %(max)d 之间的整数，现在是“%(v)s”") % {"v": excerpt(value), "max": MAX_SEATS})
    return value


def _quota_columns() -> list[Column]:
    return [
        Column("district", "区", aliases=("区（县）", "区县", "区名", "县（市、区）", "单位", "区域"), parse=name(50)),
        Column("seats", "名额", aliases=("名额数", "分配名额", "人数"), parse=_parse_seats),
    ]


TOTAL_ROW_NAMES = ("合计", "总计", "小计")


def quota_table_import(
    *, actor: User, programme: Programme, file: Any, now: dt.datetime, dry_run: bool = False
) -> ImportResult:
    """Import the city's 名额分配表 (xlsx: 区, 名额), all or nothing.

    Districts are matched by name or code within the programme's city; a 合计 row is
    ignored. Refused rows name the row, the column and what to fix; nothing is written
    then. Side effects (when clean): quota rows created/updated in bulk under lock,
    one QUOTA_IMPORT audit entry listing the changes.
    """
    _require_city_admin(actor, programme)
    table = read_table(file, _quota_columns(), max_rows=QUOTA_MAX_ROWS)
    city = programme.period.city
    units = list(Unit.objects.filter(path__startswith=city.path, kind__in=(UnitKind.DISTRICT, UnitKind.CITY)))
    by_key = {u.name: u for u in units} | {u.code: u for u in units}
    by_key |= {
        u.name.removesuffix("区").removesuffix("县").removesuffix("市"): u for u in units if u.kind == UnitKind.DISTRICT
    }
    wanted: dict[int, tuple[Unit, int, int]] = {}
    for rec in table.records():
        name = str(rec["district"]).strip()
        if name in TOTAL_ROW_NAMES:
            continue
        unit = by_key.get(name)
        if unit is None:
            table.add_error(
                rec.index,
                "district",
                _("%(city)s没有名为“%(name)s”的区（县），请按系统中的名称填写") % {"city": city.name, "name": name},
            )
            continue
        if unit.pk in wanted:
            table.add_error(
                rec.index, "district", _("与第 %(row)d 行重复，每个区只能出现一次") % {"row": wanted[unit.pk][2]}
            )
            continue
        wanted[unit.pk] = (unit, rec["seats"], rec.row)
    used = _used_seats(programme, list(wanted))
    for unit, seats, row in wanted.values():
        if seats < used.get(unit.pk, 0):
            index = table.rows.index(row)
            table.add_error(
                index, "seats", _("%(d)s已通过 %(u)d 人，名额不能少于 %(u)d") % {"d": unit.name, "u": used[unit.pk]}
            )
    table.sort_errors()
    result = ImportResult(errors=table.errors, dry_run=dry_run)
    if result.errors or dry_run:
        return result
    with transaction.atomic():
        existing = {q.district_id: q for q in lock_rows(Quota.objects.filter(programme=programme))}
        create, update, changes = [], [], {}
        for unit, seats, _row in wanted.values():
            quota = existing.get(unit.pk)
            if quota is None:
                create.append(Quota(programme=programme, district=unit, seats=seats))
                changes[unit.name] = [None, seats]
            elif quota.seats != seats:
                changes[unit.name] = [quota.seats, seats]
                quota.seats = seats
                update.append(quota)
            else:
                result.unchanged += 1
        Quota.objects.bulk_create(create)
        Quota.objects.bulk_update(update, ["seats"])
        result.created, result.updated, result.written = len(create), len(update), True
        _audit(
            programme_id=programme.pk,
            actor=actor,
            role=Role.CITY_ADMIN,
            action=AuditAction.QUOTA_IMPORT,
            now=now,
            data={"changes": changes},
        ).save()
    return result


def programme_deadlines_sync(programme: Programme) -> int:
    """After the city changes a level's deadline: give the applications waiting there the new one.

    A district the city reopened keeps its later deadline at the quota level.
    Side effect: one UPDATE per level (plus one per reopened district); returns rows changed.
    """
    levels = _levels(programme.pk)
    qlevel = chain.quota_level(levels) if levels else None
    reopened = list(
        Quota.objects.filter(programme=programme, reopened_until__isnull=False).values_list(
            "district_id", "reopened_until"
        )
    )
    changed = 0
    for level in levels:
        waiting = Application.objects.filter(programme=programme, level=level, state__in=PENDING_STATES)
        if qlevel and level.pk == qlevel.pk:
            later = [(d, until) for d, until in reopened if until is not None and until > level.deadline]
            waiting_default = waiting.exclude(district_id__in=[d for d, _u in later])
            changed += waiting_default.exclude(deadline=level.deadline).update(deadline=level.deadline)
            for district_id, until in later:
                changed += waiting.filter(district_id=district_id).exclude(deadline=until).update(deadline=until)
        else:
            changed += waiting.exclude(deadline=level.deadline).update(deadline=level.deadline)
    return changed


def quota_admin_audit(*, actor: User, quota: Quota, old_seats: int | None, now: dt.datetime) -> None:
    """The Django admin changed a quota row. Side effect: QUOTA_SET audit entry."""
    _audit(
        programme_id=quota.programme_id,
        actor=actor,
        role=Role.CITY_ADMIN,
        action=AuditAction.QUOTA_SET,
        now=now,
        district_id=quota.district_id,
        data={"from": old_seats, "to": quota.seats, "via": "admin"},
    ).save()

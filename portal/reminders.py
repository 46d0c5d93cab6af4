"""Reminders on dates: each goes once per person per occasion, however often the job runs.

Every occasion has a dedup key (``Notification.dedup_key`` is unique per user), so
the daily job, a manual rerun or two workers at once send each reminder once.
An occasion is a window ("two days before the deadline" = from 48 h to 24 h
before it), so a job that missed its hour still sends it late rather than never.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import EMPLOYER_KINDS, ReminderDate, Role, RoleAssignment, Teacher, TeacherStatus, Unit
from portal.notifications import (
    KIND_APPROVAL_REMINDER,
    KIND_HOURS_REMINDER,
    KIND_ROSTER_REMINDER,
    KIND_SELECTION_REMINDER,
    notify,
)

log = logging.getLogger(__name__)

APPROVER_DAYS_BEFORE = (2, 1)  # approvers: two days and one day before their level's deadline
SELECTION_DAYS_BEFORE = 3  # teachers whose plan is short: three days before selection closes
ROSTER_DAYS_BEFORE = 14  # school admins: in the two weeks before a period's selection opens
HOURS_REMINDER_GRACE_DAYS = 7  # a city's reminder date still sends within a week if the job was down
BATCH = 2000

# What a roster must have before a period opens (the same checks as the roster page's problem counts).
ROSTER_PROBLEM_Q = Q(mobile="") | Q(stage__isnull=True) | Q(subject="") | Q(name="")


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return reverse("home")


def reminders_send_due(now: dt.datetime) -> dict[str, int]:
    """Send every reminder whose occasion is open at ``now``; the number of recipients per kind.

    Side effects: notifications (in-app, and e-mail where opted in) through
    portal.notifications.notify, each with a per-occasion dedup key.
    """
    return {
        "approval": approval_reminders_send(now),
        "selection": selection_reminders_send(now),
        "hours": hours_reminders_send(now),
        "roster": roster_reminders_send(now),
    }


def _in_window(now: dt.datetime, deadline: dt.datetime, days: int) -> bool:
    """``now`` lies in the ``days``-before window: [deadline - days, deadline - days + 1)."""
    return deadline - dt.timedelta(days=days) <= now < deadline - dt.timedelta(days=days - 1)


# --- approvers -----------------------------------------------------------------------------------


def approval_reminders_send(now: dt.datetime) -> int:
    """Approvers whose level's deadline is two days or one day away and who still have pending applications.

    One message per approver, programme, level and occasion ("two days" and "one day" before), naming the
    pending count and linking to the review queue. Pending counts come from
    ``enrollment.selectors.approver_pending_reminders``.
    """
    try:
        from enrollment.selectors import approver_pending_reminders
    except ImportError:
        log.warning("reminders: enrollment.selectors.approver_pending_reminders is not available; skipped")
        return 0
    url = _url("enrollment:review_queue")
    sent = 0
    for target in approver_pending_reminders(now, within=dt.timedelta(days=max(APPROVER_DAYS_BEFORE))):
        # The occasion whose window [deadline - days, deadline - days + 1) holds now.
        days = next((d for d in sorted(APPROVER_DAYS_BEFORE) if _in_window(now, target.deadline, d)), None)
        if days is None:
            continue
        deadline_local = timezone.localtime(target.deadline)
        notify(
            [target.user_id],
            KIND_APPROVAL_REMINDER,
            _("审核提醒：%(title)s还有 %(n)d 份申请待审核") % {"title": target.programme_title, "n": target.count},
            _("审核截止时间为 %(deadline)s，目前仍有 %(n)d 份申请待您审核，逾期未审核的申请将自动失效。")
            % {"deadline": f"{deadline_local:%Y-%m-%d %H:%M}", "n": target.count},
            url,
            dedup_key=f"approval:{target.programme_id}:{target.level_id}:{target.deadline:%Y%m%d%H%M}:d{days}",
        )
        sent += 1
    return sent


# --- teachers whose course plan is short --------------------------------------------------------


def selection_reminders_send(now: dt.datetime) -> int:
    """Three days before selection closes, teachers whose selected courses do not yet meet the year's rule."""
    from courses.models import TrainingPeriod

    sent = 0
    lo, hi = now + dt.timedelta(days=SELECTION_DAYS_BEFORE - 1), now + dt.timedelta(days=SELECTION_DAYS_BEFORE)
    periods = TrainingPeriod.objects.filter(
        selection_closes_at__gt=lo, selection_closes_at__lte=hi, rule_set__isnull=False
    ).select_related("city", "rule_set")
    for period in periods:
        for sentence, user_ids in _short_plans(period):
            closes = timezone.localtime(period.selection_closes_at)
            notify(
                user_ids,
                KIND_SELECTION_REMINDER,
                _("选课提醒：%(period)s选课将于 %(date)s 截止")
                % {"period": period.name, "date": f"{closes:%m-%d %H:%M}"},
                _("按已选课程计算，您本年度的学时尚不满足要求：%(missing)s。请在截止前补选课程。")
                % {"missing": sentence},
                _url("courses:catalogue"),
                dedup_key=f"selection:{period.pk}:{period.selection_closes_at:%Y%m%d%H%M}",
            )
            sent += len(user_ids)
    return sent


def _teacher_batches(city: Unit) -> Iterator[list[tuple[int, int]]]:
    """(teacher id, user id) of the city's active teachers with a login, in batches."""
    qs = (
        Teacher.objects.filter(unit__path__startswith=city.path, status=TeacherStatus.ACTIVE, user__isnull=False)
        .order_by("pk")
        .values_list("pk", "user_id")
    )
    batch: list[tuple[int, int]] = []
    for row in qs.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _short_plans(period) -> Iterable[tuple[str, list[int]]]:
    """Teachers of the period's city whose plan (earned plus selected hours, as their plan page shows it)
    falls short of the period's rule, grouped by what is missing."""
    from courses.selectors import plans_for_teachers

    groups: dict[str, list[int]] = defaultdict(list)
    for batch in _teacher_batches(period.city):
        plans = plans_for_teachers([tid for tid, _uid in batch], period)
        for teacher_id, user_id in batch:
            plan = plans[teacher_id]
            if plan.evaluation is not None and not plan.met:
                groups[plan.evaluation.sentence].append(user_id)
    return groups.items()


# --- teachers short of hours on the city's dates ------------------------------------------------


def hours_reminders_send(now: dt.datetime) -> int:
    """On each date a city set (ReminderDate), teachers whose earned hours do not yet meet the year's rule."""
    from credits.models import RuleSet
    from credits.rules import evaluate
    from credits.selectors import totals_for_teachers

    today = timezone.localdate(now)
    sent = 0
    dates = ReminderDate.objects.filter(
        date__lte=today, date__gt=today - dt.timedelta(days=HOURS_REMINDER_GRACE_DAYS)
    ).select_related("city")
    for reminder in dates:
        rule_set = RuleSet.objects.filter(city=reminder.city, year=reminder.date.year).first()
        if rule_set is None:
            continue
        groups: dict[str, list[int]] = defaultdict(list)
        for batch in _teacher_batches(reminder.city):
            totals = totals_for_teachers([tid for tid, _uid in batch], reminder.date.year)
            for teacher_id, user_id in batch:
                evaluation = evaluate(rule_set.tree, totals[teacher_id])
                if not evaluation.met:
                    groups[evaluation.sentence].append(user_id)
        for sentence, user_ids in groups.items():
            notify(
                user_ids,
                KIND_HOURS_REMINDER,
                _("学时提醒：您%(year)d年度的学时尚未达标") % {"year": reminder.date.year},
                _("截至 %(date)s，您还差：%(missing)s。请尽快完成学习。")
                % {"date": f"{reminder.date:%Y-%m-%d}", "missing": sentence},
                _url("credits:mine"),
                dedup_key=f"hours:{reminder.city_id}:{reminder.date:%Y%m%d}",
            )
            sent += len(user_ids)
    return sent


# --- school admins whose roster needs fixing ------------------------------------------------------


def roster_reminders_send(now: dt.datetime) -> int:
    """Before a period's selection opens, school admins whose active teachers lack required data."""
    from courses.models import TrainingPeriod

    sent = 0
    periods = TrainingPeriod.objects.filter(
        selection_opens_at__gt=now, selection_opens_at__lte=now + dt.timedelta(days=ROSTER_DAYS_BEFORE)
    ).select_related("city")
    for period in periods:
        problems = dict(
            Teacher.objects.filter(
                unit__path__startswith=period.city.path, status=TeacherStatus.ACTIVE, unit__kind__in=EMPLOYER_KINDS
            )
            .filter(ROSTER_PROBLEM_Q)
            .values("unit_id")
            .annotate(n=Count("pk"))
            .values_list("unit_id", "n")
        )
        if not problems:
            continue
        admins: dict[int, list[int]] = defaultdict(list)
        for unit_id, user_id in RoleAssignment.objects.filter(
            role=Role.SCHOOL_ADMIN, unit_id__in=list(problems), user__is_active=True
        ).values_list("unit_id", "user_id"):
            admins[unit_id].append(user_id)
        opens = timezone.localtime(period.selection_opens_at)
        for unit_id, user_ids in admins.items():
            notify(
                user_ids,
                KIND_ROSTER_REMINDER,
                _("名册提醒：%(n)d 名教师信息不完整") % {"n": problems[unit_id]},
                _(
                    "%(period)s将于 %(date)s 开始选课。贵单位有 %(n)d 名在职教师缺少手机号码、学段或任教学科，"
                    "请在开始前核对并补全名册，以免影响教师选课和年度验证。"
                )
                % {"period": period.name, "date": f"{opens:%Y-%m-%d}", "n": problems[unit_id]},
                _url("portal:roster"),
                dedup_key=f"roster:{period.pk}:{unit_id}",
            )
            sent += len(user_ids)
    return sent

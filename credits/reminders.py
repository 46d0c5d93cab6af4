"""Reminders of hours: on each date a city set (ReminderDate), teachers still short of the year's rule.

Each goes once per person and date, however often the job runs (a dedup key per city and
date); a job that was down sends it within a week of the date rather than never.
"""

import datetime as dt
from collections import defaultdict

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import ReminderDate
from portal.notifications import notify
from portal.selectors import teacher_user_batches

from .models import RuleSet
from .rule_engine import evaluate
from .selectors import totals_for_teachers

KIND_HOURS_REMINDER = "reminder.hours"
HOURS_REMINDER_GRACE_DAYS = 7


def hours_reminders_send(now: dt.datetime) -> int:
    """Teachers whose earned hours do not yet meet the year's rule, on their city's reminder dates.

    Returns how many teachers were reminded. Side effects: notifications through ``notify``,
    one message per group of teachers missing the same thing.
    """
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
        for batch in teacher_user_batches(reminder.city):
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
                reverse("credits:mine"),
                dedup_key=f"hours:{reminder.city_id}:{reminder.date:%Y%m%d}",
            )
            sent += len(user_ids)
    return sent


def declaration_reminders_send(now: dt.datetime) -> int:
    """School admins whose school still has uncertified declarations, in the days before the city's last day
    for certification (``DeclarationSettings.remind_days_before``). Once per admin, school and deadline.

    Returns how many admins were reminded. Side effects: notifications through ``notify``.
    """
    from django.db.models import Count

    from portal.models import Role, RoleAssignment

    from .declaration_services import KIND_DECLARATION_REMINDER
    from .models import Declaration, DeclarationSettings, DeclarationState

    today = timezone.localdate(now)
    sent = 0
    for settings in DeclarationSettings.objects.filter(certify_until__gte=today).select_related("city"):
        if today < settings.certify_until - dt.timedelta(days=settings.remind_days_before):
            continue
        pending = dict(
            Declaration.objects.filter(
                school__path__startswith=settings.city.path, year=settings.year, state=DeclarationState.SUBMITTED
            )
            .values_list("school_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        admins: dict[int, list[int]] = defaultdict(list)
        for unit_id, user_id in RoleAssignment.objects.filter(
            role=Role.SCHOOL_ADMIN, unit_id__in=list(pending)
        ).values_list("unit_id", "user_id"):
            admins[unit_id].append(user_id)
        for school_id, n in sorted(pending.items()):
            sent += len(
                notify(
                    admins.get(school_id, []),
                    KIND_DECLARATION_REMINDER,
                    _("学时认定提醒：还有 %(n)d 份学时申报待认定") % {"n": n},
                    _("%(year)d 年度学时认定将于 %(day)s 截止，逾期不能再认定。")
                    % {"year": settings.year, "day": f"{settings.certify_until:%Y-%m-%d}"},
                    reverse("credits:declaration_review"),
                    dedup_key=f"declaration-certify:{settings.pk}:{settings.certify_until:%Y%m%d}:{school_id}",
                )
            )
    return sent

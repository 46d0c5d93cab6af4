"""Reminders on the dates of a period's course selection: teachers whose plan is short, three days
before selection closes; school admins whose roster has gaps, in the two weeks before it opens;
schools whose provider agreement is not filed by the city's date (and their county-level centers).

Each goes once per person per occasion, however often the job runs (a dedup key per occasion).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import EMPLOYER_KINDS, Role, RoleAssignment, Teacher, TeacherStatus, Unit, UnitKind
from portal.notifications import notify
from portal.selectors import ROSTER_PROBLEM_Q, teacher_user_batches

from .models import TrainingPeriod
from .selectors import plans_for_teachers

KIND_SELECTION_REMINDER = "reminder.selection"
KIND_ROSTER_REMINDER = "reminder.roster"
SELECTION_DAYS_BEFORE = 3  # teachers whose plan is short: three days before selection closes
ROSTER_DAYS_BEFORE = 14  # school admins: in the two weeks before a period's selection opens


def selection_reminders_send(now: dt.datetime) -> int:
    """Three days before selection closes, teachers whose selected courses do not yet meet the year's rule.

    Returns how many teachers were reminded. Side effects: notifications through ``notify``, one
    message per group of teachers missing the same thing, keyed to the period's closing time.
    """
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
                reverse("courses:catalogue"),
                dedup_key=f"selection:{period.pk}:{period.selection_closes_at:%Y%m%d%H%M}",
            )
            sent += len(user_ids)
    return sent


def _short_plans(period: TrainingPeriod) -> Iterable[tuple[str, list[int]]]:
    """Teachers of the period's city whose plan (earned plus selected hours, as their plan page shows it)
    falls short of the period's rule, grouped by what is missing."""
    groups: dict[str, list[int]] = defaultdict(list)
    for batch in teacher_user_batches(period.city):
        plans = plans_for_teachers([tid for tid, _uid in batch], period)
        for teacher_id, user_id in batch:
            plan = plans[teacher_id]
            if plan.evaluation is not None and not plan.met:
                groups[plan.evaluation.sentence].append(user_id)
    return groups.items()


def roster_reminders_send(now: dt.datetime) -> int:
    """Before a period's selection opens, school admins whose active teachers lack required data.

    Returns how many admins were reminded. Side effects: one notification per school and period.
    """
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
                reverse("portal:roster"),
                dedup_key=f"roster:{period.pk}:{unit_id}",
            )
            sent += len(user_ids)
    return sent


KIND_AGREEMENT_REMINDER = "reminder.agreement"
AGREEMENT_DAYS_BEFORE = 7  # schools without a filed agreement: a week before the city's date, and once it has passed


def agreement_reminders_send(now: dt.datetime) -> int:
    """Schools whose agreement is not filed: their admins a week before the period's filing date and again
    once it has passed; on the date itself, the county-level centers (or the city) get their list's count.

    Returns how many school admins were reminded now. Side effects: notifications, once per school and
    occasion (and per filing unit) however often the job runs.
    """
    from .models import Agreement, AgreementState, SchoolProviderMode
    from .services import filing_unit_of

    today = timezone.localdate(now)
    sent = 0
    periods = (
        TrainingPeriod.objects.exclude(school_providers=SchoolProviderMode.NONE)
        .filter(
            agreement_due_on__isnull=False,
            agreement_due_on__lte=today + dt.timedelta(days=AGREEMENT_DAYS_BEFORE),
            training_ends_on__gte=today,
        )
        .select_related("city")
    )
    for period in periods:
        occasion = "overdue" if today > period.agreement_due_on else "before"
        filed = Agreement.objects.filter(period=period, state=AgreementState.FILED).values("school_id")
        unfiled = list(
            Unit.objects.filter(kind=UnitKind.SCHOOL, is_active=True, path__startswith=period.city.path)
            .exclude(pk__in=filed)
            .select_related("parent")
        )
        admins: dict[int, list[int]] = defaultdict(list)
        for unit_id, user_id in RoleAssignment.objects.filter(
            role=Role.SCHOOL_ADMIN, unit__in=unfiled, user__is_active=True
        ).values_list("unit_id", "user_id"):
            admins[unit_id].append(user_id)
        due = f"{period.agreement_due_on:%Y-%m-%d}"
        url = reverse("courses:school_provider") + f"?period={period.pk}"
        for unit_id, user_ids in admins.items():
            title = (_("协议备案已逾期：%(period)s") if occasion == "overdue" else _("协议备案提醒：%(period)s")) % {
                "period": period.name
            }
            sent += len(
                notify(
                    user_ids,
                    KIND_AGREEMENT_REMINDER,
                    title,
                    _("贵校与施教机构的协议书须于 %(due)s 前报备案单位备案，目前尚未备案。") % {"due": due},
                    url,
                    dedup_key=f"agreement:{period.pk}:{unit_id}:{occasion}",
                )
            )
        if occasion == "overdue":
            by_filer: dict[int, tuple[Unit, int]] = {}
            for school in unfiled:
                parent = school.parent
                filer = (
                    parent if parent and parent.kind in (UnitKind.DISTRICT, UnitKind.CITY) else filing_unit_of(school)
                )
                by_filer[filer.pk] = (filer, by_filer.get(filer.pk, (filer, 0))[1] + 1)
            for filer, n in by_filer.values():
                role = Role.DISTRICT_ADMIN if filer.kind == UnitKind.DISTRICT else Role.CITY_ADMIN
                notify(
                    RoleAssignment.objects.filter(role=role, unit=filer, user__is_active=True).values_list(
                        "user_id", flat=True
                    ),
                    KIND_AGREEMENT_REMINDER,
                    _("%(n)d 所学校的协议未按期备案") % {"n": n},
                    _("“%(period)s”的协议备案已于 %(due)s 截止，%(unit)s仍有 %(n)d 所学校未备案。")
                    % {"period": period.name, "due": due, "unit": filer.name, "n": n},
                    reverse("courses:agreements_overview") + f"?period={period.pk}&state=unfiled",
                    dedup_key=f"agreement-filer:{period.pk}:{filer.pk}",
                )
    return sent

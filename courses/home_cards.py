"""Home-page cards of the course supermarket (registered from CoursesConfig.ready)."""

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from courses import selectors
from courses.models import CourseSelection, SelectionPhase, SelectionStatus, TrainingPeriod
from credits.rule_engine import fmt_hours
from portal.models import Role, Teacher, TeacherStatus
from portal.registry import HomeCard

ADMINS = (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


def _fmt(value) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def selection_cards(request, scope, now) -> list[HomeCard]:
    cards: list[HomeCard] = []
    codes = selectors._city_codes(scope)
    if not codes and not scope.provider_ids:
        return cards
    periods = list(TrainingPeriod.objects.filter(city__code__in=codes).select_related("city", "rule_set"))
    if scope.teacher is not None:
        mine = [p for p in periods if scope.teacher.unit.is_within(p.city)]
        period = selectors.period_current(mine, now)
        if period is not None:
            cards.append(_teacher_card(scope.teacher, period, now))
            cards.append(_timeline_card(period, now))
    if scope.provider_ids:
        cards += _provider_cards(scope, now)
    for role in (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN):
        if not scope.has(role):
            continue
        for unit in scope.units.get(role, ()):
            period = selectors.period_current([p for p in periods if unit.is_within(p.city)], now)
            if period is not None and period.selection_phase(now) != SelectionPhase.BEFORE:
                cards.append(_admin_card(role, unit, period, now))
    return cards


def _teacher_card(teacher: Teacher, period: TrainingPeriod, now) -> HomeCard:
    phase = period.selection_phase(now)
    url = f"{reverse('courses:catalogue')}?period={period.pk}"
    plan = selectors.teacher_plan(teacher, period)
    if phase == SelectionPhase.BEFORE:
        return HomeCard(
            role=Role.TEACHER,
            title=_("选课即将开始"),
            order=5,
            url=url,
            link_label=_("先看看课程"),
            text=_("“%(p)s”选课将于 %(at)s 开始") % {"p": period.name, "at": _fmt(period.selection_opens_at)},
        )
    if phase in (SelectionPhase.OPEN, SelectionPhase.LATE):
        if plan.met:
            text = _("选课窗口开放至 %(end)s；您的选课计划已达标") % {"end": _fmt(period.selection_window_end)}
        else:
            text = _("选课窗口开放至 %(end)s；还差 %(h)s 学时（%(why)s）") % {
                "end": _fmt(period.selection_window_end),
                "h": fmt_hours(plan.shortfall_hours),
                "why": plan.evaluation.sentence if plan.evaluation else "",
            }
        return HomeCard(
            role=Role.TEACHER,
            title=_("%(p)s · %(phase)s") % {"p": period.name, "phase": phase.label},
            text=text,
            url=url,
            link_label=_("去课程超市"),
            order=5,
            level="success" if plan.met else "warning",
        )
    return HomeCard(
        role=Role.TEACHER,
        title=_("%(p)s 选课已结束") % {"p": period.name},
        order=50,
        url=url,
        link_label=_("查看我的课程"),
        text=plan.evaluation.sentence if plan.evaluation else "",
    )


def _timeline_card(period: TrainingPeriod, now) -> HomeCard:
    upcoming = [m for m in selectors.period_timeline(period) if not m.passed(now)]
    text = (
        _("下一项：%(label)s（%(at)s）") % {"label": upcoming[0].label, "at": _fmt(upcoming[0].at)}
        if upcoming
        else _("本期各项安排均已结束。")
    )
    return HomeCard(
        role=Role.TEACHER,
        title=_("本年度安排"),
        text=text,
        url=f"{reverse('courses:period_timeline')}?period={period.pk}",
        link_label=_("查看全年安排"),
        order=6,
    )


def _admin_card(role: Role, unit, period: TrainingPeriod, now) -> HomeCard:
    teachers = Teacher.objects.filter(unit__path__startswith=unit.path, status=TeacherStatus.ACTIVE)
    total = teachers.count()
    selected = CourseSelection.objects.filter(
        period=period,
        teacher__unit__path__startswith=unit.path,
        status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED),
        teacher__status=TeacherStatus.ACTIVE,
    ).aggregate(n=Count("teacher", distinct=True))["n"]
    rate = f"{selected / total:.0%}" if total else "—"
    text = _("%(unit)s在职教师 %(total)d 人，已选课 %(selected)d 人（%(rate)s）") % {
        "unit": unit.name,
        "total": total,
        "selected": selected,
        "rate": rate,
    }
    url = {
        Role.CITY_ADMIN: reverse("courses:fill_rates"),
        Role.DISTRICT_ADMIN: reverse("courses:school_progress"),
        Role.SCHOOL_ADMIN: reverse("courses:nudge"),
    }[role]
    return HomeCard(
        role=role,
        title=_("%(p)s 选课进度") % {"p": period.name},
        text=text,
        count=selected,
        url=f"{url}?period={period.pk}",
        link_label=_("查看进度"),
        order=20,
        level="info" if period.is_selection_open(now) else "secondary",
    )


def _provider_cards(scope, now) -> list[HomeCard]:
    """Per open period: the provider's published courses, seats taken and waiting teachers (two queries)."""
    from django.db.models import Q, Sum

    from courses.models import Course, CourseStatus, WaitlistEntry, WaitlistStatus

    courses = Course.objects.filter(
        provider_id__in=scope.provider_ids,
        status=CourseStatus.PUBLISHED,
        period__selection_opens_at__lte=now,
    ).filter(Q(period__selection_closes_at__gt=now) | Q(period__late_closes_at__gt=now))
    rows = list(
        courses.values("period_id", "period__name")
        .annotate(n=Count("id"), taken=Sum("enrolled_count"))
        .order_by("period__name")
    )
    waiting = (
        dict(
            WaitlistEntry.objects.filter(course__in=courses, status=WaitlistStatus.WAITING)
            .values_list("course__period_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        if rows
        else {}
    )
    cards = [
        HomeCard(
            role=Role.PROVIDER,
            title=_("%(p)s 选课中") % {"p": row["period__name"]},
            count=row["taken"] or 0,
            text=_("已发布课程 %(n)d 门，已选 %(taken)d 人次，候补 %(waiting)d 人")
            % {"n": row["n"], "taken": row["taken"] or 0, "waiting": waiting.get(row["period_id"], 0)},
            url=f"{reverse('courses:manage_list')}?period={row['period_id']}",
            link_label=_("管理课程"),
            level="info",
            order=20,
        )
        for row in rows
    ]
    cards.append(
        HomeCard(
            role=Role.PROVIDER,
            title=_("考核结果导入"),
            text=_("上传形成性考核结果表，合格学员的学时自动登记"),
            url=reverse("courses:results_import"),
            link_label=_("上传"),
            order=50,
        )
    )
    return cards

"""Home-page cards of the course supermarket (registered from CoursesConfig.ready)."""

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from courses import selectors
from courses.models import SelectionPhase, TrainingPeriod
from credits.rule_engine import fmt_hours
from portal.models import Role, Teacher
from portal.registry import HomeCard

ADMINS = (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


def _fmt(value) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def selection_cards(request, scope, now) -> list[HomeCard]:
    cards: list[HomeCard] = []
    codes = selectors._city_codes(scope)
    if not codes and not scope.provider_ids:
        return cards
    periods = _periods(request, codes)
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


def _periods(request, codes: set[str]) -> list[TrainingPeriod]:
    """The periods of the user's cities, read once per request for both card providers."""
    periods = getattr(request, "_home_periods", None)
    if periods is None:
        periods = list(TrainingPeriod.objects.filter(city__code__in=codes).select_related("city", "rule_set"))
        request._home_periods = periods
    return periods


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
    counted = selectors.selection_progress(unit, period)
    total, selected = counted.value
    rate = f"{selected / total:.0%}" if total else "—"
    text = _("%(unit)s在职教师 %(total)d 人，已选课 %(selected)d 人（%(rate)s），统计于 %(time)s") % {
        "unit": unit.name,
        "total": total,
        "selected": selected,
        "rate": rate,
        "time": timezone.localtime(counted.at).strftime("%H:%M"),
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


# --- the school–provider model (Maoming 2024) -------------------------------------------------------


def partnership_cards(request, scope, now) -> list[HomeCard]:
    """What each role must do now about providers, agreements and offers, in periods that use them.

    The periods are those selection_cards read; a city without such periods (Guangzhou) gets no cards and no queries.
    """
    from courses.models import SchoolProviderMode

    periods = [
        p for p in _periods(request, selectors._city_codes(scope)) if p.school_providers != SchoolProviderMode.NONE
    ]
    cards: list[HomeCard] = []
    for unit in scope.units.get(Role.SCHOOL_ADMIN, ()):
        period = selectors.period_current([p for p in periods if unit.is_within(p.city)], now)
        if period is not None:
            cards.append(_school_agreement_card(unit, period))
    for role in (Role.DISTRICT_ADMIN, Role.CITY_ADMIN):
        for unit in scope.units.get(role, ()):
            period = selectors.period_current([p for p in periods if unit.is_within(p.city)], now)
            if period is not None:
                cards += _filing_cards(request, role, unit, period, now)
    if scope.provider_ids:
        cards += _provider_partnership_cards(request, scope, now)
    return cards


def _school_agreement_card(school, period) -> HomeCard:
    from courses.models import AgreementState

    url = f"{reverse('courses:school_provider')}?period={period.pk}&school={school.pk}"
    agreements = selectors.school_agreements(school, period)
    title = _("施教机构与协议 · %(p)s") % {"p": period.name}
    if not agreements:
        due = (
            _("，请于 %(due)s 前完成协议备案") % {"due": date_format(period.agreement_due_on, "DATE_FORMAT")}
            if period.agreement_due_on
            else ""
        )
        return HomeCard(
            role=Role.SCHOOL_ADMIN,
            title=title,
            text=_("本校尚未选择施教机构%(due)s。") % {"due": due},
            url=url,
            link_label=_("选择施教机构"),
            level="danger",
            order=8,
        )
    agreement = agreements[0]
    texts = {
        AgreementState.CHOSEN: (_("已选择%(p)s，请填写收费并上传签订的协议书（PDF）。"), "warning"),
        AgreementState.PENDING: (_("与%(p)s的协议书已上传，等待%(u)s备案。"), "info"),
        AgreementState.FILED: (_("与%(p)s的协议已备案。"), "success"),
        AgreementState.RETURNED: (_("与%(p)s的协议书被退回：%(r)s。请上传更正后的协议书。"), "danger"),
    }
    text, level = texts[AgreementState(agreement.state)]
    reason = ""
    if agreement.state == AgreementState.RETURNED:
        latest = agreement.versions.order_by("-number").first()
        reason = latest.reason if latest else ""
    return HomeCard(
        role=Role.SCHOOL_ADMIN,
        title=title,
        text=text % {"p": agreement.provider.name, "u": agreement.filing_unit.name, "r": reason},
        url=url,
        link_label=_("查看协议"),
        level=level,
        order=8,
    )


def _filing_cards(request, role, unit, period, now) -> list[HomeCard]:
    from courses.models import AgreementState

    agreements = selectors.agreements_visible_to(request.user).filter(
        period=period, filing_unit__path__startswith=unit.path
    )
    pending = agreements.filter(state=AgreementState.PENDING).count()
    base = f"{reverse('courses:agreements_overview')}?period={period.pk}"
    cards = [
        HomeCard(
            role=role,
            title=_("协议备案 · %(p)s") % {"p": period.name},
            count=pending,
            text=_("待备案的学校协议 %(n)d 份。") % {"n": pending}
            + (
                _("备案截止 %(due)s。") % {"due": date_format(period.agreement_due_on, "DATE_FORMAT")}
                if period.agreement_due_on
                else ""
            ),
            url=f"{base}&state=pending",
            link_label=_("去备案"),
            level="warning" if pending else "secondary",
            order=15,
        )
    ]
    to_decide = selectors.offers_to_decide(request.user).filter(period=period).count()
    cards.append(
        HomeCard(
            role=role,
            title=_("课程方案立项"),
            count=to_decide,
            text=_("待您审批的课程方案 %(n)d 个。") % {"n": to_decide},
            url=f"{reverse('courses:offer_list')}?status=submitted",
            link_label=_("去审批"),
            level="warning" if to_decide else "secondary",
            order=16,
        )
    )
    cards.append(
        HomeCard(
            role=role,
            title=_("参训与费用"),
            text=_("须参训教师、各校合格人数与培训费用结算。"),
            url=f"{reverse('courses:statements')}?period={period.pk}",
            link_label=_("费用结算"),
            order=60,
        )
    )
    return cards


def _provider_partnership_cards(request, scope, now) -> list[HomeCard]:
    from courses.models import CourseOffer, OfferStatus

    periods = selectors.partnership_periods_visible_to(request.user)
    cards: list[HomeCard] = []
    period = selectors.period_current(periods, now)
    if period is not None:
        n = (
            selectors.agreements_visible_to(request.user)
            .filter(period=period, provider_id__in=scope.provider_ids)
            .count()
        )
        cards.append(
            HomeCard(
                role=Role.PROVIDER,
                title=_("合作学校 · %(p)s") % {"p": period.name},
                count=n,
                text=_("选择贵机构的学校 %(n)d 所；在此查看各校发送的学员信息采集表和协议。") % {"n": n},
                url=f"{reverse('courses:provider_schools')}?period={period.pk}",
                link_label=_("查看学校"),
                level="info",
                order=25,
            )
        )
    counts = dict(
        CourseOffer.objects.filter(provider_id__in=scope.provider_ids)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    if counts:
        cards.append(
            HomeCard(
                role=Role.PROVIDER,
                title=_("课程方案"),
                count=counts.get(OfferStatus.RETURNED, 0),
                text=_("待立项 %(s)d 个，已立项 %(a)d 个，被退回 %(r)d 个。")
                % {
                    "s": counts.get(OfferStatus.SUBMITTED, 0),
                    "a": counts.get(OfferStatus.APPROVED, 0),
                    "r": counts.get(OfferStatus.RETURNED, 0),
                },
                url=reverse("courses:offer_list"),
                link_label=_("管理方案"),
                level="danger" if counts.get(OfferStatus.RETURNED) else "secondary",
                order=26,
            )
        )
    return cards

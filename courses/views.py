"""Views of the course supermarket: thin, each parses the request, calls one domain function, renders."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import importing, selectors, services
from courses.exporting import xlsx_response
from courses.filters import CatalogueFilter, CourseManageFilter, FillRateFilter, NudgeFilter
from courses.forms import CourseForm, CourseImportForm, ResultImportForm, SessionFormSet
from courses.models import Course, CourseSelection, CourseStatus, Provider, SelectionStatus, TrainingPeriod
from courses.results_import import COLUMNS as RESULT_COLUMNS
from courses.results_import import provider_results_import
from credits.models import Category
from credits.rule_engine import fmt_hours
from portal import idcard
from portal.converters import next_url, parse_ids
from portal.decorators import role_required
from portal.exporting import xlsx_download
from portal.importing import ImportFileError
from portal.locking import LockBusy
from portal.models import Role, Teacher, Unit, UnitKind
from portal.notifications import notify
from portal.replica import replica_reads
from portal.scoping import get_visible_or_404, scope_for

PAGE_SIZE = 20
ADMINS = (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
MANAGERS = (Role.CITY_ADMIN, Role.PROVIDER)


# --- helpers --------------------------------------------------------------------------------------


def _period(request: HttpRequest, now) -> tuple[TrainingPeriod | None, list[TrainingPeriod]]:
    """The period chosen with ?period= (404 if not visible), else the current one."""
    periods = list(selectors.periods_visible_to(request.user))
    wanted = request.GET.get("period") or request.POST.get("period")
    if wanted:
        for period in periods:
            if str(period.pk) == wanted:
                return period, periods
        raise Http404
    return selectors.period_current(periods, now), periods


def _querystring(request: HttpRequest, drop=("page",)) -> str:
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


def _teacher_context(teacher, period: TrainingPeriod, now) -> dict:
    selections = selectors.teacher_selections(teacher, period)
    return {
        "period": period,
        "phase": period.selection_phase(now),
        "can_select": period.is_selection_open(now) and teacher.is_active,
        "can_drop": period.can_drop(now),
        "plan": selectors.teacher_plan(teacher, period, selections),
        "selections": selections,
        "waitlist": selectors.teacher_waitlist(teacher, period),
    }


CARD_SECONDS = 3600  # a renamed provider or topic shows on the cards within the hour


def _with_cards(courses: list[Course]) -> None:
    """Set each course's ``card``: its title, badges, provider, hours and topics, the same for every
    teacher, so kept in the cache per course version and language (one round trip for the page).
    Nothing of the teacher's is in it: her buttons and plan are rendered beside it on every request.
    """
    language = get_language()
    keys = {course.pk: f"course-card:{course.pk}:{course.updated_at.timestamp()}:{language}" for course in courses}
    cached = cache.get_many(keys.values())
    missing = [course for course in courses if keys[course.pk] not in cached]
    prefetch_related_objects(missing, "topics")
    for course in missing:
        cached[keys[course.pk]] = render_to_string("courses/_partials.html#course-card", {"course": course})
    cache.set_many({keys[course.pk]: cached[keys[course.pk]] for course in missing}, CARD_SECONDS)
    for course in courses:
        course.card = mark_safe(cached[keys[course.pk]])  # noqa: S308 - our own template's output


SEARCH_FORM_SECONDS = 300


def _search_form(request: HttpRequest, course_filter: CatalogueFilter, period: TrainingPeriod) -> str:
    """The catalogue's search form, the same for everyone sending the same search: kept in the cache a
    few minutes, so its choices (topics, stages, providers) are read and rendered only now and then."""
    search = [(name, request.GET.getlist(name)) for name in course_filter.form.fields]
    digest = hashlib.sha256(repr(search).encode()).hexdigest()[:32]
    key = f"catalogue-search-form:{period.pk}:{get_language()}:{digest}"
    html = cache.get(key)
    if html is None:
        context = {"filter": course_filter, "period": period}
        html = render_to_string("courses/catalogue.html#search-form", context)
        cache.set(key, html, SEARCH_FORM_SECONDS)
    return mark_safe(html)  # noqa: S308 - our own template's output, every value escaped there


def _visible_course(request: HttpRequest, pk: int) -> Course:
    """A published course of a visible period for teachers; any managed course for its managers; else 404."""
    scope = scope_for(request.user)
    managed = selectors.courses_managed_by(request.user).filter(pk=pk)
    if managed.exists():
        return managed.select_related("period__city", "period__rule_set").get()
    if scope.teacher:
        periods = selectors.periods_visible_to(request.user)
        return get_visible_or_404(
            Course.objects.filter(period__in=periods, status=CourseStatus.PUBLISHED).select_related(
                "period__city", "period__rule_set", "provider", "kind"
            ),
            pk=pk,
        )
    raise Http404


# --- teachers: catalogue, detail, select, drop ----------------------------------------------------


@role_required(Role.TEACHER)
def catalogue(request: HttpRequest) -> HttpResponse:
    """The 课程超市: search, filters, sorting, pages, and the teacher's plan beside it."""
    now = timezone.now()
    teacher = scope_for(request.user).teacher
    period, periods = _period(request, now)
    context = {"periods": periods, "period": period, "now": now}
    if period is not None:
        course_filter = CatalogueFilter(
            request.GET, queryset=selectors.catalogue_courses(period, teacher), period=period
        )
        page = Paginator(course_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        context.update(_teacher_context(teacher, period, now))
        _with_cards(list(page))
        for course in page:
            course.my_selection = context["selections"].get(course.pk)
            course.my_waiting = context["waitlist"].get(course.pk)
        context.update(
            search_form=_search_form(request, course_filter, period), page=page, querystring=_querystring(request)
        )
    return render(request, "courses/catalogue.html", context)


@login_required
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = _visible_course(request, pk)
    now = timezone.now()
    teacher = scope_for(request.user).teacher
    context = {
        "course": course,
        "now": now,
        "sessions": list(course.sessions.all()),
        "topics": list(course.topics.all()),
        "stages": list(course.stages.all()),
        "can_manage": selectors.courses_managed_by(request.user).filter(pk=pk).exists(),
    }
    if teacher and course.status == CourseStatus.PUBLISHED and teacher.unit.is_within(course.period.city):
        context.update(_teacher_context(teacher, course.period, now))
        course.my_selection = context["selections"].get(course.pk)
        course.my_waiting = context["waitlist"].get(course.pk)
    return render(request, "courses/course_detail.html", context)


def _selection_response(request: HttpRequest, course: Course, ok: bool, text: str) -> HttpResponse:
    """htmx: the course's buttons, the plan panel and the message; without JS: back where the teacher was."""
    if request.htmx:
        teacher = scope_for(request.user).teacher
        now = timezone.now()
        context = _teacher_context(teacher, course.period, now)
        course.my_selection = context["selections"].get(course.pk)
        if course.my_selection:
            course.enrolled_count = course.my_selection.course.enrolled_count
        else:
            course.refresh_from_db(fields=["enrolled_count"])
        course.my_waiting = context["waitlist"].get(course.pk)
        context.update(
            course=course,
            ok=ok,
            text=text,
            oob=True,
            next_url=request.htmx.current_url_abs_path or reverse("courses:catalogue"),
        )
        return render(request, "courses/_selection_response.html", context)
    (messages.success if ok else messages.error)(request, text)
    return redirect(next_url(request, reverse("courses:course_detail", args=[course.pk])))


def _selection_action(request: HttpRequest, pk: int, action, done_message=None) -> HttpResponse:
    """Run one of the teacher's selection services on a visible course and answer (htmx or plain)."""
    course = _visible_course(request, pk)
    teacher = scope_for(request.user).teacher
    try:
        result = action(teacher, course, timezone.now())
    except (services.SelectionError, LockBusy) as exc:
        return _selection_response(request, course, False, str(exc))
    message = result.message if done_message is None else done_message % {"title": course.title}
    return _selection_response(request, course, True, message)


@require_POST
@role_required(Role.TEACHER)
def course_select(request: HttpRequest, pk: int) -> HttpResponse:
    return _selection_action(request, pk, services.course_select)


@require_POST
@role_required(Role.TEACHER)
def course_drop(request: HttpRequest, pk: int) -> HttpResponse:
    return _selection_action(request, pk, services.course_drop, _("已退选课程《%(title)s》"))


@require_POST
@role_required(Role.TEACHER)
def waitlist_leave(request: HttpRequest, pk: int) -> HttpResponse:
    return _selection_action(request, pk, services.waitlist_leave, _("已退出课程《%(title)s》的候补名单"))


# --- city admins and providers: maintaining courses -----------------------------------------------


@role_required(*MANAGERS)
def course_manage_list(request: HttpRequest) -> HttpResponse:
    courses = selectors.courses_managed_by(request.user)
    course_filter = CourseManageFilter(
        request.GET,
        queryset=courses.order_by("-period__year", "code"),
        periods=selectors.periods_visible_to(request.user),
        providers=selectors.providers_managed_by(request.user),
    )
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            "courses.xlsx",
            _("课程"),
            [
                _("周期"),
                _("课程代码"),
                _("课程名称"),
                _("科目类别"),
                _("学时"),
                _("施教机构"),
                _("形式"),
                _("名额"),
                _("已选"),
                _("每学时收费"),
                _("状态"),
            ],
            (
                [
                    c.period.code,
                    c.code,
                    c.title,
                    c.get_category_display(),
                    c.hours,
                    c.provider.name,
                    c.get_mode_display(),
                    c.capacity if c.capacity is not None else _("不限"),
                    c.enrolled_count,
                    c.fee_per_hour,
                    c.get_status_display(),
                ]
                for c in course_filter.qs.iterator(chunk_size=500)
            ),
        )
    page = Paginator(course_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/manage_list.html",
        {
            "filter": course_filter,
            "page": page,
            "querystring": _querystring(request),
            "import_url": reverse("courses:course_import"),
        },
    )


@role_required(*MANAGERS)
def course_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    course = None
    if pk is not None:
        course = get_visible_or_404(selectors.courses_managed_by(request.user), pk=pk)
    offer = request.GET.get("offer", "")
    form = CourseForm(
        request.POST or None,
        instance=course,
        initial={"offer": offer} if course is None and offer.isdigit() else None,
        periods=selectors.periods_visible_to(request.user),
        providers=selectors.providers_managed_by(request.user),
    )
    sessions = SessionFormSet(request.POST or None, instance=course or Course(), prefix="sessions")
    if request.method == "POST" and form.is_valid() and sessions.is_valid():
        try:
            with transaction.atomic():
                saved = services.course_save(form.save(commit=False), fields=form.plain_fields)
                form.save_m2m()
                sessions.instance = saved
                sessions.save()
        except (services.SelectionError, LockBusy) as exc:
            form.add_error("capacity" if isinstance(exc, services.SelectionError) else None, str(exc))
            return render(request, "courses/course_form.html", {"form": form, "sessions": sessions, "course": course})
        # More seats (or none any more) go to the waiting list at once, as a dropped seat would.
        promoted = services.waitlist_promote(saved, timezone.now()) if saved.status == CourseStatus.PUBLISHED else []
        messages.success(request, _("课程“%(title)s”已保存") % {"title": saved.title})
        if promoted:
            messages.info(request, _("候补名单中的 %(n)d 人已自动转为选课") % {"n": len(promoted)})
        return redirect("courses:manage_list")
    return render(request, "courses/course_form.html", {"form": form, "sessions": sessions, "course": course})


@role_required(*MANAGERS)
def course_import(request: HttpRequest) -> HttpResponse:
    """Upload a catalogue sheet: every row is checked; nothing is written unless all rows are valid."""
    if request.GET.get("template"):
        return xlsx_download(_("课程导入模板.xlsx"), importing.course_import_template())
    form = CourseImportForm(
        request.POST or None, request.FILES or None, periods=selectors.periods_visible_to(request.user)
    )
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = importing.course_import(
                form.cleaned_data["file"],
                period=form.cleaned_data["period"],
                providers=list(selectors.providers_managed_by(request.user)),
                dry_run=form.cleaned_data["dry_run"],
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            if result.written:
                messages.success(request, _("导入完成：%(s)s") % {"s": result.summary_zh})
                return redirect("courses:manage_list")
    return render(request, "courses/course_import.html", {"form": form, "result": result})


@role_required(*MANAGERS)
def course_roster(request: HttpRequest, pk: int) -> HttpResponse:
    """Who selected a course; the provider marks completions here (hours go to the ledger once)."""
    course = get_visible_or_404(selectors.courses_managed_by(request.user), pk=pk)
    selections = (
        CourseSelection.objects.filter(course=course)
        .exclude(status=SelectionStatus.DROPPED)
        .select_related("teacher__unit")
        .order_by("teacher__unit__path", "teacher__name")
    )
    if request.method == "POST":
        ids = parse_ids(request.POST.getlist("ids"))
        done = 0
        now = timezone.now()
        for selection in selections.filter(pk__in=ids, status=SelectionStatus.SELECTED).select_related(
            "course__period__city", "course__kind"
        ):
            try:
                done += services.selection_complete(selection, request.user, now)
            except services.SelectionError as exc:
                messages.error(request, str(exc))
                break
        if done:
            messages.success(request, _("已登记 %(n)d 人完成，学时已记入") % {"n": done})
        return redirect("courses:course_roster", pk=course.pk)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            f"roster-{course.code}.xlsx",
            course.code,
            [_("姓名"), _("身份证号"), _("单位"), _("状态"), _("选课时间")],
            (
                [
                    e.teacher.name,
                    e.teacher.masked_id_number,
                    e.teacher.unit.name,
                    e.get_status_display(),
                    timezone.localtime(e.selected_at).strftime("%Y-%m-%d %H:%M"),
                ]
                for e in selections
            ),
        )
    page = Paginator(selections, 50).get_page(request.GET.get("page"))
    return render(request, "courses/course_roster.html", {"course": course, "page": page})


# --- admins: progress and nudges ------------------------------------------------------------------


@role_required(Role.CITY_ADMIN)
@replica_reads()
def fill_rates(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    period, periods = _period(request, now)
    if period is None:
        raise Http404
    if not scope_for(request.user).reaches(period.city, roles=(Role.CITY_ADMIN,)):
        raise Http404
    course_filter = FillRateFilter(
        request.GET,
        queryset=selectors.course_fill_rates(period).order_by("-enrolled_count", "code"),
        providers=Provider.objects.filter(pk__in=Course.objects.filter(period=period).values("provider_id")),
    )
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            f"fill-rates-{period.code}.xlsx",
            _("课程选课率"),
            [_("课程代码"), _("课程名称"), _("科目类别"), _("施教机构"), _("名额"), _("已选"), _("选满率"), _("候补")],
            (
                [
                    c.code,
                    c.title,
                    c.get_category_display(),
                    c.provider.name,
                    c.capacity if c.capacity is not None else _("不限"),
                    c.enrolled_count,
                    f"{c.fill_rate:.0%}" if c.fill_rate is not None else "",
                    c.waiting,
                ]
                for c in course_filter.qs.iterator(chunk_size=500)
            ),
        )
    districts = selectors.selections_by_district(period, scope_for(request.user))
    if request.GET.get("export") == "districts":
        return xlsx_response(
            f"district-selections-{period.code}.xlsx",
            _("各区分类别选课人次"),
            [_("区"), *[f"{c.label}（人次）" for c in Category], *[f"{c.label}（学时）" for c in Category], _("合计")],
            (
                [d.unit.name, *[d.counts[c.value] for c in Category], *[d.hours[c.value] for c in Category], d.total]
                for d in districts
            ),
        )
    page = Paginator(course_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [str(c.label) for c in Category]},
        "grid": {"left": 40, "right": 20, "bottom": 60},
        "xAxis": {"type": "category", "data": [d.unit.name for d in districts], "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value", "name": _("选课人次")},
        "series": [
            {"name": str(c.label), "type": "bar", "stack": "total", "data": [d.counts[c.value] for d in districts]}
            for c in Category
        ],
    }
    return render(
        request,
        "courses/fill_rates.html",
        {
            "period": period,
            "periods": periods,
            "filter": course_filter,
            "page": page,
            "querystring": _querystring(request),
            "districts": districts,
            "categories": list(Category),
            "chart": chart,
        },
    )


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
@replica_reads()
def school_progress(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    period, periods = _period(request, now)
    if period is None:
        raise Http404
    scope = scope_for(request.user)
    if period.rule_set_id:
        rows = selectors.school_progress_sql(period, scope)
    else:
        rows = selectors.school_progress(period, scope)
    q = request.GET.get("q", "").strip()
    if q:
        rows = [r for r in rows if q in r.unit.name]
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            f"school-progress-{period.code}.xlsx",
            _("学校选课进度"),
            [_("单位"), _("在职教师"), _("已选课"), _("选课率"), _("计划达标"), _("计划达标率")],
            (
                [
                    r.unit.name,
                    r.teachers,
                    r.selected,
                    f"{r.selected_rate:.0%}",
                    r.planned_enough,
                    f"{r.planned_rate:.0%}",
                ]
                for r in rows
            ),
        )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/school_progress.html",
        {
            "period": period,
            "periods": periods,
            "page": page,
            "q": q,
            "querystring": _querystring(request),
        },
    )


def _nudge_rows(request: HttpRequest, period: TrainingPeriod, data):
    """The filter form and the (lazily paged) teachers short of the rule within the user's reach."""
    scope = scope_for(request.user)
    units = Unit.objects.filter(scope.unit_q(""), kind__in=[UnitKind.SCHOOL, UnitKind.CENTER, UnitKind.OTHER])
    nudge_filter = NudgeFilter(data, queryset=Teacher.objects.none(), units=units)
    if not period.rule_set_id or not nudge_filter.is_valid():
        return nudge_filter, []
    cleaned = nudge_filter.form.cleaned_data
    unit = cleaned.get("unit")
    rows = selectors.NudgeRows(
        period,
        scope,
        unit_id=unit.pk if unit else None,
        name=cleaned.get("q") or "",
        short_in=cleaned.get("short_in") or "",
    )
    return nudge_filter, rows


@role_required(*ADMINS)
def nudge(request: HttpRequest) -> HttpResponse:
    """Teachers whose earned plus planned hours do not yet meet the rule; export and remind."""
    now = timezone.now()
    period, periods = _period(request, now)
    if period is None:
        raise Http404
    nudge_filter, rows = _nudge_rows(request, period, request.GET)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            f"nudge-{period.code}.xlsx",
            _("选课未达标教师"),
            [_("姓名"), _("身份证号"), _("单位"), *[f"{c.label}" for c in Category], _("还差")],
            (
                [
                    r.teacher.name,
                    r.teacher.masked_id_number,
                    r.teacher.unit.name,
                    *[float(line.total) for line in r.plan.categories],
                    r.plan.evaluation.sentence if r.plan.evaluation else "",
                ]
                for r in rows
            ),
        )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/nudge.html",
        {
            "period": period,
            "periods": periods,
            "filter": nudge_filter,
            "page": page,
            "querystring": _querystring(request),
            "categories": list(Category),
        },
    )


@require_POST
@role_required(*ADMINS)
def nudge_remind(request: HttpRequest) -> HttpResponse:
    """Queue a reminder to the ticked teachers (at most one per teacher per period and day)."""
    now = timezone.now()
    period, _periods = _period(request, now)
    if period is None:
        raise Http404
    ids = set(parse_ids(request.POST.getlist("ids")))
    if not ids:
        messages.error(request, _("请先勾选要提醒的教师"))
        return redirect(next_url(request, reverse("courses:nudge")))
    scope = scope_for(request.user)
    if not scope.is_admin:
        raise PermissionDenied
    teachers = selectors.active_teachers_in_scope(scope, period).filter(pk__in=ids)
    plans = selectors.plans_for_teachers([t.pk for t in teachers], period)
    reminded = without_login = 0
    for teacher in teachers:
        plan = plans[teacher.pk]
        if plan.met:
            continue
        if not teacher.user_id:
            without_login += 1
            continue
        notify(
            [teacher.user_id],
            "course_plan_reminder",
            _("请尽快完成选课"),
            _("您在“%(period)s”的选课计划尚未达标：%(missing)s。选课截止时间：%(end)s。")
            % {
                "period": period.name,
                "missing": plan.evaluation.sentence if plan.evaluation else "",
                "end": timezone.localtime(period.selection_window_end).strftime("%Y-%m-%d %H:%M"),
            },
            url=f"{reverse('courses:catalogue')}?period={period.pk}",
            dedup_key=f"plan-remind:{period.pk}:{timezone.localdate(now).isoformat()}",
        )
        reminded += 1
    messages.success(request, _("已向 %(n)d 位教师发送选课提醒") % {"n": reminded})
    if without_login:
        messages.warning(request, _("%(n)d 位教师尚未开通账号，无法提醒") % {"n": without_login})
    return redirect(next_url(request, f"{reverse('courses:nudge')}?period={period.pk}"))


# --- provider result sheets -----------------------------------------------------------------------


@role_required(Role.PROVIDER)
def results_import(request: HttpRequest) -> HttpResponse:
    """Provider staff upload a result sheet: check it, then (all rows valid) record the passed hours."""
    scope = scope_for(request.user)
    providers = Provider.objects.filter(pk__in=scope.provider_ids).order_by("code")
    periods = TrainingPeriod.objects.filter(courses__provider__in=providers).distinct().order_by("-year", "code")
    form = ResultImportForm(request.POST or None, request.FILES or None, providers=providers, periods=periods)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = provider_results_import(
                data["file"],
                provider=data["provider"],
                period=data["period"],
                actor=request.user,
                dry_run=data["dry_run"],
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            if result.written:
                messages.success(
                    request,
                    _("已导入：%(n)d 人次合格，共 %(h)s 学时") % {"n": result.created, "h": fmt_hours(result.hours)},
                )
    return render(request, "courses/results_import.html", {"form": form, "result": result})


@role_required(Role.PROVIDER)
def results_template(request: HttpRequest) -> HttpResponse:
    """An empty result sheet with the expected headers (and one example row to overwrite)."""
    headers = [c.header for c in RESULT_COLUMNS]
    example = [[idcard.make("440106", dt.date(1990, 1, 1), 123), "张三", "GZ-101", 12, "合格"]]
    return xlsx_response(
        _("考核结果导入模板"), title=_("考核结果（示例行请删除后填写）"), headers=headers, rows=example
    )

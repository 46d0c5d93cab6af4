"""Pages of attendance, leave and no-shows: thin views over courses.attendance_services and attendance_selectors.

Sessions are named by kind ("course", "programme") and id; each kind is registered in courses.sessions.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import attendance_selectors as selectors
from courses import attendance_services as services
from courses.models import Attendance, AttendanceStatus, LeaveRequest, LeaveState
from courses.sessions import SESSION_KINDS, SessionKindSpec, sessions_of
from portal.converters import parse_id
from portal.decorators import role_required
from portal.importing import ImportFileError
from portal.locking import LockBusy
from portal.models import ADMIN_ROLES, Role
from portal.scoping import get_visible_or_404, scope_for

PAGE_SIZE = 50
MARKERS = (Role.CITY_ADMIN, Role.PROVIDER)
REFUSALS = (services.AttendanceRefused, LockBusy)


def _spec(kind: str) -> SessionKindSpec:
    if kind not in SESSION_KINDS:
        raise Http404
    return SESSION_KINDS[kind]


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@role_required(*MARKERS)
def attendance_sessions(request: HttpRequest) -> HttpResponse:
    """The sessions whose attendance the user takes, newest first, with what is marked so far."""
    kinds = [k for k in SESSION_KINDS if selectors.markable_sessions(request.user, k).exists()]
    kind = request.GET.get("kind") or (kinds[0] if kinds else "course")
    spec = _spec(kind)
    page = Paginator(
        selectors.markable_sessions(request.user, kind).order_by("-date", "-starts_at", "-id"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    counts = selectors.attendance_counts(kind, [s.pk for s in page])
    rows = [(s, spec.title(s), counts.get(s.pk)) for s in page]
    return render(
        request,
        "courses/attendance_sessions.html",
        {"page": page, "rows": rows, "kind": kind, "kinds": kinds, "query": _querystring(request)},
    )


@role_required(*MARKERS)
def attendance_sheet(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """One session's registered learners: mark present / absent / excused here, or import a sheet."""
    spec = _spec(kind)
    session = get_visible_or_404(selectors.markable_sessions(request.user, kind), pk=pk)
    period = spec.period(session)
    now = timezone.now()
    import_result = None
    if request.method == "POST":
        late_reason = request.POST.get("late_reason", "")
        try:
            if request.FILES.get("file"):
                import_result = services.attendance_import(
                    request.FILES["file"],
                    actor=request.user,
                    kind=kind,
                    session=session,
                    now=now,
                    late_reason=late_reason,
                )
                if import_result.written:
                    messages.success(request, _("已导入 %(n)d 人的考勤。") % {"n": import_result.updated})
                    return redirect("courses:attendance_sheet", kind, pk)
            else:
                marks = {
                    parse_id(key.removeprefix("status_")): value
                    for key, value in request.POST.items()
                    if key.startswith("status_") and parse_id(key.removeprefix("status_")) and value
                }
                result = services.attendance_mark(
                    actor=request.user, kind=kind, session=session, marks=marks, now=now, late_reason=late_reason
                )
                messages.success(
                    request,
                    _("已登记：出勤 %(p)d 人，请假 %(e)d 人，无故未参训 %(a)d 人。")
                    % {"p": result.present, "e": result.excused, "a": result.absent},
                )
                return redirect("courses:attendance_sheet", kind, pk)
        except ImportFileError as exc:
            messages.error(request, str(exc))
        except REFUSALS as exc:
            messages.error(request, str(exc))
    learners = list(spec.registered(session).select_related("unit").order_by("unit__path", "name", "id"))
    marks = dict(
        Attendance.objects.filter(session_kind=kind, session_id=session.pk).values_list("teacher_id", "status")
    )
    leaves = {x.teacher_id: x for x in LeaveRequest.objects.filter(session_kind=kind, session_id=session.pk)}
    rows = [(t, marks.get(t.pk, ""), leaves.get(t.pk)) for t in learners]
    return render(
        request,
        "courses/attendance_sheet.html",
        {
            "session": session,
            "kind": kind,
            "title": spec.title(session),
            "period": period,
            "rows": rows,
            "statuses": AttendanceStatus.choices,
            "outside_dates": period.training_dates_refusal(timezone.localdate(now)),
            "is_city": scope_for(request.user).reaches(period.city, roles=(Role.CITY_ADMIN,)),
            "import_result": import_result,
        },
    )


# --- teachers -----------------------------------------------------------------------------------------------------


@role_required(Role.TEACHER)
def my_sessions(request: HttpRequest) -> HttpResponse:
    """The sessions the teacher must attend (from 30 days back), her leave requests and her attendance."""
    teacher = scope_for(request.user).teacher
    now = timezone.now()
    rows = selectors.teacher_sessions(teacher, timezone.localdate(now) - dt.timedelta(days=30))
    return render(
        request,
        "courses/my_sessions.html",
        {"rows": rows, "now": now, "ban": selectors.programme_ban(teacher, now)},
    )


@require_POST
@role_required(Role.TEACHER)
def leave_request(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    spec = _spec(kind)
    teacher = scope_for(request.user).teacher
    session = get_visible_or_404(sessions_of(kind).filter(spec.teacher_q(teacher)).distinct(), pk=pk)
    try:
        services.leave_request(
            actor=request.user, kind=kind, session=session, reason=request.POST.get("reason", ""), now=timezone.now()
        )
    except REFUSALS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已提交请假，请等待学校批准。"))
    return redirect("courses:my_sessions")


# --- school admins --------------------------------------------------------------------------------------------------


@role_required(Role.SCHOOL_ADMIN)
def leave_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", LeaveState.REQUESTED)
    rows = selectors.leaves_for_school(request.user).select_related("teacher")
    if state in LeaveState.values:
        rows = rows.filter(state=state)
    page = Paginator(rows.order_by("session_starts_at", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/leave_list.html",
        {"page": page, "state": state, "states": LeaveState.choices, "query": _querystring(request)},
    )


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def leave_decide(request: HttpRequest, pk: int) -> HttpResponse:
    leave = get_visible_or_404(selectors.leaves_for_school(request.user).select_related("school"), pk=pk)
    approve = request.POST.get("action") == "approve"
    try:
        services.leave_decide(
            actor=request.user, leave=leave, approve=approve, note=request.POST.get("note", ""), now=timezone.now()
        )
    except REFUSALS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已批准请假。") if approve else _("已处理为不批准。"))
    return redirect("courses:leave_list")


@role_required(*ADMIN_ROLES)
def no_shows(request: HttpRequest) -> HttpResponse:
    """The no-shows of the teachers in reach; for a city, also the rates per provider and per district."""
    scope = scope_for(request.user)
    rows = (
        selectors.no_shows_visible_to(request.user).select_related("teacher", "school").order_by("-session_date", "id")
    )
    q = request.GET.get("q", "").strip()[:30]
    if q:
        rows = rows.filter(teacher__name__icontains=q)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    titles: dict[tuple[str, int], str] = {}
    for kind, spec in SESSION_KINDS.items():
        ids = [a.session_id for a in page if a.session_kind == kind]
        if ids:
            titles |= {(kind, pk): spec.title(s) for pk, s in sessions_of(kind).in_bulk(ids).items()}
    cities = scope.units.get(Role.CITY_ADMIN, ())
    providers, districts = selectors.no_show_rates(cities[0]) if cities else ([], [])
    return render(
        request,
        "courses/no_shows.html",
        {
            "page": page,
            "rows": [(a, titles.get((a.session_kind, a.session_id), "")) for a in page],
            "q": q,
            "query": _querystring(request),
            "providers": providers,
            "districts": districts,
        },
    )

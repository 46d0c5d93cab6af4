"""Pages of special programmes: thin views over enrollment.services and enrollment.selectors."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.converters import next_url, parse_id
from portal.decorators import role_required
from portal.filters import offer_units
from portal.forms import light_fields
from portal.importing import ImportFileError
from portal.locking import LockBusy
from portal.models import ADMIN_ROLES, Role, Unit
from portal.pagination import FirstPageCountedPaginator, Paginator
from portal.scoping import get_visible_or_404, scope_for
from portal.selectors import units_in_reach

from . import exports, selectors, services
from .filters import ApplicationFilter
from .forms import (
    ApplyForm,
    BulkDecisionForm,
    DecisionForm,
    FinalizeForm,
    QuotaImportForm,
    QuotaMoveForm,
    QuotaReopenForm,
    QuotaSetForm,
)
from .models import Application, Programme

PAGE_SIZE = 50
ALL_ROLES = (Role.TEACHER, *ADMIN_ROLES)


def _refused(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, str(exc))


def _programme_or_404(request: HttpRequest, pk: int) -> Programme:
    return get_visible_or_404(selectors.programmes_visible_to(request.user), pk=pk)


def _is_city_admin(request: HttpRequest, programme: Programme) -> bool:
    return scope_for(request.user).reaches(programme.period.city, roles=(Role.CITY_ADMIN,))


@role_required(*ALL_ROLES)
def programme_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    scope = scope_for(request.user)
    programmes = selectors.programmes_visible_to(request.user).prefetch_related("levels")
    mine = {}
    if scope.teacher:
        mine = {a.programme_id: a for a in Application.objects.filter(teacher=scope.teacher).select_related("level")}
    rows = []
    for p in programmes:
        application = mine.get(p.pk)
        rows.append(
            (p, application, application.effective_state(now) if application else None, p.registration_open(now))
        )
    return render(request, "enrollment/programme_list.html", {"rows": rows, "now": now, "scope": scope})


@role_required(*ALL_ROLES)
def programme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    programme = _programme_or_404(request, pk)
    scope = scope_for(request.user)
    context = {
        "programme": programme,
        "now": now,
        "levels": list(programme.levels.all()),
        "is_city": _is_city_admin(request, programme),
    }
    if scope.teacher:
        context["application"] = Application.objects.filter(programme=programme, teacher=scope.teacher).first()
        context["problem"] = services.application_eligibility_problem(scope.teacher, programme)
        context["apply_form"] = ApplyForm()
    if scope.is_admin:
        context["fills"] = selectors.quota_fill_seen_by(request.user, programme, now)
        context["finalize_form"] = FinalizeForm(programme=programme)
    return render(request, "enrollment/programme_detail.html", context)


@require_POST
@role_required(Role.TEACHER)
def programme_apply(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _programme_or_404(request, pk)
    form = ApplyForm(request.POST)
    if form.is_valid():
        try:
            application = services.application_submit(
                actor=request.user, programme=programme, now=timezone.now(), note=form.cleaned_data["note"]
            )
        except (services.ActionRefused, LockBusy) as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("报名已提交，请等待学校审核。"))
            return redirect("enrollment:application_detail", application.pk)
    return redirect("enrollment:programme_detail", programme.pk)


@role_required(Role.TEACHER)
def my_applications(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    applications = selectors.list_rows(
        Application.objects.filter(teacher=scope_for(request.user).teacher), now
    ).order_by("-submitted_at")
    return render(request, "enrollment/my_applications.html", {"applications": applications, "now": now})


@role_required(*ALL_ROLES)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    now = timezone.now()
    application = get_visible_or_404(
        selectors.applications_visible_to(request.user).select_related(
            "programme__period", "teacher", "teacher__stage", "school", "district", "level"
        ),
        pk=pk,
    )
    scope = scope_for(request.user)
    levels = list(application.programme.levels.all())
    return render(
        request,
        "enrollment/application_detail.html",
        {
            "application": application,
            "state": application.effective_state(now),
            "status_text": application.status_text(now),
            "timeline": selectors.application_timeline(application),
            "levels": levels,
            "now": now,
            "is_own": scope.teacher is not None and application.teacher_id == scope.teacher.pk,
            "may_withdraw": (
                scope.teacher is not None
                and application.teacher_id == scope.teacher.pk
                and application.state == "submitted"
                and application.level_id == levels[0].pk
                and now <= application.deadline
            ),
            "may_act": selectors.may_act(request.user, application, now),
            "decision_form": DecisionForm(),
        },
    )


@require_POST
@role_required(Role.TEACHER)
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_visible_or_404(selectors.applications_visible_to(request.user).select_related("teacher"), pk=pk)
    try:
        services.application_withdraw(actor=request.user, application=application, now=timezone.now())
    except (services.ActionRefused, LockBusy) as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("已撤回报名。"))
    return redirect("enrollment:application_detail", pk)


@require_POST
@role_required(*ADMIN_ROLES)
def application_decide(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_visible_or_404(selectors.applications_visible_to(request.user), pk=pk)
    form = DecisionForm(request.POST)
    back = next_url(request, reverse("enrollment:application_detail", args=[pk]))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    now = timezone.now()
    data = form.cleaned_data
    try:
        if data["action"] == DecisionForm.APPROVE:
            services.application_approve(actor=request.user, application=application, now=now, comment=data["comment"])
            messages.success(request, _("已通过。"))
        else:
            services.application_reject(actor=request.user, application=application, now=now, reason=data["comment"])
            messages.success(request, _("已处理为不通过。"))
    except (services.ActionRefused, LockBusy) as exc:
        _refused(request, exc)
    return redirect(back)


def _review_programme(request: HttpRequest, programmes: list[Programme]) -> Programme | None:
    wanted = request.GET.get("programme") or request.POST.get("programme")
    if wanted:
        pk = parse_id(wanted)
        found = next((p for p in programmes if p.pk == pk), None)
        if found is None:
            raise Http404
        return found
    return programmes[0] if programmes else None


REVIEW_PROGRAMME_FIELDS = (
    "title", "registration_opens_at", "registration_closes_at", "period__name", "period__city__path",
)  # fmt: skip


@role_required(*ADMIN_ROLES)
def review(request: HttpRequest) -> HttpResponse:
    """The approver's queue: by default what she can decide now; filters; select-all and bulk decisions."""
    now = timezone.now()
    scope = scope_for(request.user)
    # One list for the select and the chosen one, with what the page shows of them; the chosen one's levels
    # serve the chain, the quota fills and the rows (read for it alone: prefetching every programme's cost
    # more than the query).
    programmes = list(selectors.programmes_visible_to(request.user).only(*REVIEW_PROGRAMME_FIELDS))
    programme = _review_programme(request, programmes)
    context = {"programmes": programmes, "programme": programme, "now": now}
    if programme is None:
        return render(request, "enrollment/review.html", context)
    prefetch_related_objects([programme], "levels")
    app_filter = ApplicationFilter(
        request.GET or None,
        schools=units_in_reach(request.user),
        now=now,
        queryset=selectors.applications_visible_to(request.user).filter(programme=programme),
    )
    offer_units(app_filter, "school", request.user)
    if app_filter.is_bound and app_filter.is_valid() and app_filter.form.cleaned_data.get("state"):
        qs = app_filter.qs
    else:
        qs = selectors.review_queue(request.user, now, programme)
        if app_filter.is_bound and app_filter.is_valid():
            qs = app_filter.filter_queryset(qs)
    qs = qs.order_by("school__path", "teacher__name", "pk")
    page = FirstPageCountedPaginator(qs, PAGE_SIZE, rows=selectors.review_list).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    is_city = _is_city_admin(request, programme)
    context.update(
        {
            "filter": app_filter,
            "page": page,
            "query": query.urlencode(),
            "fills": selectors.quota_fill_seen_by(request.user, programme, now),
            "levels": list(programme.levels.all()),
            "is_city": is_city,
            "group_by_school": scope.has(Role.DISTRICT_ADMIN) or scope.has(Role.CITY_ADMIN),
            "bulk_form": light_fields(BulkDecisionForm()),
            "finalize_form": FinalizeForm(programme=programme) if is_city else None,
        }
    )
    return render(request, "enrollment/review.html", context)


@require_POST
@role_required(*ADMIN_ROLES)
def review_bulk(request: HttpRequest) -> HttpResponse:
    back = next_url(request, reverse("enrollment:review"))
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    now = timezone.now()
    ids = list(selectors.applications_visible_to(request.user).filter(pk__in=data["ids"]).values_list("pk", flat=True))
    try:
        if data["action"] == DecisionForm.APPROVE:
            result = services.application_approve_bulk(actor=request.user, ids=ids, now=now, comment=data["comment"])
            messages.success(request, _("已通过 %(n)d 份申请。") % {"n": result.done})
        else:
            result = services.application_reject_bulk(actor=request.user, ids=ids, now=now, reason=data["comment"])
            messages.success(request, _("已将 %(n)d 份申请处理为不通过。") % {"n": result.done})
    except (services.ActionRefused, LockBusy) as exc:
        _refused(request, exc)
        return redirect(back)
    skipped = result.skipped + len(data["ids"]) - len(ids)
    if skipped:
        messages.warning(
            request,
            _("%(n)d 份申请未处理（%(why)s）。")
            % {"n": skipped, "why": "、".join(result.reasons) or _("不在您的审核范围")},
        )
    return redirect(back)


@require_POST
@role_required(Role.CITY_ADMIN, Role.DISTRICT_ADMIN)
def programme_finalize(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _programme_or_404(request, pk)
    form = FinalizeForm(request.POST, programme=programme)
    back = next_url(request, reverse("enrollment:programme_detail", args=[pk]))
    if form.is_valid():
        try:
            result = services.application_finalize(
                actor=request.user, programme=programme, now=timezone.now(), district=form.cleaned_data["district"]
            )
        except (services.ActionRefused, LockBusy) as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("已审定 %(n)d 人。") % {"n": result.done})
    return redirect(back)


@role_required(Role.CITY_ADMIN)
def quota_manage(request: HttpRequest, pk: int) -> HttpResponse:
    """The city's quota table: set seats, move unused seats, reopen a district, import the xlsx."""
    programme = _programme_or_404(request, pk)
    if not _is_city_admin(request, programme):
        raise PermissionDenied
    now = timezone.now()
    forms = {
        "set": QuotaSetForm(prefix="set", programme=programme),
        "move": QuotaMoveForm(prefix="move", programme=programme),
        "reopen": QuotaReopenForm(prefix="reopen", programme=programme),
        "import": QuotaImportForm(prefix="import"),
    }
    errors: list[str] = []
    if request.method == "POST":
        which = request.POST.get("form")
        try:
            if which == "set":
                form = forms["set"] = QuotaSetForm(request.POST, prefix="set", programme=programme)
                if form.is_valid():
                    services.quota_set(actor=request.user, programme=programme, now=now, **form.cleaned_data)
                    messages.success(request, _("名额已保存。"))
                    return redirect("enrollment:quota_manage", pk)
            elif which == "move":
                form = forms["move"] = QuotaMoveForm(request.POST, prefix="move", programme=programme)
                if form.is_valid():
                    services.quota_move(actor=request.user, programme=programme, now=now, **form.cleaned_data)
                    messages.success(request, _("名额已调剂。"))
                    return redirect("enrollment:quota_manage", pk)
            elif which == "reopen":
                form = forms["reopen"] = QuotaReopenForm(request.POST, prefix="reopen", programme=programme)
                if form.is_valid():
                    n = services.quota_reopen(actor=request.user, programme=programme, now=now, **form.cleaned_data)
                    messages.success(request, _("已重新开放，%(n)d 份已逾期的申请恢复待审核。") % {"n": n})
                    return redirect("enrollment:quota_manage", pk)
            elif which == "import":
                form = forms["import"] = QuotaImportForm(request.POST, request.FILES, prefix="import")
                if form.is_valid():
                    try:
                        result = services.quota_table_import(
                            actor=request.user, programme=programme, file=form.cleaned_data["file"], now=now
                        )
                    except ImportFileError as exc:
                        form.add_error("file", str(exc))
                    else:
                        if result.ok:
                            messages.success(request, _("名额分配表已导入：%(s)s。") % {"s": result.summary_zh})
                            return redirect("enrollment:quota_manage", pk)
                        errors = result.error_lines()
        except (services.ActionRefused, LockBusy) as exc:
            _refused(request, exc)
    return render(
        request,
        "enrollment/quota_manage.html",
        {
            "programme": programme,
            "fills": selectors.quota_fill(programme, now),
            "forms": forms,
            "import_errors": errors,
            "now": now,
        },
    )


@role_required(*ADMIN_ROLES)
def roster(request: HttpRequest, pk: int) -> HttpResponse:
    """Every teacher the admin sees with the state of her application to this programme; exportable."""
    programme = _programme_or_404(request, pk)
    now = timezone.now()
    teachers = selectors.district_roster(request.user, programme, now)
    q = request.GET.get("q", "").strip()
    if q:
        teachers = teachers.filter(name__contains=q)
    only = request.GET.get("only")
    if only == "applied":
        teachers = teachers.filter(application_id__isnull=False)
    if request.GET.get("format") == "xlsx":
        return exports.roster_response(request, programme, teachers, now)
    page = Paginator(teachers, PAGE_SIZE).get_page(request.GET.get("page"))
    for t in page:
        t.application_label = selectors.roster_state_label(
            t.application_state, t.application_deadline, t.application_level, now
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "enrollment/roster.html",
        {
            "programme": programme,
            "page": page,
            "query": query.urlencode(),
            "q": q,
            "only": only,
        },
    )


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def programme_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The list on paper: a district's approved list, or (city) the final participant list."""
    programme = _programme_or_404(request, pk)
    district = None
    wanted = request.GET.get("district")
    if wanted:
        district = _district_or_404(request, wanted)
    final = request.GET.get("list") == "final"
    if final and not _is_city_admin(request, programme):
        raise PermissionDenied
    return exports.list_response(request, programme, district=district, final=final, now=timezone.now())


def _district_or_404(request: HttpRequest, raw: str) -> Unit:
    pk = parse_id(raw)
    if pk is None:
        raise Http404
    scope = scope_for(request.user)
    unit = Unit.objects.filter(pk=pk, kind__in=("district", "city")).first()
    if unit is None or not scope.reaches(unit):
        raise Http404
    return unit


@role_required(*ADMIN_ROLES)
def audit_log(request: HttpRequest, pk: int) -> HttpResponse:
    programme = _programme_or_404(request, pk)
    entries = selectors.audit_visible_to(request.user, programme).order_by("-created_at", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "enrollment/audit_log.html", {"programme": programme, "page": page, "query": ""})

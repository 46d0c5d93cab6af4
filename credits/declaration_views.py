"""Pages of declarations (学时申报/认定) and school-based training (校本研修): thin views over
credits.declaration_services, credits.school_training_services and credits.declaration_selectors."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from credits import declaration_selectors as selectors
from credits import declaration_services as services
from credits import school_training_services as training
from credits.forms import (
    DeclarationBulkForm,
    DeclarationDecisionForm,
    DeclarationForm,
    SchoolActivityForm,
    SchoolTrainingCapForm,
    SpotCheckForm,
)
from credits.models import (
    Category,
    CreditEntry,
    Declaration,
    DeclarationSettings,
    DeclarationState,
    SchoolTrainingCap,
    Source,
)
from portal.converters import next_url, parse_id, parse_ids, parse_year
from portal.decorators import role_required
from portal.importing import ImportFileError
from portal.locking import LockBusy
from portal.models import Role, Teacher, TeacherStatus, Unit, UnitKind
from portal.scoping import get_visible_or_404, scope_for
from portal.uploads import document_response

PAGE_SIZE = 50
REFUSALS = (services.DeclarationRefused, LockBusy)


def _year(request: HttpRequest, today: dt.date) -> int:
    return parse_year(request.GET.get("year")) or today.year


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _form_errors(request: HttpRequest, form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else error)


def _home_unit(request: HttpRequest, role: Role) -> Unit:
    units = scope_for(request.user).units.get(role, ())
    if not units:
        raise PermissionDenied
    return units[0]


# --- teachers -----------------------------------------------------------------------------------------------------


@role_required(Role.TEACHER)
def declarations(request: HttpRequest) -> HttpResponse:
    """The teacher's own declarations, newest first."""
    teacher = scope_for(request.user).teacher
    rows = Declaration.objects.filter(teacher=teacher).select_related("topic").order_by("-submitted_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "credits/declarations.html", {"page": page, "query": _querystring(request)})


def _settings_by_year(teacher: Teacher) -> dict[int, DeclarationSettings]:
    return {s.year: s for s in DeclarationSettings.objects.filter(city__code=teacher.unit.city_code)}


def _declaration_form_page(request: HttpRequest, declaration: Declaration | None) -> HttpResponse:
    teacher = scope_for(request.user).teacher
    by_year = _settings_by_year(teacher)
    categories = sorted({c for s in by_year.values() for c in s.categories})
    choices = [(c.value, c.label) for c in Category if c.value in categories]
    initial = {}
    if declaration is not None:
        initial = {f: getattr(declaration, f) for f in ("title", "organiser", "starts_on", "ends_on", "category")}
        initial.update(
            topic=declaration.topic,
            full_days=declaration.full_days,
            minutes=declaration.minutes,
            hours=declaration.hours,
        )
    form = DeclarationForm(request.POST or None, request.FILES or None, categories=choices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.declaration_submit(
                actor=request.user,
                data=services.DeclarationInput(
                    title=data["title"],
                    organiser=data["organiser"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    category=data["category"],
                    topic=data["topic"],
                    full_days=data["full_days"],
                    minutes=data["minutes"],
                    hours=data["hours"],
                ),
                files=data["evidence"],
                now=timezone.now(),
                declaration=declaration,
            )
        except REFUSALS as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已提交学时申报，请等待学校认定。"))
            return redirect("credits:declaration_detail", saved.pk)
    rules = {str(y): [float(s.hours_per_day), s.minutes_per_hour, s.rule_text] for y, s in by_year.items()}
    return render(
        request,
        "credits/declaration_form.html",
        {
            "form": form,
            "declaration": declaration,
            "rules": rules,
            "settings": sorted(by_year.values(), key=lambda s: -s.year),
        },
    )


@role_required(Role.TEACHER)
def declaration_new(request: HttpRequest) -> HttpResponse:
    return _declaration_form_page(request, None)


@role_required(Role.TEACHER)
def declaration_edit(request: HttpRequest, pk: int) -> HttpResponse:
    teacher = scope_for(request.user).teacher
    declaration = get_visible_or_404(Declaration.objects.filter(teacher=teacher), pk=pk)
    if declaration.state != DeclarationState.RETURNED:
        messages.error(request, _("只有被退回的申报可以修改后重新提交。"))
        return redirect("credits:declaration_detail", pk)
    return _declaration_form_page(request, declaration)


# --- one declaration: everybody who may see it ---------------------------------------------------------------------


@login_required
def declaration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = get_visible_or_404(
        selectors.declarations_visible_to(request.user).select_related("teacher", "school", "topic", "decided_by"),
        pk=pk,
    )
    scope = scope_for(request.user)
    is_school = scope.reaches(declaration.school, roles=(Role.SCHOOL_ADMIN,))
    is_district = scope.reaches(declaration.school, roles=(Role.DISTRICT_ADMIN,))
    return render(
        request,
        "credits/declaration_detail.html",
        {
            "declaration": declaration,
            "evidence": list(declaration.evidence.all()),
            "timeline": list(selectors.declaration_timeline(declaration)),
            "is_own": scope.teacher is not None and scope.teacher.pk == declaration.teacher_id,
            "may_decide": is_school and declaration.state == DeclarationState.SUBMITTED,
            "may_revoke": services.declaration_may_revoke(request.user, declaration),
            "may_pass": is_district
            and declaration.sampled_at is not None
            and declaration.sample_checked_at is None
            and declaration.state == DeclarationState.CERTIFIED,
            "form": DeclarationDecisionForm(),
        },
    )


@login_required
def evidence_download(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    """A file of evidence, only to the teacher and her reviewers (everybody else: 404)."""
    evidence = get_visible_or_404(selectors.evidence_visible_to(request.user).filter(declaration_id=pk), pk=evidence_pk)
    stem = evidence.name.rsplit(".", 1)[0] or _("佐证材料")
    return document_response(evidence.file, stem)


@require_POST
@role_required(Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN)
def declaration_decide(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = get_visible_or_404(
        selectors.declarations_visible_to(request.user).select_related("school", "teacher"), pk=pk
    )
    form = DeclarationDecisionForm(request.POST)
    back = next_url(request, reverse("credits:declaration_detail", args=[pk]))
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(back)
    action, reason, now = form.cleaned_data["action"], form.cleaned_data["reason"], timezone.now()
    try:
        if action == form.CERTIFY:
            services.declaration_certify(actor=request.user, declaration=declaration, now=now)
            messages.success(request, _("已认定，学时已记入。"))
        elif action == form.RETURN:
            services.declaration_return(actor=request.user, declaration=declaration, reason=reason, now=now)
            messages.success(request, _("已退回。"))
        elif action == form.REVOKE:
            services.declaration_revoke(actor=request.user, declaration=declaration, reason=reason, now=now)
            messages.success(request, _("已撤销认定，学时已冲减。"))
        else:
            services.spot_check_pass(actor=request.user, declaration=declaration, now=now)
            messages.success(request, _("已记录抽查通过。"))
    except REFUSALS as exc:
        messages.error(request, str(exc))
    return redirect(back)


# --- the school's certification queue -----------------------------------------------------------------------------


@role_required(Role.SCHOOL_ADMIN)
def declaration_review(request: HttpRequest) -> HttpResponse:
    """Search, filters, pages and bulk certify/return of the school's declarations."""
    rows = selectors.declarations_for_review(request.user)
    q = request.GET.get("q", "").strip()[:50]
    state = request.GET.get("state", DeclarationState.SUBMITTED)
    category = request.GET.get("category", "")
    year = parse_year(request.GET.get("year"))
    if q:
        rows = rows.filter(Q(teacher__name__icontains=q) | Q(title__icontains=q) | Q(organiser__icontains=q))
    if state in DeclarationState.values:
        rows = rows.filter(state=state)
    if category in Category.values:
        rows = rows.filter(category=category)
    if year:
        rows = rows.filter(year=year)
    rows = rows.select_related("teacher", "topic").order_by("submitted_at", "id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/declaration_review.html",
        {
            "page": page,
            "query": _querystring(request),
            "q": q,
            "state": state,
            "category": category,
            "year": year,
            "states": DeclarationState.choices,
            "categories": Category.choices,
            "bulk_form": DeclarationBulkForm(),
        },
    )


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def declaration_review_bulk(request: HttpRequest) -> HttpResponse:
    back = next_url(request, reverse("credits:declaration_review"))
    ids = parse_ids(request.POST.getlist("ids"))
    form = DeclarationBulkForm(request.POST)
    if not ids:
        messages.error(request, _("请先勾选申报。"))
        return redirect(back)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(back)
    now = timezone.now()
    try:
        if form.cleaned_data["action"] == DeclarationDecisionForm.CERTIFY:
            result = services.declaration_certify_bulk(actor=request.user, ids=ids, now=now)
            messages.success(request, _("已认定 %(n)d 份。") % {"n": result.done})
        else:
            result = services.declaration_return_bulk(
                actor=request.user, ids=ids, reason=form.cleaned_data["reason"], now=now
            )
            messages.success(request, _("已退回 %(n)d 份。") % {"n": result.done})
    except REFUSALS as exc:
        messages.error(request, str(exc))
        return redirect(back)
    if result.skipped:
        messages.warning(
            request, _("%(n)d 份未处理：%(why)s") % {"n": result.skipped, "why": "；".join(result.reasons)}
        )
    return redirect(back)


# --- the district: pending per school, spot checks ----------------------------------------------------------------


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def declaration_overview(request: HttpRequest) -> HttpResponse:
    """Each school's pending count and the age of its oldest; the district's spot-check sample."""
    now = timezone.now()
    year = _year(request, timezone.localdate(now))
    scope = scope_for(request.user)
    schools = selectors.pending_by_school(request.user, year, now)
    sample = None
    if scope.has(Role.DISTRICT_ADMIN):
        sample = Paginator(
            selectors.spot_check_sample(request.user, year)
            .select_related("teacher", "school")
            .order_by("-sampled_at", "id"),
            PAGE_SIZE,
        ).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/declaration_overview.html",
        {
            "schools": schools,
            "year": year,
            "sample": sample,
            "query": _querystring(request),
            "draw_form": SpotCheckForm(),
            "districts": scope.units.get(Role.DISTRICT_ADMIN, ()),
        },
    )


@require_POST
@role_required(Role.DISTRICT_ADMIN)
def spot_check_draw(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    year = parse_year(request.POST.get("year")) or timezone.localdate(now).year
    back = f"{reverse('credits:declaration_overview')}?year={year}"
    form = SpotCheckForm(request.POST)
    district = _home_unit(request, Role.DISTRICT_ADMIN)
    if not form.is_valid() or not 2000 <= year <= 2100:
        _form_errors(request, form)
        return redirect(back)
    try:
        n = services.spot_check_draw(
            actor=request.user, district=district, year=year, count=form.cleaned_data["count"], now=now
        )
    except REFUSALS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已抽取 %(n)d 份已认定的申报。") % {"n": n})
    return redirect(back)


# --- school-based training ----------------------------------------------------------------------------------------


@role_required(Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def school_training(request: HttpRequest) -> HttpResponse:
    """A school: its activities. A district or city: its schools' activities and hours (and the district's cap)."""
    year = _year(request, timezone.localdate())
    scope = scope_for(request.user)
    activities = (
        selectors.school_activities_visible_to(request.user)
        .filter(year=year)
        .select_related("school", "topic")
        .order_by("-date", "-id")
    )
    school_id = parse_id(request.GET.get("school"))
    if school_id:
        activities = activities.filter(school_id=school_id)
    page = Paginator(activities, PAGE_SIZE).get_page(request.GET.get("page"))
    districts = scope.units.get(Role.DISTRICT_ADMIN, ())
    caps = list(SchoolTrainingCap.objects.filter(district__in=districts, year=year).select_related("district"))
    return render(
        request,
        "credits/school_training.html",
        {
            "page": page,
            "query": _querystring(request),
            "year": year,
            "is_school": scope.has(Role.SCHOOL_ADMIN),
            "by_school": (
                selectors.school_training_by_school(request.user, year)
                if scope.has(Role.DISTRICT_ADMIN) or scope.has(Role.CITY_ADMIN)
                else []
            ),
            "caps": caps,
            "cap_form": SchoolTrainingCapForm(initial={"year": year}) if districts else None,
        },
    )


@role_required(Role.SCHOOL_ADMIN)
def school_activity_new(request: HttpRequest) -> HttpResponse:
    school = _home_unit(request, Role.SCHOOL_ADMIN)
    today = timezone.localdate()
    year = parse_year(request.POST.get("date", "")[:4]) or today.year
    allowed = training.school_training_categories(school, year)
    form = SchoolActivityForm(
        request.POST or None,
        request.FILES or None,
        categories=[(c.value, c.label) for c in Category if c.value in allowed],
    )
    roster = list(
        Teacher.objects.filter(unit=school, status=TeacherStatus.ACTIVE)
        .order_by("name", "id")
        .only("pk", "name", "subject")
    )
    chosen = set(parse_ids(request.POST.getlist("teachers")))
    row_errors: list = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ids: list[int] | None = sorted(chosen)
        if data["attendees_file"]:
            try:
                read = training.school_attendees_read(data["attendees_file"], school=school)
            except ImportFileError as exc:
                form.add_error("attendees_file", str(exc))
                ids = None
            else:
                row_errors, ids = read.errors, read.teacher_ids
        if ids is not None:
            try:
                activity = training.school_activity_record(
                    actor=request.user,
                    school=school,
                    data=training.ActivityInput(
                        title=data["title"],
                        date=data["date"],
                        hours=data["hours"],
                        category=data["category"],
                        topic=data["topic"],
                    ),
                    teacher_ids=ids,
                    now=timezone.now(),
                )
            except REFUSALS as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("已记录，%(n)d 名教师的学时已记入。") % {"n": activity.attendee_count})
                return redirect("credits:school_activity_detail", activity.pk)
    return render(
        request,
        "credits/school_activity_form.html",
        {"form": form, "roster": roster, "chosen": chosen, "row_errors": row_errors, "school": school},
    )


@role_required(Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def school_activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    activity = get_visible_or_404(
        selectors.school_activities_visible_to(request.user).select_related("school", "topic", "recorded_by"), pk=pk
    )
    attendees = (
        CreditEntry.objects.filter(source=Source.SCHOOL_TRAINING, reference__startswith=activity.reference_prefix)
        .select_related("teacher")
        .order_by("teacher__name", "teacher_id")
    )
    page = Paginator(attendees, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/school_activity_detail.html",
        {"activity": activity, "page": page, "query": _querystring(request)},
    )


@require_POST
@role_required(Role.DISTRICT_ADMIN)
def school_training_cap(request: HttpRequest) -> HttpResponse:
    form = SchoolTrainingCapForm(request.POST)
    district = _home_unit(request, Role.DISTRICT_ADMIN)
    if district.kind != UnitKind.DISTRICT:
        raise Http404
    if form.is_valid():
        try:
            training.school_training_cap_set(
                actor=request.user,
                district=district,
                year=form.cleaned_data["year"],
                hours=form.cleaned_data["hours"],
                now=timezone.now(),
            )
        except REFUSALS as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("已设置校本研修学时上限。"))
        return redirect(f"{reverse('credits:school_training')}?year={form.cleaned_data['year']}")
    _form_errors(request, form)
    return redirect("credits:school_training")

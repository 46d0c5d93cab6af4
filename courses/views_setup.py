"""The city's year in portal pages: training periods with their timeline, and the providers serving the city.

Every choice is the city's own (periods, rule sets, providers); another city's objects are 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import selectors, services
from courses.forms import FeePayerForm, PeriodForm, ProviderAddForm, ProviderCreateForm, StaffAddForm
from courses.models import Course, CourseStatus, Payer, ProviderStaff, TrainingPeriod
from credits.models import Category
from credits.rule_engine import describe
from credits.selectors import rule_sets_managed_by
from portal import idcard
from portal.converters import parse_id
from portal.decorators import role_required
from portal.forms import add_errors
from portal.models import Role, Unit
from portal.scoping import get_visible_or_404, scope_for


def _cities(request: HttpRequest):
    ids = [u.pk for u in scope_for(request.user).units.get(Role.CITY_ADMIN, ())]
    return Unit.objects.filter(pk__in=ids).order_by("path")


# --- periods ------------------------------------------------------------------------------------------------------


@role_required(Role.CITY_ADMIN)
def period_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    periods = selectors.periods_managed_by(request.user).order_by("-year", "-selection_opens_at")
    rows = [(p, p.selection_phase(now)) for p in periods]
    return render(request, "courses/setup/period_list.html", {"rows": rows, "now": now})


@role_required(Role.CITY_ADMIN)
def period_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The period's form; 预览 shows the year's timeline as teachers will see it, before anything is saved."""
    period = get_visible_or_404(selectors.periods_managed_by(request.user), pk=pk) if pk else None
    form = PeriodForm(
        request.POST or None,
        instance=period,
        cities=_cities(request),
        rule_sets=rule_sets_managed_by(request.user).order_by("-year"),
    )
    preview = None
    if request.method == "POST" and form.is_valid():
        candidate = form.save(commit=False)
        if "save" in request.POST:
            try:
                saved = services.period_save(candidate, actor=request.user)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("培训周期“%(name)s”已保存。") % {"name": saved.name})
                return redirect("courses:period_edit", saved.pk)
        preview = candidate
    elif period is not None:
        preview = period
    return render(
        request,
        "courses/setup/period_form.html",
        {"form": form, "period": period, **(_timeline_context(preview) if preview else {})},
    )


@role_required(Role.CITY_ADMIN)
def period_fee_payers(request: HttpRequest, pk: int) -> HttpResponse:
    """Who pays which category in the period (a category nobody set is paid by the employer)."""
    period = get_visible_or_404(selectors.periods_managed_by(request.user), pk=pk)
    form = FeePayerForm(request.POST or None, payers=selectors.fee_payers(period))
    if request.method == "POST" and form.is_valid():
        try:
            services.fee_payers_set(period, form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("已保存“%(name)s”的培训费用承担。") % {"name": period.name})
            return redirect("courses:period_edit", period.pk)
    return render(request, "courses/setup/fee_payers.html", {"period": period, "form": form})


def _timeline_context(period: TrainingPeriod) -> dict:
    payers = selectors.fee_payers(period) if period.pk else {}
    return {
        "preview": period,
        "milestones": selectors.period_timeline(period),
        "rule_sentence": describe(period.rule_set.tree) if period.rule_set_id else "",
        "fee_payers": [(Category(c).label, Payer(p).label) for c, p in payers.items()],
        "now": timezone.now(),
    }


@role_required(Role.TEACHER)
def period_timeline(request: HttpRequest) -> HttpResponse:
    """A teacher's year: the current period's dates and its rule (the page the set-up preview shows)."""
    now = timezone.now()
    teacher = scope_for(request.user).teacher
    periods = [p for p in selectors.periods_visible_to(request.user) if teacher.unit.is_within(p.city)]
    wanted = parse_id(request.GET.get("period"))
    period = next((p for p in periods if p.pk == wanted), None)
    period = period or selectors.period_current(periods, now)
    context = {"periods": periods, "period": period, **(_timeline_context(period) if period else {})}
    return render(request, "courses/setup/timeline_page.html", context)


# --- providers ----------------------------------------------------------------------------------------------------


@role_required(Role.CITY_ADMIN)
def provider_list(request: HttpRequest) -> HttpResponse:
    """The providers serving the city: add one by its code, create a new one, stop one."""
    cities = _cities(request)
    add_form = ProviderAddForm(prefix="add", cities=cities)
    create_form = ProviderCreateForm(prefix="new", cities=cities)
    which = request.POST.get("form")
    if request.method == "POST" and which == "add":
        add_form = ProviderAddForm(request.POST, prefix="add", cities=cities)
        if add_form.is_valid():
            try:
                provider = services.provider_city_add(actor=request.user, **add_form.cleaned_data)
            except services.SetupRefused as exc:
                add_form.add_error("code", str(exc))
            else:
                messages.success(request, _("“%(name)s”已加入本市的施教机构。") % {"name": provider.name})
                return redirect("courses:provider_list")
    elif request.method == "POST" and which == "new":
        create_form = ProviderCreateForm(request.POST, prefix="new", cities=cities)
        if create_form.is_valid():
            city = create_form.cleaned_data["city"]
            try:
                provider = services.provider_create(create_form.save(commit=False), actor=request.user, city=city)
            except ValidationError as exc:
                add_errors(create_form, exc)
            else:
                messages.success(request, _("已新建施教机构“%(name)s”。") % {"name": provider.name})
                return redirect("courses:provider_detail", provider.pk)
    providers = (
        selectors.providers_of_cities(request.user)
        .annotate(
            n_staff=Count("staff", distinct=True),
            n_courses=Count("courses", filter=Q(courses__period__city__in=cities), distinct=True),
        )
        .prefetch_related("cities")
        .order_by("code")
    )
    # The review queue: the city's draft courses, which the city publishes after checking them.
    drafts = Course.objects.filter(period__city__in=cities, status=CourseStatus.DRAFT).count()
    context = {"providers": providers, "add_form": add_form, "create_form": create_form, "drafts": drafts}
    return render(request, "courses/setup/provider_list.html", context)


@role_required(Role.CITY_ADMIN)
@require_POST
def provider_remove(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_visible_or_404(selectors.providers_of_cities(request.user), pk=pk)
    cities = [c for c in _cities(request) if provider.cities.filter(pk=c.pk).exists()]
    try:
        for city in cities:
            services.provider_city_remove(actor=request.user, city=city, provider=provider, now=timezone.now())
    except services.SetupRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("“%(name)s”已不再为本市服务。") % {"name": provider.name})
    return redirect("courses:provider_list")


@role_required(Role.CITY_ADMIN)
def provider_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One provider: its staff (add by ID number and name, remove) and a link to its courses."""
    provider = get_visible_or_404(selectors.providers_of_cities(request.user), pk=pk)
    form = StaffAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff, created = services.provider_staff_add(actor=request.user, provider=provider, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _staff_added_message(staff, created))
            return redirect("courses:provider_detail", provider.pk)
    staff = provider.staff.select_related("user").order_by("user__name")
    courses_url = f"{reverse('courses:manage_list')}?provider={provider.pk}"
    return render(
        request,
        "courses/setup/provider_detail.html",
        {"provider": provider, "staff": staff, "form": form, "courses_url": courses_url},
    )


def _staff_added_message(staff: ProviderStaff, created: bool) -> str:
    params = {"name": staff.user.name, "n": idcard.mask(staff.user.id_number), "provider": staff.provider.name}
    if created:
        return _("已为 %(name)s（%(n)s）开通账号并加入“%(provider)s”；请把初始密码告知本人，首次登录后修改。") % params
    return _("%(name)s（%(n)s）已有账号，已加入“%(provider)s”；其密码不变。") % params


@role_required(Role.CITY_ADMIN)
@require_POST
def staff_remove(request: HttpRequest, pk: int) -> HttpResponse:
    staff = get_visible_or_404(
        ProviderStaff.objects.filter(provider__in=selectors.providers_of_cities(request.user)).select_related(
            "user", "provider"
        ),
        pk=pk,
    )
    services.provider_staff_remove(actor=request.user, staff=staff)
    params = {"name": staff.user.name, "provider": staff.provider.name}
    messages.success(request, _("已将 %(name)s 移出“%(provider)s”。") % params)
    return redirect("courses:provider_detail", staff.provider_id)

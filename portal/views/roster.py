"""The roster pages: list with search, filters and bulk actions; a teacher's record, edit and password."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import selectors, services
from portal.converters import next_url
from portal.decorators import role_required
from portal.filters import TeacherFilter, offer_units
from portal.forms import BulkActionForm, TeacherForm, TeacherPasswordForm, light_fields
from portal.models import ADMIN_ROLES, EMPLOYER_KINDS, Role, RosterConflictSource, UnitKind
from portal.pagination import CappedPaginator
from portal.privacy import personal_data_accesses_visible_to
from portal.roster_import import ConflictWording
from portal.scoping import get_visible_or_404, scope_for

PAGE_SIZE = 50


def _has_many_units(request) -> bool:
    scope = scope_for(request.user)
    return (
        any(unit.kind not in (UnitKind.SCHOOL,) for role in ADMIN_ROLES for unit in scope.units.get(role, ()))
        or sum(len(scope.units.get(role, ())) for role in ADMIN_ROLES) > 1
    )


def _bulk_form(request, data=None) -> BulkActionForm:
    return BulkActionForm(
        data,
        teachers=selectors.roster_for(request.user),
        destinations=selectors.employer_units_for(request.user),
    )


@role_required(*ADMIN_ROLES)
def roster(request: HttpRequest) -> HttpResponse:
    """The admin's roster: search, filter, sort, page; tick rows for a bulk action."""
    many_units = _has_many_units(request)
    units = selectors.units_in_reach(request.user) if many_units else None
    queryset = selectors.roster_for(request.user)
    teacher_filter = TeacherFilter(request.GET or None, queryset=queryset, units=units)
    teachers = teacher_filter.qs if teacher_filter.is_bound else queryset
    page = CappedPaginator(teachers, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    bulk_form = light_fields(_bulk_form(request))
    if many_units:
        # The transfer offers the schools the unit filter shows (a district's, once it is chosen); the POST
        # still accepts any employer in reach.
        offered = offer_units(teacher_filter, "unit", request.user)
        destination = bulk_form.fields["destination"]
        destination.widget.choices = [("", destination.empty_label)] + [
            (u.pk, u.name) for u in offered if u.kind in EMPLOYER_KINDS
        ]
    return render(
        request,
        "portal/roster.html",
        {
            "filter": teacher_filter,
            "page": page,
            "query": query.urlencode(),
            "many_units": many_units,
            "bulk_form": bulk_form,
        },
    )


@require_POST
@role_required(*ADMIN_ROLES)
def roster_bulk(request: HttpRequest) -> HttpResponse:
    """Retire or transfer the ticked teachers: one UPDATE and one history insert, however many."""
    back = next_url(request, reverse("portal:roster"))
    form = _bulk_form(request, request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    chosen = selectors.roster_for(request.user).filter(pk__in=[t.pk for t in data["ids"]])
    try:
        if data["action"] == BulkActionForm.RETIRE:
            n = services.teachers_retire(chosen, date=data["date"], actor=request.user)
            messages.success(request, _("已将 %(n)d 名教师标记为退休") % {"n": n})
        else:
            n = services.teachers_transfer(
                chosen, date=data["date"], actor=request.user, destination=data["destination"]
            )
            if data["destination"]:
                messages.success(
                    request, _("已将 %(n)d 名教师调入“%(unit)s”") % {"n": n, "unit": data["destination"].name}
                )
            else:
                messages.success(request, _("已将 %(n)d 名教师标记为调出") % {"n": n})
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
        return redirect(back)
    skipped = len(data["ids"]) - n
    if skipped:
        messages.warning(request, _("%(n)d 名教师已不是在职状态，未作改动") % {"n": skipped})
    return redirect(back)


@role_required(Role.TEACHER, *ADMIN_ROLES)
def teacher_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A teacher's record and status history: her admins and she herself may see it."""
    teacher = get_visible_or_404(selectors.teacher_for_view(request.user, pk))
    return render(
        request,
        "portal/teacher_detail.html",
        {
            "teacher": teacher,
            "moves": selectors.teacher_moves(teacher),
            "can_edit": request.user.has_perm("portal.edit_teacher_record", teacher),
        },
    )


def _managed_teacher_or_404(request, pk: int):
    return get_visible_or_404(selectors.roster_for(request.user).select_related("user").filter(pk=pk))


@role_required(*ADMIN_ROLES)
def teacher_edit(request: HttpRequest, pk: int) -> HttpResponse:
    teacher = _managed_teacher_or_404(request, pk)
    if not request.user.has_perm("portal.edit_teacher_record", teacher):
        raise PermissionDenied
    form = TeacherForm(request.POST or None, instance=teacher, actor=request.user)
    if request.method == "POST" and not form.is_valid() and form.conflict is not None:
        wording = ConflictWording(teacher.unit, request.user)
        services.roster_conflicts_record(
            [form.conflict.pk],
            unit=teacher.unit,
            district=wording.district,
            actor=request.user,
            source=RosterConflictSource.EDIT,
        )
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        # The ModelForm already copied the values onto the instance; start again from the stored row.
        stored = _managed_teacher_or_404(request, pk)
        try:
            services.teacher_update(stored, actor=request.user, **changes)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已保存“%(name)s”的信息") % {"name": stored.name})
            return redirect("portal:teacher_detail", pk=pk)
    return render(request, "portal/teacher_edit.html", {"teacher": teacher, "form": form})


@role_required(*ADMIN_ROLES)
def teacher_password(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a teacher's first password, or a new one when she forgot it."""
    teacher = _managed_teacher_or_404(request, pk)
    if not request.user.has_perm("portal.set_teacher_password", teacher):
        raise PermissionDenied
    form = TeacherPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.teacher_set_password(teacher, password=form.cleaned_data["password1"], actor=request.user)
        except ValidationError as exc:
            form.add_error("password1", exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("已为“%(name)s”设置密码，请当面或电话告知本人，并提醒其登录后修改") % {"name": teacher.name}
            )
            return redirect("portal:teacher_detail", pk=pk)
    return render(request, "portal/teacher_password.html", {"teacher": teacher, "form": form})


@require_POST
@role_required(*ADMIN_ROLES)
def teacher_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a wrong 退休/调出 mark (the teacher is 在职 again at her unit)."""
    teacher = _managed_teacher_or_404(request, pk)
    if not request.user.has_perm("portal.edit_teacher_record", teacher):
        raise PermissionDenied
    if services.teacher_reactivate(teacher, date=timezone.localdate(), actor=request.user):
        messages.success(request, _("已将“%(name)s”恢复为在职") % {"name": teacher.name})
    return redirect("portal:teacher_detail", pk=pk)


@login_required
def my_record(request: HttpRequest) -> HttpResponse:
    """A teacher's own record (the link on her home page)."""
    scope = scope_for(request.user)
    if scope.teacher is None:
        raise PermissionDenied
    return redirect("portal:teacher_detail", pk=scope.teacher.pk)


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def roster_conflicts(request: HttpRequest) -> HttpResponse:
    """Teachers whom a school of the admin's district tried to add while they are on another roster."""
    page = Paginator(selectors.roster_conflicts_visible_to(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    reach = scope_for(request.user).admin_paths()
    for conflict in page:
        conflict.where = (
            conflict.teacher.unit.name if any(conflict.teacher.unit.path.startswith(p) for p in reach) else ""
        )
    return render(request, "portal/roster_conflicts.html", {"page": page})


@role_required(Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
def personal_data_log(request: HttpRequest) -> HttpResponse:
    """Who was shown whole ID numbers of the admin's people, when, for what, how many."""
    records = personal_data_accesses_visible_to(request.user).select_related("unit")
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/personal_data_log.html", {"page": page})

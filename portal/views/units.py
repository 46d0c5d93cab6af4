from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import selectors, services
from portal.decorators import role_required
from portal.forms import AdminGrantForm, UnitCreateForm, add_errors
from portal.models import ADMIN_ROLES, Role
from portal.scoping import get_visible_or_404, scope_for, units_visible_to
from portal.views.operator import granted_message

TREE_ROLES = (Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


def _grantable_roles(request: HttpRequest) -> list[Role]:
    scope = scope_for(request.user)
    top = max(services.ROLE_RANK[r] for r in ADMIN_ROLES if scope.has(r))
    return [r for r in reversed(ADMIN_ROLES) if services.ROLE_RANK[r] <= top]


@role_required(*TREE_ROLES)
def unit_tree(request: HttpRequest) -> HttpResponse:
    """Districts → schools with their teacher counts (one aggregate query); add units and name their admins."""
    unit_form = UnitCreateForm(prefix="unit", parents=selectors.parent_units_for(request.user))
    grant_form = AdminGrantForm(
        prefix="grant",
        units=units_visible_to(request.user).filter(is_active=True).order_by("path"),
        roles=_grantable_roles(request),
    )
    if request.method == "POST" and request.POST.get("form") == "unit":
        unit_form = UnitCreateForm(request.POST, prefix="unit", parents=selectors.parent_units_for(request.user))
        if unit_form.is_valid():
            try:
                unit = services.unit_create(actor=request.user, unit=unit_form.save(commit=False))
            except ValidationError as exc:
                add_errors(unit_form, exc)
            else:
                messages.success(request, _("已新增单位“%(name)s”。") % {"name": unit.name})
                return redirect("portal:unit_tree")
    elif request.method == "POST" and request.POST.get("form") == "grant":
        grant_form = AdminGrantForm(
            request.POST,
            prefix="grant",
            units=units_visible_to(request.user).filter(is_active=True).order_by("path"),
            roles=_grantable_roles(request),
        )
        if grant_form.is_valid():
            data = dict(grant_form.cleaned_data)
            try:
                grant = services.admin_role_grant(
                    actor=request.user, unit=data.pop("unit"), role=Role(data.pop("role")), **data
                )
            except ValidationError as exc:
                add_errors(grant_form, exc)
            else:
                messages.success(request, granted_message(grant))
                return redirect("portal:unit_tree")
    return render(
        request,
        "portal/unit_tree.html",
        {
            "roots": selectors.unit_tree_for(request.user),
            "admins": selectors.admins_of(request.user),
            "unit_form": unit_form,
            "grant_form": grant_form,
        },
    )


@role_required(*TREE_ROLES)
@require_POST
def admin_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_visible_or_404(selectors.admins_of(request.user), pk=pk)
    try:
        services.admin_role_revoke(actor=request.user, assignment=assignment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("已撤销 %(name)s 的%(unit)s%(role)s角色。")
            % {"name": assignment.user.name, "unit": assignment.unit.name, "role": assignment.get_role_display()},
        )
    return redirect("portal:unit_tree")

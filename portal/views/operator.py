"""The platform operator's pages: cities and their first admins, stages, background schedules.

The operator sees the organisation only as counts and the cities' admins: no teacher, no
roster, no ledger (those pages start from portal.scoping, where the operator reaches no unit).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal import idcard, selectors, services
from portal.decorators import role_required
from portal.forms import AdminGrantForm, CityCreateForm, ScheduleForm, StageForm, add_errors
from portal.models import Role, Stage, Unit, UnitKind
from portal.registry import JOBS
from portal.scoping import get_visible_or_404

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


def granted_message(grant: services.Grant) -> str:
    """What the admin who named someone may read: a new login's name (she typed it), never an existing one's."""
    unit, role = grant.assignment.unit.name, grant.assignment.get_role_display()
    if grant.created:
        return _("已为 %(name)s（%(n)s）开通账号并设为%(unit)s的%(role)s；请把初始密码告知本人，首次登录后修改。") % {
            "name": grant.user.name,
            "n": idcard.mask(grant.user.id_number),
            "unit": unit,
            "role": role,
        }
    return _("身份证号 %(n)s 已有账号，已为其增加%(unit)s的%(role)s角色；其姓名和密码不变。") % {
        "n": idcard.mask(grant.user.id_number),
        "unit": unit,
        "role": role,
    }


@role_required(Role.OPERATOR)
def cities(request: HttpRequest) -> HttpResponse:
    form = CityCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            city, grant = services.city_create_with_admin(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("已建立%(city)s。") % {"city": city.name} + granted_message(grant))
            return redirect("portal:operator_city", city.pk)
    return render(request, "portal/operator/cities.html", {"cities": selectors.cities_for_operator(), "form": form})


@role_required(Role.OPERATOR)
def city_detail(request: HttpRequest, pk: int) -> HttpResponse:
    city = get_visible_or_404(Unit.objects.filter(kind=UnitKind.CITY), pk=pk)
    form = AdminGrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = services.admin_role_grant(actor=request.user, unit=city, role=Role.CITY_ADMIN, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, granted_message(grant))
            return redirect("portal:operator_city", city.pk)
    return render(
        request,
        "portal/operator/city.html",
        {"city": city, "admins": selectors.city_admins(city), "form": form},
    )


@role_required(Role.OPERATOR)
def stages(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    stage = get_visible_or_404(Stage.objects.all(), pk=pk) if pk else None
    form = StageForm(request.POST or None, instance=stage)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.stage_save(form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("学段“%(name)s”已保存。") % {"name": saved.name})
            return redirect("portal:operator_stages")
    return render(request, "portal/operator/stages.html", {"stages": Stage.objects.all(), "form": form, "stage": stage})


@role_required(Role.OPERATOR)
def schedules(request: HttpRequest) -> HttpResponse:
    from django_celery_beat.models import PeriodicTask

    tasks = PeriodicTask.objects.select_related("crontab").order_by("name")
    registered = {job.task for job in JOBS.values()}
    return render(request, "portal/operator/schedules.html", {"tasks": tasks, "registered": registered})


@role_required(Role.OPERATOR)
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    from django_celery_beat.models import PeriodicTask

    task = get_visible_or_404(PeriodicTask.objects.select_related("crontab"), pk=pk)
    initial = {"enabled": task.enabled}
    if task.crontab:
        initial |= {f: getattr(task.crontab, f) for f in CRONTAB_FIELDS}
    form = ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        enabled = data.pop("enabled")
        try:
            services.schedule_update(task.pk, actor=request.user, enabled=enabled, crontab=services.Crontab(**data))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s”的运行时间已保存。") % {"name": task.name})
            return redirect("portal:operator_schedules")
    return render(request, "portal/operator/schedule_edit.html", {"task": task, "form": form})

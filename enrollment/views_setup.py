"""A special programme on one page: title, eligibility, seats, registration window, the chain of
levels with their deadlines and the quota table (typed, or imported from the 名额分配表)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.selectors import periods_managed_by
from portal.decorators import role_required
from portal.forms import add_errors
from portal.locking import LockBusy
from portal.models import Role, Unit, UnitKind
from portal.scoping import get_visible_or_404, scope_for

from . import services
from .forms import ProgrammeSetupForm, QuotaImportForm, QuotaTableForm, level_formset
from .models import Programme, ProgrammeLevel, Quota
from .selectors import programmes_managed_by


def _districts(programme: Programme, cities: list[Unit]) -> list[Unit]:
    """The quota units: the programme's city's districts and the city itself (its own units, 市属).

    A new programme of an admin with several cities gets its table once its period (its city) is saved.
    """
    city = programme.period.city if programme.period_id else (cities[0] if len(cities) == 1 else None)
    if city is None:
        return []
    return list(
        Unit.objects.filter(
            path__startswith=city.path, kind__in=(UnitKind.DISTRICT, UnitKind.CITY), is_active=True
        ).order_by("path")
    )


@role_required(Role.CITY_ADMIN)
def programme_list(request: HttpRequest) -> HttpResponse:
    # Subqueries: two joined counts would multiply each other.
    seats = Quota.objects.filter(programme=OuterRef("pk")).values("programme").annotate(n=Sum("seats")).values("n")
    levels = ProgrammeLevel.objects.filter(programme=OuterRef("pk")).values("programme").annotate(n=Count("pk"))
    programmes = (
        programmes_managed_by(request.user)
        .annotate(n_levels=Subquery(levels.values("n")), quota_seats=Subquery(seats))
        .order_by("-registration_opens_at", "pk")
    )
    return render(request, "enrollment/setup/programme_list.html", {"programmes": programmes, "now": timezone.now()})


@role_required(Role.CITY_ADMIN)
def programme_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    programme = get_visible_or_404(programmes_managed_by(request.user), pk=pk) if pk else Programme()
    periods = periods_managed_by(request.user).order_by("-year", "-selection_opens_at")
    cities = list(scope_for(request.user).units.get(Role.CITY_ADMIN, ()))
    data = request.POST if request.method == "POST" and request.POST.get("form") == "programme" else None
    form = ProgrammeSetupForm(data, instance=programme if programme.pk else None, periods=periods)
    # The chain is checked against the registration window as typed: the form's instance, filled first.
    levels = level_formset(data, instance=form.instance)
    seats = dict(Quota.objects.filter(programme=programme).values_list("district_id", "seats")) if programme.pk else {}
    quotas = QuotaTableForm(data, prefix="quota", districts=_districts(programme, cities), seats=seats)
    import_form = QuotaImportForm(prefix="import")
    import_errors: list[str] = []
    now = timezone.now()
    if data is not None and form.is_valid() and levels.is_valid() and quotas.is_valid():
        candidate = form.save(commit=False)
        try:
            with transaction.atomic():
                saved = services.programme_save(
                    actor=request.user,
                    programme=candidate,
                    stages=form.cleaned_data["eligible_stages"],
                    levels=levels.save(commit=False),
                    removed=levels.deleted_objects,
                )
                changed = services.quota_table_set(actor=request.user, programme=saved, seats=quotas.wanted(), now=now)
        except ValidationError as exc:
            add_errors(form, exc)
        except (services.ActionRefused, LockBusy) as exc:
            quotas.add_error(None, str(exc))
        else:
            messages.success(
                request, _("项目“%(title)s”已保存（名额变动 %(n)d 个区）。") % {"title": saved.title, "n": changed}
            )
            return redirect("enrollment:setup_programme_edit", saved.pk)
    elif request.method == "POST" and request.POST.get("form") == "import" and programme.pk:
        import_form = QuotaImportForm(request.POST, request.FILES, prefix="import")
        if import_form.is_valid():
            try:
                result = services.quota_table_import(
                    actor=request.user, programme=programme, file=import_form.cleaned_data["file"], now=now
                )
            except (services.ActionRefused, LockBusy) as exc:
                import_errors = [str(exc)]
            else:
                if result.ok:
                    messages.success(request, _("名额分配表已导入：%(s)s。") % {"s": result.summary_zh})
                    return redirect("enrollment:setup_programme_edit", programme.pk)
                import_errors = result.error_lines()
    total = sum(n for n in seats.values())
    return render(
        request,
        "enrollment/setup/programme_form.html",
        {
            "programme": programme if programme.pk else None,
            "form": form,
            "levels": levels,
            "quotas": quotas,
            "quota_total": total,
            "import_form": import_form,
            "import_errors": import_errors,
            "needs_period": not periods.exists(),
        },
    )

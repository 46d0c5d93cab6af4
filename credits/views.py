"""Credit pages: a teacher's hours, the compliance dashboards, certificates and their public check.

Views are thin: parse, scope (portal.scoping), call one selector or service, render.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from credits import selectors, services
from credits.certificates import certificate_issue, certificate_pdf, certificate_verify, normalize_code
from credits.forms import AdjustmentForm, ReverseForm, VerifyForm
from credits.models import CreditEntry
from credits.rule_engine import describe, evaluate, fmt_hours
from portal.account import client_ip_key
from portal.converters import parse_id, parse_year
from portal.decorators import role_required
from portal.models import ADMIN_ROLES, Role, Teacher, Unit
from portal.replica import replica_reads
from portal.scoping import get_visible_or_404, scope_for, teachers_visible_to, units_visible_to

PAGE_SIZE = 50
ADJUST_ROLES = (Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


def _year(request: HttpRequest, years: list[int], today: dt.date) -> int:
    """The ?year= asked for, else the latest year with a rule that has begun, else this year."""
    asked = parse_year(request.GET.get("year"))
    if asked:
        return asked
    started = [y for y in years if y <= today.year]
    return max(started) if started else (max(years) if years else today.year)


# --------------------------------------------------------------------------- teacher


@role_required(Role.TEACHER)
def mine(request: HttpRequest) -> HttpResponse:
    teacher = scope_for(request.user).teacher
    url = reverse("credits:teacher", args=[teacher.pk])
    if year := parse_year(request.GET.get("year")):
        url += f"?year={year}"
    return redirect(url)


def _visible_teacher(request: HttpRequest, pk: int) -> Teacher:
    return get_visible_or_404(teachers_visible_to(request.user).select_related("unit"), pk=pk)


def _may_adjust(request: HttpRequest, teacher: Teacher) -> bool:
    return scope_for(request.user).reaches(teacher.unit, roles=ADJUST_ROLES)


@login_required
def teacher_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Her hours for a year: progress per requirement, the entries, the verdict."""
    teacher = _visible_teacher(request, pk)
    now = timezone.now()
    rule_sets = selectors.rule_sets_for_unit(teacher.unit)
    years = sorted(
        set(rule_sets) | set(CreditEntry.objects.filter(teacher=teacher).values_list("year", flat=True).distinct()),
        reverse=True,
    )
    year = _year(request, years, timezone.localdate(now))
    rule_set = rule_sets.get(year)
    entries = list(
        CreditEntry.objects.filter(teacher=teacher, year=year)
        .select_related("kind", "recorded_by", "reversed_by")
        .order_by("recorded_at", "id")
    )
    totals = selectors.totals_from_entries(entries)
    evaluation = evaluate(rule_set.tree, totals) if rule_set else None
    may_adjust = _may_adjust(request, teacher)
    return render(
        request,
        "credits/teacher.html",
        {
            "teacher": teacher,
            "year": year,
            "years": years,
            "rule_set": rule_set,
            "rule_sentence": describe(rule_set.tree) if rule_set else "",
            "entries": entries,
            "totals": totals,
            "evaluation": evaluation,
            "may_adjust": may_adjust,
            "adjust_form": AdjustmentForm(initial={"year": year}) if may_adjust else None,
            "topic_names": selectors.topic_names(),
            "is_self": scope_for(request.user).teacher == teacher,
        },
    )


@require_POST
@login_required
def adjust(request: HttpRequest, pk: int) -> HttpResponse:
    """Manual adjustment by a district or city admin (school admins may look, not change: 403)."""
    teacher = _visible_teacher(request, pk)
    if not _may_adjust(request, teacher):
        raise PermissionDenied
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.credit_adjustment_record(
                actor=request.user,
                teacher=teacher,
                year=data["year"],
                category=data["category"],
                hours=data["hours"],
                reason=data["reason"],
                kind=data["kind"],
                topics=[t.code for t in data["topics"]],
                source=data["source"],
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已记录 %(hours)s 学时") % {"hours": fmt_hours(data["hours"])})
        return redirect(f"{reverse('credits:teacher', args=[pk])}?year={data['year']}")
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else error)
    return redirect(reverse("credits:teacher", args=[pk]))


@require_POST
@login_required
def entry_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_visible_or_404(
        CreditEntry.objects.filter(teacher__in=teachers_visible_to(request.user)).select_related("teacher__unit"),
        pk=pk,
    )
    if not _may_adjust(request, entry.teacher):
        raise PermissionDenied
    form = ReverseForm(request.POST)
    back = f"{reverse('credits:teacher', args=[entry.teacher_id])}?year={entry.year}"
    if not form.is_valid():
        messages.error(request, _("请填写冲正原因"))
        return redirect(back)
    try:
        services.credit_entry_reverse(entry, request.user, form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已冲正该记录"))
    return redirect(back)


# --------------------------------------------------------------------------- certificates


@require_POST
@login_required
def certificate(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue (or re-issue, unchanged) the year's certificate and download it as PDF.

    POST, since issuing writes a row the first time; the same content gives the same certificate.
    """
    teacher = _visible_teacher(request, pk)
    year = parse_year(request.POST.get("year"))
    if year is None:
        raise Http404
    cert = certificate_issue(teacher, year, actor=request.user)
    url = request.build_absolute_uri(reverse("credits:verify_code", args=[cert.code]))
    response = HttpResponse(certificate_pdf(cert, url), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"学时证明-{teacher.name}-{year}.pdf"
    )
    return response


def verify(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Public (no login): is this certificate genuine and unchanged? Shows only what it shows.

    Each lookup counts against the client's address (VERIFY_RATE_LIMIT, in the cache): nobody
    walks the codes to collect names.
    """
    form = VerifyForm(request.GET or None, initial={"code": code})
    if code is None and form.is_valid():
        return redirect("credits:verify_code", code=normalize_code(form.cleaned_data["code"]) or "0")
    if code and is_ratelimited(
        request, group="credits.verify", key=client_ip_key, rate=settings.VERIFY_RATE_LIMIT, increment=True
    ):
        message = _("核验过于频繁，请稍后再试。")
        response = render(request, "busy.html", {"message": message}, status=429)
        response["Retry-After"] = "60"
        return response
    result = certificate_verify(code) if code else None
    return render(request, "credits/verify.html", {"form": form, "code": code, "result": result})


# --------------------------------------------------------------------------- dashboards


def _home_unit(request: HttpRequest) -> Unit:
    scope = scope_for(request.user)
    units = [u for role in ADMIN_ROLES for u in scope.units.get(role, ())]
    if not units:
        raise PermissionDenied
    return min(units, key=lambda u: (len(u.path), u.path))


def _dashboard_unit(request: HttpRequest) -> Unit:
    raw = request.GET.get("unit")
    if raw:
        return get_visible_or_404(units_visible_to(request.user), pk=parse_id(raw))
    return _home_unit(request)


class _ShortList:
    """Paginator-compatible: count and slices are each one query."""

    def __init__(self, overview: selectors.Overview, show_all: bool, search: str):
        self.overview, self.show_all, self.search = overview, show_all, search
        self.unit, self.year, self.tree = overview.unit, overview.year, overview.rule_set.tree

    def count(self) -> int:
        if not self.search:  # the overview counted them already: no second pass over every teacher
            return self.overview.total.teachers if self.show_all else self.overview.total.short
        return selectors.short_count(self.unit, self.year, self.tree, self.search, show_all=self.show_all)

    def __getitem__(self, s: slice):
        rows = list(
            selectors.teacher_rows(
                self.unit,
                self.year,
                self.tree,
                only_short=not self.show_all,
                search=self.search,
                limit=s.stop - s.start,
                offset=s.start,
            )
        )
        return selectors.with_evaluations(rows, self.tree)


@role_required(*ADMIN_ROLES)
@replica_reads()
def dashboard(request: HttpRequest) -> HttpResponse:
    """达标率 of the unit and each unit below it, the trend, and the teachers short of hours."""
    unit = _dashboard_unit(request)
    rule_sets = selectors.rule_sets_for_unit(unit)
    years = list(rule_sets)
    year = _year(request, years, timezone.localdate())
    rule_set = rule_sets.get(year)
    overview = selectors.compliance_overview(unit, year, rule_set, kept=True) if rule_set else None
    context = {
        "unit": unit,
        "year": year,
        "years": years,
        "overview": overview,
        "ancestors": _visible_ancestors(request, unit),
    }
    if overview is not None:
        search = request.GET.get("q", "").strip()[:30]
        show_all = request.GET.get("show") == "all"
        page = Paginator(_ShortList(overview, show_all, search), PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        trend = selectors.snapshot_trend(unit, year)
        context.update(
            page=page,
            query=query.urlencode(),
            search=search,
            show_all=show_all,
            chart=_bar_option(overview),
            trend=trend,
            trend_chart=_trend_option(trend) if len(trend) > 1 else None,
        )
    return render(request, "credits/dashboard.html", context)


def _visible_ancestors(request: HttpRequest, unit: Unit) -> list[Unit]:
    """Breadcrumbs: the unit's ancestors the user may open (one query)."""
    return list(units_visible_to(request.user).filter(path__in=unit.ancestor_paths()[:-1]).order_by("path"))


def _bar_option(overview) -> dict:
    names = [r.unit.name for r in overview.children]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 20, "bottom": 80, "top": 30},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 30, "interval": 0}},
        "yAxis": {"type": "value", "max": 100, "name": str(_("达标率（%）"))},
        "series": [
            {
                "type": "bar",
                "data": [round(r.rate * 100, 1) for r in overview.children],
                "label": {"show": True, "position": "top"},
            }
        ],
    }


def _trend_option(trend) -> dict:
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 20, "bottom": 40, "top": 30},
        "xAxis": {"type": "category", "data": [s.date.isoformat() for s in trend]},
        "yAxis": {"type": "value", "max": 100, "name": str(_("达标率（%）"))},
        "series": [{"type": "line", "data": [round(s.rate * 100, 1) for s in trend], "smooth": True}],
    }


@role_required(*ADMIN_ROLES)
@replica_reads()
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """The unit's teachers short of hours (or all, ?show=all) with their shortfall, as .xlsx.

    A city runs to 250,000 rows: rows stream from a server-side cursor into credits.xlsx_stream
    (see bench/compliance.py), spooled to disk past 32 MB.
    """
    import tempfile

    from django.http import FileResponse

    from credits.xlsx_stream import write_rows

    unit = _dashboard_unit(request)
    rule_sets = selectors.rule_sets_for_unit(unit)
    year = _year(request, list(rule_sets), timezone.localdate())
    rule_set = rule_sets.get(year)
    if rule_set is None:
        raise Http404
    show_all = request.GET.get("show") == "all"
    headers, rows = selectors.export_rows(unit, year, rule_set.tree, only_short=not show_all)
    title = _("%(unit)s %(year)s 年度%(what)s") % {
        "unit": unit.name,
        "year": year,
        "what": _("教师学时") if show_all else _("学时未达标教师"),
    }
    out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # closed by FileResponse
    widths = [24, 10, 21, *[10] * (len(headers) - 5), 8, 60]
    write_rows(out, title=title, headers=headers, rows=rows, sheet_name=str(year), widths=widths)
    out.seek(0)
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"{title}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

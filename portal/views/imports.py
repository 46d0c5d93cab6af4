"""Roster Excel pages: template, upload → preview (dry run) → confirm, error list, export.

The uploaded file waits between preview and confirm under
MEDIA_ROOT/imports/<uuid>.xlsx; the session of the admin who uploaded it holds
the token, so nobody else can confirm or read it. Files left behind (a preview
never confirmed) are swept on the next upload after a day.
"""

import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import exporting, importing
from portal import roster_import as roster
from portal.converters import parse_id
from portal.decorators import role_required
from portal.filters import TeacherFilter
from portal.forms import RosterUploadForm
from portal.locking import LockBusy
from portal.models import ADMIN_ROLES, Unit
from portal.roster_export import roster_export_response
from portal.scoping import scope_for
from portal.selectors import roster_for, units_in_reach

SESSION_KEY = "roster_imports"
KEEP_SECONDS = 24 * 3600
MAX_PENDING = 5


def _import_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sweep_old_files() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in _import_dir().glob("*.xlsx"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # another request swept it first
            pass


def _role_units(request):
    """The units the admin holds a role over: what she may import into."""
    scope = scope_for(request.user)
    ids = {unit.pk for role in ADMIN_ROLES for unit in scope.units.get(role, ())}
    return Unit.objects.filter(pk__in=ids).order_by("path")


def _pending(request, token: str) -> tuple[dict, Path, Unit]:
    """The session's pending import ``token``; 404 for anything else (another user's token, a stale one)."""
    token = str(token)  # the URL converter gives a UUID
    entry = request.session.get(SESSION_KEY, {}).get(token)
    path = _import_dir() / f"{token}.xlsx"
    if entry is None or not path.exists():
        raise Http404
    unit = _role_units(request).filter(pk=entry["unit"]).first()
    if unit is None:  # the role was taken away since the upload
        raise Http404
    return entry, path, unit


def _forget(request, token: str) -> None:
    pending = request.session.get(SESSION_KEY, {})
    pending.pop(token, None)
    request.session[SESSION_KEY] = pending
    (_import_dir() / f"{token}.xlsx").unlink(missing_ok=True)


@role_required(*ADMIN_ROLES)
def roster_import(request: HttpRequest) -> HttpResponse:
    """Upload a roster file; it is checked in full (a dry run) and previewed before anything is written."""
    units = _role_units(request)
    form = RosterUploadForm(request.POST or None, request.FILES or None, units=units)
    if request.method == "POST" and form.is_valid():
        _sweep_old_files()
        token = str(uuid.uuid4())
        path = _import_dir() / f"{token}.xlsx"
        with path.open("wb") as out:
            for chunk in form.cleaned_data["file"].chunks():
                out.write(chunk)
        unit = form.cleaned_data["unit"]
        try:
            result = roster.roster_import(path, unit=unit, actor=request.user, dry_run=True)
        except importing.ImportFileError as exc:
            path.unlink(missing_ok=True)
            form.add_error("file", str(exc))
        else:
            pending = request.session.get(SESSION_KEY, {})
            for stale in list(pending)[: max(0, len(pending) - MAX_PENDING + 1)]:
                _forget(request, stale)
                pending.pop(stale, None)
            pending[token] = {"unit": unit.pk, "name": form.cleaned_data["file"].name, "at": timezone.now().isoformat()}
            request.session[SESSION_KEY] = pending
            return _preview(request, token, pending[token], unit, result)
    return render(request, "portal/roster_import.html", {"form": form, "units": units})


def _preview(request, token, entry, unit, result) -> HttpResponse:
    return render(
        request,
        "portal/roster_import_preview.html",
        {
            "token": token,
            "entry": entry,
            "unit": unit,
            "result": result,
            "headers": list(result.preview[0].values) if result.preview else [],
            "preview_limit": roster.PREVIEW_LIMIT,
        },
    )


@role_required(*ADMIN_ROLES)
def roster_import_preview(request: HttpRequest, token: str) -> HttpResponse:
    """The preview again (e.g. after coming back from the error download)."""
    entry, path, unit = _pending(request, token)
    try:
        result = roster.roster_import(path, unit=unit, actor=request.user, dry_run=True)
    except importing.ImportFileError as exc:
        _forget(request, str(token))
        messages.error(request, str(exc))
        return redirect("portal:roster_import")
    return _preview(request, token, entry, unit, result)


@require_POST
@role_required(*ADMIN_ROLES)
def roster_import_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Write the previewed file: all rows or, if anything became wrong since the preview, none."""
    entry, path, unit = _pending(request, token)
    try:
        result = roster.roster_import(path, unit=unit, actor=request.user, dry_run=False)
    except (importing.ImportFileError, LockBusy) as exc:
        messages.error(request, str(exc))
        return redirect("portal:roster_import_preview", token=token)
    if not result.ok:
        messages.error(request, _("名册在预览后有变化，出现了新的错误，未写入任何数据。"))
        return _preview(request, token, entry, unit, result)
    _forget(request, str(token))
    messages.success(request, _("导入完成：%(summary)s") % {"summary": result.summary_zh})
    return redirect("portal:roster")


@role_required(*ADMIN_ROLES)
def roster_import_errors(request: HttpRequest, token: str) -> HttpResponse:
    """The preview's errors as an .xlsx (行号, 列名, 问题说明)."""
    entry, path, unit = _pending(request, token)
    try:
        result = roster.roster_import(path, unit=unit, actor=request.user, dry_run=True)
    except importing.ImportFileError as exc:
        errors = [importing.RowError(0, _("文件"), str(exc))]
    else:
        errors = result.errors
    stem = Path(entry["name"]).stem
    return exporting.xlsx_download(f"{stem}-错误清单.xlsx", importing.errors_workbook(errors))


@role_required(*ADMIN_ROLES)
def roster_template(request: HttpRequest) -> HttpResponse:
    """The empty template for one of the admin's units (with 学校代码 for a district or city)."""
    units = _role_units(request)
    wanted = request.GET.get("unit")
    unit = units.filter(pk=parse_id(wanted)).first() if wanted else units.first()
    if unit is None:
        raise Http404
    return exporting.xlsx_download(f"{unit.name}教师花名册模板.xlsx", roster.roster_template(unit))


@role_required(*ADMIN_ROLES)
def roster_export(request: HttpRequest) -> HttpResponse:
    """The roster as shown (the same filters), or the whole subtree when nothing is filtered."""
    units = units_in_reach(request.user)
    queryset = roster_for(request.user)
    teacher_filter = TeacherFilter(request.GET or None, queryset=queryset, units=units)
    teachers = teacher_filter.qs if teacher_filter.is_bound else queryset
    unit = _role_units(request).first()
    return roster_export_response(teachers, unit=unit)

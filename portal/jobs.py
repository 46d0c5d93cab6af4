"""Background jobs: the deadline sweep, the nightly compliance snapshot and long exports.

The sweep and the snapshot only call the owning apps' domain functions; this
module decides when and in what batches. Deadlines themselves are enforced at
request time by those apps: a sweep that never runs leaves rows looking pending,
but nobody can act on them after the deadline.
"""

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import EXPORT_ACTIVE_STATES, ExportJob, ExportStatus, Role, TeacherStatus, User
from portal.notifications import KIND_EXPORT_DONE, notify
from portal.scoping import scope_for, teachers_managed_by

log = logging.getLogger(__name__)


def _function(dotted: str) -> Callable | None:
    """The domain function at ``dotted`` ("app.module.name"), or None while that app does not provide it."""
    module_name, _sep, name = dotted.rpartition(".")
    try:
        return getattr(import_module(module_name), name)
    except (ImportError, AttributeError):
        log.warning("background job: %s is not available; skipped", dotted)
        return None


# --- deadline sweep -------------------------------------------------------------------------------


def deadline_sweep_run(now: dt.datetime, batch_size: int = 2000) -> dict:
    """Expire applications still pending after their level's deadline, and release closed waiting lists.

    The expiry works in batches of ``batch_size`` applications, each its own
    transaction, so a worker killed half-way leaves finished batches committed and
    the rest pending; the redelivered task (late ack) picks up where it stopped. Both functions claim rows with
    conditional updates: a second run, or a second worker at the same time,
    changes nothing more and notifies nobody twice.

    Side effects: those of ``enrollment.services.application_expire_overdue`` and
    ``courses.services.waitlist_release_closed`` (state changes, notices).
    """
    result = {"expired": None, "released": None}
    expire = _function("enrollment.services.application_expire_overdue")
    if expire is not None:
        result["expired"] = expire(now, batch=batch_size)
    release = _function("courses.services.waitlist_release_closed")
    if release is not None:
        result["released"] = release(now)
    return result


# --- nightly compliance snapshot ----------------------------------------------------------------


def compliance_snapshot_run(now: dt.datetime) -> int:
    """Take the compliance snapshot for the year of ``now`` (local date).

    Side effects: those of ``credits.services.compliance_snapshot_take`` (one row per unit and day,
    replaced when taken again the same day).
    """
    take = _function("credits.services.compliance_snapshot_take")
    if take is None:
        return 0
    today = timezone.localdate(now)
    return take(today.year, today)


# --- long exports -------------------------------------------------------------------------------


@dataclass
class ExportSpec:
    """What one export writes: a title line, headers, the row count (for progress) and the rows."""

    title: str
    headers: list[str]
    total: int
    rows: Iterable[Sequence]
    sheet_name: str | None = None
    widths: Sequence[int] | None = None


@dataclass(frozen=True)
class ExportKind:
    code: str
    label: str
    roles: tuple[Role, ...]
    build: Callable[[User, dict], ExportSpec]  # (user, params) -> what to write, scoped to the user


EXPORT_KINDS: dict[str, ExportKind] = {}


class ExportRefused(Exception):
    """The export cannot be written (e.g. no rule set for the year); the message is shown to the user."""


def register_export(kind: ExportKind) -> None:
    EXPORT_KINDS[kind.code] = kind


def export_kinds_for(user: User) -> list[ExportKind]:
    scope = scope_for(user)
    return [kind for kind in EXPORT_KINDS.values() if any(scope.has(role) for role in kind.roles)]


def _stamp() -> str:
    return f"{timezone.localtime():%Y-%m-%d %H:%M}"


def _roster_spec(user: User, params: dict) -> ExportSpec:
    """The roster page's export (portal.roster), over every teacher the user keeps: city-wide for a city admin."""
    from portal.roster import EXPORT_HEADERS, roster_rows

    qs = teachers_managed_by(user)
    if params.get("status") in TeacherStatus.values:
        qs = qs.filter(status=params["status"])
    return ExportSpec(
        title=_("教师花名册（导出于 %(time)s）") % {"time": _stamp()},
        headers=[_(h) for h in EXPORT_HEADERS],
        total=qs.count(),
        rows=roster_rows(qs),
        sheet_name=_("花名册"),
        widths=(6, 10, 12, 28, 10, 5, 21, 8, 10, 10, 13, 6),
    )


def _top_unit(user: User):
    """The highest unit the user administers (a city admin's city), or None."""
    scope = scope_for(user)
    units = [u for role in (Role.CITY_ADMIN, Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN) for u in scope.units.get(role, ())]
    return min(units, key=lambda u: len(u.path), default=None)


def _compliance_spec(user: User, params: dict) -> ExportSpec:
    """credits' compliance list (every teacher, or only those short) for the user's top unit and a year."""
    from credits.selectors import export_rows, rule_set_for_unit, short_count

    unit = _top_unit(user)
    if unit is None:
        raise PermissionDenied
    year = int(params.get("year") or timezone.localdate().year)
    rule_set = rule_set_for_unit(unit, year)
    if rule_set is None:
        raise ExportRefused(
            _("%(unit)s没有%(year)d年度的学时规则，无法导出达标名单。") % {"unit": unit.name, "year": year}
        )
    only_short = bool(params.get("only_short"))
    headers, rows = export_rows(unit, year, rule_set.tree, only_short=only_short)
    return ExportSpec(
        title=_("%(unit)s %(year)d年度学时达标名单（导出于 %(time)s）")
        % {"unit": unit.name, "year": year, "time": _stamp()},
        headers=headers,
        total=short_count(unit, year, rule_set.tree, show_all=not only_short),
        rows=rows,
        sheet_name=_("达标名单"),
    )


register_export(
    ExportKind(
        code="roster",
        label=gettext_lazy("教师花名册"),
        roles=(Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN),
        build=_roster_spec,
    )
)
register_export(
    ExportKind(
        code="compliance",
        label=gettext_lazy("学时达标名单"),
        roles=(Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN),
        build=_compliance_spec,
    )
)


def export_job_start(user: User, kind_code: str, params: dict | None = None) -> ExportJob:
    """Queue an export for ``user``; an identical one still running is returned instead of a second.

    Side effects: an ExportJob row; the export task queued after commit.
    Raises PermissionDenied for a kind the user's roles may not export.
    """
    kind = EXPORT_KINDS.get(kind_code)
    if kind is None or kind not in export_kinds_for(user):
        raise PermissionDenied
    params = params or {}
    from portal.tasks import enqueue_on_commit, export_run

    with transaction.atomic():
        existing = ExportJob.objects.filter(
            user=user, kind=kind_code, params=params, status__in=EXPORT_ACTIVE_STATES
        ).first()
        if existing is not None:
            return existing
        job = ExportJob.objects.create(user=user, kind=kind_code, params=params)
        enqueue_on_commit(export_run, job.pk)
    return job


PROGRESS_STEPS = 100  # progress is written about this many times per export, not per row


def export_job_run(job_id: int, now: dt.datetime | None = None) -> str:
    """Write the export's file, reporting progress as it goes; returns the final status.

    A redelivered task (worker lost) starts the file again from the top; a job
    already done or failed is left alone.

    Side effects: the ExportJob's status/progress/file; a file in MEDIA_ROOT;
    an "export done" notification for the user.
    """
    now = now or timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status__in=EXPORT_ACTIVE_STATES).update(
        status=ExportStatus.RUNNING, started_at=now, progress=0, done_rows=0, error=""
    )
    if not claimed:
        return "skipped"
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    kind = EXPORT_KINDS[job.kind]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export.xlsx"
            _write_xlsx(job, kind, path)
            name = f"{kind.code}-{timezone.localtime(now):%Y%m%d-%H%M%S}-{job.pk}.xlsx"
            with path.open("rb") as fh:
                job.file.save(name, File(fh), save=False)
    except ExportRefused as exc:
        return _fail(job_id, str(exc))
    except Exception:
        log.exception("export %s failed", job_id)
        return _fail(job_id, _("导出时发生错误，请稍后重试或联系管理员。"))
    ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.DONE, file=job.file.name, progress=100, finished_at=timezone.now()
    )
    notify(
        [job.user_id],
        KIND_EXPORT_DONE,
        _("导出完成：%(label)s") % {"label": kind.label},
        _("您申请的“%(label)s”已生成，请在“我的导出”中下载。") % {"label": kind.label},
        reverse("inbox:export_detail", args=[job.pk]),
        dedup_key=f"export:{job.pk}",
    )
    return ExportStatus.DONE


def _fail(job_id: int, message: str) -> str:
    ExportJob.objects.filter(pk=job_id).update(status=ExportStatus.FAILED, error=message, finished_at=timezone.now())
    return ExportStatus.FAILED


def _write_xlsx(job: ExportJob, kind: ExportKind, path: Path) -> None:
    from portal.exporting import write_xlsx

    spec = kind.build(job.user, job.params)
    ExportJob.objects.filter(pk=job.pk).update(total=spec.total)
    written = write_xlsx(
        str(path),
        title=spec.title,
        headers=spec.headers,
        rows=_counting(job.pk, spec.rows, spec.total),
        sheet_name=spec.sheet_name,
        widths=spec.widths,
    )
    _progress(job.pk, written, spec.total, final=True)


def _counting(job_id: int, rows: Iterable[Sequence], total: int) -> Iterator[Sequence]:
    """Pass the rows through, writing the progress about PROGRESS_STEPS times in all."""
    step = max(total // PROGRESS_STEPS, 200)
    for done, row in enumerate(rows, start=1):
        yield row
        if done % step == 0:
            _progress(job_id, done, total)


def _progress(job_id: int, done: int, total: int, final: bool = False) -> None:
    # 99 until the file is stored: 100 % means "downloadable".
    percent = 99 if final or not total else min(99, done * 100 // total)
    ExportJob.objects.filter(pk=job_id).update(done_rows=done, progress=percent)


def export_jobs_of(user: User):
    """The user's own exports, newest first (nobody sees another's)."""
    return ExportJob.objects.filter(user=user)

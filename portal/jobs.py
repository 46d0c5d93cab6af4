"""Background jobs: the deadline sweep, the nightly compliance snapshot and long exports.

The sweep and the snapshot only call the owning apps' domain functions; this
module decides when and in what batches. Deadlines themselves are enforced at
request time by those apps: a sweep that never runs leaves rows looking pending,
but nobody can act on them after the deadline.
"""

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import xlsxwriter
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import EXPORT_ACTIVE_STATES, ExportJob, ExportStatus, Role, Teacher, TeacherStatus, User
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


def deadline_sweep_run(now: dt.datetime, batch_size: int = 1000) -> dict:
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


@dataclass(frozen=True)
class ExportKind:
    code: str
    label: str
    roles: tuple[Role, ...]
    headers: Callable[[], list[str]]
    # (user, params) -> (row count, rows); rows are lists of cell values
    rows: Callable[[User, dict], tuple[int, Iterable[list]]]


EXPORT_KINDS: dict[str, ExportKind] = {}


def register_export(kind: ExportKind) -> None:
    EXPORT_KINDS[kind.code] = kind


def export_kinds_for(user: User) -> list[ExportKind]:
    scope = scope_for(user)
    return [kind for kind in EXPORT_KINDS.values() if any(scope.has(role) for role in kind.roles)]


def _roster_headers() -> list[str]:
    return [_("单位代码"), _("单位名称"), _("姓名"), _("身份证号"), _("性别"), _("出生日期"), _("学段"),
            _("任教学科"), _("职务"), _("手机号码"), _("状态")]


def _roster_rows(user: User, params: dict) -> tuple[int, Iterator[list]]:
    qs = teachers_managed_by(user)
    if params.get("status") in TeacherStatus.values:
        qs = qs.filter(status=params["status"])
    qs = qs.order_by("unit__path", "name", "id")
    labels = {
        "gender": dict(Teacher._meta.get_field("gender").choices),
        "position": dict(Teacher._meta.get_field("position").choices),
        "status": dict(Teacher._meta.get_field("status").choices),
    }
    fields = ("unit__code", "unit__name", "name", "id_number", "gender", "birth_date", "stage__name", "subject",
              "position", "mobile", "status")

    def rows():
        for (unit_code, unit_name, name, id_number, gender, birth, stage, subject, position, mobile,
             status) in qs.values_list(*fields).iterator(chunk_size=2000):
            yield [unit_code, unit_name, name, id_number, str(labels["gender"].get(gender, gender)), birth,
                   stage or "", subject, str(labels["position"].get(position, position)), mobile,
                   str(labels["status"].get(status, status))]

    return qs.count(), rows()


register_export(ExportKind(
    code="roster",
    label=gettext_lazy("教师名册"),
    roles=(Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN),
    headers=_roster_headers,
    rows=_roster_rows,
))


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
    except Exception as exc:
        log.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        return ExportStatus.FAILED
    ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.DONE, file=job.file.name, progress=100, finished_at=timezone.now()
    )
    notify(
        [job.user_id], KIND_EXPORT_DONE,
        _("导出完成：%(label)s") % {"label": kind.label},
        _("您申请的“%(label)s”已生成，请在“我的导出”中下载。") % {"label": kind.label},
        reverse("inbox:export_detail", args=[job.pk]),
        dedup_key=f"export:{job.pk}",
    )
    return ExportStatus.DONE


def _write_xlsx(job: ExportJob, kind: ExportKind, path: Path) -> None:
    total, rows = kind.rows(job.user, job.params)
    ExportJob.objects.filter(pk=job.pk).update(total=total)
    step = max(total // PROGRESS_STEPS, 200)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet(str(kind.label)[:31])
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, kind.headers(), bold)
    done = 0
    for done, row in enumerate(rows, start=1):
        sheet.write_row(done, 0, row)
        if done % step == 0:
            _progress(job.pk, done, total)
    workbook.close()
    _progress(job.pk, done, total, final=True)


def _progress(job_id: int, done: int, total: int, final: bool = False) -> None:
    # 99 until the file is stored: 100 % means "downloadable".
    percent = 99 if final or not total else min(99, done * 100 // total)
    ExportJob.objects.filter(pk=job_id).update(done_rows=done, progress=percent)


def export_jobs_of(user: User):
    """The user's own exports, newest first (nobody sees another's)."""
    return ExportJob.objects.filter(user=user)

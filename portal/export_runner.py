"""The export runner: long exports (city-wide roster, compliance list) written by a worker.

The apps register what can be exported (``portal.registry.ExportKind``); this module
queues a job, writes its xlsx with progress, keeps the file and tells the user. Files hold
personal data: each is kept EXPORT_KEEP_DAYS (``exports_expire``, a job) and served only while
its requester still holds a role that may make it, over the same part of the tree
(``export_job_downloadable``).
"""

import datetime as dt
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.celery import enqueue_on_commit
from portal.exporting import write_xlsx
from portal.models import ADMIN_ROLES, EXPORT_ACTIVE_STATES, ExportJob, ExportStatus, Role, User
from portal.notifications import KIND_EXPORT_DONE, notify
from portal.registry import EXPORT_KINDS, ExportKind, ExportRefused
from portal.replica import replica_reads
from portal.scoping import scope_for

log = logging.getLogger(__name__)

EXPORT_TASK = "portal.tasks.export_run"


def export_kinds_for(user: User) -> list[ExportKind]:
    scope = scope_for(user)
    return [kind for kind in EXPORT_KINDS.values() if any(scope.has(role) for role in kind.roles)]


def export_stamp() -> str:
    """When an export was written, for its title line."""
    return f"{timezone.localtime():%Y-%m-%d %H:%M}"


def top_unit(user: User):
    """The highest unit the user administers (a city admin's city), or None."""
    scope = scope_for(user)
    units = [u for role in (Role.CITY_ADMIN, Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN) for u in scope.units.get(role, ())]
    return min(units, key=lambda u: len(u.path), default=None)


def _reach(user: User, kind: ExportKind) -> list[str]:
    """What the user's roles for ``kind`` cover: unit paths, and "role:id" for roles held through an app."""
    scope = scope_for(user)
    paths = list(scope.admin_paths(tuple(r for r in kind.roles if r in ADMIN_ROLES)))
    members = [f"{role}:{pk}" for role, ids in scope.memberships.items() if role in kind.roles for pk in ids]
    return paths + sorted(members)


def _covers(now: list[str], then: list[str]) -> bool:
    paths = [p for p in now if p.startswith("/")]
    return all(entry in now if not entry.startswith("/") else any(entry.startswith(p) for p in paths) for entry in then)


def export_job_downloadable(user: User, job: ExportJob, now: dt.datetime | None = None) -> bool:
    """The file exists, has not expired, and the user still may make this export over what it covers."""
    now = now or timezone.now()
    kind = EXPORT_KINDS.get(job.kind)
    if job.status != ExportStatus.DONE or not job.file or kind is None or kind not in export_kinds_for(user):
        return False
    if job.finished_at and job.finished_at < now - dt.timedelta(days=settings.EXPORT_KEEP_DAYS):
        return False
    return _covers(_reach(user, kind), job.reach)


def export_job_start(user: User, kind_code: str, params: dict | None = None) -> ExportJob:
    """Queue an export for ``user``; an identical one still running is returned instead of a second.

    Side effects: an ExportJob row; the export task queued after commit.
    Raises PermissionDenied for a kind the user's roles may not export.
    """
    kind = EXPORT_KINDS.get(kind_code)
    if kind is None or kind not in export_kinds_for(user):
        raise PermissionDenied
    params = params or {}
    with transaction.atomic():
        existing = ExportJob.objects.filter(
            user=user, kind=kind_code, params=params, status__in=EXPORT_ACTIVE_STATES
        ).first()
        if existing is not None:
            return existing
        job = ExportJob.objects.create(user=user, kind=kind_code, params=params, reach=_reach(user, kind))
        enqueue_on_commit(EXPORT_TASK, job.pk)
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
    # The rows come from the replica once it has replayed what was committed before the job ran
    # (so an export right after an import contains it); progress and status go to the primary.
    with replica_reads(caught_up_within=settings.REPLICA_WAIT_SECONDS):
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


def exports_expire(now: dt.datetime | None = None) -> int:
    """Delete the files of exports finished more than EXPORT_KEEP_DAYS ago; returns how many.

    Side effects: each file removed from storage; its job marked EXPIRED (the row stays, without file).
    """
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.EXPORT_KEEP_DAYS)
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.DONE, finished_at__lt=cutoff).exclude(file=""):
        job.file.delete(save=False)
        expired += ExportJob.objects.filter(pk=job.pk, status=ExportStatus.DONE).update(
            status=ExportStatus.EXPIRED, file=""
        )
    return expired

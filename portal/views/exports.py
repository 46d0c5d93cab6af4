"""Long exports: start one, watch its progress (htmx polls a small fragment), download the file."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.converters import parse_year
from portal.export_runner import export_job_downloadable, export_job_start, export_jobs_of, export_kinds_for
from portal.models import TeacherStatus
from portal.registry import EXPORT_KINDS
from portal.scoping import get_visible_or_404


@login_required
def export_list(request):
    page = Paginator(export_jobs_of(request.user), 20).get_page(request.GET.get("page"))
    for job in page:
        job.label = EXPORT_KINDS[job.kind].label if job.kind in EXPORT_KINDS else job.kind
        job.downloadable = export_job_downloadable(request.user, job)
    return render(
        request,
        "portal/exports/list.html",
        {
            "page": page,
            "kinds": export_kinds_for(request.user),
            "statuses": TeacherStatus.choices,
            "this_year": timezone.localdate().year,
            "keep_days": settings.EXPORT_KEEP_DAYS,
        },
    )


@login_required
@require_POST
def export_start(request, kind: str):
    if kind not in EXPORT_KINDS:
        raise Http404
    params = {}
    if request.POST.get("status") in TeacherStatus.values:
        params["status"] = request.POST["status"]
    if year := parse_year(request.POST.get("year")):
        params["year"] = year
    if request.POST.get("only_short") == "1":
        params["only_short"] = True
    job = export_job_start(request.user, kind, params)  # PermissionDenied (403) for a role that may not
    messages.info(request, _("导出已开始，您可以离开本页，稍后在“我的导出”中下载。"))
    return redirect("inbox:export_detail", pk=job.pk)


@login_required
def export_detail(request, pk: int):
    job = get_visible_or_404(export_jobs_of(request.user), pk=pk)
    template = "portal/exports/detail.html#status" if request.htmx else "portal/exports/detail.html"
    context = {
        "job": job,
        "kind": EXPORT_KINDS.get(job.kind),
        "downloadable": export_job_downloadable(request.user, job),
        "keep_days": settings.EXPORT_KEEP_DAYS,
    }
    return render(request, template, context)


@login_required
def export_download(request, pk: int):
    job = get_visible_or_404(export_jobs_of(request.user), pk=pk)
    # Checked now, not when it was asked for: expired, or the role (or its reach) is gone: no file.
    if not export_job_downloadable(request.user, job):
        raise Http404
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])

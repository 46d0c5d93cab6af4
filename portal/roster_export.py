"""Roster (花名册) export: the roster page's download, the background export and the command.

序号, 区, 学校代码, 学校, 姓名, 性别, 身份证号 (masked: portal.privacy), 学段, 任教学科, 职务,
手机号码, 状态; one query for the teachers, streamed into the file.
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.export_runner import export_stamp
from portal.exporting import write_xlsx, xlsx_response
from portal.models import Gender, Position, Teacher, TeacherStatus, Unit, UnitKind, User
from portal.privacy import id_number_for
from portal.registry import ExportSpec
from portal.scoping import teachers_managed_by

EXPORT_HEADERS = (
    "序号",
    "区",
    "学校代码",
    "学校",
    "姓名",
    "性别",
    "身份证号",
    "学段",
    "任教学科",
    "职务",
    "手机号码",
    "状态",
)
WIDTHS = (6, 10, 12, 28, 10, 5, 21, 8, 10, 10, 13, 6)


def roster_rows(teachers: QuerySet[Teacher], *, whole: bool = False) -> Iterator[tuple]:
    """Export rows for ``teachers`` (already scoped by the caller), in roster order, streamed.

    ID numbers masked unless ``whole`` (only ``manage.py export_roster --whole-id-numbers``).
    """
    districts = dict(Unit.objects.filter(kind=UnitKind.DISTRICT).values_list("code", "name"))
    genders = {k: str(v) for k, v in Gender.choices}
    positions = {k: str(v) for k, v in Position.choices}
    statuses = {k: str(v) for k, v in TeacherStatus.choices}
    city_direct = _("市直")
    if not teachers.query.is_sliced:
        teachers = teachers.order_by("unit__path", "name", "id")
    rows = teachers.values_list(
        "unit__path",
        "unit__code",
        "unit__name",
        "name",
        "gender",
        "id_number",
        "stage__name",
        "subject",
        "position",
        "mobile",
        "status",
    )
    for n, (path, code, unit_name, name, gender, number, stage, subject, position, mobile, status) in enumerate(
        rows.iterator(chunk_size=5000), start=1
    ):
        parts = path.split("/")
        district = districts.get(parts[2], city_direct) if len(parts) > 4 else ""
        yield (
            n,
            district,
            code,
            unit_name,
            name,
            genders.get(gender, ""),
            id_number_for(number, whole=whole),
            stage or "",
            subject,
            positions.get(position, position),
            mobile,
            statuses.get(status, status),
        )


def roster_export(teachers: QuerySet[Teacher], out: Any, *, title: str | None = None, whole: bool = False) -> int:
    """Write the roster of ``teachers`` to ``out`` (path or binary file); returns the row count."""
    title = title or _("教师花名册（导出于 %(time)s）") % {"time": f"{timezone.localtime():%Y-%m-%d %H:%M}"}
    return write_xlsx(
        out,
        title=title,
        headers=[_(h) for h in EXPORT_HEADERS],
        rows=roster_rows(teachers, whole=whole),
        sheet_name=_("花名册"),
        widths=WIDTHS,
    )


def roster_export_response(teachers: QuerySet[Teacher], *, unit: Unit) -> HttpResponse:
    """The roster of ``teachers`` as an .xlsx download named after ``unit``."""
    stamp = timezone.localtime()
    return xlsx_response(
        f"{unit.name}教师花名册{stamp:%Y%m%d}.xlsx",
        title=_("%(unit)s 教师花名册（导出于 %(time)s）") % {"unit": unit.name, "time": f"{stamp:%Y-%m-%d %H:%M}"},
        headers=[_(h) for h in EXPORT_HEADERS],
        rows=roster_rows(teachers),
        sheet_name=_("花名册"),
        widths=WIDTHS,
    )


def roster_export_spec(user: User, params: dict) -> ExportSpec:
    """The background export (``portal.registry.ExportKind`` "roster"): every teacher the user keeps."""
    qs = teachers_managed_by(user)
    if params.get("status") in TeacherStatus.values:
        qs = qs.filter(status=params["status"])
    return ExportSpec(
        title=_("教师花名册（导出于 %(time)s）") % {"time": export_stamp()},
        headers=[_(h) for h in EXPORT_HEADERS],
        total=qs.count(),
        rows=roster_rows(qs),
        sheet_name=_("花名册"),
        widths=WIDTHS,
    )

"""Lists on paper: the district's approved list, the city's final list and the roster review, as xlsx.

ID numbers are written whole only in the final participant list the city admin files with the
province (and recorded by portal.privacy); every other list and role gets them masked. Each
list export is audited.
"""

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.exporting import xlsx_response
from portal.models import Role, Unit
from portal.privacy import id_number_for, personal_data_access_record
from portal.scoping import scope_for

from . import selectors, services
from .models import Programme

LIST_HEADERS = ("序号", "区", "学校", "姓名", "性别", "身份证号", "学段", "职务", "手机号码")


def may_see_whole_id(user, programme: Programme, *, final: bool) -> bool:
    """Only the city's final list, for its city admin: the province registers those teachers."""
    return final and scope_for(user).reaches(programme.period.city, roles=(Role.CITY_ADMIN,))


def exporting_role(user, programme: Programme) -> Role:
    scope = scope_for(user)
    for role in (Role.CITY_ADMIN, Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN):
        if scope.admin_paths((role,)):
            return role
    return Role.TEACHER


def list_rows(applications, whole_id: bool):
    for n, a in enumerate(applications.iterator(chunk_size=2000), start=1):
        t = a.teacher
        yield (
            n,
            a.district.name,
            a.school.name,
            t.name,
            t.get_gender_display(),
            id_number_for(t.id_number, whole=whole_id),
            t.stage.name if t.stage_id else "",
            t.get_position_display(),
            t.mobile,
        )


def list_response(
    request: HttpRequest, programme: Programme, *, district: Unit | None, final: bool, now: dt.datetime
) -> HttpResponse:
    """Side effects: an EXPORT audit entry naming the list, the district and whether IDs were masked;
    a personal-data access record when they were not."""
    whole = may_see_whole_id(request.user, programme, final=final)
    applications = selectors.export_rows(request.user, programme, finalized_only=final, district=district)
    what = _("参训名单") if final else _("审核通过名单")
    where = district.name if district else ""
    title = f"{programme.title}{where}{what}（{programme.period.name}）"
    count = applications.count()
    services.export_audit(
        actor=request.user,
        role=exporting_role(request.user, programme),
        programme=programme,
        district=district,
        rows=count,
        masked=not whole,
        now=now,
    )
    if whole:
        personal_data_access_record(
            request.user, purpose=_("专项培训参训名单（报省）"), count=count, detail=title, unit=programme.period.city
        )
    stamp = timezone.localtime(now).strftime("%Y%m%d")
    return xlsx_response(
        f"{programme.title}{where}{what}{stamp}.xlsx",
        title=title,
        headers=LIST_HEADERS,
        rows=list_rows(applications, whole),
        sheet_name=what,
    )


ROSTER_HEADERS = ("序号", "学校", "姓名", "性别", "身份证号", "学段", "职务", "手机号码", "报名状态")


def roster_response(request: HttpRequest, programme: Programme, teachers, now: dt.datetime) -> HttpResponse:

    def rows():
        for n, t in enumerate(teachers.iterator(chunk_size=2000), start=1):
            yield (
                n,
                t.unit.name,
                t.name,
                t.get_gender_display(),
                id_number_for(t.id_number),
                t.stage.name if t.stage_id else "",
                t.get_position_display(),
                t.mobile,
                selectors.roster_state_label(t.application_state, t.application_deadline, t.application_level, now)
                or _("未报名"),
            )

    services.export_audit(
        actor=request.user,
        role=exporting_role(request.user, programme),
        programme=programme,
        district=None,
        rows=teachers.count(),
        masked=True,
        now=now,
    )
    title = f"{programme.title}{_('报名情况')}（{programme.period.name}）"
    return xlsx_response(
        f"{programme.title}{_('报名情况')}.xlsx",
        title=title,
        headers=ROSTER_HEADERS,
        rows=rows(),
        sheet_name=_("报名情况"),
    )

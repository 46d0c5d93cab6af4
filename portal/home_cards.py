"""The portal's cards on the home page: what each role must do now about the roster."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import selectors
from portal.models import Role, TeacherStatus
from portal.registry import HomeCard


def _roster_url(**params) -> str:
    from urllib.parse import urlencode

    url = reverse("portal:roster")
    return f"{url}?{urlencode(params)}" if params else url


def roster_cards(request, scope, now) -> list[HomeCard]:
    cards: list[HomeCard] = []
    if scope.has(Role.SCHOOL_ADMIN):
        cards += _school_admin_cards(request)
    if scope.has(Role.DISTRICT_ADMIN):
        cards += _district_admin_cards(request, scope)
    if scope.has(Role.CITY_ADMIN):
        cards += _city_admin_cards(request, scope)
    if scope.teacher is not None:
        cards.append(_teacher_card(scope.teacher))
    return cards


def _school_admin_cards(request) -> list[HomeCard]:
    p = selectors.roster_problems(request.user)
    role = Role.SCHOOL_ADMIN
    incomplete = p["missing_mobile"] + p["missing_stage"]
    cards = [
        HomeCard(
            role=role,
            title=_("在职教师"),
            count=p["active"],
            order=10,
            text=_("退休 %(r)d 人，调出 %(t)d 人。调动、退休请在名册中及时标记。")
            % {"r": p["retired"], "t": p["transferred"]},
            url=_roster_url(),
            link_label=_("打开教师名册"),
            level="primary",
        ),
        HomeCard(
            role=role,
            title=_("名册信息待完善"),
            count=incomplete,
            order=20,
            text=_("缺手机号码 %(m)d 人，缺学段 %(s)d 人。") % {"m": p["missing_mobile"], "s": p["missing_stage"]}
            if incomplete
            else _("名册信息完整。"),
            url=_roster_url(problem="no_mobile" if p["missing_mobile"] else "no_stage") if incomplete else "",
            link_label=_("去补全"),
            level="warning" if incomplete else "success",
        ),
        HomeCard(
            role=role,
            title=_("未开通账号的教师"),
            count=p["no_login"],
            order=30,
            text=_("这些教师还不能登录选课，请为其设置初始密码。")
            if p["no_login"]
            else _("所有在职教师均已开通账号。"),
            url=_roster_url(problem="no_login") if p["no_login"] else "",
            link_label=_("查看名单"),
            level="danger" if p["no_login"] else "success",
        ),
    ]
    cards.append(
        HomeCard(
            role=role,
            title=_("导入名册"),
            order=40,
            text=_("用 Excel 批量新增或更新教师，导入前可预览全部错误。"),
            url=_import_url(),
            link_label=_("导入 Excel"),
        )
    )
    return cards


def _hhmm(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _import_url() -> str:
    from django.urls import NoReverseMatch

    try:
        return reverse("portal:roster_import")
    except NoReverseMatch:
        return reverse("portal:roster")


def _district_admin_cards(request, scope) -> list[HomeCard]:
    counted = selectors.organisation_counts(request.user)
    c = counted.value
    role = Role.DISTRICT_ADMIN
    districts = "、".join(u.name for u in scope.units.get(Role.DISTRICT_ADMIN, ()))
    return [
        HomeCard(
            role=role,
            title=_("辖区学校"),
            count=c["schools"],
            order=10,
            text=_("%(d)s：在职教师 %(n)d 人（统计于 %(time)s）。")
            % {"d": districts, "n": c["teachers"], "time": _hhmm(counted.at)},
            url=reverse("portal:unit_tree"),
            link_label=_("查看各校名册人数"),
            level="primary",
        ),
        HomeCard(
            role=role,
            title=_("名册为空的学校"),
            count=c["empty_schools"],
            order=20,
            text=_("请督促这些学校导入教师名册。") if c["empty_schools"] else _("各校均已建立名册。"),
            url=reverse("portal:unit_tree") if c["empty_schools"] else "",
            level="warning" if c["empty_schools"] else "success",
        ),
    ]


def _city_admin_cards(request, scope) -> list[HomeCard]:
    counted = selectors.organisation_counts(request.user)
    c = counted.value
    role = Role.CITY_ADMIN
    return [
        HomeCard(
            role=role,
            title=_("全市概况"),
            order=10,
            level="primary",
            text=_("区（县）%(d)d 个，学校 %(s)d 所，在职教师 %(n)d 人（统计于 %(time)s）。")
            % {"d": c["districts"], "s": c["schools"], "n": c["teachers"], "time": _hhmm(counted.at)},
            url=reverse("portal:unit_tree"),
            link_label=_("查看单位与名册"),
        ),
        HomeCard(
            role=role,
            title=_("名册为空的学校"),
            count=c["empty_schools"],
            order=20,
            url=reverse("portal:unit_tree") if c["empty_schools"] else "",
            level="warning" if c["empty_schools"] else "success",
        ),
    ]


def _teacher_card(teacher) -> HomeCard:
    text = _("%(unit)s · %(stage)s %(subject)s · 状态：%(status)s") % {
        "unit": teacher.unit.name,
        "stage": teacher.stage.name if teacher.stage else "",
        "subject": teacher.subject,
        "status": teacher.get_status_display(),
    }
    level = "success" if teacher.status == TeacherStatus.ACTIVE else "secondary"
    return HomeCard(
        role=Role.TEACHER,
        title=_("我的档案"),
        text=text,
        order=5,
        level=level,
        url=reverse("portal:teacher_detail", args=[teacher.pk]),
        link_label=_("查看档案"),
    )


def help_cards(request, scope, now) -> list[HomeCard]:
    """A teacher's Q&A contacts; the operator's platform to-dos."""
    cards: list[HomeCard] = []
    if scope.teacher is not None:
        contacts = selectors.contacts_for(scope)
        text = "；".join(f"{c.name} {c.phone}（{c.duty}）" for c in contacts[:3])
        cards.append(
            HomeCard(
                role=Role.TEACHER,
                title=_("咨询联系人"),
                text=text or _("本区尚未公布咨询联系人，请先联系学校继续教育管理员。"),
                url=reverse("portal:help"),
                link_label=_("咨询与帮助"),
                order=90,
            )
        )
    if scope.is_operator:
        cities = list(selectors.cities_for_operator())
        without = [c.name for c in cities if not c.n_admins]
        cards.append(
            HomeCard(
                role=Role.OPERATOR,
                title=_("城市"),
                count=len(cities),
                text=_("尚未指定市级管理员：%(names)s") % {"names": "、".join(without)}
                if without
                else _("每个城市都有市级管理员。"),
                url=reverse("portal:operator_cities"),
                link_label=_("管理城市"),
                level="warning" if without else "primary",
                order=10,
            )
        )
    return cards

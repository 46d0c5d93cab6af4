from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _provider_ids_of(user_id: int) -> tuple[int, ...]:
    """The providers the user works for: every request's scope asks, so as SQL (``portal.lookups.quoted``)."""
    from django.db import connection

    from courses.models import ProviderStaff
    from portal.lookups import quoted

    table, provider, user = quoted(ProviderStaff, "provider", "user")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {provider} FROM {table} WHERE {user} = %s", [user_id])  # noqa: S608 - names from the model
        return tuple(row[0] for row in cursor.fetchall())


def _provider_staff_reached(scope):
    """The staff of the providers serving a city admin's cities (she manages them in the admin)."""
    from courses.models import ProviderStaff
    from portal.models import Role

    return ProviderStaff.objects.filter(scope.unit_q("provider__cities", roles=(Role.CITY_ADMIN,))).values("user_id")


def _provider_staff():
    from courses.models import ProviderStaff

    for staff in ProviderStaff.objects.select_related("user", "provider").order_by("provider__code"):
        yield staff.provider.name, staff.user


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = _("培训周期与课程")

    def ready(self) -> None:
        from credits.declaration_services import register_duplicate_check
        from portal.models import ADMIN_ROLES, Role
        from portal.registry import (
            Job,
            Membership,
            NavItem,
            SetupLink,
            register_cards,
            register_demo,
            register_job,
            register_membership,
            register_nav,
            register_notification_kind,
            register_setup,
        )

        from . import attendance_cards, demo, demo_attendance, demo_maoming, home_cards, services
        from .attendance_services import KIND_LEAVE, KIND_NO_SHOW
        from .declaration_checks import course_duplicates
        from .reminders import KIND_AGREEMENT_REMINDER, KIND_ROSTER_REMINDER, KIND_SELECTION_REMINDER
        from .sessions import course_session_kind, register_session_kind

        register_membership(
            Membership(
                Role.PROVIDER,
                ids_of=_provider_ids_of,
                holders=_provider_staff,
                users_reached=_provider_staff_reached,
            )
        )
        register_nav(
            NavItem(_("课程超市"), "courses:catalogue", (Role.TEACHER,), order=20),
            NavItem(_("课程管理"), "courses:manage_list", (Role.CITY_ADMIN, Role.PROVIDER), order=40),
            NavItem(_("选课统计"), "courses:fill_rates", (Role.CITY_ADMIN,), order=45),
            NavItem(_("学校选课进度"), "courses:school_progress", (Role.DISTRICT_ADMIN,), order=46),
            NavItem(_("选课提醒"), "courses:nudge", ADMIN_ROLES, order=47),
            NavItem(_("考勤"), "courses:attendance_sessions", (Role.CITY_ADMIN, Role.PROVIDER), order=48),
            NavItem(_("我的课次"), "courses:my_sessions", (Role.TEACHER,), order=25),
            NavItem(_("请假审批"), "courses:leave_list", (Role.SCHOOL_ADMIN,), order=48),
            NavItem(_("无故未参训"), "courses:no_shows", ADMIN_ROLES, order=49),
            NavItem(_("课程方案"), "courses:offer_list", (Role.PROVIDER,), order=41),
            NavItem(_("合作学校"), "courses:provider_schools", (Role.PROVIDER,), order=42),
            NavItem(_("培训费用"), "courses:statements", (*ADMIN_ROLES, Role.PROVIDER), order=48),
        )
        register_setup(
            SetupLink(
                _("培训周期"),
                "courses:period_list",
                (Role.CITY_ADMIN,),
                _("选课与补选时间、补选退课规则、培训日期、收费上限和学时规则；预览教师看到的年度安排。"),
                20,
            ),
            SetupLink(
                _("施教机构"),
                "courses:provider_list",
                (Role.CITY_ADMIN,),
                _("为本市服务的施教机构及其工作人员，以及各机构的课程。"),
                50,
            ),
        )
        register_cards(home_cards.selection_cards)
        register_cards(attendance_cards.attendance_cards)
        register_session_kind(course_session_kind())
        register_duplicate_check(course_duplicates)
        register_notification_kind(KIND_NO_SHOW, _("无故未参训"), 53)
        register_notification_kind(KIND_LEAVE, _("请假申请与审批"), 54)
        register_cards(home_cards.partnership_cards)
        for code, label, order in (
            (services.KIND_OFFER_SUBMITTED, _("待立项的课程方案"), 53),
            (services.KIND_OFFER_DECIDED, _("课程方案立项结果"), 54),
            (services.KIND_AGREEMENT_CHOSEN, _("学校选择了本机构"), 55),
            (services.KIND_AGREEMENT_UPLOADED, _("待备案的学校协议"), 56),
            (services.KIND_AGREEMENT_DECIDED, _("协议备案结果"), 57),
            (KIND_AGREEMENT_REMINDER, _("协议备案提醒"), 58),
            (services.KIND_PARTICIPANTS_SENT, _("学校发送的学员信息采集表"), 59),
            (services.KIND_LATE_REGISTRATION, _("逾期登记学时许可"), 60),
            (services.KIND_OUTCOMES_UPLOADED, _("优秀研修成果汇编"), 61),
        ):
            register_notification_kind(code, label, order)
        register_notification_kind(KIND_SELECTION_REMINDER, _("选课截止提醒"), 20)
        register_notification_kind(KIND_ROSTER_REMINDER, _("名册核对提醒"), 40)
        register_notification_kind("course_waitlist_promoted", _("候补转正（已为您选上课程）"), 50)
        register_notification_kind("course_waitlist_released", _("候补取消"), 51)
        register_notification_kind("course_plan_reminder", _("选课计划提醒"), 52)
        # Task names as strings (module.function): see EnrollmentConfig.ready.
        register_job(
            Job(
                name="候补名单释放",
                task="courses.tasks.waitlists_release_closed",
                crontab=("*/10", "*"),
                description=_("每10分钟：选课（含补选）结束后，释放仍在候补的名额登记并通知教师。"),
            )
        )
        register_job(
            Job(
                name="选课截止提醒",
                task="courses.tasks.selection_reminders",
                crontab=("0", "8"),
                description=_("每天8:00：选课截止前3天提醒已选课程学时不足的教师。每人每次只发一次。"),
            )
        )
        register_job(
            Job(
                name="名册核对提醒",
                task="courses.tasks.roster_reminders",
                crontab=("0", "8"),
                description=_("每天8:00：培训周期开始选课前两周内，提醒名册信息不完整的学校管理员。每校每期一次。"),
            )
        )
        register_job(
            Job(
                name="协议备案提醒",
                task="courses.tasks.agreement_reminders",
                crontab=("30", "8"),
                description=_(
                    "每天8:30：协议备案截止前7天和截止后，提醒尚未备案的学校；截止后通知区县未备案学校数。每校每次一次。"
                ),
            )
        )
        register_demo(demo.load, order=20)
        register_demo(demo_attendance.load, order=22)
        register_demo(demo_maoming.load, order=25)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("专项培训报名与审核")

    def ready(self) -> None:
        from courses.sessions import register_session_kind
        from portal.models import ADMIN_ROLES, Role
        from portal.registry import (
            Job,
            NavItem,
            register_cards,
            register_demo,
            register_job,
            register_nav,
            register_notification_kind,
        )

        from . import demo, demo_sessions, home_cards
        from .reminders import KIND_APPROVAL_REMINDER
        from .sessions import programme_session_kind

        register_nav(
            NavItem(_("专项培训"), "enrollment:programme_list", (Role.TEACHER, *ADMIN_ROLES), order=40),
            NavItem(_("报名审核"), "enrollment:review", ADMIN_ROLES, order=41),
            NavItem(_("我的专项培训"), "enrollment:my_applications", (Role.TEACHER,), order=42),
        )
        register_cards(home_cards.enrollment_cards)
        register_notification_kind(KIND_APPROVAL_REMINDER, _("审核截止提醒"), 10)
        register_notification_kind("enrollment.submitted", _("专项培训：新报名待审核"), 60)
        register_notification_kind("enrollment.decided", _("专项培训：审核结果"), 61)
        register_notification_kind("enrollment.withdrawn", _("专项培训：报名已撤回"), 62)
        register_notification_kind("enrollment.expired", _("专项培训：报名逾期失效"), 63)
        # Task names as strings: importing the task module here would turn a broken one into a
        # crash at start-up instead of the system check's error (portal.checks).
        register_job(
            Job(
                name="过期申请清理",
                task="enrollment.tasks.applications_expire_overdue",
                crontab=("*/10", "*"),
                description=_("每10分钟：将已过本级审核截止时间仍待审核的申请标记为已过期，并通知教师。"),
            )
        )
        register_job(
            Job(
                name="审核截止提醒",
                task="enrollment.tasks.approval_reminders",
                crontab=("0", "8"),
                description=_("每天8:00：审核截止前2天和1天提醒仍有待审核申请的审核人。每人每次只发一次。"),
            )
        )
        register_demo(demo.load, order=30)
        register_demo(demo_sessions.load, order=35)
        register_session_kind(programme_session_kind())

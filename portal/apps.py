from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("组织与人员")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from portal import bootstrap, checks, converters, demo_accounts, demo_setup, home_cards, schedules
        from portal.account import session_login_remember
        from portal.models import ADMIN_ROLES, Role
        from portal.notifications import EMAIL_PENDING_TASK
        from portal.registry import (
            ExportKind,
            Job,
            NavItem,
            SetupLink,
            register_cards,
            register_demo,
            register_export,
            register_job,
            register_nav,
            register_notification_kind,
            register_setup,
        )
        from portal.roster_export import roster_export_spec
        from portal.services import KIND_ANNOUNCEMENT

        checks.register()
        converters.register()  # <id:pk> in every app's URLs
        schedules.connect()
        bootstrap.connect()
        register_nav(
            NavItem(label=_("教师名册"), url_name="portal:roster", roles=ADMIN_ROLES, order=10),
            NavItem(
                label=_("单位与名册"),
                url_name="portal:unit_tree",
                roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN),
                order=11,
            ),
            NavItem(
                label=_("名册冲突"),
                url_name="portal:roster_conflicts",
                roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN),
                order=12,
            ),
            NavItem(label=_("我的档案"), url_name="portal:my_record", roles=(Role.TEACHER,), order=12),
            NavItem(label=_("我的导出"), url_name="inbox:exports", roles=ADMIN_ROLES, order=90),
            NavItem(_("年度设置"), "portal:setup", (Role.CITY_ADMIN, Role.DISTRICT_ADMIN), order=80),
            NavItem(_("咨询与帮助"), "portal:help", (Role.TEACHER,), order=95),
            NavItem(_("城市"), "portal:operator_cities", (Role.OPERATOR,), order=10),
            NavItem(_("学段"), "portal:operator_stages", (Role.OPERATOR,), order=20),
            NavItem(_("后台任务"), "portal:operator_schedules", (Role.OPERATOR,), order=30),
            NavItem(
                label=_("身份证号查看记录"),
                url_name="portal:personal_data_log",
                roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN),
                order=91,
            ),
        )
        publishers = (Role.CITY_ADMIN, Role.DISTRICT_ADMIN)
        register_setup(
            SetupLink(_("单位与管理员"), "portal:unit_tree", publishers, _("新增区县和学校，指定各级管理员。"), 10),
            SetupLink(
                _("咨询联系人"), "portal:contacts", publishers, _("各区（县）的咨询联系人，显示给本区教师。"), 80
            ),
            SetupLink(
                _("通知公告"),
                "portal:announcements",
                publishers,
                _("选课通知、开班通知等：到发布时间显示在首页并发送站内消息。"),
                90,
            ),
        )
        register_cards(home_cards.roster_cards)
        register_cards(home_cards.help_cards)
        register_notification_kind(KIND_ANNOUNCEMENT, _("通知公告"), 5)
        register_demo(demo_setup.load, order=50)
        register_export(ExportKind("roster", _("教师花名册"), ADMIN_ROLES, roster_export_spec))
        register_job(
            Job(
                name="补发未送达的通知邮件",
                task=EMAIL_PENDING_TASK,
                crontab=("5-59/10", "*"),
                description=_("每10分钟：补发近两天内用户选择了邮件提醒、但尚未发出的通知邮件（每封只发一次）。"),
            )
        )
        register_job(
            Job(
                name="发布通知公告",
                task="portal.tasks.announcements_send",
                crontab=("*/5", "*"),
                description=_("每5分钟：到发布时间的通知公告发送到相关人员的站内消息（每人每条只发一次）。"),
            )
        )
        register_job(
            Job(
                name="删除过期的导出文件",
                task="portal.tasks.exports_expire",
                crontab=("15", "3"),
                description=_(
                    "每天3:15：删除生成已超过保留天数（EXPORT_KEEP_DAYS，默认7天）的导出文件，文件含个人信息。"
                ),
            )
        )
        register_job(
            Job(
                name="删除过期的登录记录",
                task="portal.tasks.login_records_purge",
                crontab=("30", "3"),
                description=_("每天3:30：删除超过保留天数（LOGIN_RECORDS_KEEP_DAYS，默认30天）的登录尝试与登录记录。"),
            )
        )
        user_logged_in.connect(session_login_remember, dispatch_uid="portal-login-at")
        register_demo(demo_accounts.load, order=5)

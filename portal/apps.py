from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("组织与人员")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from portal import checks, converters, demo_accounts, home_cards, schedules
        from portal.account import session_login_remember
        from portal.models import ADMIN_ROLES, Role
        from portal.notifications import EMAIL_PENDING_TASK
        from portal.registry import (
            ExportKind,
            Job,
            NavItem,
            register_cards,
            register_demo,
            register_export,
            register_job,
            register_nav,
        )
        from portal.roster_export import roster_export_spec

        checks.register()
        converters.register()  # <id:pk> in every app's URLs
        schedules.connect()
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
            NavItem(
                label=_("身份证号查看记录"),
                url_name="portal:personal_data_log",
                roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN),
                order=91,
            ),
        )
        register_cards(home_cards.roster_cards)
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

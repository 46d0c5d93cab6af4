from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("组织与人员")

    def ready(self) -> None:
        from portal import checks, converters, home_cards, schedules
        from portal.models import ADMIN_ROLES, Role
        from portal.notifications import EMAIL_PENDING_TASK
        from portal.registry import (
            ExportKind,
            Job,
            NavItem,
            register_cards,
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
            NavItem(label=_("我的档案"), url_name="portal:my_record", roles=(Role.TEACHER,), order=12),
            NavItem(label=_("我的导出"), url_name="inbox:exports", roles=ADMIN_ROLES, order=90),
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

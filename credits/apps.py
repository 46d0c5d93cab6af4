from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _names_changed(**kwargs) -> None:
    from credits.rule_engine import names_cache_clear

    names_cache_clear()


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = _("学时与达标")

    def ready(self) -> None:
        from portal.models import ADMIN_ROLES, Role
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

        from . import declaration_cards, demo, demo_declarations, home_cards
        from .declaration_services import (
            KIND_DECLARATION_DECIDED,
            KIND_DECLARATION_REMINDER,
            KIND_DECLARATION_SUBMITTED,
            KIND_SPOT_CHECK,
        )
        from .exports import compliance_export_spec
        from .models import CreditKind, Topic
        from .reminders import KIND_HOURS_REMINDER
        from .school_training_services import KIND_SCHOOL_TRAINING

        for model in (CreditKind, Topic):
            post_save.connect(_names_changed, sender=model, dispatch_uid=f"credits-names-{model.__name__}-save")
            post_delete.connect(_names_changed, sender=model, dispatch_uid=f"credits-names-{model.__name__}-delete")
        register_nav(
            NavItem(_("我的学时"), "credits:mine", (Role.TEACHER,), order=40),
            NavItem(_("学时达标"), "credits:dashboard", ADMIN_ROLES, order=60),
            NavItem(_("考核结果导入"), "courses:results_import", (Role.PROVIDER,), order=60),
            NavItem(_("学时申报"), "credits:declarations", (Role.TEACHER,), order=41),
            NavItem(_("学时认定"), "credits:declaration_review", (Role.SCHOOL_ADMIN,), order=61),
            NavItem(_("申报与抽查"), "credits:declaration_overview", (Role.DISTRICT_ADMIN, Role.CITY_ADMIN), order=61),
            NavItem(_("校本研修"), "credits:school_training", ADMIN_ROLES, order=62),
            NavItem(_("专题与学时类型"), "credits:catalogue_settings", (Role.OPERATOR,), order=25),
        )
        register_setup(
            SetupLink(
                _("学时规则"),
                "credits:rule_list",
                (Role.CITY_ADMIN,),
                _("逐项选择学时要求，看到教师读到的规则说明和上一年度的达标人数。"),
                30,
            )
        )
        register_cards(home_cards.credit_cards)
        register_cards(declaration_cards.declaration_cards)
        register_notification_kind(KIND_DECLARATION_SUBMITTED, _("学时申报：新申报待认定"), 64)
        register_notification_kind(KIND_DECLARATION_DECIDED, _("学时申报：认定结果"), 65)
        register_notification_kind(KIND_DECLARATION_REMINDER, _("学时认定截止提醒"), 66)
        register_notification_kind(KIND_SCHOOL_TRAINING, _("校本研修学时记入"), 67)
        register_notification_kind(KIND_SPOT_CHECK, _("学时申报：区级抽查"), 68)
        register_notification_kind(KIND_HOURS_REMINDER, _("学时不足提醒"), 30)
        register_export(ExportKind("compliance", _("学时达标名单"), ADMIN_ROLES, compliance_export_spec))
        # Task names as strings (module.function): see EnrollmentConfig.ready.
        register_job(
            Job(
                name=home_cards.SNAPSHOT_JOB,
                task="credits.tasks.compliance_snapshot_nightly",
                crontab=("30", "1"),
                description=_("每天1:30：按单位记录当年学时达标率，供趋势图使用。"),
            )
        )
        register_job(
            Job(
                name="学时不足提醒",
                task="credits.tasks.hours_reminders",
                crontab=("0", "8"),
                description=_("每天8:00：在城市设定的提醒日期，提醒当年学时尚未达标的教师。每人每次只发一次。"),
            )
        )
        register_job(
            Job(
                name="学时认定截止提醒",
                task="credits.tasks.declaration_reminders",
                crontab=("0", "8"),
                description=_(
                    "每天8:00：在城市设定的认定截止日前几天，提醒仍有待认定学时申报的学校管理员。每校每次只发一次。"
                ),
            )
        )
        register_demo(demo.load, order=10)
        register_demo(demo_declarations.load, order=25)

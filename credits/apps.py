from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


def _names_changed(**kwargs) -> None:
    from credits.rules import names_cache_clear

    names_cache_clear()


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = _("学时与达标")

    def ready(self) -> None:
        from credits.models import CreditKind, Topic
        from portal.models import ADMIN_ROLES, Role
        from portal.registry import NavItem, register_cards, register_nav

        for model in (CreditKind, Topic):
            post_save.connect(_names_changed, sender=model, dispatch_uid=f"credits-names-{model.__name__}-save")
            post_delete.connect(_names_changed, sender=model, dispatch_uid=f"credits-names-{model.__name__}-delete")
        register_nav(
            NavItem(_("我的学时"), "credits:mine", (Role.TEACHER,), order=40),
            NavItem(_("学时达标"), "credits:dashboard", tuple(ADMIN_ROLES), order=60),
            NavItem(_("考核结果导入"), "credits:results_import", (Role.PROVIDER,), order=60),
        )
        from credits import permissions  # noqa: F401 - registers the admin permissions
        from credits.cards import credit_cards

        register_cards(credit_cards)

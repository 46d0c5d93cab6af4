from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("组织与人员")

    def ready(self) -> None:
        from portal import home_cards  # noqa: F401 - registers the portal's home cards
        from portal.models import ADMIN_ROLES, Role
        from portal.registry import NavItem, register_nav

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

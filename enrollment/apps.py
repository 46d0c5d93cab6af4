from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("专项培训报名与审核")

    def ready(self) -> None:
        from enrollment import home_cards
        from portal.notifications import register_kind

        home_cards.register()
        register_kind("enrollment.submitted", _("专项培训：新报名待审核"), 60)
        register_kind("enrollment.decided", _("专项培训：审核结果"), 61)
        register_kind("enrollment.withdrawn", _("专项培训：报名已撤回"), 62)
        register_kind("enrollment.expired", _("专项培训：报名逾期失效"), 63)

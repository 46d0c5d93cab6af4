from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("专项培训报名与审核")

    def ready(self) -> None:
        from enrollment import home_cards

        home_cards.register()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = _("培训周期与课程")

    def ready(self) -> None:
        from courses import home_cards

        home_cards.register()

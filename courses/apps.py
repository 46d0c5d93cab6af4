from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = _("培训周期与课程")

    def ready(self) -> None:
        from courses import home_cards
        from portal.notifications import register_kind

        home_cards.register()
        register_kind("course_waitlist_promoted", _("候补转正（已为您选上课程）"), 50)
        register_kind("course_waitlist_released", _("候补取消"), 51)
        register_kind("course_plan_reminder", _("选课计划提醒"), 52)

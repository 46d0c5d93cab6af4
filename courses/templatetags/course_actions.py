"""``{% course_actions course %}``: a course's seats and the teacher's button (选课, 退选, 候补), in Python.

The catalogue shows twenty of these a page, each a form with its CSRF token and return address; as template
nodes they cost a fifth of the page, as ``format_html`` a fiftieth (Django's admin writes its change list's
rows the same way). Used by the catalogue, the course page and the htmx answer to a button
(courses/_partials.html#course-actions). The context gives ``can_select``, ``can_drop``, ``phase``,
``next_url`` (else the request's path) and the course's ``my_selection`` / ``my_waiting``.
"""

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from portal.html import quick_html
from portal.templatetags.rows import id_url

register = template.Library()

_FORM = (
    '<form method="post" action="{action}" hx-post="{action}" hx-target="#course-{pk}-actions" hx-swap="outerHTML">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="next" value="{next}">'
    '<button class="btn btn-sm {style}">{label}</button></form>'
)


@register.simple_tag(takes_context=True)
def course_actions(context, course) -> SafeString:
    def form(url_name: str, style: str, label: str) -> SafeString:
        return quick_html(
            _FORM,
            action=id_url(url_name, course.pk),
            pk=course.pk,
            csrf=context.get("csrf_token", ""),
            next=context.get("next_url") or context["request"].get_full_path(),
            style=style,
            label=label,
        )

    if course.capacity is None:
        seats = _("名额不限")
    else:
        seats = _("已选 %(n)s/%(cap)s") % {"n": course.enrolled_count, "cap": course.capacity}
    selection, waiting = getattr(course, "my_selection", None), getattr(course, "my_waiting", None)
    if selection and selection.status == "completed":
        action = quick_html(
            '<span class="badge text-bg-success"><i class="bi bi-check2-all" aria-hidden="true"></i> {}</span>',
            _("已完成"),
        )
    elif selection:
        action = quick_html(
            '<span class="badge text-bg-primary"><i class="bi bi-check2" aria-hidden="true"></i> {}</span>{}',
            _("已选"),
            form("courses:course_drop", "btn-outline-danger", _("退选")) if context.get("can_drop") else "",
        )
    elif waiting:
        action = quick_html(
            '<span class="badge text-bg-warning">{}</span>{}',
            _("候补中"),
            form("courses:waitlist_leave", "btn-outline-secondary", _("退出候补")),
        )
    elif context.get("can_select"):
        if course.is_full:
            action = form("courses:course_select", "btn-outline-warning", _("名额已满，加入候补"))
        else:
            action = form("courses:course_select", "btn-primary", _("选课"))
    else:
        phase = context.get("phase")
        action = quick_html('<span class="small text-muted">{}</span>', phase.label if phase else "")
    return quick_html(
        '<div id="course-{}-actions" class="course-actions d-flex flex-wrap align-items-center gap-2">'
        '<span class="small text-muted">{}</span>{}</div>',
        course.pk,
        seats,
        action,
    )

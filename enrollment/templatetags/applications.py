"""``{% state_badge state level %}``: an application's state as a badge (待学校审核, 已审定, 区级审核未通过, ...).

``{% review_rows page group_by_school %}``: the review queue's rows, written in Python as the roster's are
(portal.templatetags.rows): fifty rows of nine cells and a badge each cost most of the page as template nodes.
"""

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from enrollment.models import state_text
from portal.templatetags.rows import choice_label, id_url

register = template.Library()


_BADGE = {
    "submitted": "text-bg-warning",
    "approved": "text-bg-warning",
    "finalized": "text-bg-success",
    "rejected": "text-bg-danger",
    "expired": "text-bg-secondary",
}


@register.simple_tag
def state_badge(state: str, level) -> SafeString:
    return format_html('<span class="badge {}">{}</span>', _BADGE.get(state, "text-bg-light"), state_text(state, level))


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%m-%d %H:%M")


@register.simple_tag
def review_rows(page, group_by_school: bool) -> SafeString:
    """The ``<tr>``s of ``page``'s applications (``selectors.list_rows``), under a heading per school if asked."""
    rows, school = [], None
    for a in page:
        if group_by_school and a.school_id != school:
            school = a.school_id
            rows.append(
                format_html(
                    '<tr class="table-secondary"><th colspan="9" scope="rowgroup">{} · {}</th></tr>',
                    a.district.name,
                    a.school.name,
                )
            )
        teacher = a.teacher
        rows.append(
            format_html(
                "<tr>"
                '<td><input type="checkbox" class="form-check-input" name="ids" value="{}" aria-label="{}"></td>'
                '<td><a class="text-name" href="{}">{}</a></td>'
                '<td class="font-monospace">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
                "</tr>",
                a.pk,
                teacher.name,
                id_url("enrollment:application_detail", a.pk),
                teacher.name,
                teacher.masked_id_number,
                a.school.name,
                teacher.stage.name if teacher.stage else "",
                choice_label(teacher, "position"),
                _when(a.submitted_at),
                state_badge(a.effective_state, a.level),
                _when(a.deadline),
            )
        )
    return format_html_join("\n", "{}", ((row,) for row in rows))

"""``{% state_badge state level %}``: an application's state as a badge (待学校审核, 已审定, 区级审核未通过, ...).

``{% review_rows page group_by_school now levels %}``: the review queue's rows, written in Python as the roster's are
(portal.templatetags.rows): fifty rows of nine cells and a badge each cost most of the page as template nodes.
"""

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from enrollment.models import effective_state, state_text
from portal import idcard
from portal.html import quick_html, quick_html_join
from portal.templatetags.rows import choice_labels, id_urls

register = template.Library()


_BADGE = {
    "submitted": "text-bg-warning",
    "approved": "text-bg-warning",
    "finalized": "text-bg-success",
    "rejected": "text-bg-danger",
    "expired": "text-bg-secondary",
}


@register.simple_tag
def programme_options(programmes, chosen) -> SafeString:
    """The programme select's ``<option>``s: title (period), the chosen one selected."""
    return quick_html_join(
        "",
        '<option value="{}"{}>{}（{}）</option>',
        ((p.pk, " selected" if p.pk == chosen.pk else "", p.title, p.period.name) for p in programmes),
    )


@register.simple_tag
def state_badge(state: str, level) -> SafeString:
    return quick_html('<span class="badge {}">{}</span>', _BADGE.get(state, "text-bg-light"), state_text(state, level))


_ROW = (
    "<tr>"
    '<td><input type="checkbox" class="form-check-input" name="ids" value="{}" aria-label="{}"></td>'
    '<td><a class="text-name" href="{}">{}</a></td>'
    '<td class="font-monospace">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
    "</tr>"
)


@register.simple_tag
def review_rows(page, group_by_school: bool, now, levels) -> SafeString:
    """The ``<tr>``s of ``page``'s rows (``selectors.review_list``) of a programme whose ``levels`` are given,
    under a heading per school if asked.

    What repeats from row to row is worked out once a call: the badge of each (state, level), the time zone,
    the detail URL's pattern and the positions' labels.
    """
    from portal.models import Teacher  # the models are ready once a template renders

    zone = timezone.get_current_timezone()
    detail = id_urls("enrollment:application_detail")
    positions = choice_labels(Teacher, "position")
    level_of = {level.pk: level for level in levels}
    badges: dict = {}

    def when(moment) -> str:
        return moment.astimezone(zone).strftime("%m-%d %H:%M")

    def badge(row) -> SafeString:
        key = (effective_state(row.state, row.deadline, now), row.level_id)
        if key not in badges:
            badges[key] = state_badge(key[0], level_of[row.level_id])
        return badges[key]

    rows, school = [], None
    for row in page:
        if group_by_school and row.school_id != school:
            school = row.school_id
            rows.append(
                quick_html(
                    '<tr class="table-secondary"><th colspan="9" scope="rowgroup">{} · {}</th></tr>',
                    row.district__name,
                    row.school__name,
                )
            )
        position = row.teacher__position
        rows.append(
            quick_html(
                _ROW,
                row.pk,
                row.teacher__name,
                detail(row.pk),
                row.teacher__name,
                idcard.mask(row.teacher__id_number),
                row.school__name,
                row.teacher__stage__name or "",
                positions.get(position, position or ""),
                when(row.submitted_at),
                badge(row),
                when(row.deadline),
            )
        )
    return SafeString("\n".join(rows))

"""Tags for the rows of long lists, where a tag runs fifty times a page.

``{{ teacher|choice_label:"gender" }}`` is ``get_gender_display()``: Django's rebuilds the field's choices and
translates every label of them on each call (a fifth of the roster page); here the labels are translated once per
language and looked up.

``{% id_url "portal:teacher_detail" teacher.pk %}`` is ``{% url "portal:teacher_detail" teacher.pk %}`` for a URL
whose only argument is an ``<id:pk>``: the URL is reversed once per name and the id put in its place (reversing
cost more than the rest of a row).

``{% nav_links nav_items %}`` writes the menu of every page (its links reversed once per name).

``{% roster_rows page many_units %}`` writes the roster's rows in Python, as Django's admin writes its change
list's (``items_for_result``): fifty rows of eleven cells cost a third of the page as template nodes and a
twentieth as ``format_html``. The markup is the one the template had; the labels are translated once a page.
"""

import functools

from django import template
from django.conf import settings
from django.db.models import Model
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from portal.converters import MAX_ID
from portal.html import quick_html, quick_html_join

register = template.Library()

_MARKER = str(MAX_ID)  # a valid id no row has, and no URL contains otherwise


@functools.cache
def _labels(model: type[Model], field_name: str, language: str | None) -> dict:
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


@register.filter
def choice_label(obj: Model, field_name: str) -> str:
    value = getattr(obj, field_name)
    return _labels(type(obj), field_name, get_language()).get(value, "" if value is None else str(value))


@functools.cache
def _reversed(name: str, urlconf: str, prefix: str) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag(takes_context=True)
def nav_links(context, items) -> SafeString:
    """The menu's ``<li>``s, the current page's link marked active."""
    urlconf, prefix = get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()
    match = getattr(context.get("request"), "resolver_match", None)
    current = match.view_name if match else None
    return quick_html_join(
        "\n",
        '<li class="nav-item"><a class="nav-link{}" href="{}">{}</a></li>',
        (
            (" active" if item.url_name == current else "", _reversed(item.url_name, urlconf, prefix), item.label)
            for item in items
        ),
    )


@functools.cache
def _id_pattern(name: str, urlconf: str, prefix: str) -> str:
    return reverse(name, urlconf=urlconf, args=[_MARKER])


@register.simple_tag
def id_url(name: str, pk: int) -> str:
    return id_urls(name)(pk)


def id_urls(name: str):
    """``id_url`` of ``name`` as a function of the id, the URL looked up once (for a loop over rows)."""
    url = _id_pattern(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return lambda pk: url.replace(_MARKER, str(int(pk)))


def choice_labels(model: type[Model], field_name: str) -> dict:
    """The labels ``choice_label`` looks up, by value, in the current language (for a loop over rows)."""
    return _labels(model, field_name, get_language())


_STATUS_BADGE = {"active": "text-bg-success", "retired": "text-bg-secondary"}
_ROSTER_LABELS = {
    "name": gettext_noop("姓名"),
    "id": gettext_noop("身份证号"),
    "gender": gettext_noop("性别"),
    "unit": gettext_noop("学校"),
    "stage": gettext_noop("学段"),
    "subject": gettext_noop("任教学科"),
    "position": gettext_noop("职务"),
    "mobile": gettext_noop("手机号码"),
    "status": gettext_noop("状态"),
    "account": gettext_noop("账号"),
}
_ROSTER_ROW = (
    "<tr>"
    '<td><input type="checkbox" class="form-check-input" name="ids" value="{pk}" aria-label="{name}"></td>'
    '<td data-label="[name]"><a class="text-name" href="{url}">{name}</a></td>'
    '<td class="font-monospace" data-label="[id]">{id}</td>'
    '<td data-label="[gender]">{gender}</td>{unit}'
    '<td data-label="[stage]">{stage}</td>'
    '<td data-label="[subject]">{subject}</td>'
    '<td data-label="[position]">{position}</td>'
    '<td data-label="[mobile]">{mobile}</td>'
    '<td data-label="[status]"><span class="badge {badge}">{status}</span>{dated}</td>'
    '<td data-label="[account]">{account}</td>'
    "</tr>"
)


@functools.cache
def _roster_row(language: str | None) -> str:
    """The row's format string with its labels in ``language`` (escaped, and their braces doubled)."""
    row = _ROSTER_ROW
    for key, label in _ROSTER_LABELS.items():
        row = row.replace(f"[{key}]", escape(_(label)).replace("{", "{{").replace("}", "}}"))
    return row


@register.simple_tag
def roster_rows(page, many_units: bool) -> SafeString:
    """The roster's ``<tr>``s for the teachers of ``page`` (their ``unit`` and ``stage`` selected with them)."""
    from portal.models import Teacher  # the models are ready once a template renders

    language = get_language()
    row = _roster_row(language)
    missing = quick_html('<span class="text-danger small">{}</span>', _("缺"))
    opened = quick_html(
        '<i class="bi bi-person-check text-success" title="{0}" aria-hidden="true"></i>'
        '<span class="visually-hidden">{0}</span>',
        _("已开通"),
    )
    set_password, unit_label = _("设置密码"), _("学校")
    detail, password = id_urls("portal:teacher_detail"), id_urls("portal:teacher_password")
    gender, position, status = (choice_labels(Teacher, f) for f in ("gender", "position", "status"))

    def cells(t) -> SafeString:
        pk = str(int(t.pk))
        return quick_html(
            row,
            pk=pk,
            name=t.name,
            url=detail(pk),
            id=t.masked_id_number,
            gender=gender.get(t.gender, t.gender or ""),
            unit=quick_html('<td data-label="{}">{}</td>', unit_label, t.unit.name) if many_units else "",
            stage=t.stage.name if t.stage else missing,
            subject=t.subject,
            position=position.get(t.position, t.position or ""),
            mobile=t.mobile or missing,
            badge=_STATUS_BADGE.get(t.status, "text-bg-warning"),
            status=status.get(t.status, t.status),
            dated=quick_html(' <span class="small text-muted">{}</span>', t.status_date.strftime("%Y-%m-%d"))
            if t.status_date
            else "",
            account=opened
            if t.user_id
            else quick_html('<a class="small" href="{}">{}</a>', password(pk), set_password),
        )

    return quick_html_join("\n", "{}", ((cells(t),) for t in page))

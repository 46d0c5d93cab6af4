"""Tags for the rows of long lists, where a tag runs fifty times a page.

``{{ teacher|choice_label:"gender" }}`` is ``get_gender_display()``: Django's rebuilds the field's choices and
translates every label of them on each call (a fifth of the roster page); here the labels are translated once per
language and looked up.

``{% id_url "portal:teacher_detail" teacher.pk %}`` is ``{% url "portal:teacher_detail" teacher.pk %}`` for a URL
whose only argument is an ``<id:pk>``: the URL is reversed once per name and the id put in its place (reversing
cost more than the rest of a row).
"""

import functools

from django import template
from django.conf import settings
from django.db.models import Model
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language

from portal.converters import MAX_ID

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
def _id_pattern(name: str, urlconf: str, prefix: str) -> str:
    return reverse(name, urlconf=urlconf, args=[_MARKER])


@register.simple_tag
def id_url(name: str, pk: int) -> str:
    url = _id_pattern(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return url.replace(_MARKER, str(int(pk)))

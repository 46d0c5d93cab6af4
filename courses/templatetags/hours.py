"""``{{ value|hours }}``: 42 → "42", 10.50 → "10.5", as hours read elsewhere (credits.rule_engine.fmt_hours)."""

from django import template

from credits.rule_engine import fmt_hours

register = template.Library()


@register.filter(name="hours")
def hours(value) -> str:
    return "" if value is None or value == "" else fmt_hours(value)

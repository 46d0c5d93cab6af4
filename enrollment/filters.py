"""Filters of the review queue (django-filter)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from portal.filters import UnitFilter
from portal.forms import light_fields
from portal.models import Position, Stage
from portal.selectors import teacher_search_q

from .models import Application, ApplicationState


class ApplicationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("姓名或身份证号"),
        method="search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("姓名或身份证号")}),
    )
    state = django_filters.ChoiceFilter(
        label=_("状态"), choices=ApplicationState.choices, method="filter_state", empty_label=_("待我审核")
    )
    school = UnitFilter(label=_("单位"), queryset=None, empty_label=_("全部单位"))
    stage = django_filters.ModelChoiceFilter(
        label=_("学段"), field_name="teacher__stage", queryset=Stage.objects.all(), empty_label=_("全部学段")
    )
    position = django_filters.ChoiceFilter(
        label=_("职务"), field_name="teacher__position", choices=Position.choices, empty_label=_("全部职务")
    )

    class Meta:
        model = Application
        fields = ["q", "state", "school", "stage", "position"]

    def __init__(self, *args, schools=None, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.filters["school"].queryset = schools
        light_fields(self.form)

    def search(self, queryset, name, value):
        return queryset.filter(teacher_search_q(value, prefix="teacher__"))

    def filter_state(self, queryset, name, value):
        return queryset.in_effective_state([value], self.now) if value else queryset

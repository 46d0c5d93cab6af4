"""Search and filters of the roster page (django-filter)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

from portal.forms import light_fields
from portal.models import Stage, Teacher, TeacherStatus, Unit, User
from portal.scoping import ReachUnit
from portal.selectors import teacher_search_q, unit_filter_units


class UnitFilter(django_filters.ModelChoiceFilter):
    """A unit of the user's reach and everything under it (a district: all its schools' rows).

    The queryset (every unit in reach) checks the value; the select shows only ``offer_units``' choices
    (written by a LongSelect once the form goes through ``light_fields``).
    """

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        return qs.filter(**{f"{self.field_name}__path__startswith": value.path})


def offer_units(filterset: django_filters.FilterSet, name: str, user: User) -> list[Unit] | list[ReachUnit]:
    """Let filter ``name``'s select offer one level of the unit tree (``unit_filter_units``), indented under the
    user's own units; the units offered."""
    field = filterset.form.fields[name]
    selected = filterset.form.cleaned_data.get(name) if filterset.is_bound and filterset.is_valid() else None
    units = unit_filter_units(user, selected)
    top = min((u.path.count("/") for u in units), default=0)
    field.widget.choices = [("", field.empty_label)] + [
        (u.pk, "\u3000" * (u.path.count("/") - top) + u.name) for u in units
    ]
    return units


class OrderingFilter(django_filters.OrderingFilter):
    descending_fmt = _("%s（降序）")  # django-filter's own "(descending)" has no Chinese translation


class TeacherFilter(django_filters.FilterSet):
    PROBLEMS = [
        ("no_mobile", _("缺手机号码")),
        ("no_stage", _("缺学段")),
        ("no_subject", _("缺任教学科")),
        ("no_login", _("未开通账号")),
    ]

    q = django_filters.CharFilter(
        label=_("姓名或身份证号"),
        method="search",
        widget=forms.TextInput(attrs={"placeholder": _("姓名或身份证号"), "type": "search"}),
    )
    status = django_filters.ChoiceFilter(label=_("状态"), choices=TeacherStatus.choices, empty_label=_("全部状态"))
    stage = django_filters.ModelChoiceFilter(label=_("学段"), queryset=Stage.objects.all(), empty_label=_("全部学段"))
    subject = django_filters.CharFilter(label=_("任教学科"), method="filter_subject")
    unit = UnitFilter(label=_("单位"), queryset=None, empty_label=_("全部单位"))
    problem = django_filters.ChoiceFilter(
        label=_("待完善"), choices=PROBLEMS, method="filter_problem", empty_label=_("不限")
    )
    ordering = OrderingFilter(
        label=_("排序"),
        fields=(
            ("name", "name"),
            ("id_number", "id_number"),
            ("unit__path", "unit"),
            ("stage__order", "stage"),
            ("subject", "subject"),
            ("status", "status"),
            ("updated_at", "updated"),
        ),
        field_labels={
            "name": _("姓名"),
            "id_number": _("身份证号"),
            "unit__path": _("学校"),
            "stage__order": _("学段"),
            "subject": _("任教学科"),
            "status": _("状态"),
            "updated_at": _("更新时间"),
        },
        empty_label=_("默认排序"),
    )

    class Meta:
        model = Teacher
        fields = ["q", "status", "stage", "subject", "unit", "problem"]

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is None:
            del self.filters["unit"]
        else:
            self.filters["unit"].queryset = units
        light_fields(self.form)

    def search(self, queryset, name, value):
        return queryset.filter(teacher_search_q(value))

    def filter_subject(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(subject=value) if value else queryset

    def filter_problem(self, queryset, name, value):
        match value:
            case "no_mobile":
                return queryset.filter(mobile="", status=TeacherStatus.ACTIVE)
            case "no_stage":
                return queryset.filter(stage__isnull=True, status=TeacherStatus.ACTIVE)
            case "no_subject":
                return queryset.filter(subject="", status=TeacherStatus.ACTIVE)
            case "no_login":
                return queryset.filter(user__isnull=True, status=TeacherStatus.ACTIVE)
        return queryset

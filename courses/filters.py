"""Search and filters of the course lists (django-filter); querysets come in already scoped."""

import django_filters
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CourseMode, CourseStatus, Provider
from credits.models import Category, Topic
from portal.forms import long_selects
from portal.models import Stage, Teacher

SORTS = {
    "code": ("code",),
    "title": ("title", "code"),
    "-hours": ("-hours", "code"),
    "hours": ("hours", "code"),
    "-popular": ("-enrolled_count", "code"),
    "fee": ("fee_per_hour", "code"),
}
SORT_CHOICES = [
    ("code", _("课程代码")),
    ("title", _("课程名称")),
    ("-hours", _("学时从多到少")),
    ("hours", _("学时从少到多")),
    ("-popular", _("选课人数最多")),
    ("fee", _("收费最低")),
]


class SeatsWidget(django_filters.widgets.BooleanWidget):
    """A select of "all courses" / "only with free seats" (no "no" choice: nobody looks for full courses)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", _("全部课程")), ("true", _("只看有名额")))


class FullWidget(django_filters.widgets.BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", _("全部课程")), ("true", _("只看已满")))


CATEGORY_ORDER = Case(
    When(category="public", then=Value(0)),
    When(category="professional", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def search_courses(queryset, value: str):
    """Full-text-ish search over title, provider name, description and code (any word may match each field)."""
    for word in value.split()[:5]:
        queryset = queryset.filter(
            Q(title__icontains=word)
            | Q(provider__name__icontains=word)
            | Q(description__icontains=word)
            | Q(code__iexact=word)
        )
    return queryset


class CatalogueFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("搜索"), method="filter_q")
    category = django_filters.ChoiceFilter(label=_("科目类别"), choices=Category.choices, empty_label=_("全部类别"))
    # Plain choices (one short query each) rather than model choice iterators: the catalogue is the hot page.
    topic = django_filters.ChoiceFilter(
        label=_("专题"),
        field_name="topics",
        empty_label=_("全部专题"),
        choices=lambda: list(Topic.objects.values_list("pk", "name")),
    )
    stage = django_filters.ChoiceFilter(
        label=_("学段"),
        field_name="stages",
        empty_label=_("全部学段"),
        choices=lambda: list(Stage.objects.values_list("pk", "name")),
    )
    provider = django_filters.ChoiceFilter(
        label=_("施教机构"), field_name="provider", empty_label=_("全部机构"), choices=[]
    )
    mode = django_filters.ChoiceFilter(label=_("形式"), choices=CourseMode.choices, empty_label=_("全部形式"))
    has_seats = django_filters.BooleanFilter(label=_("名额"), method="filter_has_seats", widget=SeatsWidget())
    sort = django_filters.ChoiceFilter(
        label=_("排序"), choices=SORT_CHOICES, method="filter_sort", empty_label=_("默认排序")
    )

    class Meta:
        model = Course
        fields = ["q", "category", "topic", "stage", "provider", "mode", "has_seats", "sort"]

    def __init__(self, *args, period, **kwargs):
        super().__init__(*args, **kwargs)
        # The providers of the period's published courses, never another city's; read only when the
        # form is rendered (it is cached, catalogue._search_form) or a provider is asked for.
        self.form.fields["provider"].choices = lambda: list(
            Provider.objects.filter(courses__period=period, courses__status=CourseStatus.PUBLISHED)
            .distinct()
            .order_by("code")
            .values_list("pk", "name")
        )
        # The catalogue is the hottest page: its filter bar is plain Bootstrap markup, not crispy templates.
        for name, field in self.form.fields.items():
            css = "form-control form-control-sm" if name == "q" else "form-select form-select-sm"
            field.widget.attrs["class"] = css
        self.form.fields["q"].widget.attrs["placeholder"] = _("课程名称、机构或简介")

    def filter_q(self, queryset, name, value):
        return search_courses(queryset, value)

    def filter_has_seats(self, queryset, name, value):
        if value:
            return queryset.filter(Q(capacity__isnull=True) | Q(capacity__gt=F("enrolled_count")))
        return queryset

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*SORTS.get(value, ("code",)))

    @property
    def qs(self):
        queryset = super().qs
        if not self.form.cleaned_data.get("sort"):
            queryset = queryset.order_by(CATEGORY_ORDER, "code")
        return queryset


class CourseManageFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("搜索"), method="filter_q")
    period = django_filters.ModelChoiceFilter(label=_("培训周期"), queryset=None, empty_label=_("全部周期"))
    category = django_filters.ChoiceFilter(label=_("科目类别"), choices=Category.choices, empty_label=_("全部类别"))
    provider = django_filters.ModelChoiceFilter(label=_("施教机构"), queryset=None, empty_label=_("全部机构"))
    status = django_filters.ChoiceFilter(label=_("状态"), choices=CourseStatus.choices, empty_label=_("全部状态"))
    mode = django_filters.ChoiceFilter(label=_("形式"), choices=CourseMode.choices, empty_label=_("全部形式"))

    class Meta:
        model = Course
        fields = ["q", "period", "category", "provider", "status", "mode"]

    def __init__(self, *args, periods=None, providers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["period"].queryset = periods
        self.filters["provider"].queryset = providers

    def filter_q(self, queryset, name, value):
        return search_courses(queryset, value)


class FillRateFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("搜索"), method="filter_q")
    category = django_filters.ChoiceFilter(label=_("科目类别"), choices=Category.choices, empty_label=_("全部类别"))
    provider = django_filters.ModelChoiceFilter(label=_("施教机构"), queryset=None, empty_label=_("全部机构"))
    full = django_filters.BooleanFilter(label=_("名额"), method="filter_full", widget=FullWidget())

    class Meta:
        model = Course
        fields = ["q", "category", "provider", "full"]

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["provider"].queryset = providers  # the period's own providers, never another city's
        # Plain Bootstrap markup, as the catalogue's: crispy's templates were a fifth of the page's time.
        for name, field in long_selects(self.form).fields.items():
            field.widget.attrs["class"] = (
                "form-control form-control-sm" if name == "q" else "form-select form-select-sm"
            )

    def filter_q(self, queryset, name, value):
        return search_courses(queryset, value)

    def filter_full(self, queryset, name, value):
        if value:
            return queryset.filter(capacity__isnull=False, enrolled_count__gte=F("capacity"))
        return queryset


class NudgeFilter(django_filters.FilterSet):
    """Filters the teachers of the nudge list; "short in category" is applied after the rule is evaluated."""

    q = django_filters.CharFilter(label=_("姓名"), field_name="name", lookup_expr="icontains")
    unit = django_filters.ModelChoiceFilter(label=_("单位"), queryset=None, empty_label=_("全部单位"))
    short_in = django_filters.ChoiceFilter(
        label=_("未达标类别"), choices=Category.choices, method="noop", empty_label=_("任一类别")
    )

    class Meta:
        model = Teacher
        fields: list[str] = []

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["unit"].queryset = units

    def noop(self, queryset, name, value):
        return queryset

"""Admin for the city's configuration: topics, kinds and rule sets (with a live preview).

The ledger, certificates and snapshots are read-only here: entries are never
changed or deleted; corrections are reversals made in the portal.
"""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from credits.models import (
    Category,
    Certificate,
    ComplianceSnapshot,
    CreditEntry,
    CreditKind,
    DeclarationSettings,
    RuleSet,
    Topic,
)
from credits.rule_engine import evaluate, parse_tree
from credits.selectors import teacher_totals, totals_for_teachers
from portal import idcard
from portal.admin import InUnits, Platform, ReadOnlyAdmin, ScopedModelAdmin
from portal.models import Role, Teacher, Unit, UnitKind
from portal.scoping import teachers_visible_to

TREE_HELP = _(
    "用 JSON 描述规则。节点：all_of（全部满足）、any_of（满足其一）、min_total（总学时）、"
    "min_hours（按 category 科目类别 public/professional/elective 或 kind 学时类型代码）、"
    "requires_topic（专题代码与学时）。例如："
    '{"all_of": [{"min_total": {"hours": 90}}, {"min_hours": {"category": "public", "hours": 30}}, '
    '{"requires_topic": {"topic": "ethics", "hours": 1}}]}'
)


@admin.register(Topic)
class TopicAdmin(ScopedModelAdmin):
    reach = Platform(shared_choices=True)
    list_display = ("name", "code")
    search_fields = ("name", "code")


@admin.register(CreditKind)
class CreditKindAdmin(ScopedModelAdmin):
    reach = Platform(shared_choices=True)
    list_display = ("name", "code", "category")
    list_filter = ("category",)


class TreeField(forms.CharField):
    """A JSON textarea validated by credits.rule_engine with Chinese messages."""

    widget = forms.Textarea(attrs={"rows": 14, "cols": 100, "class": "vLargeTextField", "spellcheck": "false"})

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, indent=2)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            raise ValidationError(_("请填写规则"))
        return parse_tree(value)


class RuleSetForm(forms.ModelForm):
    tree = TreeField(label=_("规则"), help_text=TREE_HELP)

    class Meta:
        model = RuleSet
        fields = ("city", "year", "name", "tree", "description")


class PreviewForm(forms.Form):
    tree = TreeField(label=_("规则"))
    id_number = forms.CharField(label=_("样例教师身份证号"), max_length=18)

    def __init__(self, *args, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        self.teachers = teachers

    def clean_id_number(self):
        number = idcard.normalize(self.cleaned_data["id_number"])
        teacher = self.teachers.filter(id_number=number).select_related("unit").first()
        if teacher is None:
            raise ValidationError(_("没有身份证号为 %(number)s 的教师") % {"number": idcard.mask(number)})
        return teacher


@admin.register(RuleSet)
class RuleSetAdmin(ScopedModelAdmin):
    reach = InUnits("city", roles=(Role.CITY_ADMIN,))
    form = RuleSetForm
    list_display = ("name", "city", "year")
    list_filter = ("year", ("city", admin.RelatedOnlyFieldListFilter))
    readonly_fields = ("preview",)
    fields = ("city", "year", "name", "tree", "description", "preview")

    list_select_related = ("city",)

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if db_field.name == "city":
            queryset = (queryset if queryset is not None else Unit.objects.all()).filter(kind=UnitKind.CITY)
        return queryset

    def get_urls(self):
        return [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="credits_ruleset_preview"),
            *super().get_urls(),
        ]

    @admin.display(description=_("预览（本市有学时记录的前 5 位教师）"))
    def preview(self, obj):
        if not obj or not obj.pk:
            return _("保存后可预览")
        ids = list(
            CreditEntry.objects.filter(year=obj.year, teacher__unit__path__startswith=obj.city.path)
            .order_by("teacher_id")
            .values_list("teacher_id", flat=True)
            .distinct()[:5]
        )
        names = dict(Teacher.objects.filter(pk__in=ids).values_list("id", "name"))
        totals = totals_for_teachers(ids, obj.year)
        rows = [
            (names[tid], totals[tid].total, evaluate(obj.tree, totals[tid]).sentence) for tid in ids if tid in names
        ]
        table = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        link = reverse("admin:credits_ruleset_preview", args=[obj.pk])
        return format_html(
            '<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table><p><a href="{}">{}</a></p>',
            _("教师"),
            _("总学时"),
            _("结论"),
            table,
            link,
            _("用任意教师和修改中的规则预览 →"),
        )

    def preview_view(self, request, pk):
        rule_set = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, rule_set):
            raise PermissionDenied
        teachers = Teacher.objects.all() if request.user.is_superuser else teachers_visible_to(request.user)
        form = PreviewForm(request.POST or None, initial={"tree": rule_set.tree}, teachers=teachers)
        result = teacher = None
        if request.method == "POST" and form.is_valid():
            teacher = form.cleaned_data["id_number"]
            result = evaluate(form.cleaned_data["tree"], teacher_totals(teacher.pk, rule_set.year))
        context = {
            **self.admin_site.each_context(request),
            "title": _("规则预览：%(name)s") % {"name": rule_set.name},
            "rule_set": rule_set,
            "form": form,
            "teacher": teacher,
            "result": result,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/credits/ruleset_preview.html", context)


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    reach = InUnits("teacher__unit")
    list_display = ("teacher", "year", "category", "kind", "hours", "source", "reference", "recorded_at")
    list_filter = ("year", "category", "source", "kind")
    search_fields = ("teacher__name", "=teacher__id_number", "reference")
    list_select_related = ("teacher", "kind")
    date_hierarchy = "recorded_at"
    show_full_result_count = False


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    reach = InUnits("teacher__unit")
    list_display = ("code", "teacher", "year", "issued_at")
    search_fields = ("=code", "teacher__name")
    list_select_related = ("teacher",)
    exclude = ("content",)


@admin.register(ComplianceSnapshot)
class ComplianceSnapshotAdmin(ReadOnlyAdmin):
    reach = InUnits("unit")
    list_display = ("unit", "year", "date", "teachers", "compliant")
    list_filter = ("year", "date")
    list_select_related = ("unit",)


class DeclarationSettingsForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label=_("可申报的科目类别"), choices=Category.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = DeclarationSettings
        fields = [
            "city",
            "year",
            "categories",
            "hours_per_day",
            "minutes_per_hour",
            "declare_until",
            "certify_until",
            "remind_days_before",
        ]


@admin.register(DeclarationSettings)
class DeclarationSettingsAdmin(ScopedModelAdmin):
    """A city's rules for declared hours per year: declarable categories, the conversion rule, deadlines."""

    reach = InUnits("city", roles=(Role.CITY_ADMIN,))
    form = DeclarationSettingsForm
    list_display = ["city", "year", "hours_per_day", "minutes_per_hour", "declare_until", "certify_until"]
    list_filter = [("city", admin.RelatedOnlyFieldListFilter), "year"]

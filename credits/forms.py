from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from credits.declaration_services import EVIDENCE_KINDS, credit_kind_problem
from credits.models import Category, CreditKind, RuleSet, Source, Topic
from credits.rule_builder import ALL_OF, ANY_OF, GROUPS, Row
from portal.forms import ModelMultipleIdsField
from portal.uploads import DocumentField


class AdjustmentForm(forms.Form):
    """A district or city admin adds (or deducts, with a negative number) hours by hand."""

    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    category = forms.ChoiceField(label=_("科目类别"), choices=Category.choices)
    kind = forms.ModelChoiceField(label=_("学时类型"), queryset=CreditKind.objects.all(), required=False)
    topics = ModelMultipleIdsField(
        label=_("专题"), queryset=Topic.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    hours = forms.DecimalField(
        label=_("学时"),
        max_digits=6,
        decimal_places=1,
        min_value=Decimal("-200"),
        max_value=Decimal("200"),
        help_text=_("扣减学时请填负数"),
    )
    source = forms.ChoiceField(
        label=_("来源"),
        choices=[(Source.MANUAL.value, Source.MANUAL.label), (Source.TRANSFER.value, Source.TRANSFER.label)],
    )
    reason = forms.CharField(label=_("原因"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)

    def clean_hours(self):
        hours = self.cleaned_data["hours"]
        if hours == 0:
            raise forms.ValidationError(_("学时不能为 0"))
        return hours

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind and data.get("category") and kind.category != data["category"]:
            self.add_error(
                "kind",
                _("“%(kind)s”属于%(category)s，请改选科目类别或学时类型")
                % {"kind": kind.name, "category": Category(kind.category).label},
            )
        return data


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("冲正原因"), max_length=500)


class VerifyForm(forms.Form):
    code = forms.CharField(
        label=_("验证码"), max_length=40, help_text=_("学时证明上的 20 位验证码，例如 1A2B-3C4D-5E6F-7A8B-9C0D")
    )


# --- the rule builder ----------------------------------------------------------------------------------------------


class RuleSetForm(forms.ModelForm):
    """Name, year and description of a rule set, and how its rows and groups combine."""

    combine = forms.ChoiceField(
        label=_("达标条件"),
        choices=[(ALL_OF, _("以下各项全部达到")), (ANY_OF, _("以下各项达到其中一项即可"))],
        initial=ALL_OF,
    )

    # Not the model field: a rule set stays with its city, and the (city, year) uniqueness is answered by
    # rule_set_save naming the other rule set.
    in_city = forms.ModelChoiceField(label=_("城市"), queryset=None)

    class Meta:
        model = RuleSet
        fields = ["year", "name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, cities, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["in_city"]
        else:
            self.fields["in_city"].queryset = cities
            if len(cities) == 1:
                self.fields["in_city"].initial = cities[0].pk
                self.fields["in_city"].disabled = True
                self.fields["in_city"].widget = forms.HiddenInput()
        self.fields["description"].help_text = _("可选，显示在达标率页面；教师看到的是下方自动生成的规则说明")
        self.order_fields(["in_city", "year", "name", "description"])

    def save(self, commit=True):
        rule_set = super().save(commit=False)
        if "in_city" in self.fields:
            rule_set.city = self.cleaned_data["in_city"]
        if commit:
            rule_set.save()
        return rule_set


class GroupModesForm(forms.Form):
    """How the rows of each group combine (only groups that have rows count)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for group in GROUPS:
            self.fields[f"group_{group}"] = forms.ChoiceField(
                label=_("%(g)s组内") % {"g": group},
                choices=[(ANY_OF, _("满足其一即可")), (ALL_OF, _("全部达到"))],
                initial=ANY_OF,
            )

    @property
    def modes(self) -> dict[str, str]:
        return {group: self.cleaned_data.get(f"group_{group}", ANY_OF) for group in GROUPS}


class RequirementForm(forms.Form):
    """One row: at least ``hours`` of a measure (the total, a category, a kind or a topic), maybe in a group."""

    measure = forms.ChoiceField(label=_("要求"), required=False)
    hours = forms.DecimalField(
        label=_("至少（学时）"),
        required=False,
        min_value=Decimal("0.5"),
        max_value=Decimal("10000"),
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
    )
    group = forms.ChoiceField(
        label=_("分组"), required=False, choices=[("", _("不分组"))] + [(g, _("%(g)s组") % {"g": g}) for g in GROUPS]
    )
    label = forms.CharField(label=_("教师看到的名称（可选）"), required=False, max_length=40)

    def __init__(self, *args, measures, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = [("", _("（不使用这一行）")), *measures]

    def clean(self):
        data = super().clean()
        if data.get("measure") and data.get("hours") is None and "hours" not in self.errors:
            self.add_error("hours", _("请填写学时数"))
        if not data.get("measure") and data.get("hours") is not None:
            self.add_error("measure", _("请选择这一行要求的是哪类学时"))
        return data

    @property
    def row(self) -> Row | None:
        data = getattr(self, "cleaned_data", {})
        if not data.get("measure"):
            return None
        return Row(data["measure"], data["hours"], data.get("group") or "", (data.get("label") or "").strip())


class BaseRequirementFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.rows:
            raise forms.ValidationError(_("请至少填写一行要求"))

    @property
    def rows(self) -> list[Row]:
        return [form.row for form in self.forms if form.row is not None]


RequirementFormSet = forms.formset_factory(RequirementForm, formset=BaseRequirementFormSet, extra=0, max_num=30)


class RuleCopyForm(forms.Form):
    year = forms.IntegerField(label=_("新规则的年度"), min_value=2000, max_value=2100)
    name = forms.CharField(label=_("新规则的名称"), max_length=100)


class TopicForm(forms.ModelForm):
    class Meta:
        model = Topic
        fields = ["code", "name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True


class CreditKindForm(forms.ModelForm):
    class Meta:
        model = CreditKind
        fields = ["code", "name", "category"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True
            self.fields["category"].disabled = True


# --- declarations (学时申报) and school-based training (校本研修) ---------------------------------------------------


class _MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceField(DocumentField):
    """Several documents at once (PDF, JPEG, PNG), each checked by its content and size."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", _MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png", "multiple": True}))
        super().__init__(*args, kinds=EVIDENCE_KINDS, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(EvidenceField, self).clean(f, initial) for f in files]


_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# year → category → the kinds the city's rule set counts apart (credits.selectors.kinds_counted_for_unit)
KindsByYear = dict[int, dict[str, list[CreditKind]]]


class _KindChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{Category(obj.category).label}）"


class CreditKindFormMixin:
    """A credit kind, offered and required only where the city's rule set counts kinds in the chosen category.

    Where it counts none for any category offered (Guangzhou), the form has no kind field at all.
    """

    def add_kind_field(self, kinds_by_year: KindsByYear, categories: list[tuple[str, str]]) -> None:
        self.kinds_by_year = kinds_by_year
        offered = [c for c, _label in categories]
        kinds = {k.pk: k for by_cat in kinds_by_year.values() for c in offered for k in by_cat.get(c, [])}
        if not kinds:
            return
        counted_in = [label for c, label in categories if any(c in by_cat for by_cat in kinds_by_year.values())]
        self.fields["kind"] = _KindChoiceField(
            label=_("学时类型"),
            queryset=CreditKind.objects.filter(pk__in=kinds).order_by("category", "id"),
            required=False,
            empty_label=_("请选择"),
            help_text=_("本市学时规则按学时类型计算%(cats)s，选这些科目类别时必选")
            % {"cats": "、".join(map(str, counted_in))},
        )

    def clean_kind_for(self, year: int | None, category: str | None) -> None:
        """Adds the kind's error, if any, for hours of ``category`` in ``year``."""
        if year is None or not category:
            return
        kind = self.cleaned_data.get("kind")
        counted = self.kinds_by_year.get(year, {}).get(category, [])
        problem = credit_kind_problem(counted, year, category, kind)
        if problem:
            self.add_error("kind" if "kind" in self.fields else None, problem)


class DeclarationForm(CreditKindFormMixin, forms.Form):
    title = forms.CharField(label=_("培训名称"), max_length=200)
    organiser = forms.CharField(label=_("主办单位"), max_length=100)
    starts_on = forms.DateField(label=_("开始日期"), widget=_DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=_DATE)
    category = forms.ChoiceField(label=_("科目类别"), choices=[])
    topic = forms.ModelChoiceField(label=_("专题"), queryset=Topic.objects.all(), required=False, empty_label=_("无"))
    full_days = forms.IntegerField(label=_("整天天数"), min_value=0, max_value=366, initial=0)
    minutes = forms.IntegerField(
        label=_("不足一天的时长（分钟）"), min_value=0, max_value=24 * 60 - 1, initial=0, required=False
    )
    hours = forms.DecimalField(
        label=_("申报学时"), max_digits=5, decimal_places=1, min_value=Decimal("0.5"), max_value=Decimal("999")
    )
    evidence = EvidenceField(
        label=_("佐证材料"), required=False, help_text=_("证书、结业证明或签到表，PDF、JPEG 或 PNG，可选多个文件")
    )

    def __init__(self, *args, categories: list[tuple[str, str]], kinds_by_year: KindsByYear, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories
        self.add_kind_field(kinds_by_year, categories)

    def clean_minutes(self):
        return self.cleaned_data.get("minutes") or 0

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("结束日期不能早于开始日期"))
        self.clean_kind_for(data["ends_on"].year if data.get("ends_on") else None, data.get("category"))
        return data


class DeclarationDecisionForm(forms.Form):
    CERTIFY, RETURN, REVOKE, SAMPLE_PASS = "certify", "return", "revoke", "sample_pass"
    action = forms.ChoiceField(
        label=_("操作"),
        choices=[(CERTIFY, _("认定")), (RETURN, _("退回")), (REVOKE, _("撤销认定")), (SAMPLE_PASS, _("抽查通过"))],
    )
    reason = forms.CharField(label=_("原因"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DeclarationBulkForm(forms.Form):
    action = forms.ChoiceField(
        label=_("操作"),
        choices=[(DeclarationDecisionForm.CERTIFY, _("认定")), (DeclarationDecisionForm.RETURN, _("退回"))],
    )
    reason = forms.CharField(label=_("退回原因"), max_length=500, required=False)


class SpotCheckForm(forms.Form):
    count = forms.IntegerField(label=_("再抽取份数"), min_value=1, max_value=500, initial=10)


class SchoolActivityForm(CreditKindFormMixin, forms.Form):
    title = forms.CharField(label=_("活动名称"), max_length=200)
    date = forms.DateField(label=_("日期"), widget=_DATE)
    hours = forms.DecimalField(
        label=_("学时"), max_digits=4, decimal_places=1, min_value=Decimal("0.5"), max_value=Decimal("99")
    )
    category = forms.ChoiceField(label=_("科目类别"), choices=[])
    topic = forms.ModelChoiceField(label=_("专题"), queryset=Topic.objects.all(), required=False, empty_label=_("无"))
    attendees_file = forms.FileField(
        label=_("或上传参加人员名单"),
        required=False,
        help_text=_("Excel .xlsx，列为：身份证号、姓名。上传后以名单为准，忽略下方勾选"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )

    def __init__(self, *args, categories: list[tuple[str, str]], kinds_by_year: KindsByYear, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories
        self.add_kind_field(kinds_by_year, categories)

    def clean(self):
        data = super().clean()
        self.clean_kind_for(data["date"].year if data.get("date") else None, data.get("category"))
        return data


class SchoolTrainingCapForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    hours = forms.DecimalField(
        label=_("每人每年上限（学时）"),
        max_digits=5,
        decimal_places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal("999"),
    )

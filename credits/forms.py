from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from credits.declaration_services import EVIDENCE_KINDS
from credits.models import Category, CreditKind, Source, Topic
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


class DeclarationForm(forms.Form):
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

    def __init__(self, *args, categories: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories

    def clean_minutes(self):
        return self.cleaned_data.get("minutes") or 0

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("结束日期不能早于开始日期"))
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


class SchoolActivityForm(forms.Form):
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

    def __init__(self, *args, categories: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories


class SchoolTrainingCapForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    hours = forms.DecimalField(
        label=_("每人每年上限（学时）"),
        max_digits=5,
        decimal_places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal("999"),
    )

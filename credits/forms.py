from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from credits.models import Category, CreditKind, Source, Topic


class AdjustmentForm(forms.Form):
    """A district or city admin adds (or deducts, with a negative number) hours by hand."""

    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    category = forms.ChoiceField(label=_("科目类别"), choices=Category.choices)
    kind = forms.ModelChoiceField(label=_("学时类型"), queryset=CreditKind.objects.all(), required=False)
    topics = forms.ModelMultipleChoiceField(
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

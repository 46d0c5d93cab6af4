"""Forms of the special-programme pages (crispy, Chinese labels)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.converters import parse_id
from portal.forms import SpreadsheetField
from portal.models import Position, Unit, UnitKind

from .models import Programme
from .services import MAX_SEATS


class ProgrammeAdminForm(forms.ModelForm):
    """Positions are a list of Position values; shown as ticks."""

    eligible_positions = forms.MultipleChoiceField(
        label=_("限定职务"),
        choices=Position.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("留空表示不限职务"),
    )

    class Meta:
        model = Programme
        fields = [
            "period",
            "title",
            "description",
            "eligible_stages",
            "eligible_positions",
            "total_seats",
            "registration_opens_at",
            "registration_closes_at",
        ]


class ApplyForm(forms.Form):
    note = forms.CharField(label=_("报名说明（可选）"), max_length=200, required=False)


class DecisionForm(forms.Form):
    APPROVE, REJECT = "approve", "reject"
    action = forms.ChoiceField(choices=[(APPROVE, _("通过")), (REJECT, _("不通过"))], widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("意见 / 不通过原因"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == self.REJECT and not (data.get("comment") or "").strip():
            self.add_error("comment", _("请填写不通过的原因，教师会看到这条原因。"))
        return data


class BulkDecisionForm(DecisionForm):
    action = forms.ChoiceField(
        label=_("操作"), choices=[(DecisionForm.APPROVE, _("批量通过")), (DecisionForm.REJECT, _("批量不通过"))]
    )
    ids = forms.TypedMultipleChoiceField(
        coerce=int, required=True, error_messages={"required": _("请先勾选要处理的申请。")}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the service only acts on those the user may decide.
        self.fields["ids"].valid_value = lambda value: parse_id(value) is not None


def _districts(programme: Programme):
    return Unit.objects.filter(
        path__startswith=programme.period.city.path, kind__in=(UnitKind.DISTRICT, UnitKind.CITY)
    ).order_by("path")


class QuotaSetForm(forms.Form):
    district = forms.ModelChoiceField(label=_("区（县）"), queryset=Unit.objects.none())
    seats = forms.IntegerField(label=_("名额"), min_value=0, max_value=MAX_SEATS)

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = _districts(programme)


class QuotaMoveForm(forms.Form):
    from_district = forms.ModelChoiceField(label=_("调出区"), queryset=Unit.objects.none())
    to_district = forms.ModelChoiceField(label=_("调入区"), queryset=Unit.objects.none())
    seats = forms.IntegerField(label=_("名额数"), min_value=1, max_value=MAX_SEATS)
    comment = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_district"].queryset = _districts(programme)
        self.fields["to_district"].queryset = _districts(programme)


class QuotaReopenForm(forms.Form):
    district = forms.ModelChoiceField(label=_("区（县）"), queryset=Unit.objects.none())
    until = forms.DateTimeField(label=_("延长审核至"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    comment = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = _districts(programme)


class QuotaImportForm(forms.Form):
    file = SpreadsheetField(label=_("名额分配表（.xlsx）"))


class FinalizeForm(forms.Form):
    district = forms.ModelChoiceField(
        label=_("区（县）"), queryset=Unit.objects.none(), required=False, empty_label=_("全市（全部区）")
    )

    def __init__(self, *args, programme: Programme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = _districts(programme)

"""Forms of the special-programme pages (crispy, Chinese labels)."""

import itertools

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from portal.converters import parse_id
from portal.forms import ModelMultipleIdsField, SpreadsheetField
from portal.models import Position, Unit, UnitKind

from .models import LEVEL_KIND_RANK, Application, Programme, ProgrammeLevel
from .services import MAX_SEATS


class LevelFormSet(BaseInlineFormSet):
    """The chain must climb (school → district → city) with later deadlines at each step;
    a level that applications have reached keeps its kind and stays in the chain."""

    def clean(self):
        super().clean()
        rows = []
        for f in self.forms:
            data = getattr(f, "cleaned_data", None)
            if not data:
                continue
            old_kind = f.initial.get("unit_kind")
            if f.instance.pk and (data.get("DELETE") or data.get("unit_kind") != old_kind):
                n = Application.objects.filter(level_id=f.instance.pk).count()
                if n:
                    raise ValidationError(
                        _("“%(level)s”已有 %(n)d 份申请，不能删除或改变层级。")
                        % {"level": UnitKind(old_kind).label, "n": n}
                    )
            if not data.get("DELETE") and data.get("deadline") and data.get("unit_kind"):
                rows.append(data)
        rows.sort(key=lambda r: r.get("order") or LEVEL_KIND_RANK[UnitKind(r["unit_kind"])])
        for before, after in itertools.pairwise(rows):
            if LEVEL_KIND_RANK[UnitKind(after["unit_kind"])] <= LEVEL_KIND_RANK[UnitKind(before["unit_kind"])]:
                raise ValidationError(_("审核层级须由低到高排列：学校 → 区 → 市。"))
            if after["deadline"] <= before["deadline"]:
                raise ValidationError(_("后一级的审核截止时间必须晚于前一级。"))
        closes = self.instance.registration_closes_at
        if rows and closes and rows[0]["deadline"] < closes:
            raise ValidationError(_("第一级审核截止时间不能早于报名截止时间。"))


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
        field_classes = {"eligible_stages": ModelMultipleIdsField}


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


# --- the programme set-up page: programme, chain of levels and quota table on one page ----------------------------


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class ProgrammeSetupForm(ProgrammeAdminForm):
    class Meta(ProgrammeAdminForm.Meta):
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "eligible_stages": forms.CheckboxSelectMultiple,
            "registration_opens_at": DateTimeLocal,
            "registration_closes_at": DateTimeLocal,
        }

    def __init__(self, *args, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = periods
        self.fields["period"].help_text = _("本市的培训周期")


def level_formset(data=None, *, instance: Programme):
    """The chain's levels; a new programme starts with school → district → city (leave a deadline empty to drop one)."""
    new = instance.pk is None
    formset_class = inlineformset_factory(
        Programme,
        ProgrammeLevel,
        formset=LevelFormSet,
        fields=["unit_kind", "deadline"],
        widgets={"deadline": DateTimeLocal},
        extra=2 if new else 1,  # with min_num: three rows for a new programme, one blank for an existing one
        can_delete=not new,
        min_num=1,
        validate_min=True,
    )
    initial = [{"unit_kind": kind} for kind in (UnitKind.SCHOOL, UnitKind.DISTRICT, UnitKind.CITY)] if new else None
    return formset_class(data, instance=instance, prefix="levels", initial=initial)


class QuotaTableForm(forms.Form):
    """One seats field per district (and the city's own units), typed like the paper 名额分配表."""

    def __init__(self, *args, districts, seats: dict[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.districts = list(districts)
        for district in self.districts:
            self.fields[f"seats_{district.pk}"] = forms.IntegerField(
                label=district.name, min_value=0, max_value=MAX_SEATS, required=False, initial=seats.get(district.pk)
            )

    @property
    def rows(self):
        return [(district, self[f"seats_{district.pk}"]) for district in self.districts]

    def wanted(self) -> dict[int, int]:
        """Seats typed per district id (empty fields are left as they are)."""
        return {
            d.pk: self.cleaned_data[f"seats_{d.pk}"]
            for d in self.districts
            if self.cleaned_data.get(f"seats_{d.pk}") is not None
        }

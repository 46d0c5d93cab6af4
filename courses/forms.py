from crispy_forms.helper import FormHelper
from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from courses.models import Course, CourseSession
from portal.forms import ModelMultipleIdsField, SpreadsheetField


class CourseForm(forms.ModelForm):
    """A course as the city admin or the provider's staff edits it; choices limited to what the user manages."""

    class Meta:
        model = Course
        fields = [
            "period",
            "code",
            "title",
            "category",
            "kind",
            "hours",
            "provider",
            "mode",
            "topics",
            "stages",
            "capacity",
            "fee_per_hour",
            "description",
            "status",
        ]
        field_classes = {"topics": ModelMultipleIdsField, "stages": ModelMultipleIdsField}
        widgets = {
            "topics": forms.CheckboxSelectMultiple,
            "stages": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, periods, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = periods
        self.fields["provider"].queryset = providers
        if providers.count() == 1 and not self.instance.pk:
            self.fields["provider"].initial = providers.first()
        self.helper = FormHelper()
        self.helper.form_tag = False

    @property
    def plain_fields(self) -> list[str]:
        """The form's fields stored on the course row itself (not many-to-many)."""
        m2m = {f.name for f in Course._meta.many_to_many}
        return [name for name in self.Meta.fields if name not in m2m]

    def clean(self):
        cleaned = super().clean()
        period, code = cleaned.get("period"), cleaned.get("code")
        if period and code:
            clash = Course.objects.filter(period=period, code=code).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("code", _("本周期已有代码为 %(code)s 的课程") % {"code": code})
        return cleaned


class SessionForm(forms.ModelForm):
    class Meta:
        model = CourseSession
        fields = ["date", "starts_at", "ends_at", "place"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "starts_at": forms.TimeInput(attrs={"type": "time"}),
            "ends_at": forms.TimeInput(attrs={"type": "time"}),
        }


# A posted TOTAL_FORMS of 999,999 builds no more than absolute_max forms (and is a form error past max_num).
MAX_SESSIONS = 60
SessionFormSet = inlineformset_factory(
    Course,
    CourseSession,
    form=SessionForm,
    extra=2,
    can_delete=True,
    max_num=MAX_SESSIONS,
    absolute_max=MAX_SESSIONS,
    validate_max=True,
)


class BulkForm(forms.Form):
    """Ids of the rows ticked in a list (the view re-scopes them)."""

    ids = forms.TypedMultipleChoiceField(
        coerce=int, required=True, error_messages={"required": _("请先勾选要处理的行")}
    )

    def __init__(self, *args, allowed_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].choices = [(i, i) for i in allowed_ids]


class CourseImportForm(forms.Form):
    period = forms.ModelChoiceField(label=_("培训周期"), queryset=None)
    file = SpreadsheetField(label=_("Excel 文件（.xlsx）"))
    dry_run = forms.BooleanField(label=_("只检查，不写入"), required=False)

    def __init__(self, *args, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = periods
        self.helper = FormHelper()
        self.helper.form_tag = False


class ResultImportForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("施教机构"), queryset=None)
    period = forms.ModelChoiceField(label=_("培训周期"), queryset=None)
    file = SpreadsheetField(
        label=_("考核结果表（.xlsx）"), help_text=_("列：身份证号、姓名、课程编号、学时、考核结果（合格/不合格）")
    )
    dry_run = forms.BooleanField(label=_("只检查，不导入"), required=False, initial=True)

    def __init__(self, *args, providers, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers
        self.fields["period"].queryset = periods
        if len(providers) == 1:
            self.fields["provider"].initial = providers[0].pk

from crispy_forms.helper import FormHelper
from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from courses.models import (
    OFFER_EDITABLE_STATES,
    OFFER_LOCKED_STATES,
    Course,
    CourseOffer,
    CourseSession,
    Payer,
    Provider,
    TrainingPeriod,
)
from credits.models import Category
from portal.forms import ModelMultipleIdsField, SpreadsheetField
from portal.models import Unit
from portal.uploads import DocumentField

# What an offer's approval (立项) covers: these do not change once the offer is submitted or approved.
OFFER_LOCKED_FIELDS = {
    "period",
    "code",
    "title",
    "category",
    "kind",
    "hours",
    "provider",
    "topics",
    "stages",
    "fee_per_hour",
    "offer",
}


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
            "offer",
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
        offers = CourseOffer.objects.filter(provider__in=providers, status__in=OFFER_EDITABLE_STATES)
        if self.instance.offer_id:
            offers = offers | CourseOffer.objects.filter(pk=self.instance.offer_id)
        self.fields["offer"].queryset = offers.select_related("period")
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
        self._clean_offer(cleaned)
        return cleaned

    def _clean_offer(self, cleaned) -> None:
        before = self.instance.offer if self.instance.pk and self.instance.offer_id else None
        if before is not None and before.status in OFFER_LOCKED_STATES:
            changed = sorted(OFFER_LOCKED_FIELDS & set(self.changed_data))
            if changed:
                raise forms.ValidationError(
                    _("本课程属于%(status)s的课程方案《%(offer)s》，不能修改：%(fields)s")
                    % {
                        "status": before.get_status_display(),
                        "offer": before.title,
                        "fields": "、".join(str(self.fields[name].label) for name in changed),
                    }
                )
        offer, provider, period = cleaned.get("offer"), cleaned.get("provider"), cleaned.get("period")
        if offer is None:
            return
        if offer != before and offer.status in OFFER_LOCKED_STATES:
            self.add_error("offer", _("课程方案%(status)s，不能再加入课程") % {"status": offer.get_status_display()})
        if provider and offer.provider_id != provider.pk:
            self.add_error("offer", _("课程方案属于其他施教机构"))
        if period and offer.period_id != period.pk:
            self.add_error("offer", _("课程方案属于其他培训周期"))


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


# --- the city's year: periods and providers -----------------------------------------------------------------------


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class DateLocal(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class PeriodForm(forms.ModelForm):
    """A training period as the city admin sets it up; the rule set is one of her city's.

    Fields added to TrainingPeriod later join ``Meta.fields`` (and a widget if they need one).
    """

    class Meta:
        model = TrainingPeriod
        fields = [
            "city",
            "year",
            "code",
            "name",
            "rule_set",
            "selection_opens_at",
            "selection_closes_at",
            "late_opens_at",
            "late_closes_at",
            "drop_allowed_in_late",
            "training_starts_on",
            "training_ends_on",
            "max_fee_per_hour",
            "school_providers",
            "offers_required",
            "agreement_due_on",
        ]
        widgets = {
            "selection_opens_at": DateTimeLocal,
            "selection_closes_at": DateTimeLocal,
            "late_opens_at": DateTimeLocal,
            "late_closes_at": DateTimeLocal,
            "training_starts_on": DateLocal,
            "training_ends_on": DateLocal,
            "agreement_due_on": DateLocal,
        }
        help_texts = {
            "selection_closes_at": _("到这个时刻截止，例如 2022-03-30 00:00 即 3 月 29 日全天可选"),
            "late_opens_at": _(
                "补选阶段：学时不足的教师增选课程；可与选课时间重叠（广州 2201 期为 3 月 26 日至 29 日）"
            ),
        }

    def __init__(self, *args, cities, rule_sets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["city"].queryset = cities
        self.fields["rule_set"].queryset = rule_sets
        self.fields["rule_set"].help_text = _("本市的学时规则；在“学时规则”中新建")
        cities = list(cities)
        if self.instance.pk or len(cities) == 1:
            self.fields["city"].initial = self.instance.city_id if self.instance.pk else cities[0].pk
            self.fields["city"].disabled = True
            self.fields["city"].widget = forms.HiddenInput()

    def clean(self):
        data = super().clean()
        city, rule_set = data.get("city"), data.get("rule_set")
        if city and rule_set and rule_set.city_id != city.pk:
            self.add_error("rule_set", _("请选择%(city)s的学时规则") % {"city": city.name})
        return data


class FeePayerForm(forms.Form):
    """Who pays each category's training fees in a period: one choice per category (the notice's table)."""

    def __init__(self, *args, payers: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for category, label in Category.choices:
            self.fields[category] = forms.ChoiceField(
                label=label,
                choices=Payer.choices,
                initial=payers.get(category, Payer.EMPLOYER),
                error_messages={
                    "required": _("请为%(category)s选择费用承担方") % {"category": label},
                    "invalid_choice": _("请为%(category)s从列表中选择费用承担方") % {"category": label},
                },
            )


class ProviderAddForm(forms.Form):
    """A provider that already exists (it serves another city too) is added by its code, never picked from a list."""

    code = forms.CharField(label=_("机构代码"), max_length=32)

    def __init__(self, *args, cities, **kwargs):
        super().__init__(*args, **kwargs)
        _city_field(self, cities)


class ProviderCreateForm(forms.ModelForm):
    class Meta:
        model = Provider
        fields = ["code", "name", "contact_name", "contact_phone", "contact_email"]

    def __init__(self, *args, cities, **kwargs):
        super().__init__(*args, **kwargs)
        _city_field(self, cities)


def _city_field(form: forms.BaseForm, cities) -> None:
    cities = list(cities)
    form.fields["city"] = forms.ModelChoiceField(
        label=_("城市"), queryset=Unit.objects.filter(pk__in=[c.pk for c in cities])
    )
    if len(cities) == 1:
        form.fields["city"].initial = cities[0].pk
        form.fields["city"].disabled = True
        form.fields["city"].widget = forms.HiddenInput()


class StaffAddForm(forms.Form):
    id_number = forms.CharField(label=_("身份证号"), max_length=30)
    name = forms.CharField(label=_("姓名"), max_length=50, help_text=_("须与身份证上的姓名一致"))
    password = forms.CharField(
        label=_("初始密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("新建账号时必填，本人首次登录后应修改；已有账号的密码不会改变。"),
    )


# --- the school–provider model ------------------------------------------------------------------------


class OfferForm(forms.ModelForm):
    """A provider's offer: which kind (the period's rule), the plan year, the stages and area it serves."""

    class Meta:
        model = CourseOffer
        fields = ["provider", "rule", "title", "plan_year", "area", "stages"]
        field_classes = {"stages": ModelMultipleIdsField}
        widgets = {"stages": forms.CheckboxSelectMultiple}

    def __init__(self, *args, providers, rules, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers
        self.fields["rule"].queryset = rules.select_related("period", "kind")
        self.fields["rule"].label_from_instance = lambda r: f"{r.period.name} · {r.kind.name}"
        self.fields["area"].queryset = areas
        if len(providers) == 1 and not self.instance.pk:
            self.fields["provider"].initial = providers[0].pk
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean(self):
        cleaned = super().clean()
        rule, area = cleaned.get("rule"), cleaned.get("area")
        if rule and area and not area.is_within(rule.period.city):
            self.add_error("area", _("面向区域须在%(city)s之内") % {"city": rule.period.city.name})
        if rule and rule.plan_years:
            year = cleaned.get("plan_year")
            if not year or not 1 <= year <= rule.plan_years:
                self.add_error("plan_year", _("请填写三年规划的第几年（1–%(n)d）") % {"n": rule.plan_years})
        if rule:
            self.instance.period = rule.period
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("意见或原因"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class ChooseProviderForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("施教机构"), queryset=None, empty_label=_("请选择"))

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers


class AgreementUploadForm(forms.Form):
    fee_per_hour = forms.DecimalField(
        label=_("协商确定的收费（元/人/学时）"), max_digits=7, decimal_places=2, min_value=0
    )
    file = DocumentField(label=_("签订的协议书（PDF）"), kinds=("pdf",))

    def __init__(self, *args, cap=None, **kwargs):
        super().__init__(*args, **kwargs)
        if cap is not None:
            self.fields["fee_per_hour"].help_text = _("本期上限为每人每学时 %(max)s 元") % {"max": f"{cap:.2f}"}


class LateRegistrationForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("施教机构"), queryset=None)
    until = forms.DateField(label=_("允许登记至"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers


class OutcomeForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("施教机构"), queryset=None)
    title = forms.CharField(label=_("名称"), max_length=200)
    file = DocumentField(label=_("汇编（PDF）"), kinds=("pdf",))

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = providers
        if len(providers) == 1:
            self.fields["provider"].initial = providers[0].pk

"""Forms of the roster and account pages (crispy, Bootstrap 5)."""

import datetime as dt
import functools

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from portal import idcard
from portal.converters import parse_id
from portal.html import quick_html, quick_html_join
from portal.models import Announcement, Audience, Contact, Stage, Teacher, Unit, UnitKind
from portal.roster_import import ConflictWording
from portal.validators import check_mobile


class LongSelect(forms.Select):
    """A select written in Python: the same markup as Django's select.html at a twentieth of its cost per
    option (a district's schools are a hundred and fifty). Choices in groups go to Django's template."""

    def render(self, name, value, attrs=None, renderer=None):
        if isinstance(self.choices, ModelChoiceIterator):
            # One plain fetch: iterating it would read through a server-side cursor (three round trips).
            field = self.choices.field
            empty = [("", field.empty_label)] if field.empty_label is not None else []
            choices = empty + [self.choices.choice(obj) for obj in self.choices.queryset]
        else:
            choices = list(self.choices)
        if any(isinstance(label, (list, tuple)) for _, label in choices):
            return super().render(name, value, attrs, renderer)
        chosen = {str(v) for v in self.format_value(value)}
        options = quick_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            ((key, mark_safe(" selected") if str(key) in chosen else "", label) for key, label in choices),
        )
        return quick_html(
            '<select name="{}"{}>\n{}\n</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options
        )


class LightBoundField(forms.BoundField):
    """A field of ``light_fields``' forms: label, control, help and errors in Bootstrap markup, written in Python."""

    def as_field_group(self):
        label = self.label and quick_html(
            '<label class="form-label" for="{}">{}</label>', self.id_for_label, self.label
        )
        help_text = self.help_text and quick_html(
            '<div class="form-text" id="{}_helptext">{}</div>', self.auto_id, self.help_text
        )
        errors = self.errors and quick_html(  # the id the control's aria-describedby names
            '<div id="{}_error">{}</div>',
            self.auto_id,
            quick_html_join("", '<div class="invalid-feedback d-block">{}</div>', ((e,) for e in self.errors)),
        )
        return quick_html('<div class="mb-3">{}{}{}{}</div>', label or "", str(self), help_text or "", errors or "")


class _WrittenInPython:
    """Django's input.html and textarea.html for a widget, written in Python (for ``light_fields``)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        if isinstance(self, forms.Textarea):
            return quick_html(
                '<textarea name="{}"{}>\n{}</textarea>', widget["name"], flatatt(widget["attrs"]), widget["value"] or ""
            )
        value = "" if widget["value"] is None else quick_html(' value="{}"', widget["value"])
        return quick_html(
            '<input type="{}" name="{}"{}{}>', widget["type"], widget["name"], value, flatatt(widget["attrs"])
        )


# The widgets whose template is Django's input.html (or textarea.html) and nothing else.
_PLAIN_WIDGETS = (
    forms.TextInput,
    forms.NumberInput,
    forms.EmailInput,
    forms.URLInput,
    forms.PasswordInput,
    forms.DateInput,
    forms.DateTimeInput,
    forms.TimeInput,
    forms.HiddenInput,
    forms.Textarea,
)


@functools.cache
def _in_python(widget_class: type) -> type:
    return type(
        widget_class.__name__,
        (_WrittenInPython, widget_class),
        {"input_type": getattr(widget_class, "input_type", "textarea")},
    )


def light_fields(form: forms.BaseForm) -> forms.BaseForm:
    """Render ``form``'s fields with ``{{ form.name.as_field_group }}`` in plain Bootstrap markup, written in Python:
    for the filter and bulk forms of the long lists, where crispy's nested field templates (and Django's, a few
    includes a field) cost more than the fifty rows; its plain selects become LongSelects. The form, for chaining."""
    for field in long_selects(form).fields.values():
        field.bound_field_class = LightBoundField
        if type(field.widget) in _PLAIN_WIDGETS:
            field.widget.__class__ = _in_python(type(field.widget))
        field.widget.attrs["class"] = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
    return form


def long_selects(form: forms.BaseForm) -> forms.BaseForm:
    """``form``'s plain selects become LongSelects. The form, for chaining."""
    for field in form.fields.values():
        if type(field.widget) is forms.Select:
            field.widget = LongSelect(attrs=field.widget.attrs, choices=field.widget.choices)
    return form


def add_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """A domain function's ValidationError on the form: by field where the form has it, else above it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class ModelMultipleIdsField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows by integer id: an id no 64-bit key can be is an invalid choice, not
    an overflow in SQLite's ``IN (...)`` (Django bounds the single-id lookups, not ``__in``)."""

    def _check_values(self, value):
        for pk in value if self.to_field_name is None else ():
            if parse_id(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class SpreadsheetField(forms.FileField):
    """The upload of every import: refused here only when over IMPORT_MAX_BYTES; whether it is a
    usable .xlsx (an empty file included) is for portal.importing.read_table to say, in its words."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_empty_file", True)
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": ".xlsx"}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload and upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("文件有 %(size).1f MB，超过上限 %(max).0f MB；请删除无关的工作表或拆分后再导入")
                % {"size": upload.size / 2**20, "max": settings.IMPORT_MAX_BYTES / 2**20}
            )
        return upload


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None, format=None):
        super().__init__(attrs, format=format or "%Y-%m-%d")  # what <input type=date> understands


class IdNumberCorrection:
    """For a ModelForm of a stored record: its 身份证号 is never written into the page.

    The field starts empty, its help shows the number masked; left empty it keeps the number,
    filled in it corrects it (``corrected_id_number`` checks and normalizes what was typed).
    """

    def hide_id_number(self) -> None:
        if self.instance.pk is None:
            return
        field = self.fields["id_number"]
        field.required = False
        field.max_length = None  # typed with spaces is fine; checked after normalizing
        field.validators = []
        field.label = _("身份证号（更正时填写）")
        field.help_text = _("当前为 %(masked)s。不需更正请留空；更正时填写完整的 18 位号码，性别和出生日期随之更新") % {
            "masked": idcard.mask(self.instance.id_number)
        }
        field.widget.attrs["autocomplete"] = "off"
        self.initial["id_number"] = ""

    def corrected_id_number(self) -> str:
        raw = self.cleaned_data.get("id_number") or ""
        if not raw.strip() and self.instance.pk is not None:
            return self.instance.id_number
        try:
            return idcard.check(raw).number
        except idcard.IdNumberError as exc:
            raise forms.ValidationError(str(exc)) from None


class TeacherForm(IdNumberCorrection, forms.ModelForm):
    """Name, ID number and teaching facts; gender and birth date follow from the ID number.

    The stored number is never written into the page (``IdNumberCorrection``). A number already
    on another unit's roster is answered with what the editor may see (``ConflictWording``); the
    refused teacher is in ``conflict`` for the view to record.
    """

    class Meta:
        model = Teacher
        fields = ["name", "id_number", "stage", "subject", "mobile", "position"]

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.conflict: Teacher | None = None
        self.hide_id_number()
        self.fields["mobile"].validators = []
        self.fields["mobile"].max_length = None
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-6"), Column("id_number", css_class="col-md-6")),
            Row(
                Column("stage", css_class="col-md-4"),
                Column("subject", css_class="col-md-4"),
                Column("position", css_class="col-md-4"),
            ),
            Row(Column("mobile", css_class="col-md-6")),
            Submit("save", _("保存")),
        )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("姓名不能为空"))
        return name

    def clean_id_number(self) -> str:
        number = self.corrected_id_number()
        if number == self.instance.id_number:
            return number
        other = Teacher.objects.filter(id_number=number).exclude(pk=self.instance.pk).select_related("unit").first()
        if other is not None:
            wording = ConflictWording(self.instance.unit, self.actor)
            if not wording.in_reach(other.unit.path):
                self.conflict = other
            raise forms.ValidationError(
                _("身份证号 %(number)s %(why)s")
                % {"number": idcard.mask(number), "why": wording.message(other.unit.path, other.unit.name)}
            )
        return number

    def clean_mobile(self) -> str:
        try:
            return check_mobile(self.cleaned_data["mobile"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def validate_unique(self):
        # clean_id_number already answers uniqueness, saying only what the editor may see.
        pass


class BulkActionForm(forms.Form):
    """Bulk retire / transfer on the rows ticked in the roster."""

    RETIRE = "retire"
    TRANSFER = "transfer"
    ACTIONS = [(RETIRE, _("标记为退休")), (TRANSFER, _("标记为调出"))]

    action = forms.ChoiceField(label=_("批量操作"), choices=ACTIONS)
    ids = ModelMultipleIdsField(
        queryset=Teacher.objects.none(), label=_("教师"), error_messages={"required": _("请先勾选教师")}
    )
    date = forms.DateField(label=_("日期"), widget=DateInput, initial=timezone.localdate)
    destination = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label=_("调入单位（市内调动时选择）"),
        empty_label=_("调出本市（不选单位）"),
        help_text=_("不选表示调出本市，状态改为“调出”；选择本市单位则教师随调动转入该单位，仍为在职"),
    )

    def __init__(self, *args, teachers, destinations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = teachers
        self.fields["destination"].queryset = destinations

    def clean(self):
        data = super().clean()
        if data.get("action") == self.RETIRE and data.get("destination"):
            self.add_error("destination", _("退休不需要选择调入单位"))
        date = data.get("date")
        if date and date > timezone.localdate() + dt.timedelta(days=366):
            self.add_error("date", _("日期不能晚于一年以后"))
        return data


class TeacherPasswordForm(forms.Form):
    """An admin sets a teacher's first password or a new one."""

    password1 = forms.CharField(
        label=_("新密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("再次输入新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("设置密码")))

    def clean_password2(self) -> str:
        p1, p2 = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if p1 and p2 and p1 != p2:
            raise forms.ValidationError(_("两次输入的密码不一致"))
        return p2


class RosterUploadForm(forms.Form):
    file = SpreadsheetField(label=_("名册文件（.xlsx）"))
    unit = forms.ModelChoiceField(
        queryset=None, label=_("导入到"), help_text=_("学校管理员导入本校名册；区、市管理员可导入含“学校代码”列的名册")
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        choices = list(units)
        if len(choices) == 1:
            self.fields["unit"].initial = choices[0]
            self.fields["unit"].widget = forms.HiddenInput()
        self.helper = FormHelper()
        self.helper.add_input(Submit("preview", _("上传并预览")))


# --- the platform operator and the organisation's admins ---------------------------------------------------------


def _password_field(required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("初始密码"),
        required=required,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("新建账号时必填，本人首次登录时须改为自己的密码；已有账号的密码不会改变。"),
    )


class AdminGrantForm(forms.Form):
    """Name an admin by ID number and name; a new login also needs a first password."""

    id_number = forms.CharField(label=_("身份证号"), max_length=30)
    name = forms.CharField(label=_("姓名"), max_length=50, help_text=_("须与身份证上的姓名一致"))
    password = _password_field(required=False)

    def __init__(self, *args, units=None, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is not None:
            self.fields["unit"] = forms.ModelChoiceField(label=_("单位"), queryset=units)
            self.fields["role"] = forms.ChoiceField(label=_("角色"), choices=[(r.value, r.label) for r in roles])
            self.order_fields(["unit", "role", "id_number", "name", "password"])


class CityCreateForm(forms.Form):
    code = forms.CharField(label=_("城市代码"), max_length=32, help_text=_("行政区划代码，例如深圳市 440300"))
    name = forms.CharField(label=_("城市名称"), max_length=100)
    admin_id_number = forms.CharField(label=_("首位市级管理员身份证号"), max_length=30)
    admin_name = forms.CharField(label=_("管理员姓名"), max_length=50)
    admin_password = _password_field(required=False)


class UnitCreateForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = ["parent", "kind", "code", "name", "district_type", "ownership"]

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents
        self.fields["parent"].required = True
        self.fields["kind"].choices = [(k.value, k.label) for k in UnitKind if k != UnitKind.CITY]

    def validate_unique(self):
        pass  # unit_create's full_clean answers it


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["code", "name", "order", "compulsory"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True


class ScheduleForm(forms.Form):
    enabled = forms.BooleanField(label=_("启用"), required=False)
    minute = forms.CharField(label=_("分钟"), max_length=60, help_text=_("0–59，例如 0、*/10、5-59/10"))
    hour = forms.CharField(label=_("小时"), max_length=60, help_text=_("0–23，* 表示每小时"))
    day_of_week = forms.CharField(label=_("星期"), max_length=60, initial="*", help_text=_("0–6（0 为星期日）"))
    day_of_month = forms.CharField(label=_("日"), max_length=60, initial="*")
    month_of_year = forms.CharField(label=_("月"), max_length=60, initial="*")


# --- contacts and announcements ----------------------------------------------------------------------------------


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["unit", "name", "phone", "duty", "order"]

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        units = list(units)
        if len(units) == 1:
            self.fields["unit"].initial = units[0]


class AnnouncementForm(forms.ModelForm):
    """Unit, audience and (for an app's audience) its target, e.g. one programme's applicants."""

    audience = forms.ChoiceField(label=_("通知对象"))
    target_id = forms.TypedChoiceField(label=_("项目"), coerce=int, required=False, empty_value=None)

    class Meta:
        model = Announcement
        fields = ["unit", "audience", "target_id", "kind", "title", "body", "event_on", "publish_at"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 6}),
            "event_on": DateInput,
            "publish_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }
        help_texts = {"publish_at": _("到这个时间才在首页显示并发送站内通知（只发一次）")}

    def __init__(self, *args, units, audiences, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        units = list(units)
        if len(units) == 1:
            self.fields["unit"].initial = units[0]
        self.fields["audience"].choices = [(a.value, a.label) for a in Audience] + [
            (a.code, a.label) for a in audiences
        ]
        self.fields["target_id"].choices = [("", "—")] + [
            (str(a.label), [(pk, label) for pk, label in targets.get(a.code, [])]) for a in audiences
        ]
        self.fields["target_id"].help_text = _("通知对象为某项目的报名者时选择")
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("publish_at", timezone.localtime().replace(second=0, microsecond=0))

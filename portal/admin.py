"""The Django admin, scoped like every other page.

Every ModelAdmin of every app (and of the third-party apps registered here: django-celery-beat's
schedules, django-axes' login records, auth groups) declares its ``reach``: whose rows a user sees.

- ``InUnits(lookup)``: rows whose unit (the path ``lookup`` from the model to a Unit) lies in the
  user's reach; a city admin sees her city, nobody sees another's.
- ``Platform()``: belongs to nobody's city (schedules, stages, topics, credit kinds): the
  platform operator's and superusers'. ``shared_choices`` marks reference data anyone may still
  pick in a form.
- ``Own()``: each user's own rows, superusers included (notifications, exports).

``ScopedAdminMixin`` applies the reach everywhere the admin reads rows: the changelist (and so
search, actions and the date hierarchy), change, delete and history views (outsiders get 404),
the choices of every foreign key and many-to-many field (a field offers the rows the related
model's own admin shows the user; a model without an admin offers nothing but to superusers),
autocomplete, the choices of list filters, and inlines. ``portal.checks`` fails start-up when a
registered ModelAdmin or inline has no reach; ``tests/integration/test_admin_scoping.py`` walks
them all for every role. Model permissions come from each app's ``rules.py``.
"""

from dataclasses import dataclass

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from portal import idcard
from portal.forms import IdNumberCorrection
from portal.models import (
    ADMIN_ROLES,
    ExportJob,
    Notification,
    PersonalDataAccess,
    ReminderDate,
    Role,
    RoleAssignment,
    Stage,
    Teacher,
    TeacherMove,
    Unit,
    UnitKind,
    User,
)
from portal.registry import MEMBERSHIPS
from portal.scoping import scope_for

admin.site.site_header = _("继教通 · 管理后台")
admin.site.site_title = _("继教通管理后台")
admin.site.index_title = _("数据配置")

NOTHING = Q(pk__in=[])


# --------------------------------------------------------------------------- reaches


class Reach:
    """Which rows of a model a user sees in the admin, and may pick where another form offers them."""

    shared_choices = False

    def rows_q(self, request, model) -> Q | None:
        """A filter for the visible rows, or None for all of them."""
        raise NotImplementedError

    def permits(self, user) -> bool:
        """Whether the user may use the admin at all (the model permissions then decide what)."""
        return True


@dataclass(frozen=True)
class InUnits(Reach):
    """Rows whose ``lookup`` unit lies in the user's reach under ``roles`` ("" for Unit itself).

    ``operator``: the rows a platform operator also sees (cities, their admins: no personal data).
    """

    lookup: str
    roles: tuple[Role, ...] = ADMIN_ROLES
    operator: Q | None = None

    def rows_q(self, request, model) -> Q | None:
        user = request.user
        if user.is_superuser:
            return None
        q = scope_for(user).unit_q(self.lookup, roles=self.roles)
        if self.operator is not None and user.is_operator:
            q |= self.operator
        return q


@dataclass(frozen=True)
class Platform(Reach):
    """Belongs to nobody's city: the platform operator's and superusers' (or superusers' only)."""

    shared_choices: bool = False  # reference data every form may offer (stages, topics, kinds)
    superusers_only: bool = False

    def permits(self, user) -> bool:
        return user.is_superuser or (user.is_operator and not self.superusers_only)

    def rows_q(self, request, model) -> Q | None:
        return None if self.permits(request.user) else NOTHING


@dataclass(frozen=True)
class Own(Reach):
    """Each user's own rows; nobody, superusers included, sees another's."""

    lookup: str = "user"

    def rows_q(self, request, model) -> Q | None:
        return Q(**{self.lookup: request.user.pk})


@dataclass(frozen=True)
class ViaParent(Reach):
    """An inline's rows: those of a parent the user already sees."""

    def rows_q(self, request, model) -> Q | None:
        return None


def _crosses_many(model: type[Model], lookup: str) -> bool:
    """Whether ``lookup`` walks a many-valued relation (then a row could match twice)."""
    for name in filter(None, lookup.split("__")):
        field = model._meta.get_field(name)
        if field.many_to_many or field.one_to_many:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


def choices_for(request, model: type[Model], site, queryset: QuerySet | None = None) -> QuerySet | None:
    """What a form (or list filter) may offer of ``model``: the rows its own admin shows the user.

    None leaves the field's default (superusers; shared reference data).
    """
    related = site._registry.get(model)
    if related is None:
        return None if request.user.is_superuser else model._default_manager.none()
    if related.reach.shared_choices or (request.user.is_superuser and not isinstance(related.reach, Own)):
        return queryset
    visible = related.get_queryset(request).values("pk")
    return (queryset if queryset is not None else model._default_manager.all()).filter(pk__in=visible)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A list filter on a relation offers only what the related model's admin shows the user."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        scoped = choices_for(request, field.related_model, model_admin.admin_site)
        if scoped is None:
            return super().field_choices(field, request, model_admin)
        limit = Q(pk__in=scoped.values("pk"))
        own = field.get_limit_choices_to() if hasattr(field, "get_limit_choices_to") else None
        if own:
            limit &= own if isinstance(own, Q) else Q(**own)
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=limit)


def _scoped_filter(model: type[Model], item):
    """A list filter on a relation, as the scoped one; any other filters the (scoped) rows themselves."""
    if isinstance(item, str):
        name, cls = item, None
    elif isinstance(item, tuple):
        name, cls = item
    else:
        return item  # a SimpleListFilter
    if cls is not None and (
        not issubclass(cls, admin.RelatedFieldListFilter)
        or issubclass(cls, admin.RelatedOnlyFieldListFilter)  # offers only values of visible rows: safe
    ):
        return item
    return (name, ScopedRelatedFieldListFilter) if get_fields_from_path(model, name)[-1].is_relation else item


class ScopedAdminMixin:
    """The reach applied to every read of a ModelAdmin or inline (see the module docstring)."""

    reach: Reach | None = None  # required on every ModelAdmin (portal.checks); inlines default to ViaParent

    def visible_q(self, request) -> Q | None:
        return self.reach.rows_q(request, self.model)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        q = self.visible_q(request)
        if q is None:
            return qs
        if isinstance(self.reach, InUnits) and _crosses_many(self.model, self.reach.lookup):
            return qs.filter(pk__in=self.model._default_manager.filter(q).values("pk"))
        return qs.filter(q)

    def get_field_queryset(self, db, db_field, request):
        return choices_for(
            request, db_field.remote_field.model, self.admin_site, super().get_field_queryset(db, db_field, request)
        )

    def has_view_permission(self, request, obj=None):
        return self.reach.permits(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self.reach.permits(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self.reach.permits(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.reach.permits(request.user) and super().has_delete_permission(request, obj)


class ScopedModelAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The base of every ModelAdmin here; subclasses set ``reach``."""

    def has_module_permission(self, request):
        return self.reach.permits(request.user) and super().has_module_permission(request)

    def get_object(self, request, object_id, from_field=None):
        # Outsiders get 404 (the admin's default, a redirect with "does not exist", is no better).
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def get_list_filter(self, request):
        return [_scoped_filter(self.model, item) for item in super().get_list_filter(request)]

    def save_related(self, request, form, formsets, change):
        if change:
            _keep_hidden_choices(form)
        super().save_related(request, form, formsets, change)


class ScopedInline(ScopedAdminMixin):
    """Mixed into every inline (before TabularInline/StackedInline)."""

    reach: Reach = ViaParent()


def _keep_hidden_choices(form) -> None:
    """A many-to-many field offers only what the user sees; what she cannot see stays as it was.

    (A provider serving two cities, edited by one city's admin, keeps the other city.)
    """
    opts = form._meta.model._meta
    for name, field in form.fields.items():
        if not isinstance(field, forms.ModelMultipleChoiceField) or name not in form.cleaned_data:
            continue
        model_field = next((f for f in opts.many_to_many if f.name == name), None)
        if model_field is None or form.instance.pk is None:
            continue
        hidden = getattr(form.instance, name).exclude(pk__in=field.queryset.values("pk"))
        form.cleaned_data[name] = [*form.cleaned_data[name], *hidden]


class ReadOnlyAdmin(ScopedModelAdmin):
    """Visible, never added, changed or deleted here (records, logs, derived data)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --------------------------------------------------------------------------- the organisation tree


@admin.register(Stage)
class StageAdmin(ScopedModelAdmin):
    reach = Platform(shared_choices=True)
    list_display = ["name", "code", "order", "compulsory"]
    list_editable = ["order"]
    search_fields = ["name", "code"]


class UnitAdminForm(forms.ModelForm):
    actor: User | None = None  # set by UnitAdmin.get_form

    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "parent", "district_type", "ownership", "stages", "is_active"]

    def clean(self):
        data = super().clean()
        kind, parent = data.get("kind"), data.get("parent")
        actor = self.actor
        if self.instance.pk is None and actor is not None and not actor.is_superuser:
            if kind == UnitKind.CITY and not actor.is_operator:
                self.add_error("kind", _("新建城市由平台运营人员办理"))
            elif kind and kind != UnitKind.CITY and not scope_for(actor).is_admin:
                self.add_error("kind", _("平台运营人员只新建城市；区县和学校由该市的市级管理员建立"))
        if kind == UnitKind.CITY and parent is not None:
            self.add_error("parent", _("市是组织树的根，不能有上级单位"))
        elif kind and kind != UnitKind.CITY and parent is None and "parent" in self.fields:
            self.add_error("parent", _("请选择上级单位（区县的上级是市，学校的上级是区县）"))
        if kind == UnitKind.DISTRICT and parent is not None and parent.kind != UnitKind.CITY:
            self.add_error("parent", _("区县的上级单位必须是市"))
        if kind == UnitKind.SCHOOL and parent is not None and parent.kind not in (UnitKind.DISTRICT, UnitKind.CITY):
            self.add_error("parent", _("学校的上级单位必须是区县或市（市直学校）"))
        return data


@admin.register(Unit)
class UnitAdmin(ScopedModelAdmin):
    reach = InUnits("", operator=Q(kind=UnitKind.CITY))
    form = UnitAdminForm
    list_display = ["name", "code", "kind", "parent", "district_type", "ownership", "is_active"]
    list_filter = ["kind", "ownership", "district_type", "is_active", "stages"]
    search_fields = ["name", "code"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    filter_horizontal = ["stages"]
    readonly_fields = ["path"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # The code and place are part of every descendant's path: fixed once the unit exists.
        return ["path", "code", "parent"] if obj is not None else ["path"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})


class RoleAssignmentInline(ScopedInline, admin.TabularInline):
    model = RoleAssignment
    reach = InUnits("unit", operator=Q(role=Role.CITY_ADMIN))
    extra = 1
    autocomplete_fields = ["unit"]
    verbose_name = _("管理角色")
    verbose_name_plural = _("管理角色（学校、区、市管理员）")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit")


class IdNumberFormMixin(IdNumberCorrection):
    """A stored record's number is shown masked and corrected by typing it whole (portal.forms)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hide_id_number()

    def clean_id_number(self) -> str:
        return self.corrected_id_number()


class PortalUserCreationForm(IdNumberFormMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["id_number", "name"]


class PortalUserChangeForm(IdNumberFormMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class PasswordSetForOtherForm(AdminPasswordChangeForm):
    """A password an admin sets is the user's to replace at her next login."""

    def save(self, commit=True):
        self.user.must_change_password = True
        return super().save(commit)


class TeacherAdminForm(IdNumberFormMixin, forms.ModelForm):
    class Meta:
        model = Teacher
        fields = [
            "name",
            "id_number",
            "unit",
            "stage",
            "subject",
            "position",
            "mobile",
            "status",
            "status_date",
            "user",
        ]


@dataclass(frozen=True)
class PeopleInReach(Reach):
    """Logins of the people in the user's reach (her units' admins and teachers, her providers' staff).

    A login just added, before its role is saved, belongs to nobody yet and is visible to every
    admin; anyone with powers elsewhere (or a superuser) is left to whoever holds those powers.
    The platform operator sees the city admins she appoints.
    """

    def rows_q(self, request, model) -> Q | None:
        user = request.user
        if user.is_superuser:
            return None
        scope = scope_for(user)
        in_reach = Q(pk__in=RoleAssignment.objects.filter(scope.unit_q("unit")).values("user_id")) | Q(
            pk__in=Teacher.objects.filter(scope.unit_q("unit"), user__isnull=False).values("user_id")
        )
        for membership in MEMBERSHIPS:
            if membership.users_reached is not None:
                in_reach |= Q(pk__in=membership.users_reached(scope))
        if user.is_operator:
            in_reach |= Q(pk__in=RoleAssignment.objects.filter(role=Role.CITY_ADMIN).values("user_id"))
        unattached = Q(role_assignments__isnull=True, teacher__isnull=True, provider_memberships__isnull=True)
        powers_elsewhere = RoleAssignment.objects.exclude(scope.unit_q("unit"))
        if user.is_operator:
            powers_elsewhere = powers_elsewhere.exclude(role=Role.CITY_ADMIN)
        return (in_reach | unattached) & ~Q(pk__in=powers_elsewhere.values("user_id")) & Q(is_superuser=False)


@admin.register(User)
class UserAdmin(ScopedModelAdmin, DjangoUserAdmin):
    """Users log in with the ID number; their administrative roles are edited inline."""

    reach = PeopleInReach()
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    change_password_form = PasswordSetForOtherForm
    inlines = [RoleAssignmentInline]
    list_display = ["name", "masked_id_number", "email", "mobile", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "role_assignments__role"]
    search_fields = ["name", "=id_number", "email", "mobile"]
    ordering = ["name", "id"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["id_number", "password"]}),
        (_("个人信息"), {"fields": ["name", "email", "mobile"]}),
        (
            _("权限"),
            {
                "fields": [
                    "is_active",
                    "must_change_password",
                    "is_staff",
                    "is_operator",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        (_("时间"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["id_number", "name", "usable_password", "password1", "password2"]}),
    ]
    show_full_result_count = False

    @admin.display(description=_("身份证号"), ordering="id_number")
    def masked_id_number(self, obj):
        return idcard.mask(obj.id_number)

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    def save_model(self, request, obj, form, change):
        if not change and obj.has_usable_password():
            obj.must_change_password = True  # the admin chose it: the user picks her own at first login
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only superusers hand out Django permissions or the operator's role.
            fields += ["is_superuser", "is_operator", "groups", "user_permissions"]
        return fields


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedModelAdmin):
    reach = InUnits("unit", operator=Q(role=Role.CITY_ADMIN))
    list_display = ["user", "role", "unit"]
    list_filter = ["role"]
    search_fields = ["user__name", "=user__id_number", "unit__name", "unit__code"]
    autocomplete_fields = ["user", "unit"]
    list_select_related = ["user", "unit"]


@admin.register(Teacher)
class TeacherAdmin(ScopedModelAdmin):
    reach = InUnits("unit")
    form = TeacherAdminForm
    list_display = ["name", "masked_id_number", "gender", "birth_date", "unit", "stage", "subject", "status"]
    list_filter = ["status", "stage", "position", "gender"]
    search_fields = ["name", "=id_number", "unit__name", "unit__code"]
    list_select_related = ["unit", "stage"]
    autocomplete_fields = ["unit", "user"]
    readonly_fields = ["gender", "birth_date", "created_at", "updated_at"]
    fields = [
        "name",
        "id_number",
        "gender",
        "birth_date",
        "unit",
        "stage",
        "subject",
        "position",
        "mobile",
        "status",
        "status_date",
        "user",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False

    @admin.display(description=_("身份证号"), ordering="id_number")
    def masked_id_number(self, obj):
        return obj.masked_id_number

    def get_search_results(self, request, queryset, search_term):
        # ID numbers are found however they were typed (spaces, lower-case x).
        number = idcard.normalize(search_term)
        if len(number) == 18:
            return queryset.filter(id_number=number), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(TeacherMove)
class TeacherMoveAdmin(ReadOnlyAdmin):
    reach = InUnits("from_unit")
    list_display = ["teacher", "status", "date", "from_unit", "to_unit", "recorded_by", "recorded_at"]
    list_filter = ["status"]
    search_fields = ["teacher__name", "=teacher__id_number"]
    list_select_related = ["teacher", "from_unit", "to_unit", "recorded_by"]
    date_hierarchy = "date"


@admin.register(ReminderDate)
class ReminderDateAdmin(ScopedModelAdmin):
    reach = InUnits("city", roles=(Role.CITY_ADMIN,))
    list_display = ["city", "date", "note"]
    list_filter = ["city"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    reach = Own()
    list_display = ["title", "kind", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    reach = Own()
    list_display = ["kind", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    exclude = ["file"]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin):
    reach = InUnits("unit")
    list_display = ["created_at", "user_name", "purpose", "detail", "count", "unit"]
    list_filter = ["purpose"]
    search_fields = ["user_name", "detail"]
    list_select_related = ["unit"]
    date_hierarchy = "created_at"


# --------------------------------------------------------------------------- third-party admins


class PeriodicTaskInline(ScopedInline, beat_admin.PeriodicTaskInline):
    pass


class _ScheduleAdmin:
    reach = Platform()
    inlines = [PeriodicTaskInline]


THIRD_PARTY: list[tuple[type[Model], type]] = [
    (PeriodicTask, type("PeriodicTaskAdmin", (ScopedModelAdmin, beat_admin.PeriodicTaskAdmin), {"reach": Platform()})),
    (
        ClockedSchedule,
        type("ClockedScheduleAdmin", (_ScheduleAdmin, ScopedModelAdmin, beat_admin.ClockedScheduleAdmin), {}),
    ),
    (
        CrontabSchedule,
        type("CrontabScheduleAdmin", (_ScheduleAdmin, ScopedModelAdmin, beat_admin.CrontabScheduleAdmin), {}),
    ),
    (SolarSchedule, type("SolarScheduleAdmin", (_ScheduleAdmin, ScopedModelAdmin, beat_admin.SolarScheduleAdmin), {})),
    (
        IntervalSchedule,
        type("IntervalScheduleAdmin", (_ScheduleAdmin, ScopedModelAdmin, beat_admin.IntervalScheduleAdmin), {}),
    ),
    (Group, type("GroupAdmin", (ScopedModelAdmin, DjangoGroupAdmin), {"reach": Platform(superusers_only=True)})),
]


class _LoginRecordAdmin:
    """django-axes' records: the platform's, with the ID number typed at login masked."""

    reach = Platform()

    @admin.display(description=_("登录账号"), ordering="username")
    def masked_username(self, obj):
        return idcard.mask(obj.username or "")

    def _masked(self, names):
        return [("masked_username" if name == "username" else name) for name in names]

    def get_list_display(self, request):
        return self._masked(super().get_list_display(request))

    def get_readonly_fields(self, request, obj=None):
        return self._masked(super().get_readonly_fields(request, obj))

    def get_fieldsets(self, request, obj=None):
        return [
            (title, {**opts, "fields": self._masked(opts["fields"])})
            for title, opts in super().get_fieldsets(request, obj)
        ]


THIRD_PARTY += [
    (model, type(base.__name__, (_LoginRecordAdmin, ScopedModelAdmin, base), {}))
    for model, base in (
        (AccessAttempt, axes_admin.AccessAttemptAdmin),
        (AccessLog, axes_admin.AccessLogAdmin),
        (AccessFailureLog, axes_admin.AccessFailureLogAdmin),
    )
]

for _model, _admin_class in THIRD_PARTY:
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)

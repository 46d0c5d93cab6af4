"""The Django admin for the organisation tree and people.

Superusers see everything. Staff users who hold the city-admin role get the
model permissions from portal.rules and see only their own reach here too;
a city they create is theirs (services.city_create), so a new city can be set
up — districts, schools, admins — from the admin alone.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal import idcard, services
from portal.models import (
    ADMIN_ROLES,
    ExportJob,
    Notification,
    ReminderDate,
    RoleAssignment,
    Stage,
    Teacher,
    TeacherMove,
    Unit,
    UnitKind,
    User,
)
from portal.scoping import scope_for

admin.site.site_header = _("继教通 · 管理后台")
admin.site.site_title = _("继教通管理后台")
admin.site.index_title = _("数据配置")


class ScopedAdminMixin:
    """Narrow the list and the unit choices to the staff user's reach (superusers: everything)."""

    unit_lookup = "unit"  # the path to the Unit that decides visibility; "" for Unit itself
    scope_roles = ADMIN_ROLES  # whose reach counts (city-wide configuration: city admins only)

    def reach(self, request, prefix: str):
        """Q for rows whose ``prefix`` unit lies in the user's reach under ``scope_roles``."""
        return scope_for(request.user).unit_q(prefix, roles=self.scope_roles)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(self.reach(request, self.unit_lookup))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Unit and not request.user.is_superuser:
            kwargs["queryset"] = Unit.objects.filter(self.reach(request, ""))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is Unit and not request.user.is_superuser:
            kwargs["queryset"] = Unit.objects.filter(self.reach(request, ""))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible, never added, changed or deleted here (records, logs, derived data)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "order", "compulsory"]
    list_editable = ["order"]
    search_fields = ["name", "code"]


class UnitAdminForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "parent", "district_type", "ownership", "stages", "is_active"]

    def clean(self):
        data = super().clean()
        kind, parent = data.get("kind"), data.get("parent")
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
class UnitAdmin(ScopedAdminMixin, admin.ModelAdmin):
    form = UnitAdminForm
    unit_lookup = ""
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

    def save_model(self, request, obj, form, change):
        if not change and obj.kind == UnitKind.CITY and not request.user.is_superuser:
            services.city_create(obj, actor=request.user)
        else:
            super().save_model(request, obj, form, change)


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1
    autocomplete_fields = ["unit"]
    verbose_name = _("管理角色")
    verbose_name_plural = _("管理角色（学校、区、市管理员）")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Unit and not request.user.is_superuser:
            kwargs["queryset"] = Unit.objects.filter(scope_for(request.user).unit_q(""))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("unit")
        if request.user.is_superuser:
            return qs
        return qs.filter(scope_for(request.user).unit_q("unit"))


class IdNumberFormMixin:
    def clean_id_number(self) -> str:
        try:
            return idcard.check(self.cleaned_data["id_number"]).number
        except idcard.IdNumberError as exc:
            raise forms.ValidationError(str(exc)) from None


class PortalUserCreationForm(IdNumberFormMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["id_number", "name"]


class PortalUserChangeForm(IdNumberFormMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users log in with the ID number; their administrative roles are edited inline."""

    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    inlines = [RoleAssignmentInline]
    list_display = ["name", "id_number", "email", "mobile", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "role_assignments__role"]
    search_fields = ["name", "id_number", "email", "mobile"]
    ordering = ["name", "id"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["id_number", "password"]}),
        (_("个人信息"), {"fields": ["name", "email", "mobile"]}),
        (_("权限"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("时间"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["id_number", "name", "usable_password", "password1", "password2"]}),
    ]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only superusers hand out Django permissions.
            fields += ["is_superuser", "groups", "user_permissions"]
        return fields

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        scope = scope_for(request.user)
        in_reach = Q(pk__in=RoleAssignment.objects.filter(scope.unit_q("unit")).values("user_id")) | Q(
            pk__in=Teacher.objects.filter(scope.unit_q("unit"), user__isnull=False).values("user_id")
        )
        # A login just added, before its role is saved, belongs to nobody yet.
        unattached = Q(role_assignments__isnull=True, teacher__isnull=True, provider_memberships__isnull=True)
        # Anyone with powers elsewhere (or a superuser) is left to whoever holds those powers.
        powers_elsewhere = RoleAssignment.objects.exclude(scope.unit_q("unit")).values("user_id")
        return qs.filter(in_reach | unattached).exclude(pk__in=powers_elsewhere).exclude(is_superuser=True).distinct()


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "role", "unit"]
    list_filter = ["role"]
    search_fields = ["user__name", "user__id_number", "unit__name", "unit__code"]
    autocomplete_fields = ["user", "unit"]
    list_select_related = ["user", "unit"]


@admin.register(Teacher)
class TeacherAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "id_number", "gender", "birth_date", "unit", "stage", "subject", "status"]
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

    def get_search_results(self, request, queryset, search_term):
        # ID numbers are found however they were typed (spaces, lower-case x).
        number = idcard.normalize(search_term)
        if len(number) == 18:
            return queryset.filter(id_number=number), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(TeacherMove)
class TeacherMoveAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    unit_lookup = "from_unit"
    list_display = ["teacher", "status", "date", "from_unit", "to_unit", "recorded_by", "recorded_at"]
    list_filter = ["status"]
    search_fields = ["teacher__name", "=teacher__id_number"]
    list_select_related = ["teacher", "from_unit", "to_unit", "recorded_by"]
    date_hierarchy = "date"


@admin.register(ReminderDate)
class ReminderDateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    unit_lookup = "city"
    list_display = ["city", "date", "note"]
    list_filter = ["city"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "city":
            field.queryset = field.queryset.filter(kind=UnitKind.CITY)
        return field


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "kind", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "user__name", "=user__id_number"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["kind", "user", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]

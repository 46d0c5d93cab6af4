from django.contrib import admin

from courses.models import (
    Course,
    CourseSelection,
    CourseSession,
    FeePayer,
    OfferRule,
    OfferStageLevel,
    Provider,
    ProviderStaff,
    TrainingPeriod,
    WaitlistEntry,
)
from portal.admin import ReadOnlyAdmin, ScopedAdminMixin
from portal.models import Role, Unit, UnitKind


class CityScopedAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Staff city admins see only their cities' rows (superusers: everything)."""

    unit_lookup = "city"
    scope_roles = (Role.CITY_ADMIN,)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is TrainingPeriod and not request.user.is_superuser:
            kwargs["queryset"] = TrainingPeriod.objects.filter(self.reach(request, "city"))
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.related_model is Unit:
            field.queryset = field.queryset.filter(kind=UnitKind.CITY)
        return field


class ProviderStaffInline(admin.TabularInline):
    model = ProviderStaff
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "contact_name", "contact_phone", "is_active"]
    search_fields = ["code", "name"]
    list_filter = ["is_active"]
    inlines = [ProviderStaffInline]


class FeePayerInline(admin.TabularInline):
    """Who pays each category's fees (shown on the schools' statements); none means the employer."""

    model = FeePayer
    extra = 0


@admin.register(TrainingPeriod)
class TrainingPeriodAdmin(CityScopedAdmin):
    list_display = [
        "code",
        "name",
        "city",
        "year",
        "selection_opens_at",
        "selection_closes_at",
        "late_opens_at",
        "late_closes_at",
        "drop_allowed_in_late",
        "max_fee_per_hour",
    ]
    list_filter = ["city", "year"]
    search_fields = ["code", "name"]
    inlines = [FeePayerInline]


class CourseSessionInline(admin.TabularInline):
    model = CourseSession
    extra = 0


@admin.register(Course)
class CourseAdmin(CityScopedAdmin):
    unit_lookup = "period__city"

    list_display = [
        "code",
        "title",
        "period",
        "category",
        "hours",
        "provider",
        "mode",
        "capacity",
        "enrolled_count",
        "status",
    ]
    list_filter = ["period", "category", "mode", "status", "provider"]
    search_fields = ["code", "title", "provider__name"]
    filter_horizontal = ["topics", "stages"]
    readonly_fields = ["enrolled_count"]
    inlines = [CourseSessionInline]
    list_select_related = ["period", "provider"]


@admin.register(CourseSelection)
class CourseSelectionAdmin(CityScopedAdmin, ReadOnlyAdmin):
    """Read-only: selections change only through the course services (capacity, waiting list, ledger)."""

    unit_lookup = "period__city"

    list_display = ["teacher", "course", "status", "from_waitlist", "selected_at", "dropped_at", "completed_at"]
    list_filter = ["status", "period"]
    search_fields = ["teacher__name", "teacher__id_number", "course__code", "course__title"]
    list_select_related = ["teacher", "course"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(CourseSelectionAdmin):
    unit_lookup = "course__period__city"
    list_display = ["teacher", "course", "status", "created_at", "closed_at", "note"]
    list_filter = ["status"]


class OfferStageLevelInline(admin.TabularInline):
    model = OfferStageLevel
    extra = 0


@admin.register(OfferRule)
class OfferRuleAdmin(CityScopedAdmin):
    """The period's rules for providers' offers and the stage → approving level mapping (data, per city)."""

    unit_lookup = "period__city"

    list_display = ["period", "kind", "min_hours", "plan_years", "default_level"]
    list_filter = ["period"]
    filter_horizontal = ["required_topics", "allowed_topics"]
    inlines = [OfferStageLevelInline]
    list_select_related = ["period", "kind"]

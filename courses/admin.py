from django.contrib import admin
from django.db.models import Q

from courses.models import Course, CourseSession, Enrollment, Provider, ProviderStaff, TrainingPeriod, WaitlistEntry
from portal.models import Role, Unit
from portal.scoping import scope_for


class CityScopedAdmin(admin.ModelAdmin):
    """Staff city admins see only their cities' rows (superusers: everything)."""

    city_lookup = "city"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        paths = scope_for(request.user).paths.get(Role.CITY_ADMIN, ())
        q = Q(pk__in=[])
        for path in paths:
            q |= Q(**{f"{self.city_lookup}__path": path})
        return qs.filter(q)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            paths = scope_for(request.user).paths.get(Role.CITY_ADMIN, ())
            if db_field.related_model is Unit:
                kwargs["queryset"] = Unit.objects.filter(path__in=paths)
            elif db_field.related_model is TrainingPeriod:
                kwargs["queryset"] = TrainingPeriod.objects.filter(city__path__in=paths)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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


class CourseSessionInline(admin.TabularInline):
    model = CourseSession
    extra = 0


@admin.register(Course)
class CourseAdmin(CityScopedAdmin):
    city_lookup = "period__city"

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


@admin.register(Enrollment)
class EnrollmentAdmin(CityScopedAdmin):
    """Read-only: selections change only through the course services (capacity, waiting list, ledger)."""

    city_lookup = "period__city"

    list_display = ["teacher", "course", "status", "from_waitlist", "selected_at", "dropped_at", "completed_at"]
    list_filter = ["status", "period"]
    search_fields = ["teacher__name", "teacher__id_number", "course__code", "course__title"]
    list_select_related = ["teacher", "course"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(EnrollmentAdmin):
    city_lookup = "course__period__city"
    list_display = ["teacher", "course", "status", "created_at", "closed_at", "note"]
    list_filter = ["status"]

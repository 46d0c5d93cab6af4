"""The admin for periods, providers and courses, scoped to the city (see portal.admin).

A city admin sees the providers serving her city and manages their staff, but never makes
herself (or any administrator) a provider's staff: a provider's staff see its learners in every
city it serves.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from courses.models import (
    Course,
    CourseSelection,
    CourseSession,
    FeePayer,
    NoShowPolicy,
    OfferRule,
    OfferStageLevel,
    Provider,
    ProviderStaff,
    TrainingPeriod,
    WaitlistEntry,
)
from portal.admin import InUnits, ReadOnlyAdmin, ScopedInline, ScopedModelAdmin
from portal.models import Role, Unit, UnitKind

CITY_ADMIN = (Role.CITY_ADMIN,)


class ProviderStaffInline(ScopedInline, admin.TabularInline):
    model = ProviderStaff
    raw_id_fields = ["user"]
    extra = 0

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if db_field.name == "user" and queryset is not None:
            # Only plain logins: never the admin herself, nor anyone holding powers of their own.
            queryset = queryset.exclude(pk=request.user.pk).exclude(role_assignments__isnull=False)
            queryset = queryset.filter(is_staff=False, is_operator=False, is_superuser=False)
        return queryset


class ProviderForm(forms.ModelForm):
    def clean_cities(self):
        cities = self.cleaned_data["cities"]
        if not cities and self.instance.pk is None:
            raise forms.ValidationError(_("请选择本机构服务的城市"))
        return cities


@admin.register(Provider)
class ProviderAdmin(ScopedModelAdmin):
    reach = InUnits("cities", roles=CITY_ADMIN)
    form = ProviderForm
    list_display = ["code", "name", "contact_name", "contact_phone", "is_active"]
    search_fields = ["code", "name"]
    list_filter = ["is_active"]
    filter_horizontal = ["cities"]
    inlines = [ProviderStaffInline]


class FeePayerInline(ScopedInline, admin.TabularInline):
    """Who pays each category's fees (shown on the schools' statements); none means the employer."""

    model = FeePayer
    extra = 0


@admin.register(TrainingPeriod)
class TrainingPeriodAdmin(ScopedModelAdmin):
    reach = InUnits("city", roles=CITY_ADMIN)
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
    list_filter = ["year", ("city", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "name"]
    inlines = [FeePayerInline]

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if db_field.name == "city":
            queryset = (queryset if queryset is not None else Unit.objects.all()).filter(kind=UnitKind.CITY)
        return queryset


class CourseSessionInline(ScopedInline, admin.TabularInline):
    model = CourseSession
    extra = 0


@admin.register(Course)
class CourseAdmin(ScopedModelAdmin):
    reach = InUnits("period__city", roles=CITY_ADMIN)
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
class CourseSelectionAdmin(ReadOnlyAdmin):
    """Read-only: selections change only through the course services (capacity, waiting list, ledger)."""

    reach = InUnits("period__city", roles=CITY_ADMIN)
    list_display = ["teacher", "course", "status", "from_waitlist", "selected_at", "dropped_at", "completed_at"]
    list_filter = ["status", "period"]
    search_fields = ["teacher__name", "=teacher__id_number", "course__code", "course__title"]
    list_select_related = ["teacher", "course"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(CourseSelectionAdmin):
    reach = InUnits("course__period__city", roles=CITY_ADMIN)
    list_display = ["teacher", "course", "status", "created_at", "closed_at", "note"]
    list_filter = ["status"]


@admin.register(NoShowPolicy)
class NoShowPolicyAdmin(ScopedModelAdmin):
    """What follows a no-show (无故未参训) in the city: withheld hours, a programme-registration ban, statistics."""

    reach = InUnits("city", roles=CITY_ADMIN)
    list_display = ["city", "withhold_session_hours", "programme_ban_months", "count_in_statistics"]


class OfferStageLevelInline(ScopedInline, admin.TabularInline):
    model = OfferStageLevel
    extra = 0


@admin.register(OfferRule)
class OfferRuleAdmin(ScopedModelAdmin):
    """The period's rules for providers' offers and the stage → approving level mapping (data, per city)."""

    reach = InUnits("period__city", roles=CITY_ADMIN)
    list_display = ["period", "kind", "min_hours", "plan_years", "default_level"]
    list_filter = ["period"]
    filter_horizontal = ["required_topics", "allowed_topics"]
    inlines = [OfferStageLevelInline]
    list_select_related = ["period", "kind"]

"""What a city admin configures without code: programmes, their chain of levels and quota table.

Applications change only through the portal's domain functions, and the audit
log is read-only here as everywhere.
"""

from django.contrib import admin
from django.utils import timezone

from portal.admin import ReadOnlyAdmin, ScopedAdminMixin

from . import services
from .forms import LevelFormSet, ProgrammeAdminForm
from .models import Application, AuditEntry, Programme, ProgrammeLevel, Quota


class ProgrammeLevelInline(admin.TabularInline):
    model = ProgrammeLevel
    formset = LevelFormSet
    extra = 0
    min_num = 1
    ordering = ["order"]


class QuotaInline(ScopedAdminMixin, admin.TabularInline):
    unit_lookup = "district"

    model = Quota
    extra = 0
    autocomplete_fields = []
    fields = ["district", "seats", "reopened_until"]
    readonly_fields = ["reopened_until"]


@admin.register(Programme)
class ProgrammeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    unit_lookup = "period__city"

    form = ProgrammeAdminForm
    list_display = ["title", "period", "total_seats", "registration_opens_at", "registration_closes_at"]
    list_filter = ["period__city", "period"]
    search_fields = ["title"]
    filter_horizontal = ["eligible_stages"]
    inlines = [ProgrammeLevelInline, QuotaInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is Quota:
            old = {q.pk: q.seats for q in Quota.objects.filter(programme=form.instance)}
            instances = formset.save()
            now = timezone.now()
            for quota in instances:
                if old.get(quota.pk) != quota.seats:
                    services.quota_admin_audit(actor=request.user, quota=quota, old_seats=old.get(quota.pk), now=now)
            return
        formset.save()
        if formset.model is ProgrammeLevel:
            services.programme_deadlines_sync(form.instance)


@admin.register(Application)
class ApplicationAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    unit_lookup = "school"

    list_display = ["teacher", "programme", "school", "state", "level", "deadline", "submitted_at"]
    list_filter = ["state", "programme"]
    search_fields = ["teacher__name", "teacher__id_number"]
    list_select_related = ["teacher", "programme", "school", "level"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    unit_lookup = "programme__period__city"

    list_display = ["created_at", "actor_name", "actor_role", "action", "programme", "application", "comment"]
    list_filter = ["action", "actor_role", "programme"]
    search_fields = ["actor_name", "comment"]
    list_select_related = ["programme", "application__teacher"]
    actions = None

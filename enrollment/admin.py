"""What a city admin configures without code: programmes, their chain of levels and quota table.

Applications change only through the portal's domain functions, and the audit
log is read-only here as everywhere.
"""

import itertools

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.admin import InUnits, ReadOnlyAdmin, ScopedInline, ScopedModelAdmin
from portal.models import Role, UnitKind

from . import services
from .forms import ProgrammeAdminForm
from .models import LEVEL_KIND_RANK, Application, AuditEntry, Programme, ProgrammeLevel, ProgrammeSession, Quota


class LevelFormSet(BaseInlineFormSet):
    """The chain must climb (school → district → city) with later deadlines at each step."""

    def clean(self):
        super().clean()
        rows = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("deadline")
        ]
        rows.sort(key=lambda r: r["order"])
        for before, after in itertools.pairwise(rows):
            if LEVEL_KIND_RANK[UnitKind(after["unit_kind"])] <= LEVEL_KIND_RANK[UnitKind(before["unit_kind"])]:
                raise ValidationError(_("审核层级须由低到高排列：学校 → 区 → 市。"))
            if after["deadline"] <= before["deadline"]:
                raise ValidationError(_("后一级的审核截止时间必须晚于前一级。"))
        closes = self.instance.registration_closes_at
        if rows and closes and rows[0]["deadline"] < closes:
            raise ValidationError(_("第一级审核截止时间不能早于报名截止时间。"))


class ProgrammeLevelInline(ScopedInline, admin.TabularInline):
    model = ProgrammeLevel
    formset = LevelFormSet
    extra = 0
    min_num = 1
    ordering = ["order"]


class QuotaInline(ScopedInline, admin.TabularInline):
    model = Quota
    extra = 0
    autocomplete_fields = []
    fields = ["district", "seats", "reopened_until"]
    readonly_fields = ["reopened_until"]


class ProgrammeSessionInline(ScopedInline, admin.TabularInline):
    """The programme's meetings, whose attendance the city takes in the portal."""

    model = ProgrammeSession
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(ScopedModelAdmin):
    reach = InUnits("period__city", roles=(Role.CITY_ADMIN,))
    form = ProgrammeAdminForm
    list_display = ["title", "period", "total_seats", "registration_opens_at", "registration_closes_at"]
    list_filter = ["period"]
    search_fields = ["title"]
    filter_horizontal = ["eligible_stages"]
    inlines = [ProgrammeLevelInline, QuotaInline, ProgrammeSessionInline]

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
class ApplicationAdmin(ReadOnlyAdmin):
    reach = InUnits("school")
    list_display = ["teacher", "programme", "school", "state", "level", "deadline", "submitted_at"]
    list_filter = ["state", "programme"]
    search_fields = ["teacher__name", "=teacher__id_number"]
    list_select_related = ["teacher", "programme", "school", "level"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    reach = InUnits("programme__period__city", roles=(Role.CITY_ADMIN,))
    list_display = ["created_at", "actor_name", "actor_role", "action", "programme", "application", "comment"]
    list_filter = ["action", "actor_role", "programme"]
    search_fields = ["actor_name", "comment"]
    list_select_related = ["programme", "application__teacher"]
    actions = None

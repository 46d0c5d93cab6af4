from django.urls import path

from portal.views import announcements, imports, operator, roster, units

app_name = "portal"
urlpatterns = [
    path("roster/", roster.roster, name="roster"),
    path("roster/bulk/", roster.roster_bulk, name="roster_bulk"),
    path("roster/export.xlsx", imports.roster_export, name="roster_export"),
    path("roster/template.xlsx", imports.roster_template, name="roster_template"),
    path("roster/import/", imports.roster_import, name="roster_import"),
    path("roster/import/<uuid:token>/", imports.roster_import_preview, name="roster_import_preview"),
    path("roster/import/<uuid:token>/confirm/", imports.roster_import_confirm, name="roster_import_confirm"),
    path("roster/import/<uuid:token>/errors.xlsx", imports.roster_import_errors, name="roster_import_errors"),
    path("teachers/<int:pk>/", roster.teacher_detail, name="teacher_detail"),
    path("teachers/<int:pk>/edit/", roster.teacher_edit, name="teacher_edit"),
    path("teachers/<int:pk>/password/", roster.teacher_password, name="teacher_password"),
    path("teachers/<int:pk>/reactivate/", roster.teacher_reactivate, name="teacher_reactivate"),
    path("me/", roster.my_record, name="my_record"),
    path("units/", units.unit_tree, name="unit_tree"),
    path("units/admins/<int:pk>/revoke/", units.admin_revoke, name="admin_revoke"),
    path("setup/", announcements.setup_hub, name="setup"),
    path("setup/contacts/", announcements.contacts, name="contacts"),
    path("setup/contacts/<int:pk>/", announcements.contacts, name="contact_edit"),
    path("setup/contacts/<int:pk>/delete/", announcements.contact_delete, name="contact_delete"),
    path("setup/announcements/", announcements.announcements, name="announcements"),
    path("setup/announcements/new/", announcements.announcement_edit, name="announcement_create"),
    path("setup/announcements/<int:pk>/", announcements.announcement_edit, name="announcement_edit"),
    path("setup/announcements/<int:pk>/delete/", announcements.announcement_delete, name="announcement_delete"),
    path("announcements/<int:pk>/", announcements.announcement, name="announcement"),
    path("help/", announcements.help_page, name="help"),
    path("operator/cities/", operator.cities, name="operator_cities"),
    path("operator/cities/<int:pk>/", operator.city_detail, name="operator_city"),
    path("operator/stages/", operator.stages, name="operator_stages"),
    path("operator/stages/<int:pk>/", operator.stages, name="operator_stage"),
    path("operator/schedules/", operator.schedules, name="operator_schedules"),
    path("operator/schedules/<int:pk>/", operator.schedule_edit, name="operator_schedule"),
]

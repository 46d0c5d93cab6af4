from django.urls import path

from portal.views import imports, roster, units

app_name = "portal"
urlpatterns = [
    path("roster/", roster.roster, name="roster"),
    path("roster/bulk/", roster.roster_bulk, name="roster_bulk"),
    path("roster/conflicts/", roster.roster_conflicts, name="roster_conflicts"),
    path("roster/export.xlsx", imports.roster_export, name="roster_export"),
    path("roster/template.xlsx", imports.roster_template, name="roster_template"),
    path("roster/import/", imports.roster_import, name="roster_import"),
    path("roster/import/<uuid:token>/", imports.roster_import_preview, name="roster_import_preview"),
    path("roster/import/<uuid:token>/confirm/", imports.roster_import_confirm, name="roster_import_confirm"),
    path("roster/import/<uuid:token>/errors.xlsx", imports.roster_import_errors, name="roster_import_errors"),
    path("teachers/<id:pk>/", roster.teacher_detail, name="teacher_detail"),
    path("teachers/<id:pk>/edit/", roster.teacher_edit, name="teacher_edit"),
    path("teachers/<id:pk>/password/", roster.teacher_password, name="teacher_password"),
    path("teachers/<id:pk>/reactivate/", roster.teacher_reactivate, name="teacher_reactivate"),
    path("me/", roster.my_record, name="my_record"),
    path("units/", units.unit_tree, name="unit_tree"),
    path("personal-data/", roster.personal_data_log, name="personal_data_log"),
]

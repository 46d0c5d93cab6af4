from django.urls import path

from credits import views, views_setup

app_name = "credits"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("teacher/<int:pk>/", views.teacher_detail, name="teacher"),
    path("teacher/<int:pk>/adjust/", views.adjust, name="adjust"),
    path("teacher/<int:pk>/certificate.pdf", views.certificate, name="certificate"),
    path("entry/<int:pk>/reverse/", views.entry_reverse, name="reverse"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.xlsx", views.dashboard_export, name="dashboard_export"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:code>/", views.verify, name="verify_code"),
    path("setup/rules/", views_setup.rule_list, name="rule_list"),
    path("setup/rules/new/", views_setup.rule_edit, name="rule_create"),
    path("setup/rules/new/preview/", views_setup.rule_preview, name="rule_preview_new"),
    path("setup/rules/<int:pk>/", views_setup.rule_edit, name="rule_edit"),
    path("setup/rules/<int:pk>/preview/", views_setup.rule_preview, name="rule_preview"),
    path("setup/rules/<int:pk>/copy/", views_setup.rule_copy, name="rule_copy"),
    path("setup/catalogue/", views_setup.catalogue_settings, name="catalogue_settings"),
]

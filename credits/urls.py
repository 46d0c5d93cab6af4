from django.urls import path

from credits import declaration_views, views

app_name = "credits"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("teacher/<id:pk>/", views.teacher_detail, name="teacher"),
    path("teacher/<id:pk>/adjust/", views.adjust, name="adjust"),
    path("teacher/<id:pk>/certificate.pdf", views.certificate, name="certificate"),
    path("entry/<id:pk>/reverse/", views.entry_reverse, name="reverse"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.xlsx", views.dashboard_export, name="dashboard_export"),
    path("verify/", views.verify, name="verify"),
    path("verify/<str:code>/", views.verify, name="verify_code"),
    # Hours earned outside the catalogue: declarations and school-based training.
    path("declarations/", declaration_views.declarations, name="declarations"),
    path("declarations/new/", declaration_views.declaration_new, name="declaration_new"),
    path("declarations/review/", declaration_views.declaration_review, name="declaration_review"),
    path("declarations/review/bulk/", declaration_views.declaration_review_bulk, name="declaration_review_bulk"),
    path("declarations/overview/", declaration_views.declaration_overview, name="declaration_overview"),
    path("declarations/spot-check/", declaration_views.spot_check_draw, name="spot_check_draw"),
    path("declarations/<id:pk>/", declaration_views.declaration_detail, name="declaration_detail"),
    path("declarations/<id:pk>/edit/", declaration_views.declaration_edit, name="declaration_edit"),
    path("declarations/<id:pk>/decide/", declaration_views.declaration_decide, name="declaration_decide"),
    path(
        "declarations/<id:pk>/evidence/<id:evidence_pk>/",
        declaration_views.evidence_download,
        name="declaration_evidence",
    ),
    path("school-training/", declaration_views.school_training, name="school_training"),
    path("school-training/new/", declaration_views.school_activity_new, name="school_activity_new"),
    path("school-training/cap/", declaration_views.school_training_cap, name="school_training_cap"),
    path("school-training/<id:pk>/", declaration_views.school_activity_detail, name="school_activity_detail"),
]

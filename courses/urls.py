from django.urls import path

from courses import partnership_views as pv
from courses import views

app_name = "courses"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<int:pk>/", views.course_detail, name="course_detail"),
    path("<int:pk>/select/", views.course_select, name="course_select"),
    path("<int:pk>/drop/", views.course_drop, name="course_drop"),
    path("<int:pk>/waitlist/leave/", views.waitlist_leave, name="waitlist_leave"),
    path("manage/", views.course_manage_list, name="manage_list"),
    path("manage/new/", views.course_edit, name="course_create"),
    path("manage/import/", views.course_import, name="course_import"),
    path("manage/<int:pk>/edit/", views.course_edit, name="course_edit"),
    path("manage/<int:pk>/roster/", views.course_roster, name="course_roster"),
    path("progress/courses/", views.fill_rates, name="fill_rates"),
    path("progress/schools/", views.school_progress, name="school_progress"),
    path("progress/nudge/", views.nudge, name="nudge"),
    path("progress/nudge/remind/", views.nudge_remind, name="nudge_remind"),
    path("results/import/", views.results_import, name="results_import"),
    path("results/template.xlsx", views.results_template, name="results_template"),
    # The school–provider model (courses/partnership_views.py).
    path("school-provider/", pv.school_provider, name="school_provider"),
    path("school-provider/choose/", pv.agreement_choose, name="agreement_choose"),
    path("agreements/", pv.agreements_overview, name="agreements_overview"),
    path("agreements/<int:pk>/", pv.agreement_detail, name="agreement_detail"),
    path("agreements/<int:pk>/upload/", pv.agreement_upload, name="agreement_upload"),
    path("agreements/<int:pk>/cancel/", pv.agreement_cancel, name="agreement_cancel"),
    path("agreements/<int:pk>/decide/", pv.agreement_decide, name="agreement_decide"),
    path("agreements/<int:pk>/participants/send/", pv.participants_send, name="participants_send"),
    path("agreements/<int:pk>/participants.xlsx", pv.participants_export, name="participants_export"),
    path("agreements/versions/<int:pk>/document/", pv.agreement_document, name="agreement_document"),
    path("provider/schools/", pv.provider_schools, name="provider_schools"),
    path("must-train/", pv.must_train, name="must_train"),
    path("statements/", pv.statements, name="statements"),
    path(
        "statements/<int:period_pk>/<int:school_pk>/<int:provider_pk>/",
        pv.statement_detail,
        name="statement_detail",
    ),
    path("offers/", pv.offer_list, name="offer_list"),
    path("offers/new/", pv.offer_edit, name="offer_create"),
    path("offers/<int:pk>/", pv.offer_detail, name="offer_detail"),
    path("offers/<int:pk>/edit/", pv.offer_edit, name="offer_edit"),
    path("offers/<int:pk>/submit/", pv.offer_submit, name="offer_submit"),
    path("offers/<int:pk>/decide/", pv.offer_decide, name="offer_decide"),
    path("results/late/", pv.late_registrations, name="late_registrations"),
    path("outcomes/", pv.outcomes, name="outcomes"),
    path("outcomes/<int:pk>/document/", pv.outcome_document, name="outcome_document"),
]

from django.urls import path

from courses import views, views_setup

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
    path("year/", views_setup.period_timeline, name="period_timeline"),
    path("setup/periods/", views_setup.period_list, name="period_list"),
    path("setup/periods/new/", views_setup.period_edit, name="period_create"),
    path("setup/periods/<int:pk>/", views_setup.period_edit, name="period_edit"),
    path("setup/providers/", views_setup.provider_list, name="provider_list"),
    path("setup/providers/<int:pk>/", views_setup.provider_detail, name="provider_detail"),
    path("setup/providers/<int:pk>/remove/", views_setup.provider_remove, name="provider_remove"),
    path("setup/staff/<int:pk>/remove/", views_setup.staff_remove, name="staff_remove"),
]

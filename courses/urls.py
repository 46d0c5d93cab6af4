from django.urls import path

from courses import attendance_views, views

app_name = "courses"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<id:pk>/", views.course_detail, name="course_detail"),
    path("<id:pk>/select/", views.course_select, name="course_select"),
    path("<id:pk>/drop/", views.course_drop, name="course_drop"),
    path("<id:pk>/waitlist/leave/", views.waitlist_leave, name="waitlist_leave"),
    path("manage/", views.course_manage_list, name="manage_list"),
    path("manage/new/", views.course_edit, name="course_create"),
    path("manage/import/", views.course_import, name="course_import"),
    path("manage/<id:pk>/edit/", views.course_edit, name="course_edit"),
    path("manage/<id:pk>/roster/", views.course_roster, name="course_roster"),
    path("progress/courses/", views.fill_rates, name="fill_rates"),
    path("progress/schools/", views.school_progress, name="school_progress"),
    path("progress/nudge/", views.nudge, name="nudge"),
    path("progress/nudge/remind/", views.nudge_remind, name="nudge_remind"),
    path("results/import/", views.results_import, name="results_import"),
    path("results/template.xlsx", views.results_template, name="results_template"),
    # Attendance, leave and no-shows.
    path("attendance/", attendance_views.attendance_sessions, name="attendance_sessions"),
    path("attendance/mine/", attendance_views.my_sessions, name="my_sessions"),
    path("attendance/leaves/", attendance_views.leave_list, name="leave_list"),
    path("attendance/leaves/<id:pk>/decide/", attendance_views.leave_decide, name="leave_decide"),
    path("attendance/no-shows/", attendance_views.no_shows, name="no_shows"),
    path("attendance/<str:kind>/<id:pk>/", attendance_views.attendance_sheet, name="attendance_sheet"),
    path("attendance/<str:kind>/<id:pk>/leave/", attendance_views.leave_request, name="leave_request"),
]

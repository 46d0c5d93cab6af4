from django.urls import path

from credits import views

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
]

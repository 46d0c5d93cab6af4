from django.urls import path

from credits import views

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
]

from django.urls import path

from portal.views import roster, units

app_name = "portal"
urlpatterns = [
    path("roster/", roster.roster, name="roster"),
    path("roster/bulk/", roster.roster_bulk, name="roster_bulk"),
    path("teachers/<int:pk>/", roster.teacher_detail, name="teacher_detail"),
    path("teachers/<int:pk>/edit/", roster.teacher_edit, name="teacher_edit"),
    path("teachers/<int:pk>/password/", roster.teacher_password, name="teacher_password"),
    path("me/", roster.my_record, name="my_record"),
    path("units/", units.unit_tree, name="unit_tree"),
]

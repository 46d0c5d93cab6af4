from django.urls import path

from portal.views import exports, notifications

app_name = "inbox"
urlpatterns = [
    path("", notifications.inbox, name="list"),
    path("<id:pk>/read/", notifications.mark_read, name="mark_read"),
    path("read-all/", notifications.mark_all_read, name="mark_all_read"),
    path("preferences/", notifications.preferences, name="preferences"),
    path("exports/", exports.export_list, name="exports"),
    path("exports/new/<slug:kind>/", exports.export_start, name="export_start"),
    path("exports/<id:pk>/", exports.export_detail, name="export_detail"),
    path("exports/<id:pk>/download/", exports.export_download, name="export_download"),
]

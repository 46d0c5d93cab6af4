from django.urls import path

from . import views

app_name = "enrollment"
urlpatterns = [
    path("", views.programme_list, name="programme_list"),
    path("programmes/<id:pk>/", views.programme_detail, name="programme_detail"),
    path("programmes/<id:pk>/apply/", views.programme_apply, name="programme_apply"),
    path("programmes/<id:pk>/finalize/", views.programme_finalize, name="programme_finalize"),
    path("programmes/<id:pk>/quotas/", views.quota_manage, name="quota_manage"),
    path("programmes/<id:pk>/roster/", views.roster, name="roster"),
    path("programmes/<id:pk>/export/", views.programme_export, name="programme_export"),
    path("programmes/<id:pk>/audit/", views.audit_log, name="audit_log"),
    path("mine/", views.my_applications, name="my_applications"),
    path("applications/<id:pk>/", views.application_detail, name="application_detail"),
    path("applications/<id:pk>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("applications/<id:pk>/decide/", views.application_decide, name="application_decide"),
    path("review/", views.review, name="review"),
    path("review/bulk/", views.review_bulk, name="review_bulk"),
]

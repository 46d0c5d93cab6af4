from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal.account import PasswordChangeView, PasswordResetConfirmView
from portal.views.favicon import favicon
from portal.views.health import healthz
from portal.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Before django.contrib.auth.urls: a password the user sets herself lifts "must change" (portal.account).
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path("accounts/reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/", include("portal.portal_urls")),
    path("inbox/", include("portal.notification_urls")),
    path("courses/", include("courses.urls")),
    path("enrollment/", include("enrollment.urls")),
    path("credits/", include("credits.urls")),
    path("admin/", admin.site.urls),
]

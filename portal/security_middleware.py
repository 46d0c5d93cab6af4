"""Middleware that keeps personal data out of caches and accounts in their owners' hands.

(The portal's other middleware is in portal/middleware.py.)
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from portal.account import session_expired


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response of the portal's own views (static files aside).

    Nearly every page shows someone's personal data, and a page that does not today may tomorrow:
    no browser or proxy keeps any of them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response


class AdminSessionMiddleware:
    """A staff user's session ends a working day (ADMIN_SESSION_HOURS) after she logged in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and session_expired(request, timezone.now()):
            logout(request)
            messages.info(request, _("为保护数据安全，管理账号每个工作日须重新登录。"))
            return redirect(f"{reverse('login')}?next={request.path}")
        return self.get_response(request)


# Where a user whose password was set by someone else may still go before changing it.
OPEN_BEFORE_CHANGE = {"password_change", "password_change_done", "logout", "set_language"}


class PasswordChangeRequiredMiddleware:
    """A password someone else set (User.must_change_password) is changed before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        user = request.user
        if not (user.is_authenticated and user.must_change_password):
            return None
        match = request.resolver_match
        if match is not None and not match.namespace and match.url_name in OPEN_BEFORE_CHANGE:
            return None
        response = redirect(reverse("password_change"))
        if request.headers.get("HX-Request"):
            response["HX-Redirect"] = response["Location"]
        return response

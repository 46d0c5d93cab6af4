"""Accounts: passwords chosen by their owner, lockouts an attacker cannot dodge or abuse, the client's address.

- A password set by someone else (an admin, the demo) is replaced at the next login
  (``User.must_change_password``; ``portal.security_middleware.PasswordChangeRequiredMiddleware``
  sends the user to ``password_change``, whose form applies Django's validators and refuses the old
  password). Setting her own password, by the change form or an e-mailed reset link, clears the flag.
- Lockout (django-axes) counts failures per ID number whatever the address, and ``LoginAttemptHandler``
  adds a limit per address on failures across ID numbers (one password tried against many).
- ``client_ip`` reads X-Forwarded-For only from the proxies in ``TRUSTED_PROXIES``; anyone else
  is the address that connected, so a client cannot pose as another to lock her out.
- ``login_records_purge`` deletes login records (they hold ID numbers and addresses) after
  ``LOGIN_RECORDS_KEEP_DAYS`` (a registered job).
"""

import datetime as dt
import ipaddress
from functools import cache

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --------------------------------------------------------------------------- the client's address


@cache
def _trusted(networks: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy.

    Behind trusted proxies, X-Forwarded-For is read from the right (each proxy appends the
    address it saw) and the first address that is not a trusted proxy is the client. A header
    from anyone else is ignored: it is whatever the client chose to write.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted(remote):
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if not _is_trusted(address):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # a garbled header: the proxy itself answers for it
    return remote


def client_ip_key(group: str, request: HttpRequest) -> str:
    """django-ratelimit's key: one counter per client address."""
    return client_ip(request)


# --------------------------------------------------------------------------- lockout


class LoginAttemptHandler(AxesDatabaseHandler):
    """django-axes' database handler with a second limit: failures from one address, any ID number."""

    def ip_failures(self, request: HttpRequest) -> int:
        address = getattr(request, "axes_ip_address", None) or client_ip(request)
        since = timezone.now() - dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
        found = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
            n=Sum("failures_since_start")
        )
        return found["n"] or 0

    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self.ip_failures(request) >= settings.LOGIN_IP_FAILURE_LIMIT

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is not None and self.ip_failures(request) >= settings.LOGIN_IP_FAILURE_LIMIT:
            request.axes_locked_out = True


def login_records_purge(now: dt.datetime | None = None) -> int:
    """Delete login attempts and login records older than LOGIN_RECORDS_KEEP_DAYS; returns how many.

    Side effects: DELETEs on django-axes' three tables.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.LOGIN_RECORDS_KEEP_DAYS)
    deleted = 0
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        deleted += model.objects.filter(attempt_time__lt=cutoff).delete()[0]
    return deleted


# --------------------------------------------------------------------------- own passwords


class _OwnPassword:
    """Saving a password the user chose herself lifts "must change"."""

    def save(self, commit=True):
        self.user.must_change_password = False
        return super().save(commit)


class OwnPasswordChangeForm(_OwnPassword, auth_forms.PasswordChangeForm):
    def clean_new_password1(self):
        password = self.cleaned_data["new_password1"]
        if self.user.check_password(password):
            raise forms.ValidationError(_("新密码不能与原密码相同"))
        return password


class OwnSetPasswordForm(_OwnPassword, auth_forms.SetPasswordForm):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = OwnPasswordChangeForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "forced": self.request.user.must_change_password}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = OwnSetPasswordForm


# --------------------------------------------------------------------------- sessions

LOGIN_AT = "portal_login_at"


def session_login_remember(sender, request, user, **kwargs) -> None:
    """On login (user_logged_in): note when; a staff session ends ADMIN_SESSION_HOURS later at the latest."""
    request.session[LOGIN_AT] = timezone.now().timestamp()
    if user.is_staff:
        request.session.set_expiry(settings.ADMIN_SESSION_HOURS * 3600)


def session_expired(request: HttpRequest, now: dt.datetime) -> bool:
    """A staff session is over a working day after its login (however busy it has been)."""
    if not request.user.is_staff:
        return False
    started = request.session.get(LOGIN_AT)
    return started is None or now.timestamp() - started > settings.ADMIN_SESSION_HOURS * 3600

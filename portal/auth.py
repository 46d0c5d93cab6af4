from django.contrib.auth.backends import ModelBackend

from portal import idcard
from portal.models import User


class IdNumberBackend(ModelBackend):
    """Log in with the ID number however it was typed (spaces, full-width, lower-case x)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            username = idcard.normalize(username)
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        """The session's user with her teacher record (its unit and stage) in the same query: every page's
        scope (``portal.scoping.scope_for``) needs it."""
        user = User.objects.select_related("teacher__unit", "teacher__stage").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


def axes_username(request, credentials=None) -> str:
    """The ID number as django-axes should count failures: however it was typed."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return idcard.normalize(raw)

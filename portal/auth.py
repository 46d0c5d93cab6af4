from django.contrib.auth.backends import ModelBackend

from portal import idcard


class IdNumberBackend(ModelBackend):
    """Log in with the ID number however it was typed (spaces, full-width, lower-case x)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            username = idcard.normalize(username)
        return super().authenticate(request, username=username, password=password, **kwargs)


def axes_username(request, credentials=None) -> str:
    """The ID number as django-axes should count failures: however it was typed."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return idcard.normalize(raw)

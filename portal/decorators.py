from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from portal.scoping import scope_for


def role_required(*roles):
    """Logged in and holding one of ``roles``; otherwise 403 (the page exists, the role may not use it)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            scope = scope_for(request.user)
            if not any(scope.has(role) for role in roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from portal.notifications import unread_count
from portal.registry import NAV_ITEMS
from portal.scoping import scope_for


def portal(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_name": settings.PORTAL_NAME}
    scope = scope_for(user)
    roles = set(scope.roles)
    return {
        "portal_name": settings.PORTAL_NAME,
        "scope": scope,
        "nav_items": [item for item in NAV_ITEMS if roles.intersection(item.roles)],
        # Lazy: fragments and files that never render the header pay nothing.
        "inbox_unread": SimpleLazyObject(lambda: unread_count(user.pk)),
    }

"""The unread count for the inbox link in the header (one indexed count per page)."""

from django.utils.functional import SimpleLazyObject

from portal.models import Notification


def inbox(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Lazy: pages that never render the header (fragments, files) pay nothing.
    return {
        "inbox_unread": SimpleLazyObject(lambda: Notification.objects.filter(user=user, read_at__isnull=True).count())
    }

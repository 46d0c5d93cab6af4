from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from portal.registry import CARD_PROVIDERS
from portal.scoping import scope_for
from portal.selectors import announcements_for

HOME_ANNOUNCEMENTS = 5


@login_required
def home(request):
    """One section per role the user holds, each listing what that role must do now."""
    scope = scope_for(request.user)
    now = timezone.now()
    cards = [card for provider in CARD_PROVIDERS for card in provider(request, scope, now)]
    sections = [(role, sorted((c for c in cards if c.role == role), key=lambda c: c.order)) for role in scope.roles]
    announcements = announcements_for(request.user, now)[:HOME_ANNOUNCEMENTS]
    return render(request, "portal/home.html", {"sections": sections, "now": now, "announcements": announcements})

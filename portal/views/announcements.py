"""Contacts and announcements: kept by city and district admins, read by the people they concern."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import selectors, services
from portal.decorators import role_required
from portal.forms import AnnouncementForm, ContactForm, add_errors
from portal.models import Announcement, Role
from portal.registry import AUDIENCES
from portal.scoping import get_visible_or_404, scope_for

PUBLISHERS = (Role.CITY_ADMIN, Role.DISTRICT_ADMIN)


@role_required(*PUBLISHERS)
def contacts(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The Q&A contacts of the admin's districts (and city): list, add, change."""
    managed = selectors.contacts_managed_by(request.user)
    contact = get_visible_or_404(managed, pk=pk) if pk else None
    form = ContactForm(request.POST or None, instance=contact, units=selectors.publisher_units_for(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.contact_save(form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("联系人“%(name)s”已保存。") % {"name": saved.name})
            return redirect("portal:contacts")
    rows = managed.order_by("unit__path", "order", "pk")
    return render(request, "portal/setup/contacts.html", {"contacts": rows, "form": form, "contact": contact})


@role_required(*PUBLISHERS)
@require_POST
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_visible_or_404(selectors.contacts_managed_by(request.user), pk=pk)
    services.contact_delete(contact, actor=request.user)
    messages.success(request, _("联系人“%(name)s”已删除。") % {"name": contact.name})
    return redirect("portal:contacts")


def _announcement_form(request: HttpRequest, instance: Announcement | None, data=None) -> AnnouncementForm:
    units = selectors.publisher_units_for(request.user)
    cities = [u for u in units if u.kind == "city"]
    audiences = list(AUDIENCES.values()) if cities else []
    targets = {a.code: [t for city in cities for t in a.targets(city)] for a in audiences}
    return AnnouncementForm(data, instance=instance, units=units, audiences=audiences, targets=targets)


@role_required(*PUBLISHERS)
def announcements(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = selectors.announcements_managed_by(request.user).order_by("-publish_at", "-pk")
    return render(request, "portal/setup/announcements.html", {"announcements": rows, "now": now})


@role_required(*PUBLISHERS)
def announcement_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    announcement = get_visible_or_404(selectors.announcements_managed_by(request.user), pk=pk) if pk else None
    form = _announcement_form(request, announcement, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.announcement_save(form.save(commit=False), actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("通知“%(title)s”已保存，将于发布时间送达。") % {"title": saved.title})
            return redirect("portal:announcements")
    return render(request, "portal/setup/announcement_form.html", {"form": form, "announcement": announcement})


@role_required(*PUBLISHERS)
@require_POST
def announcement_delete(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = get_visible_or_404(selectors.announcements_managed_by(request.user), pk=pk)
    services.announcement_delete(announcement, actor=request.user)
    messages.success(request, _("通知“%(title)s”已撤下。") % {"title": announcement.title})
    return redirect("portal:announcements")


@login_required
def announcement(request: HttpRequest, pk: int) -> HttpResponse:
    """One announcement, for those it concerns (from its publish time) and those who keep it."""
    now = timezone.now()
    found = next((a for a in selectors.announcements_for(request.user, now) if a.pk == pk), None)
    if found is None:
        found = selectors.announcements_managed_by(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return render(request, "portal/announcement.html", {"a": found, "now": now})


@login_required
def help_page(request: HttpRequest) -> HttpResponse:
    """Whom to ask (the district's and city's contacts) and the announcements that concern the user."""
    scope = scope_for(request.user)
    now = timezone.now()
    return render(
        request,
        "portal/help.html",
        {"contacts": selectors.contacts_for(scope), "announcements": selectors.announcements_for(request.user, now)},
    )


@role_required(*PUBLISHERS)
def setup_hub(request: HttpRequest) -> HttpResponse:
    """The pages on which the city's year is set up, as the apps registered them."""
    from portal.registry import SETUP_LINKS

    roles = set(scope_for(request.user).roles)
    links = [link for link in SETUP_LINKS if roles.intersection(link.roles)]
    return render(request, "portal/setup/hub.html", {"links": links})

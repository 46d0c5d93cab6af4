"""The inbox: list, mark read, mark all read, and per-kind e-mail preferences."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.models import Notification, NotificationPreference
from portal.notifications import (
    kinds_for_preferences,
    notification_mark_read,
    notification_preferences_set,
    notifications_mark_all_read,
)

PAGE_SIZE = 30


@login_required
def inbox(request):
    qs = Notification.objects.filter(user=request.user)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/inbox/list.html", {"page": page, "unread_only": unread_only})


@login_required
@require_POST
def mark_read(request, pk: int):
    """Mark one message read; with ``open`` go on to where it points."""
    notification = notification_mark_read(request.user, pk)
    if (
        request.POST.get("open")
        and notification.url
        and url_has_allowed_host_and_scheme(
            notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return redirect(notification.url)
    if request.htmx:
        return render(request, "portal/inbox/list.html#item", {"n": notification})
    return redirect("inbox:list")


@login_required
@require_POST
def mark_all_read(request):
    count = notifications_mark_all_read(request.user)
    messages.success(request, _("已将 %(n)s 条通知标为已读。") % {"n": count})
    return redirect("inbox:list")


class PreferencesForm(forms.Form):
    email_kinds = forms.MultipleChoiceField(
        label=_("以下类型的通知同时发送邮件"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email_kinds"].choices = [(k.code, k.label) for k in kinds]


@login_required
def preferences(request):
    kinds = kinds_for_preferences(request.user)
    current = list(NotificationPreference.objects.filter(user=request.user, email=True).values_list("kind", flat=True))
    form = PreferencesForm(request.POST or None, kinds=kinds, initial={"email_kinds": current})
    if request.method == "POST" and form.is_valid():
        notification_preferences_set(request.user, form.cleaned_data["email_kinds"])
        messages.success(request, _("通知设置已保存。"))
        return redirect("inbox:preferences")
    return render(request, "portal/inbox/preferences.html", {"form": form, "has_email": bool(request.user.email)})

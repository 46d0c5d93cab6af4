"""Reminders of special programmes: approvers, two days and one day before their level's deadline.

Each goes once per person per occasion, however often the job runs: every occasion
has a dedup key (``Notification.dedup_key`` is unique per user). An occasion is a
window ("two days before" = from 48 h to 24 h before the deadline), so a job that
missed its hour still sends it late rather than never.
"""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.notifications import notify

from .selectors import approver_pending_reminders

KIND_APPROVAL_REMINDER = "reminder.approval"
APPROVER_DAYS_BEFORE = (2, 1)


def _in_window(now: dt.datetime, deadline: dt.datetime, days: int) -> bool:
    """``now`` lies in the ``days``-before window: [deadline - days, deadline - days + 1)."""
    return deadline - dt.timedelta(days=days) <= now < deadline - dt.timedelta(days=days - 1)


def approval_reminders_send(now: dt.datetime) -> int:
    """Approvers whose level's deadline is two days or one day away and who still have pending applications.

    One message per approver, programme, level and occasion ("two days" and "one day" before), naming the
    pending count and linking to the review queue; returns how many were sent.
    Side effects: notifications through ``portal.notifications.notify``, each with a per-occasion dedup key.
    """
    url = reverse("enrollment:review")
    sent = 0
    for target in approver_pending_reminders(now, within=dt.timedelta(days=max(APPROVER_DAYS_BEFORE))):
        # The occasion whose window [deadline - days, deadline - days + 1) holds now.
        days = next((d for d in sorted(APPROVER_DAYS_BEFORE) if _in_window(now, target.deadline, d)), None)
        if days is None:
            continue
        deadline_local = timezone.localtime(target.deadline)
        notify(
            [target.user_id],
            KIND_APPROVAL_REMINDER,
            _("审核提醒：%(title)s还有 %(n)d 份申请待审核") % {"title": target.programme_title, "n": target.count},
            _("审核截止时间为 %(deadline)s，目前仍有 %(n)d 份申请待您审核，逾期未审核的申请将自动失效。")
            % {"deadline": f"{deadline_local:%Y-%m-%d %H:%M}", "n": target.count},
            url,
            dedup_key=f"approval:{target.programme_id}:{target.level_id}:{target.deadline:%Y%m%d%H%M}:d{days}",
        )
        sent += 1
    return sent

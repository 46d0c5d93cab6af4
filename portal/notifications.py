"""Sending notifications: the in-app inbox always, e-mail where the user opted in.

``notify`` is called from inside domain transactions; it writes nothing until the
transaction commits, and e-mail leaves from a Celery task afterwards, never from
inside a transaction. Each copy is claimed with a conditional update before it is
sent, so a rerun or a second worker never sends one twice.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import Notification, NotificationPreference, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotificationKind:
    code: str
    label: str
    order: int = 100


NOTIFICATION_KINDS: dict[str, NotificationKind] = {}


def register_kind(code: str, label, order: int = 100) -> None:
    """Name a kind for the preferences page (apps call this from AppConfig.ready())."""
    NOTIFICATION_KINDS[code] = NotificationKind(code, label, order)


def kinds_for_preferences(user: User) -> list[NotificationKind]:
    """Registered kinds, plus any kind already in the user's inbox (so every message can be opted in)."""
    kinds = dict(NOTIFICATION_KINDS)
    for code in Notification.objects.filter(user=user).values_list("kind", flat=True).distinct():
        kinds.setdefault(code, NotificationKind(code, code, 999))
    return sorted(kinds.values(), key=lambda k: (k.order, k.code))


KIND_APPROVAL_REMINDER = "reminder.approval"
KIND_SELECTION_REMINDER = "reminder.selection"
KIND_HOURS_REMINDER = "reminder.hours"
KIND_ROSTER_REMINDER = "reminder.roster"
KIND_EXPORT_DONE = "export.done"

register_kind(KIND_APPROVAL_REMINDER, gettext_lazy("审核截止提醒"), 10)
register_kind(KIND_SELECTION_REMINDER, gettext_lazy("选课截止提醒"), 20)
register_kind(KIND_HOURS_REMINDER, gettext_lazy("学时不足提醒"), 30)
register_kind(KIND_ROSTER_REMINDER, gettext_lazy("名册核对提醒"), 40)
register_kind(KIND_EXPORT_DONE, gettext_lazy("导出完成"), 90)


def email_wanted_q():
    """Notifications whose user has an address, is active and opted in to e-mail for that kind."""
    wants = NotificationPreference.objects.filter(user_id=OuterRef("user_id"), kind=OuterRef("kind"), email=True)
    return Exists(wants)


def _email_candidates(qs: QuerySet[Notification]) -> QuerySet[Notification]:
    return qs.filter(emailed_at__isnull=True, user__is_active=True).exclude(user__email="").filter(email_wanted_q())


def notify(
    user_ids: Iterable[int], kind: str, title: str, body: str = "", url: str = "", dedup_key: str | None = None
) -> None:
    """One in-app notification per user, written in the caller's transaction.

    The message stands or falls with the change it reports: a rolled-back change
    leaves no message, a committed one never lacks it. With ``dedup_key`` a user
    gets the message at most once for that key, however often this is called.

    Side effects: Notification rows now; after commit, an e-mail task queued for
    the new rows whose users opted in to ``kind`` by e-mail and have an address.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return
    # Lazy translations are resolved now, in the caller's language.
    new_ids = _insert(ids, kind, str(title), str(body), str(url), dedup_key)

    def queue_email():
        if not NotificationPreference.objects.filter(user_id__in=ids, kind=kind, email=True).exists():
            return  # nobody wants this kind by e-mail: the common case costs one indexed query
        _email_queue_now(new_ids)

    if new_ids:
        transaction.on_commit(queue_email)


def notifications_email_queue(notification_ids: Iterable[int]) -> None:
    """After the caller's transaction commits, queue the e-mail copies of the given new notifications.

    For bulk senders that insert their notifications in their own SQL (the deadline sweep does it in
    the statement that expires the applications) and so do not go through ``notify``: the e-mail
    then behaves exactly as ``notify``'s. Side effects: after commit, an e-mail task queued for the
    rows whose users opted in to the row's kind by e-mail and have an address; nothing on rollback.
    """
    ids = list(notification_ids)
    if ids:
        transaction.on_commit(lambda: _email_queue_now(ids))


def _email_queue_now(notification_ids: list[int]) -> None:
    candidates = _email_candidates(Notification.objects.filter(pk__in=notification_ids))
    email_ids = list(candidates.values_list("pk", flat=True))
    if email_ids:
        from portal.tasks import notifications_email

        try:
            notifications_email.delay(email_ids)
        except Exception:
            # The inbox already has the message; a broker outage must not fail the committed request.
            log.exception("could not queue e-mail for notifications %s", email_ids[:10])


def _insert(ids: list[int], kind: str, title: str, body: str, url: str, dedup_key: str | None) -> list[int]:
    """Insert one row per user, skipping users who already have ``dedup_key``; the new rows' ids.

    On PostgreSQL one INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING RETURNING id: a
    sweep notifies thousands of teachers at once, and building model instances for them would
    cost more than the sweep itself.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        table = Notification._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (user_id, kind, title, body, url, created_at, dedup_key)"  # noqa: S608
                " SELECT u, %s, %s, %s, %s, %s, %s FROM unnest(%s::bigint[]) AS u"
                " ON CONFLICT DO NOTHING RETURNING id",
                [kind, title, body, url, now, dedup_key, ids],
            )
            return [row[0] for row in cursor.fetchall()]
    before = set()
    if dedup_key is not None:
        before = set(Notification.objects.filter(user_id__in=ids, dedup_key=dedup_key).values_list("pk", flat=True))
    created = Notification.objects.bulk_create(
        [
            Notification(user_id=uid, kind=kind, title=title, body=body, url=url, dedup_key=dedup_key, created_at=now)
            for uid in ids
        ],
        ignore_conflicts=dedup_key is not None,
    )
    if dedup_key is None:
        return [n.pk for n in created]
    # ignore_conflicts gives no primary keys back here: the rows with the key that were not there before.
    return list(
        Notification.objects.filter(user_id__in=ids, dedup_key=dedup_key)
        .exclude(pk__in=before)
        .values_list("pk", flat=True)
    )


def notifications_email_send(notification_ids: Iterable[int], now=None) -> int:
    """E-mail the given notifications to users who still want them; returns how many went out.

    Side effects: ``emailed_at`` set (the claim, committed before sending, so a
    second worker or a redelivered task skips the row); e-mails through Django's
    mail backend. A crash between claim and send loses that e-mail rather than
    sending it twice: the inbox still has the message.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            _email_candidates(Notification.objects.filter(pk__in=list(notification_ids)))
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .order_by("pk")
        )
        Notification.objects.filter(pk__in=[n.pk for n in rows], emailed_at__isnull=True).update(emailed_at=now)
    if not rows:
        return 0
    messages = [_email_message(n) for n in rows]
    with get_connection() as connection:
        connection.send_messages(messages)
    return len(messages)


def notifications_email_pending(now=None, within: dt.timedelta = dt.timedelta(days=2)) -> int:
    """Send the e-mails still owed for recent notifications (their task was lost, e.g. the broker was down).

    Safe beside the regular tasks: every copy is claimed before it is sent. Side effects: as
    ``notifications_email_send``.
    """
    now = now or timezone.now()
    pending = _email_candidates(Notification.objects.filter(created_at__gte=now - within))
    ids = list(pending.order_by("pk").values_list("pk", flat=True)[:5000])
    return sum(notifications_email_send(ids[i : i + 500], now) for i in range(0, len(ids), 500))


def _email_message(notification: Notification) -> EmailMessage:
    subject = f"[{settings.PORTAL_NAME}] {notification.title}"
    lines = [notification.body] if notification.body else []
    if notification.url:
        lines.append(_("办理链接：%(url)s") % {"url": absolute_url(notification.url)})
    lines.append("")
    lines.append(_("此邮件由系统自动发送。如不希望收到此类邮件，请在“通知设置”中关闭。"))
    return EmailMessage(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [notification.user.email])


def absolute_url(url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL.rstrip("/") + "/" + url.lstrip("/")


def notification_mark_read(user: User, notification_id: int, now=None) -> Notification:
    """Mark one of the user's notifications read (404 for someone else's). Side effect: ``read_at``."""
    from portal.scoping import get_visible_or_404

    notification = get_visible_or_404(Notification.objects.filter(user=user), pk=notification_id)
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notifications_mark_all_read(user: User, now=None) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=now or timezone.now())


def notification_preferences_set(user: User, email_kinds: Iterable[str]) -> None:
    """Store which kinds the user wants by e-mail: exactly ``email_kinds`` on, every other known kind off.

    Side effects: NotificationPreference rows upserted in one statement.
    """
    wanted = set(email_kinds)
    known = {k.code for k in kinds_for_preferences(user)} | wanted
    NotificationPreference.objects.bulk_create(
        [NotificationPreference(user=user, kind=code, email=code in wanted) for code in sorted(known)],
        update_conflicts=True,
        unique_fields=["user", "kind"],
        update_fields=["email"],
    )

"""Sending notifications: the in-app inbox always, e-mail where the user opted in.

``notify`` is called from inside domain transactions and writes in them (a rollback
takes the message with it); e-mail leaves from a Celery task after the commit, never
from inside a transaction. Each copy is claimed with a conditional update before it is
sent, so a rerun or a second worker never sends one twice.
"""

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.celery import enqueue
from portal.lookups import quoted
from portal.models import Notification, NotificationPreference, User
from portal.registry import NOTIFICATION_KINDS, NotificationKind, register_notification_kind

log = logging.getLogger(__name__)

KIND_EXPORT_DONE = "export.done"
EMAIL_TASK = "portal.tasks.notifications_email"
EMAIL_PENDING_TASK = "portal.tasks.notifications_email_pending"
register_notification_kind(KIND_EXPORT_DONE, gettext_lazy("导出完成"), 90)


def kinds_for_preferences(user: User) -> list[NotificationKind]:
    """Registered kinds, plus any kind already in the user's inbox (so every message can be opted in)."""
    kinds = dict(NOTIFICATION_KINDS)
    for code in Notification.objects.filter(user=user).values_list("kind", flat=True).distinct():
        kinds.setdefault(code, NotificationKind(code, code, 999))
    return sorted(kinds.values(), key=lambda k: (k.order, k.code))


def email_wanted_q():
    """Notifications whose user has an address, is active and opted in to e-mail for that kind."""
    wants = NotificationPreference.objects.filter(user_id=OuterRef("user_id"), kind=OuterRef("kind"), email=True)
    return Exists(wants)


def _email_candidates(qs: QuerySet[Notification]) -> QuerySet[Notification]:
    return qs.filter(emailed_at__isnull=True, user__is_active=True).exclude(user__email="").filter(email_wanted_q())


def notify(
    user_ids: Iterable[int], kind: str, title: str, body: str = "", url: str = "", dedup_key: str | None = None
) -> list[int]:
    """The same message to each of ``user_ids``, written in the caller's transaction; the new rows' ids.

    The message stands or falls with the change it reports: a rolled-back change
    leaves no message, a committed one never lacks it. With ``dedup_key`` a user
    gets the message at most once for that key, however often this is called.
    Set-based: a sweep notifies thousands of teachers in one INSERT, never one per row.

    Side effects: Notification rows now; after commit, an e-mail task queued for
    the new rows whose users opted in to ``kind`` by e-mail and have an address.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return []
    # Lazy translations are resolved now, in the caller's language.
    new_ids = _insert(ids, kind, str(title), str(body), str(url), dedup_key)
    if new_ids:

        def queue_email():
            if not NotificationPreference.objects.filter(kind=kind, email=True).exists():
                return  # nobody wants this kind by e-mail: the common case costs one small query
            _email_queue_now(new_ids)

        transaction.on_commit(queue_email)
    return new_ids


def _email_queue_now(notification_ids: list[int]) -> None:
    candidates = _email_candidates(Notification.objects.filter(pk__in=notification_ids))
    email_ids = list(candidates.values_list("pk", flat=True))
    if email_ids:
        try:
            enqueue(EMAIL_TASK, email_ids)
        except Exception:
            # The inbox already has the message; a broker outage must not fail the committed request.
            log.exception("could not queue e-mail for notifications %s", email_ids[:10])


_SQLITE_BATCH = 4000  # users per statement on SQLite: one parameter each, within its 32,766


def _insert(ids: list[int], kind: str, title: str, body: str, url: str, dedup_key: str | None) -> list[int]:
    """INSERT one row per user … ON CONFLICT DO NOTHING RETURNING id: a repeated key inserts nothing.

    The conflict is the partial unique index on (user, dedup_key). PostgreSQL takes the users as
    one array (unnest); SQLite, the demo's database, as a VALUES list of them.
    """
    table = Notification._meta.db_table
    columns = f"INSERT INTO {table} (user_id, kind, title, body, url, created_at, dedup_key)"
    message = [kind, title, body, url, connection.ops.adapt_datetimefield_value(timezone.now()), dedup_key]
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"{columns} SELECT u, %s, %s, %s, %s, %s, %s FROM unnest(%s::bigint[]) AS u"  # noqa: S608 - table name
                " ON CONFLICT DO NOTHING RETURNING id",
                [*message, ids],
            )
            return [row[0] for row in cursor.fetchall()]
        for start in range(0, len(ids), _SQLITE_BATCH):
            chunk = ids[start : start + _SQLITE_BATCH]
            users = ", ".join(["(%s)"] * len(chunk))
            cursor.execute(
                f"WITH u(id) AS (VALUES {users}) {columns} SELECT u.id, %s, %s, %s, %s, %s, %s FROM u"  # noqa: S608
                " WHERE true ON CONFLICT DO NOTHING RETURNING id",
                [*chunk, *message],
            )
            new_ids += [row[0] for row in cursor.fetchall()]
    return new_ids


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


def unread_count(user_id: int) -> int:
    """How many of the user's notifications are unread: the header's badge on every page (as SQL; the
    ``notification_unread`` index answers it)."""
    table, user, read_at = quoted(Notification, "user", "read_at")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {user} = %s AND {read_at} IS NULL", [user_id])  # noqa: S608 - names from the model
        return cursor.fetchone()[0]


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

"""Sending notifications. Callers inside a transaction get them written on commit."""

from collections.abc import Iterable

from django.db import transaction

from portal.models import Notification


def notify(user_ids: Iterable[int], kind: str, title: str, body: str = "", url: str = "", dedup_key: str | None = None):
    """Queue one in-app notification per user, written after the current transaction commits.

    With ``dedup_key`` a user gets the message at most once for that key, however
    often this is called (ignore_conflicts on the unique key).
    """
    ids = sorted(set(user_ids))

    def write():
        Notification.objects.bulk_create(
            [Notification(user_id=uid, kind=kind, title=title, body=body, url=url, dedup_key=dedup_key) for uid in ids],
            ignore_conflicts=dedup_key is not None,
        )

    transaction.on_commit(write)

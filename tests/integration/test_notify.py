import pytest
from django.db import transaction

from portal.models import Notification
from portal.notifications import notify


class Boom(Exception):
    pass


def test_notify_rolled_back_change_leaves_no_message(tree):
    with pytest.raises(Boom), transaction.atomic():
        notify([tree.teacher_a.pk], "test.kind", "标题")
        raise Boom

    assert Notification.objects.filter(user=tree.teacher_a).count() == 0


def test_notify_with_key_writes_once_per_user(tree):
    for _ in range(3):
        notify([tree.teacher_a.pk, tree.teacher_b.pk, tree.teacher_a.pk], "test.kind", "标题", dedup_key="k1")

    assert sorted(Notification.objects.values_list("user_id", flat=True)) == sorted(
        [tree.teacher_a.pk, tree.teacher_b.pk]
    )


def test_notify_many_users_writes_one_row_each_and_returns_only_the_new_ones(db):
    """More users than one SQLite statement takes: the batches together write each user once."""
    from portal.models import User

    User.objects.bulk_create([User(id_number=f"U{n:017d}", name=f"u{n}") for n in range(4500)])
    ids = list(User.objects.values_list("pk", flat=True))

    first = notify(ids, "test.kind", "标题", "正文", "/x/", dedup_key="many")
    again = notify(ids[:10], "test.kind", "标题", "正文", "/x/", dedup_key="many")

    assert (len(first), again) == (4500, [])
    assert set(Notification.objects.filter(dedup_key="many").values_list("user_id", flat=True)) == set(ids)
    assert set(Notification.objects.values_list("title", "body", "url", "kind")) == {
        ("标题", "正文", "/x/", "test.kind")
    }

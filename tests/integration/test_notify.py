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

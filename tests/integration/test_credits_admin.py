"""The admin: rule sets edited as validated JSON with a preview; the ledger is read-only."""

import json

import pytest
from django.urls import reverse

from credits.models import CreditEntry, RuleSet
from tests.factories.credits import GUANGZHOU_TREE, RuleSetFactory, entries, preloaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(tree):
    preloaded()
    tree.erin.is_staff = True
    tree.erin.save(update_fields=["is_staff"])
    return tree


def test_ruleset_add_third_city_rule_from_admin(staff, client):
    client.force_login(staff.erin)
    tree = {"all_of": [{"min_total": {"hours": 72}}, {"requires_topic": {"topic": "ethics", "hours": 2}}]}
    response = client.post(
        reverse("admin:credits_ruleset_add"),
        {"city": staff.city.pk, "year": 2025, "name": "第三城市2025", "tree": json.dumps(tree), "description": ""},
    )
    assert response.status_code == 302
    assert RuleSet.objects.get(name="第三城市2025").tree == tree


def test_ruleset_admin_rejects_bad_tree_in_chinese(staff, client):
    client.force_login(staff.erin)
    response = client.post(
        reverse("admin:credits_ruleset_add"),
        {
            "city": staff.city.pk,
            "year": 2025,
            "name": "坏规则",
            "tree": '{"all_of": [{"min_hours": {"kind": "nope", "hours": 4}}]}',
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tree"] == [
        "规则 › all_of 第 1 项：学时类型“nope”不存在，请先在“学时类型”中添加，可用的有 ordinary、rotation"
    ]
    assert not RuleSet.objects.filter(name="坏规则").exists()


def test_ruleset_preview_against_sample_teacher(staff, client):
    rule_set = RuleSetFactory(city=staff.city, year=2022, tree=GUANGZHOU_TREE)
    teacher = staff.teacher_a.teacher
    entries(teacher, 2022, ("public", 29, None, ["ethics"]), ("professional", 42), ("elective", 19))
    client.force_login(staff.erin)
    change = client.get(reverse("admin:credits_ruleset_change", args=[rule_set.pk]))
    assert "公需科目还差 1 学时" in change.content.decode()
    response = client.post(
        reverse("admin:credits_ruleset_preview", args=[rule_set.pk]),
        {"tree": json.dumps({"min_hours": {"category": "public", "hours": 29}}), "id_number": teacher.id_number},
    )
    assert response.context["result"].met is True


def test_ruleset_admin_other_city_hidden(staff, client):
    other = RuleSetFactory(year=2022)
    client.force_login(staff.erin)
    assert client.get(reverse("admin:credits_ruleset_change", args=[other.pk])).status_code == 404
    assert client.get(reverse("admin:credits_ruleset_preview", args=[other.pk])).status_code == 404


@pytest.mark.parametrize("superuser", [False, True])
def test_ledger_admin_read_only(staff, client, superuser):
    entry = entries(staff.teacher_a.teacher, 2022, ("public", 10))[0]
    if superuser:
        staff.erin.is_superuser = True
        staff.erin.save(update_fields=["is_superuser"])
    client.force_login(staff.erin)
    change_url = reverse("admin:credits_creditentry_change", args=[entry.pk])
    assert client.get(reverse("admin:credits_creditentry_changelist")).status_code == 200
    page = client.get(change_url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    client.post(change_url, {"hours": "99"})
    assert client.get(reverse("admin:credits_creditentry_delete", args=[entry.pk])).status_code == 403
    assert client.get(reverse("admin:credits_creditentry_add")).status_code == 403
    assert CreditEntry.objects.get(pk=entry.pk).hours == 10

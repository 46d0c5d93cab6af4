"""The platform operator: opens cities with their first admin, keeps the platform-wide settings
(stages, topics, kinds, schedules), and sees none of any city's people."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from credits import services as credit_services
from credits.models import CreditKind, Topic
from portal import bootstrap, services
from portal.models import Role, RoleAssignment, Stage, Unit, UnitKind, User
from tests.factories.portal import UserFactory, id_number

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def operator(db):
    return UserFactory(name="平台运营", is_operator=True)


def _city(**extra) -> dict:
    return {
        "code": "440300",
        "name": "深圳市",
        "admin_id_number": id_number("440304"),
        "admin_name": "沈晓岚",
        "admin_password": "Shenzhen-2026!",
    } | extra


def test_operator_opens_a_city_with_its_first_admin(client, operator):
    client.force_login(operator)
    data = _city()

    response = client.post(reverse("portal:operator_cities"), data, follow=True)

    city = Unit.objects.get(code="440300")
    admin = User.objects.get(id_number=data["admin_id_number"])
    assert (city.kind, city.parent_id, city.name) == (UnitKind.CITY, None, "深圳市")
    assert list(RoleAssignment.objects.filter(unit=city).values_list("user__name", "role")) == [
        ("沈晓岚", Role.CITY_ADMIN)
    ]
    assert admin.check_password("Shenzhen-2026!") and admin.is_staff
    assert RoleAssignment.objects.filter(user=operator).exists() is False  # the operator does not join the city
    masked = data["admin_id_number"][:6] + "********" + data["admin_id_number"][14:]
    assert [str(m) for m in response.context["messages"]] == [
        f"已建立深圳市。已为 沈晓岚（{masked}）开通账号并设为深圳市的市级管理员；请把初始密码告知本人，首次登录后修改。"
    ]


def test_an_existing_login_keeps_its_password_and_the_answer_never_names_her(client, operator):
    existing = UserFactory(name="林小雨")
    client.force_login(operator)

    response = client.post(
        reverse("portal:operator_cities"),
        _city(admin_id_number=existing.id_number, admin_name="林小雨", admin_password=""),
        follow=True,
    )

    existing.refresh_from_db()
    assert existing.check_password("pw-123456")
    message = str(next(iter(response.context["messages"])))
    assert "林小雨" not in message
    assert message.endswith("已有账号，已为其增加深圳市的市级管理员角色；其姓名和密码不变。")


def test_an_existing_login_with_another_name_is_refused_and_nothing_is_made(client, operator):
    existing = UserFactory(name="林小雨")
    client.force_login(operator)

    response = client.post(
        reverse("portal:operator_cities"), _city(admin_id_number=existing.id_number, admin_name="王五")
    )

    masked = existing.id_number[:6] + "********" + existing.id_number[14:]
    assert response.context["form"].errors == {
        "admin_name": [f"身份证号 {masked} 已有账号，但姓名与所填不一致，请核对"]
    }
    assert Unit.objects.filter(code="440300").exists() is False


def test_a_taken_code_and_a_weak_password_are_answered_by_field(client, operator, tree):
    client.force_login(operator)

    taken = client.post(reverse("portal:operator_cities"), _city(code=tree.city.code))
    weak = client.post(reverse("portal:operator_cities"), _city(admin_password="12345678"))

    assert list(taken.context["form"].errors) == ["code"]
    assert list(weak.context["form"].errors) == ["admin_password"]
    assert Unit.objects.filter(code="440300").exists() is False


def test_operator_adds_a_second_city_admin(client, operator, tree):
    client.force_login(operator)
    number = id_number()

    client.post(
        reverse("portal:operator_city", args=[tree.city.pk]),
        {"id_number": number, "name": "第二位", "password": "Second-admin-2026"},
    )

    assert set(RoleAssignment.objects.filter(unit=tree.city).values_list("user__name", flat=True)) == {"erin", "第二位"}


def test_city_admins_may_not_use_operator_pages(client, tree):
    client.force_login(tree.erin)
    urls = [
        reverse("portal:operator_cities"),
        reverse("portal:operator_stages"),
        reverse("portal:operator_schedules"),
        reverse("credits:catalogue_settings"),
    ]

    assert [client.get(url).status_code for url in urls] == [403] * 4


def test_operator_sees_no_citys_people(client, operator, tree):
    client.force_login(operator)
    teacher = tree.teacher_a.teacher
    denied = [
        reverse("portal:roster"),
        reverse("portal:unit_tree"),
        reverse("credits:dashboard"),
        reverse("enrollment:review"),
        reverse("courses:nudge"),
    ]
    hidden = [reverse("portal:teacher_detail", args=[teacher.pk]), reverse("credits:teacher", args=[teacher.pk])]

    assert [client.get(url).status_code for url in denied] == [403] * len(denied)
    assert [client.get(url).status_code for url in hidden] == [403, 404]  # the roster's pages are for admins
    city_page = client.get(reverse("portal:operator_city", args=[tree.city.pk])).content.decode()
    assert "teacher_a" not in city_page


def test_operator_city_list_query_count_is_flat(client, operator, django_assert_max_num_queries):
    from tests.factories.portal import CityFactory

    CityFactory()
    client.force_login(operator)
    client.get(reverse("portal:operator_cities"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("portal:operator_cities"))
    for _ in range(20):
        CityFactory()

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("portal:operator_cities"))

    assert len(response.context["cities"]) == 21


def test_operator_adds_a_stage_whose_code_then_stays(client, operator):
    client.force_login(operator)

    client.post(reverse("portal:operator_stages"), {"code": "adult", "name": "成人教育", "order": "90"})
    stage = Stage.objects.get(code="adult")
    client.post(
        reverse("portal:operator_stage", args=[stage.pk]), {"code": "other", "name": "成人与社区教育", "order": "90"}
    )

    assert Stage.objects.filter(pk=stage.pk).values_list("code", "name").get() == ("adult", "成人与社区教育")


def test_operator_adds_a_topic_and_a_kind(client, operator):
    client.force_login(operator)

    client.post(
        reverse("credits:catalogue_settings"), {"form": "topic", "topic-code": "safety", "topic-name": "校园安全"}
    )
    client.post(
        reverse("credits:catalogue_settings"),
        {"form": "kind", "kind-code": "school-based", "kind-name": "校本研修", "kind-category": "professional"},
    )

    assert Topic.objects.get(code="safety").name == "校园安全"
    assert CreditKind.objects.get(code="school-based").category == "professional"


def test_a_topic_code_cannot_be_changed_by_the_service(operator):
    topic = Topic.objects.get(code="ethics")
    topic.code = "morals"

    with pytest.raises(ValidationError) as refused:
        credit_services.topic_save(topic, actor=operator)

    assert refused.value.messages == ["专题代码保存后不能修改（学时规则和学时记录都用它）"]


def test_operator_reschedules_and_pauses_a_job(client, operator):
    task = PeriodicTask.objects.get(name="每晚达标率快照")
    client.force_login(operator)

    response = client.post(
        reverse("portal:operator_schedule", args=[task.pk]),
        {"minute": "15", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
    )

    task.refresh_from_db()
    assert response.status_code == 302
    assert (task.enabled, task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == (
        False,
        "15",
        "2",
        "Asia/Shanghai",
    )


def test_a_bad_crontab_is_answered_on_its_field(client, operator):
    task = PeriodicTask.objects.get(name="每晚达标率快照")
    client.force_login(operator)

    response = client.post(
        reverse("portal:operator_schedule", args=[task.pk]),
        {"enabled": "on", "minute": "75", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
    )

    assert list(response.context["form"].errors) == ["minute"]
    task.refresh_from_db()
    assert task.enabled is True


def test_schedules_list_query_count_is_flat(client, operator, django_assert_max_num_queries):
    client.force_login(operator)
    client.get(reverse("portal:operator_schedules"))
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("portal:operator_schedules"))
    first = PeriodicTask.objects.first()
    for i in range(10):
        PeriodicTask.objects.create(name=f"extra {i}", task=first.task, crontab=first.crontab, enabled=False)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("portal:operator_schedules"))

    assert len(response.context["tasks"]) == PeriodicTask.objects.count()


# --- the first operator of a fresh installation ------------------------------------------------------------------


def _migrate_signal():
    bootstrap._after_migrate(sender=apps.get_app_config("portal"), verbosity=0)


def test_migrate_makes_the_configured_first_operator_once(db):
    number = id_number()
    with override_settings(FIRST_OPERATOR_ID_NUMBER=number, FIRST_OPERATOR_PASSWORD="Operator-first-2026"):
        _migrate_signal()
        User.objects.filter(id_number=number).update(name="改过的名字")
        with override_settings(FIRST_OPERATOR_PASSWORD="another-password-2026"):
            _migrate_signal()

    operator = User.objects.get(id_number=number)
    assert (operator.is_operator, operator.name) == (True, "改过的名字")
    assert operator.check_password("Operator-first-2026")  # never reset from the environment
    assert User.objects.filter(is_operator=True).count() == 1


def test_nothing_is_made_without_configuration(db):
    with override_settings(FIRST_OPERATOR_ID_NUMBER=None):
        _migrate_signal()

    assert User.objects.filter(is_operator=True).exists() is False


def test_an_existing_login_becomes_the_operator_without_a_new_password(db):
    user = UserFactory()

    services.first_operator_ensure(user.id_number, "平台运营", "unused-Password-2026")

    user.refresh_from_db()
    assert user.is_operator and user.check_password("pw-123456")


def test_a_weak_first_password_stops_the_install_step(db):
    with pytest.raises(ImproperlyConfigured, match="FIRST_OPERATOR_PASSWORD"):
        services.first_operator_ensure(id_number(), "平台运营", "123")
    with pytest.raises(ImproperlyConfigured, match="FIRST_OPERATOR_ID_NUMBER"):
        services.first_operator_ensure("44010619700101000X", "平台运营", "Operator-first-2026")


def test_a_fresh_install_gets_its_operator_from_the_migrate_step(tmp_path):
    """What docker-compose's one-shot migrate does on an empty database, with the operator's variables set.

    ``migrate`` also runs the database checks before the beat tables exist, which must pass quietly.
    """
    number = id_number()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env |= {
        "DEBUG": "0",
        "SECRET_KEY": "fresh-install-test-secret-key-0123456789-abcdefghijklmnop",
        "ALLOWED_HOSTS": "example.org",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "VAR_DIR": str(tmp_path / "var"),
        "FIRST_OPERATOR_ID_NUMBER": number,
        "FIRST_OPERATOR_NAME": "省平台运营",
        "FIRST_OPERATOR_PASSWORD": "Operator-first-2026",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert f"Platform operator: 省平台运营 ({number[:4]}…{number[-4:]})" in result.stdout
    with sqlite3.connect(tmp_path / "fresh.sqlite3") as db:
        rows = db.execute("SELECT name, is_operator FROM portal_user").fetchall()
    assert rows == [("省平台运营", 1)]

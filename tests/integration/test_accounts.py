"""Accounts: passwords someone else set are replaced at first login; lockouts per ID number and per
address, the address read from trusted proxies only; the public check rate-limited; staff sessions
end after a working day."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.contrib.auth.tokens import default_token_generator
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal import demo, services
from portal.account import client_ip
from portal.models import User
from tests.factories.portal import UserFactory

LOGIN = reverse("login")
GOOD = "Qz7-autumn-rain"


def _login(client, number, password, ip="198.51.100.7", **extra):
    return client.post(LOGIN, {"username": number, "password": password}, REMOTE_ADDR=ip, **extra)


@pytest.fixture
def set_by_school(tree):
    """teacher_a's password as her principal set it."""
    services.teacher_set_password(tree.teacher_a.teacher, password="Xx9-school-gate", actor=tree.alice)
    return User.objects.get(pk=tree.teacher_a.pk)


def test_password_set_by_an_admin_must_be_changed_before_anything_else(client, set_by_school):
    response = _login(client, set_by_school.id_number, "Xx9-school-gate")
    home = client.get(reverse("home"))
    roster_post = client.post(reverse("courses:catalogue"))
    form = client.get(reverse("password_change"))

    assert set_by_school.must_change_password is True
    assert (response["Location"], home["Location"], roster_post["Location"]) == (
        reverse("home"),
        *[reverse("password_change")] * 2,
    )
    assert form.status_code == 200
    assert "请先设置只有您自己知道的新密码" in form.content.decode()


def test_forced_change_applies_the_validators_and_refuses_the_same_password(client, set_by_school):
    client.force_login(set_by_school)
    url = reverse("password_change")

    same = client.post(
        url, {"old_password": "Xx9-school-gate", "new_password1": "Xx9-school-gate", "new_password2": "Xx9-school-gate"}
    )
    weak = client.post(
        url, {"old_password": "Xx9-school-gate", "new_password1": "12345678", "new_password2": "12345678"}
    )
    good = client.post(url, {"old_password": "Xx9-school-gate", "new_password1": GOOD, "new_password2": GOOD})

    assert same.context["form"].errors["new_password1"] == ["新密码不能与原密码相同"]
    assert "new_password2" in weak.context["form"].errors  # too common, entirely numeric
    assert good.status_code == 302
    user = User.objects.get(pk=set_by_school.pk)
    assert (user.must_change_password, user.check_password(GOOD)) == (False, True)
    assert client.get(reverse("home")).status_code == 200


def test_a_reset_by_e_mail_link_is_her_own_password(client, set_by_school):
    set_by_school.email = "a@example.org"
    set_by_school.save(update_fields=["email"])
    uid = urlsafe_base64_encode(force_bytes(set_by_school.pk))
    token = default_token_generator.make_token(set_by_school)

    page = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": GOOD, "new_password2": GOOD})

    assert User.objects.get(pk=set_by_school.pk).must_change_password is False


def test_passwords_set_in_the_admin_must_be_changed(client, tree):
    from portal import idcard

    tree.erin.is_staff = True
    tree.erin.save(update_fields=["is_staff"])
    client.force_login(tree.erin)
    number = idcard.make("440106", dt.date(1984, 4, 4), 5)
    client.post(
        reverse("admin:portal_user_add"),
        {
            "id_number": number,
            "name": "新校管",
            "usable_password": "true",
            "password1": "Ad4-new-admin",
            "password2": "Ad4-new-admin",
            "role_assignments-TOTAL_FORMS": "1",
            "role_assignments-INITIAL_FORMS": "0",
            "role_assignments-MIN_NUM_FORMS": "0",
            "role_assignments-MAX_NUM_FORMS": "1000",
            "role_assignments-0-role": "school_admin",
            "role_assignments-0-unit": tree.school_a.pk,
        },
    )
    client.post(
        reverse("admin:auth_user_password_change", args=[tree.bob.pk]),
        {"usable_password": "true", "password1": "Rs3-reset-bob", "password2": "Rs3-reset-bob"},
    )

    assert User.objects.get(id_number=number).must_change_password is True
    assert User.objects.get(pk=tree.bob.pk).must_change_password is True


def test_demo_shows_a_teacher_who_must_change_while_the_readme_logins_still_work(db):
    demo.load()

    flagged = list(User.objects.filter(must_change_password=True).values_list("id_number", flat=True))
    readme = ["440104199104115675", "440104199401128800", "440104198001021014", "440104198001031028"]

    assert len(flagged) == 1
    assert [n for _role, n, _name in demo.logins() if n in flagged] == flagged
    for number in readme:
        client = Client()
        assert _login(client, number, demo.DEMO_PASSWORD)["Location"] == reverse("home"), number
        assert client.get(reverse("home")).status_code == 200, number
    client = Client()
    _login(client, flagged[0], demo.DEMO_PASSWORD)
    assert client.get(reverse("home"))["Location"] == reverse("password_change")


# --------------------------------------------------------------------------- lockout


def test_an_id_number_is_locked_whatever_the_addresses_tried_from(db):
    user = UserFactory()
    client = Client()
    for n in range(5):
        _login(client, user.id_number, "wrong", ip=f"203.0.113.{n + 1}")

    response = _login(client, user.id_number, "pw-123456", ip="203.0.113.99")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_IP_FAILURE_LIMIT=6)
def test_one_address_trying_many_id_numbers_is_locked_out(db):
    victims = [UserFactory() for _ in range(6)]
    spray = Client()
    for victim in victims:
        _login(spray, victim.id_number, "jijiao2026", ip="192.0.2.50")  # one password against every ID

    blocked = _login(spray, victims[0].id_number, "pw-123456", ip="192.0.2.50")
    elsewhere = Client()
    allowed = _login(elsewhere, victims[0].id_number, "pw-123456", ip="192.0.2.51")

    assert blocked.status_code == 429
    assert allowed["Location"] == reverse("home")


@override_settings(LOGIN_IP_FAILURE_LIMIT=6)
def test_a_forged_forwarded_for_from_a_client_counts_against_its_own_address(db):
    victims = [UserFactory() for _ in range(6)]
    client = Client()
    for n, victim in enumerate(victims):
        _login(client, victim.id_number, "wrong", ip="192.0.2.60", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")

    assert _login(client, victims[0].id_number, "pw-123456", ip="192.0.2.60").status_code == 429


@override_settings(TRUSTED_PROXIES=["10.0.0.0/24"])
@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("198.51.100.1", "", "198.51.100.1"),
        ("198.51.100.1", "203.0.113.5", "198.51.100.1"),  # not our proxy: its header is the client's own words
        ("10.0.0.2", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.2", "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the client wrote 6.6.6.6; the proxy saw .5
        ("10.0.0.2", "203.0.113.5, 10.0.0.3", "203.0.113.5"),  # two proxies of ours
        ("10.0.0.2", "not-an-address", "10.0.0.2"),
    ],
)
def test_client_address_comes_from_trusted_proxies_only(remote, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


@override_settings(TRUSTED_PROXIES=["10.0.0.2"])
def test_behind_the_proxy_each_client_is_locked_on_its_own(db):
    victims = [UserFactory() for _ in range(7)]
    with override_settings(LOGIN_IP_FAILURE_LIMIT=6):
        attacker = Client()
        for victim in victims[:6]:
            _login(attacker, victim.id_number, "wrong", ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66")
        teacher = Client()
        ok = _login(teacher, victims[6].id_number, "pw-123456", ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.77")
        blocked = _login(
            attacker, victims[6].id_number, "pw-123456", ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66"
        )

    assert (ok["Location"], blocked.status_code) == (reverse("home"), 429)


# --------------------------------------------------------------------------- the public check


def test_certificate_check_is_rate_limited_per_address(db):
    address = f"192.0.2.{uuid.uuid4().int % 200 + 1}"  # a counter of its own in the shared cache
    client = Client()
    url = reverse("credits:verify_code", args=["ABCD1234EFGH5678"])

    with override_settings(VERIFY_RATE_LIMIT="3/m"), time_machine.travel(dt.datetime.now(dt.UTC), tick=False):
        statuses = [client.get(url, REMOTE_ADDR=address).status_code for _ in range(4)]
        other = client.get(url, REMOTE_ADDR="198.51.100.200").status_code

    assert statuses == [200, 200, 200, 429]
    assert other == 200


# --------------------------------------------------------------------------- staff sessions


def test_a_staff_session_ends_a_working_day_after_login(db):
    staff = UserFactory(is_staff=True)
    teacher_user = UserFactory()
    start = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        admin_client, other_client = Client(), Client()
        _login(admin_client, staff.id_number, "pw-123456")
        _login(other_client, teacher_user.id_number, "pw-123456")
        assert admin_client.session.get_expiry_age() == 9 * 3600
    with time_machine.travel(start + dt.timedelta(hours=8, minutes=59), tick=False):
        before = admin_client.get(reverse("home")).status_code
    with time_machine.travel(start + dt.timedelta(hours=9, minutes=1), tick=False):
        after = admin_client.get(reverse("home"))
        teacher = other_client.get(reverse("home")).status_code

    assert before == 200
    assert after["Location"] == f"{LOGIN}?next=/"
    assert teacher == 200

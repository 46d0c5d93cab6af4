import re

import pytest
from django.core import mail
from django.urls import reverse

from portal.models import User
from tests.factories.portal import UserFactory

LOGIN = reverse("login")


def _id_with_x() -> str:
    import datetime as dt

    from portal import idcard

    for seq in range(1000):
        number = idcard.make("440106", dt.date(1988, 8, 8), seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X check digit found")


@pytest.fixture
def xuser(db):
    return UserFactory(id_number=_id_with_x(), name="许晓")


def test_login_with_id_number_lands_on_home(client, xuser):
    response = client.post(LOGIN, {"username": xuser.id_number, "password": "pw-123456"})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(xuser.pk)


@pytest.mark.parametrize(
    "typed",
    [
        "lower",  # lower-case x
        "spaces",  # spaces between the groups, as printed on the card
        "fullwidth",  # typed with a Chinese input method
    ],
)
def test_login_accepts_loosely_typed_id_number(client, xuser, typed):
    n = xuser.id_number
    username = {
        "lower": n.lower(),
        "spaces": f" {n[:6]} {n[6:14]} {n[14:]} ",
        "fullwidth": "".join(chr(ord(c) + 0xFEE0) for c in n),
    }[typed]

    client.post(LOGIN, {"username": username, "password": "pw-123456"})

    assert client.session.get("_auth_user_id") == str(xuser.pk)


def test_login_with_wrong_password_shows_chinese_error(client, xuser):
    response = client.post(LOGIN, {"username": xuser.id_number, "password": "wrong"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "密码" in response.context["form"].non_field_errors()[0]


def test_sixth_attempt_after_five_failures_is_locked_out(client, xuser):
    for _ in range(4):
        assert client.post(LOGIN, {"username": xuser.id_number, "password": "wrong"}).status_code == 200
    fifth = client.post(LOGIN, {"username": xuser.id_number, "password": "wrong"})

    sixth = client.post(LOGIN, {"username": xuser.id_number, "password": "pw-123456"})

    assert fifth.status_code == 429
    assert sixth.status_code == 429
    assert "登录失败次数过多，账号已暂时锁定" in sixth.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_does_not_block_other_users(client, xuser):
    other = UserFactory()
    for _ in range(5):
        client.post(LOGIN, {"username": xuser.id_number, "password": "wrong"})

    client.post(LOGIN, {"username": other.id_number, "password": "pw-123456"})

    assert client.session.get("_auth_user_id") == str(other.pk)


def test_password_change(client, xuser):
    client.force_login(xuser)

    response = client.post(
        reverse("password_change"),
        {"old_password": "pw-123456", "new_password1": "Qz7-autumn-rain", "new_password2": "Qz7-autumn-rain"},
    )

    assert response.status_code == 302
    xuser.refresh_from_db()
    assert xuser.check_password("Qz7-autumn-rain")


def test_password_change_page_is_chinese(client, xuser):
    client.force_login(xuser)

    response = client.get(reverse("password_change"))

    assert response.templates[0].name == "registration/password_change_form.html"
    assert "修改密码" in response.content.decode()


def test_password_reset_by_email_link(client, xuser):
    xuser.email = "xu@example.org"
    xuser.save(update_fields=["email"])

    client.post(reverse("password_reset"), {"email": "xu@example.org"})

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "继教通：重设密码"
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "Mv4-spring-leaf", "new_password2": "Mv4-spring-leaf"}
    )
    assert done.status_code == 302
    assert User.objects.get(pk=xuser.pk).check_password("Mv4-spring-leaf")


def test_password_reset_for_unknown_email_sends_nothing(client, xuser):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})

    assert response.status_code == 302
    assert mail.outbox == []


def test_lockout_counts_the_id_number_however_typed(client, xuser):
    n = xuser.id_number
    for variant in (n, n.lower(), f" {n}", f"{n} ", f"{n[:6]} {n[6:]}"):
        client.post(LOGIN, {"username": variant, "password": "wrong"})

    sixth = client.post(LOGIN, {"username": f"{n[:6]}  {n[6:].lower()}", "password": "pw-123456"})

    assert sixth.status_code == 429

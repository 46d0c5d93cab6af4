"""The bare authenticated view the benchmarks measure pages against: routed by the test settings only."""

import pytest
from django.urls import Resolver404, resolve

from tests.factories.portal import teacher_user

pytestmark = pytest.mark.django_db


def test_bare_view_answers_a_logged_in_user_through_the_middleware(client):
    user = teacher_user()
    client.force_login(user)

    response = client.get("/_bench/bare/")

    assert (response.status_code, response.content) == (200, f"ok {user.pk}".encode())
    assert response["X-Frame-Options"] == "DENY"  # the whole middleware stack ran


def test_bare_view_sends_strangers_to_the_login(client):
    response = client.get("/_bench/bare/")

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/_bench/bare/")


def test_bare_view_is_not_a_production_url():
    with pytest.raises(Resolver404):
        resolve("/_bench/bare/", urlconf="portal.urls")

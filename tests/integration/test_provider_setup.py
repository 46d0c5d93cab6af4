"""The providers serving a city and their staff, kept by the city admin in the portal."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from courses.models import CourseStatus, Provider, ProviderStaff
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory
from tests.factories.enrollment import at
from tests.factories.portal import CityFactory, UserFactory, id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def gzou(tree):
    provider = ProviderFactory(code="GZOU", name="广州开放大学")
    provider.cities.add(tree.city)
    return provider


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_city_admin_adds_an_existing_provider_by_its_code(client, tree):
    elsewhere = ProviderFactory(code="BNUZH", name="北京师范大学珠海校区")
    elsewhere.cities.add(CityFactory())
    client.force_login(tree.erin)

    response = client.post(reverse("courses:provider_list"), {"form": "add", "add-code": " BNUZH "}, follow=True)

    assert set(elsewhere.cities.values_list("pk", flat=True)) >= {tree.city.pk}
    assert _messages(response) == ["“北京师范大学珠海校区”已加入本市的施教机构。"]


def test_an_unknown_code_says_what_to_do(client, tree):
    client.force_login(tree.erin)

    response = client.post(reverse("courses:provider_list"), {"form": "add", "add-code": "NOPE"})

    assert response.context["add_form"].errors == {"code": ["没有代码为“NOPE”的施教机构；新机构请在右侧新建"]}


def test_city_admin_creates_a_provider_that_serves_her_city(client, tree):
    client.force_login(tree.erin)

    response = client.post(
        reverse("courses:provider_list"),
        {
            "form": "new",
            "new-code": "SZTC",
            "new-name": "深圳教育学院",
            "new-contact_name": "",
            "new-contact_phone": "",
        },
    )

    provider = Provider.objects.get(code="SZTC")
    assert response["Location"] == reverse("courses:provider_detail", args=[provider.pk])
    assert list(provider.cities.all()) == [tree.city]


@time_machine.travel(at("2022-05-01 09:00"), tick=False)
def test_a_provider_with_courses_in_a_running_period_cannot_be_removed(client, tree, gzou):
    CourseFactory(period=PeriodFactory(city=tree.city), provider=gzou)
    client.force_login(tree.erin)

    response = client.post(reverse("courses:provider_remove", args=[gzou.pk]), follow=True)

    assert _messages(response) == ["“广州开放大学”在本市尚未结束的培训周期中还有 1 门课程，不能移除"]
    assert list(gzou.cities.all()) == [tree.city]


@time_machine.travel(at("2022-07-01 09:00"), tick=False)
def test_after_the_period_ends_the_provider_may_go(client, tree, gzou):
    CourseFactory(period=PeriodFactory(city=tree.city, training_ends_on=dt.date(2022, 6, 20)), provider=gzou)
    client.force_login(tree.erin)

    client.post(reverse("courses:provider_remove", args=[gzou.pk]))

    assert list(gzou.cities.all()) == []


def test_staff_added_with_a_new_login(client, tree, gzou):
    client.force_login(tree.erin)
    number = id_number()

    client.post(
        reverse("courses:provider_detail", args=[gzou.pk]),
        {"id_number": number, "name": "高老师", "password": "Provider-2026!"},
    )

    staff = ProviderStaff.objects.get(provider=gzou)
    assert (staff.user.id_number, staff.user.name, staff.user.check_password("Provider-2026!")) == (
        number,
        "高老师",
        True,
    )


def test_an_existing_login_needs_its_name_and_the_refusal_never_tells_it(client, tree, gzou):
    someone = UserFactory(name="林小雨")
    client.force_login(tree.erin)

    wrong = client.post(
        reverse("courses:provider_detail", args=[gzou.pk]), {"id_number": someone.id_number, "name": "林"}
    )
    right = client.post(
        reverse("courses:provider_detail", args=[gzou.pk]),
        {"id_number": someone.id_number, "name": "林小雨"},
        follow=True,
    )

    assert "林小雨" not in str(wrong.context["form"].errors)
    assert wrong.context["form"].errors["name"] == [
        f"身份证号 {someone.id_number[:6]}********{someone.id_number[14:]} 已有账号，但姓名与所填不一致，请核对"
    ]
    assert ProviderStaff.objects.filter(provider=gzou, user=someone).exists()
    someone.refresh_from_db()
    assert someone.check_password("pw-123456")  # her password stays hers
    assert _messages(right)[0].endswith("已有账号，已加入“广州开放大学”；其密码不变。")


def test_staff_removed_keeps_the_login(client, tree, gzou):
    user = UserFactory()
    staff = ProviderStaff.objects.create(provider=gzou, user=user)
    client.force_login(tree.erin)

    client.post(reverse("courses:staff_remove", args=[staff.pk]))

    assert (ProviderStaff.objects.filter(pk=staff.pk).exists(), user.__class__.objects.filter(pk=user.pk).exists()) == (
        False,
        True,
    )


def test_another_citys_provider_and_its_staff_are_404(client, tree):
    other = ProviderFactory()
    other.cities.add(CityFactory())
    staff = ProviderStaff.objects.create(provider=other, user=UserFactory())
    client.force_login(tree.erin)

    assert client.get(reverse("courses:provider_detail", args=[other.pk])).status_code == 404
    assert client.post(reverse("courses:staff_remove", args=[staff.pk])).status_code == 404
    assert client.post(reverse("courses:provider_remove", args=[other.pk])).status_code == 404


def test_provider_list_query_count_is_flat(client, tree, gzou, django_assert_max_num_queries):
    client.force_login(tree.erin)
    client.get(reverse("courses:provider_list"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("courses:provider_list"))
    for _ in range(15):
        ProviderFactory().cities.add(tree.city)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("courses:provider_list"))

    assert len(response.context["providers"]) == 16


def test_provider_list_links_the_review_queue_of_the_citys_draft_courses(client, tree, gzou):
    period = PeriodFactory(city=tree.city)
    CourseFactory(period=period, provider=gzou, status=CourseStatus.DRAFT)
    CourseFactory(period=period, provider=gzou)  # published: not in the queue
    CourseFactory(period=PeriodFactory(city=CityFactory()), provider=gzou, status=CourseStatus.DRAFT)
    client.force_login(tree.erin)

    response = client.get(reverse("courses:provider_list"))

    assert response.context["drafts"] == 1
    assert f'href="{reverse("courses:manage_list")}?status=draft"' in response.content.decode()

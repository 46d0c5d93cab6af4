"""Providers' offers and their approval (立项): the period's rules, the approving level from the stages,
versions, and nothing selectable or creditable before approval."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from courses import services
from courses.forms import CourseForm
from courses.models import (
    Course,
    CourseOffer,
    CourseSelection,
    CourseStatus,
    OfferStatus,
    OfferVersion,
)
from courses.selectors import catalogue_courses, offers_to_decide
from portal.models import Notification, Role
from tests.factories.partnership import IN_TRAINING, approved_offer, maoming, offer_with_courses
from tests.factories.portal import admin_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def m(tree):
    return maoming(tree)


def submit(m, offer, staff=None):
    return services.offer_submit(offer, staff or m.staff1, IN_TRAINING)


def problems(m, offer) -> list[str]:
    with pytest.raises(services.OfferRefused) as exc:
        submit(m, offer)
    return exc.value.problems


def test_an_ordinary_offer_goes_to_the_city(m):
    offer = offer_with_courses(m, m.p1, m.ordinary)

    version = submit(m, offer)

    offer.refresh_from_db()
    assert (offer.status, offer.approval_level, offer.approver, version.number, version.total_hours) == (
        OfferStatus.SUBMITTED,
        "city",
        m.tree.city,
        1,
        Decimal(42),
    )
    assert [c["title"] for c in version.content["courses"]] == list(
        offer.courses.order_by("code").values_list("title", flat=True)
    )
    assert list(Notification.objects.filter(kind="offer_submitted").values_list("user__name", flat=True)) == ["erin"]


def test_an_offer_without_ethics_is_refused_naming_the_rule(m):
    offer = offer_with_courses(m, m.p1, m.ordinary, topic_codes=("curriculum", "research", "digital"))

    assert problems(m, offer) == ["缺少每年必含的专题“师德师风”"]
    assert OfferVersion.objects.count() == 0


def test_an_ordinary_offer_below_42_hours_is_refused(m):
    offer = offer_with_courses(m, m.p1, m.ordinary, hours=(10, 16, 15.5))

    assert problems(m, offer) == ["课程总学时 41.5 少于本期普通远程培训课程要求的 42 学时"]


def test_a_rotation_project_below_60_hours_is_refused(m):
    offer = offer_with_courses(
        m,
        m.p1,
        m.rotation,
        hours=(20, 20, 19.5),
        topic_codes=("ethics", "mental", "nurture"),
        area=m.tree.district1,
        stages=("primary",),
    )

    assert problems(m, offer) == ["课程总学时 59.5 少于本期全员轮训网络研修要求的 60 学时"]


def test_a_rotation_course_outside_the_nine_modules_is_refused(m):
    offer = offer_with_courses(
        m,
        m.p1,
        m.rotation,
        hours=(20, 20, 20),
        topic_codes=("ethics", "mental", "red"),
        area=m.tree.district1,
        stages=("junior",),
    )
    red = offer.courses.get(topics__code="red")

    assert problems(m, offer) == [
        f"课程《{red.title}》的专题“红色教育”不在全员轮训网络研修的专题模块内"
        "（可用：师德师风、双减、心理健康、育人能力、数字素养、学前教育、新课标新课堂、校本教研、科研能力）"
    ]


def test_a_course_fee_above_the_cap_is_refused(m):
    offer = offer_with_courses(m, m.p1, m.ordinary, fee=Decimal("4.50"))

    assert problems(m, offer)[0].endswith("每学时收费 4.50 元超过本期上限 4.00 元")


def test_an_ordinary_offer_states_its_plan_year(m):
    offer = offer_with_courses(m, m.p1, m.ordinary, plan_year=None)

    assert problems(m, offer) == ["请注明本方案是3年规划的第几年（1–3）"]


def test_a_compulsory_education_rotation_project_is_approved_by_its_county(m):
    offer = offer_with_courses(
        m,
        m.p1,
        m.rotation,
        hours=(20, 20, 20),
        topic_codes=("ethics", "mental", "nurture"),
        area=m.tree.district1,
        stages=("primary", "junior"),
    )
    submit(m, offer)
    offer.refresh_from_db()

    assert (offer.approval_level, offer.approver) == ("district", m.tree.district1)
    assert list(offers_to_decide(m.tree.carol)) == [offer]
    assert list(offers_to_decide(m.tree.erin)) == []
    services.offer_approve(offer, m.tree.carol, IN_TRAINING)
    assert CourseOffer.objects.get(pk=offer.pk).status == OfferStatus.APPROVED


def test_a_county_cannot_approve_a_project_serving_senior_high(m):
    offer = offer_with_courses(
        m,
        m.p1,
        m.rotation,
        hours=(20, 20, 20),
        topic_codes=("ethics", "mental", "nurture"),
        area=m.tree.district1,
        stages=("junior", "senior"),
    )
    submit(m, offer)
    offer.refresh_from_db()

    with pytest.raises(services.PartnershipError) as exc:
        services.offer_approve(offer, m.tree.carol, IN_TRAINING)

    assert str(exc.value) == "本方案面向的学段须由市教育局立项，县级不能审批"
    assert (offer.approval_level, offer.approver) == ("city", m.tree.city)
    services.offer_approve(offer, m.tree.erin, IN_TRAINING)
    assert CourseOffer.objects.get(pk=offer.pk).status == OfferStatus.APPROVED


def test_a_compulsory_project_for_the_whole_city_is_refused_as_it_has_no_county(m):
    offer = offer_with_courses(
        m, m.p1, m.rotation, hours=(20, 20, 20), topic_codes=("ethics", "mental", "nurture"), stages=("primary",)
    )

    assert problems(m, offer) == ["面向所选学段的项目由县级教育行政部门立项：请把面向区域选为一个区县"]


def test_the_approving_level_comes_from_data(m):
    """Mapping 高中 to the county too lets the county approve it: no level is written in code."""
    m.rotation.stage_levels.filter(stage__code="senior").update(level="district")
    offer = offer_with_courses(
        m,
        m.p1,
        m.rotation,
        hours=(20, 20, 20),
        topic_codes=("ethics", "mental", "nurture"),
        area=m.tree.district1,
        stages=("senior",),
    )
    submit(m, offer)

    services.offer_approve(CourseOffer.objects.get(pk=offer.pk), m.tree.carol, IN_TRAINING)

    assert CourseOffer.objects.get(pk=offer.pk).status == OfferStatus.APPROVED


def test_another_county_cannot_approve(m):
    offer = offer_with_courses(
        m,
        m.p1,
        m.rotation,
        hours=(20, 20, 20),
        topic_codes=("ethics", "mental", "nurture"),
        area=m.tree.district1,
        stages=("primary",),
    )
    submit(m, offer)

    with pytest.raises(PermissionDenied):
        services.offer_approve(offer, admin_user(Role.DISTRICT_ADMIN, m.tree.district2), IN_TRAINING)


def test_return_and_resubmit_keep_every_version(m):
    offer = offer_with_courses(m, m.p1, m.ordinary)
    submit(m, offer)
    services.offer_return(offer, m.tree.erin, "请补充课程简介", IN_TRAINING)
    Course.objects.filter(offer=offer).update(description="已补充")

    submit(m, CourseOffer.objects.get(pk=offer.pk))
    services.offer_approve(CourseOffer.objects.get(pk=offer.pk), m.tree.erin, IN_TRAINING)

    assert list(offer.versions.order_by("number").values_list("number", "decision", "reason", "decided_by_name")) == [
        (1, "returned", "请补充课程简介", "erin"),
        (2, "approved", "", "erin"),
    ]
    assert list(Notification.objects.filter(kind="offer_decided").order_by("id").values_list("title", flat=True)) == [
        f"方案退回：{offer.title}",
        f"已立项：{offer.title}",
    ]


def test_a_return_needs_a_reason(m):
    offer = offer_with_courses(m, m.p1, m.ordinary)
    submit(m, offer)

    with pytest.raises(services.PartnershipError):
        services.offer_return(offer, m.tree.erin, "", IN_TRAINING)


def test_an_approved_offer_publishes_its_courses(m):
    offer = approved_offer(m, m.p1)

    assert set(offer.courses.values_list("status", flat=True)) == {CourseStatus.PUBLISHED}


def test_a_course_of_an_offer_not_approved_is_not_selectable(m):
    offer = offer_with_courses(m, m.p1, m.ordinary)
    submit(m, offer)
    course = offer.courses.first()
    Course.objects.filter(pk=course.pk).update(status=CourseStatus.PUBLISHED)  # published, yet not approved
    services.agreement_choose(
        school=m.tree.school_a, period=m.period, provider=m.p1, actor=m.tree.alice, now=IN_TRAINING
    )
    teacher = m.tree.teacher_a.teacher

    with pytest.raises(services.SelectionError) as exc:
        services.course_select(teacher, Course.objects.get(pk=course.pk), IN_TRAINING)

    assert str(exc.value) == "该课程所属的课程方案尚未立项，暂不能选"
    assert list(catalogue_courses(m.period, teacher)) == []


def test_a_teacher_selects_only_her_schools_provider(m):
    mine, other = approved_offer(m, m.p1), approved_offer(m, m.p2)
    teacher = m.tree.teacher_a.teacher
    course = other.courses.first()

    with pytest.raises(services.SelectionError) as before:
        services.course_select(teacher, course, IN_TRAINING)
    services.agreement_choose(
        school=m.tree.school_a, period=m.period, provider=m.p1, actor=m.tree.alice, now=IN_TRAINING
    )
    with pytest.raises(services.SelectionError) as after:
        services.course_select(teacher, course, IN_TRAINING)
    services.course_select(teacher, mine.courses.first(), IN_TRAINING)

    assert str(before.value) == "贵校本期尚未选择施教机构，请联系学校继续教育管理员选择后再选课"
    assert str(after.value) == f"贵校本期合作的施教机构是{m.p1.name}，只能选其课程"
    assert set(catalogue_courses(m.period, teacher)) == set(mine.courses.all())
    assert CourseSelection.objects.filter(teacher=teacher).count() == 1


def test_a_county_project_is_selectable_only_in_its_county(m):
    offer = approved_offer(
        m,
        m.p1,
        m.rotation,
        hours=(20, 20, 20),
        topic_codes=("ethics", "mental", "nurture"),
        area=m.tree.district1,
        stages=("primary",),
    )
    services.agreement_choose(
        school=m.tree.school_c, period=m.period, provider=m.p1, actor=m.tree.dave, now=IN_TRAINING
    )

    with pytest.raises(services.SelectionError) as exc:
        services.course_select(m.tree.teacher_c.teacher, offer.courses.first(), IN_TRAINING)

    assert str(exc.value) == f"该项目面向{m.tree.district1.name}，只有{m.tree.district1.name}的教师可以选"


def _course_form(m, course, **changes):
    from courses.models import Provider as P
    from courses.models import TrainingPeriod

    data = {
        "period": course.period_id,
        "code": course.code,
        "title": course.title,
        "category": course.category,
        "kind": course.kind_id,
        "hours": str(course.hours),
        "provider": course.provider_id,
        "offer": course.offer_id or "",
        "mode": course.mode,
        "topics": [t.pk for t in course.topics.all()],
        "capacity": "",
        "fee_per_hour": str(course.fee_per_hour),
        "description": "",
        "status": course.status,
        **changes,
    }
    return CourseForm(
        data, instance=course, periods=TrainingPeriod.objects.all(), providers=P.objects.filter(pk=course.provider_id)
    )


def test_a_course_of_a_submitted_offer_cannot_change_its_hours(m):
    offer = offer_with_courses(m, m.p1, m.ordinary)
    submit(m, offer)
    course = offer.courses.first()

    form = _course_form(m, course, hours="20")

    assert form.errors["__all__"] == [f"本课程属于待立项的课程方案《{offer.title}》，不能修改：学时"]
    assert _course_form(m, course, description="更新简介").is_valid()


def test_offers_pages_are_scoped(m, client):
    offer = offer_with_courses(m, m.p1, m.ordinary)
    client.force_login(m.staff2)

    assert client.get(reverse("courses:offer_detail", args=[offer.pk])).status_code == 404
    client.force_login(m.staff1)
    assert client.get(reverse("courses:offer_detail", args=[offer.pk])).status_code == 200


def test_the_provider_submits_from_the_page_and_sees_each_broken_rule(m, client):
    offer = offer_with_courses(
        m, m.p1, m.ordinary, hours=(10, 16, 15), topic_codes=("curriculum", "research", "digital")
    )
    client.force_login(m.staff1)

    response = client.post(reverse("courses:offer_submit", args=[offer.pk]), follow=True)

    texts = [str(message) for message in response.context["messages"]]
    assert texts == [
        "方案不符合本期规则，未提交：",
        "课程总学时 41 少于本期普通远程培训课程要求的 42 学时",
        "缺少每年必含的专题“师德师风”",
    ]


def test_the_city_approves_from_the_page(m, client):
    offer = offer_with_courses(m, m.p1, m.ordinary)
    submit(m, offer)
    client.force_login(m.tree.erin)

    client.post(reverse("courses:offer_decide", args=[offer.pk]), {"action": "approve"})

    assert CourseOffer.objects.get(pk=offer.pk).status == OfferStatus.APPROVED


@pytest.mark.parametrize("extra", [0, 6])
def test_offer_list_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    for _ in range(1 + extra):
        offer_with_courses(m, m.p1, m.ordinary)
    client.force_login(m.staff1)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("courses:offer_list"))

    assert response.status_code == 200
    assert len(response.context["page"]) == 1 + extra


def test_the_provider_creates_an_offer_on_the_page(m, client):
    client.force_login(m.staff1)
    data = {
        "provider": m.p1.pk,
        "rule": m.ordinary.pk,
        "title": "普通远程培训课程（第一年）",
        "area": m.tree.city.pk,
        "stages": [m.stages["primary"].pk],
    }

    missing_year = client.post(reverse("courses:offer_create"), data)
    created = client.post(reverse("courses:offer_create"), {**data, "plan_year": 1})

    assert missing_year.context["form"].errors["plan_year"] == ["请填写三年规划的第几年（1–3）"]
    offer = CourseOffer.objects.get()
    assert created.status_code == 302
    assert (offer.period, offer.plan_year, list(offer.stages.values_list("code", flat=True))) == (
        m.period,
        1,
        ["primary"],
    )


def test_another_provider_cannot_file_an_offer_for_mine(m, client):
    client.force_login(m.staff2)

    response = client.post(
        reverse("courses:offer_create"),
        {"provider": m.p1.pk, "rule": m.ordinary.pk, "title": "冒名", "area": m.tree.city.pk, "plan_year": 1},
    )

    assert "provider" in response.context["form"].errors
    assert CourseOffer.objects.count() == 0

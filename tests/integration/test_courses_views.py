"""The course supermarket pages: catalogue, select/drop with and without htmx, admins' views, scoping."""

import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from courses.models import Course, CourseSelection, CourseStatus, ProviderStaff, SelectionStatus
from credits.models import Topic
from portal.figures import figures_forget
from portal.models import Notification, Role
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory, shanghai
from tests.factories.portal import TeacherFactory, UserFactory, admin_user

IN_WINDOW = shanghai(2022, 3, 20, 10)
CATALOGUE = reverse("courses:catalogue")


@pytest.fixture
def period(tree):
    return PeriodFactory(city=tree.city)


@pytest.fixture
def provider_staff(db):
    provider = ProviderFactory(name="广州开放大学")
    user = UserFactory(name="开放大学培训部")
    ProviderStaff.objects.create(provider=provider, user=user)
    return user


def _catalogue(client, period, **params):
    return client.get(CATALOGUE, {"period": period.pk, **params})


# --- catalogue --------------------------------------------------------------------------------------


@time_machine.travel(IN_WINDOW)
def test_catalogue_search_matches_title_provider_and_description(client, tree, period):
    CourseFactory(period=period, title="师德师风建设", code="A1")
    CourseFactory(period=period, title="大单元教学", provider=ProviderFactory(name="广东第二师范学院"), code="A2")
    CourseFactory(period=period, title="书法", description="汉字文化与师德修养", code="A3")
    CourseFactory(period=period, title="微课制作", code="A4")
    client.force_login(tree.teacher_a)

    by_title = _catalogue(client, period, q="师德")
    by_provider = _catalogue(client, period, q="第二师范")

    assert [c.code for c in by_title.context["page"]] == ["A1", "A3"]
    assert [c.code for c in by_provider.context["page"]] == ["A2"]


@time_machine.travel(IN_WINDOW)
def test_catalogue_filters_category_and_seats(client, tree, period):
    CourseFactory(period=period, code="P1", category="public", capacity=1)
    CourseFactory(period=period, code="P2", category="public")
    CourseFactory(period=period, code="E1", category="elective")
    Course.objects.filter(code="P1").update(enrolled_count=1)
    client.force_login(tree.teacher_a)

    response = _catalogue(client, period, category="public", has_seats="true")

    assert [c.code for c in response.context["page"]] == ["P2"]


@time_machine.travel(IN_WINDOW)
def test_catalogue_hides_drafts(client, tree, period):
    CourseFactory(period=period, code="D1", status=CourseStatus.DRAFT)
    CourseFactory(period=period, code="OK")
    client.force_login(tree.teacher_a)

    response = _catalogue(client, period)

    assert [c.code for c in response.context["page"]] == ["OK"]


@time_machine.travel(IN_WINDOW)
def test_catalogue_cached_course_card_shows_each_teacher_her_own_selection(client, tree, period):
    course = CourseFactory(period=period, title="大单元教学", capacity=30)
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=course, period=period, selected_at=IN_WINDOW)
    Course.objects.filter(pk=course.pk).update(enrolled_count=1)
    cache.clear()
    client.force_login(tree.teacher_a)
    as_a = _catalogue(client, period).content.decode()  # renders the card and caches it
    # A change that does not make a new version of the course: the card below comes from the cache.
    Course.objects.filter(pk=course.pk).update(title="改过的标题")
    client.force_login(tree.teacher_b)

    as_b = _catalogue(client, period).content.decode()

    assert "改过的标题" not in as_b
    assert f'action="/courses/{course.pk}/drop/"' in as_a
    assert f'action="/courses/{course.pk}/select/"' not in as_a
    assert f'action="/courses/{course.pk}/select/"' in as_b
    assert f'action="/courses/{course.pk}/drop/"' not in as_b
    assert as_a.count("大单元教学") == 2  # the card and her plan panel
    assert as_b.count("大单元教学") == 1  # the card only: nothing of teacher_a's plan


@time_machine.travel(IN_WINDOW)
def test_catalogue_cached_search_form_shows_each_teacher_her_own_search(client, tree, period):
    CourseFactory(period=period, title="师德师风建设")
    cache.clear()
    client.force_login(tree.teacher_a)
    _catalogue(client, period, q="师德")
    _catalogue(client, period)
    client.force_login(tree.teacher_b)

    searched = _catalogue(client, period, q="师德").content.decode()
    plain = _catalogue(client, period).content.decode()

    assert 'name="q" value="师德"' in searched
    assert 'name="q" value=' not in plain


@time_machine.travel(IN_WINDOW)
def test_catalogue_course_card_follows_the_course_version(client, tree, period):
    course = CourseFactory(period=period, title="大单元教学")
    client.force_login(tree.teacher_a)
    _catalogue(client, period)
    course.title = "大单元教学设计"
    course.save()

    response = _catalogue(client, period)

    assert "大单元教学设计" in response.content.decode()


@time_machine.travel(IN_WINDOW)
def test_catalogue_query_count_does_not_grow_with_courses_or_selections(
    client, tree, period, django_assert_max_num_queries
):
    client.force_login(tree.teacher_a)
    teacher = tree.teacher_a.teacher
    first = CourseFactory(period=period)
    CourseSelection.objects.create(teacher=teacher, course=first, period=period, selected_at=IN_WINDOW)
    _catalogue(client, period)  # warms the per-process caches (names of topics and kinds)
    cache.clear()  # no course card cached: the most queries the page makes
    with django_assert_max_num_queries(20) as few:
        assert _catalogue(client, period).status_code == 200
    for _ in range(25):
        course = CourseFactory(period=period)
        course.topics.set([1, 2])
        CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=IN_WINDOW)
    cache.clear()

    with django_assert_max_num_queries(len(few.captured_queries)):
        cold = _catalogue(client, period)
    with django_assert_max_num_queries(len(few.captured_queries) - 1):  # cards cached: no topics read
        warm = _catalogue(client, period)

    assert len(cold.context["page"]) == 20
    assert len(cold.context["selections"]) == 26
    assert [c.card for c in warm.context["page"]] == [c.card for c in cold.context["page"]]


# --- selecting --------------------------------------------------------------------------------------


@time_machine.travel(IN_WINDOW)
def test_course_select_htmx_returns_buttons_and_plan(client, tree, period):
    course = CourseFactory(period=period, category="public", hours=Decimal("30"))
    client.force_login(tree.teacher_a)

    response = client.post(
        reverse("courses:course_select", args=[course.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{CATALOGUE}",
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="course-{course.pk}-actions"' in body
    assert 'id="plan-panel" class="card shadow-sm" hx-swap-oob="true"' in body
    assert "<span>30/30" in body
    assert CourseSelection.objects.get(course=course).teacher == tree.teacher_a.teacher


@time_machine.travel(IN_WINDOW)
def test_course_select_without_js_redirects_with_message(client, tree, period):
    course = CourseFactory(period=period, title="双减政策解读")
    client.force_login(tree.teacher_a)

    response = client.post(reverse("courses:course_select", args=[course.pk]), {"next": CATALOGUE}, follow=True)

    assert response.redirect_chain == [(CATALOGUE, 302)]
    assert [str(m) for m in response.context["messages"]] == ["已选课程《双减政策解读》"]


@time_machine.travel(shanghai(2022, 3, 30, 0, 0))
def test_course_select_after_2201_window_refused_in_chinese(client, tree, period):
    course = CourseFactory(period=period)
    client.force_login(tree.teacher_a)

    response = client.post(reverse("courses:course_select", args=[course.pk]), follow=True)

    assert [str(m) for m in response.context["messages"]] == ["选课已于 2022年3月30日 00:00 截止"]
    assert CourseSelection.objects.count() == 0


@time_machine.travel(shanghai(2022, 3, 29, 23, 59))
def test_course_drop_in_2201_late_phase_refused_via_htmx(client, tree, period):
    course = CourseFactory(period=period)
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=course, period=period, selected_at=IN_WINDOW)
    client.force_login(tree.teacher_a)

    response = client.post(reverse("courses:course_drop", args=[course.pk]), HTTP_HX_REQUEST="true")

    assert "补选阶段只能增选课程，不能退选" in response.content.decode()
    assert CourseSelection.objects.get().status == SelectionStatus.SELECTED


@time_machine.travel(IN_WINDOW)
def test_course_select_get_not_allowed(client, tree, period):
    course = CourseFactory(period=period)
    client.force_login(tree.teacher_a)

    assert client.get(reverse("courses:course_select", args=[course.pk])).status_code == 405


# --- scoping ----------------------------------------------------------------------------------------


@time_machine.travel(IN_WINDOW)
def test_course_detail_of_other_city_is_404_for_teacher(client, tree):
    other_period = PeriodFactory()  # another city
    course = CourseFactory(period=other_period)
    client.force_login(tree.teacher_a)

    assert client.get(reverse("courses:course_detail", args=[course.pk])).status_code == 404
    assert client.post(reverse("courses:course_select", args=[course.pk])).status_code == 404


def test_course_edit_by_provider_staff_only_own_courses(client, provider_staff, period):
    own = CourseFactory(period=period, provider=provider_staff.provider_memberships.get().provider)
    other = CourseFactory(period=period)
    client.force_login(provider_staff)

    assert client.get(reverse("courses:course_edit", args=[own.pk])).status_code == 200
    assert client.get(reverse("courses:course_edit", args=[other.pk])).status_code == 404
    listed = client.get(reverse("courses:manage_list")).context["page"]
    assert [c.pk for c in listed] == [own.pk]


def test_course_manage_list_is_403_for_teacher_and_school_admin(client, tree):
    for user in (tree.teacher_a, tree.alice):
        client.force_login(user)
        assert client.get(reverse("courses:manage_list")).status_code == 403


def test_fill_rates_is_403_for_district_admin(client, tree, period):
    client.force_login(tree.carol)

    assert client.get(reverse("courses:fill_rates")).status_code == 403


@time_machine.travel(IN_WINDOW)
def test_fill_rates_for_city_admin_shows_districts_and_chart(client, tree, period):
    course = CourseFactory(period=period, category="elective", capacity=4)
    CourseSelection.objects.create(teacher=tree.teacher_c.teacher, course=course, period=period, selected_at=IN_WINDOW)
    Course.objects.filter(pk=course.pk).update(enrolled_count=1)
    client.force_login(tree.erin)

    response = client.get(reverse("courses:fill_rates"))

    rows = {d.unit.name: d.counts["elective"] for d in response.context["districts"]}
    assert rows == {"天河区": 0, "海珠区": 1}
    assert 'data-chart-src="district-chart"' in response.content.decode()
    assert [c.fill_rate for c in response.context["page"]] == [0.25]


@time_machine.travel(IN_WINDOW)
def test_nudge_list_school_admin_sees_only_her_teachers(client, tree, period):
    client.force_login(tree.alice)

    response = client.get(reverse("courses:nudge"))

    assert [r.teacher.name for r in response.context["page"]] == ["teacher_a"]


@time_machine.travel(IN_WINDOW)
def test_school_progress_district_admin_sees_only_his_schools(client, tree, period):
    client.force_login(tree.carol)

    response = client.get(reverse("courses:school_progress"))

    assert [r.unit.name for r in response.context["page"]] == ["A校", "B校"]


@time_machine.travel(IN_WINDOW)
def test_nudge_export_xlsx_lists_teachers_short_of_hours(client, tree, period):
    client.force_login(tree.carol)

    response = client.get(reverse("courses:nudge"), {"export": "xlsx"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    names = [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert names == ["teacher_a", "teacher_b"]


@time_machine.travel(IN_WINDOW)
def test_nudge_remind_queues_one_notification_per_teacher_per_day(
    client, tree, period, django_capture_on_commit_callbacks
):
    client.force_login(tree.alice)
    ids = [tree.teacher_a.teacher.pk, tree.teacher_c.teacher.pk]  # teacher_c is not hers: ignored

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("courses:nudge_remind"), {"ids": ids, "period": period.pk})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("courses:nudge_remind"), {"ids": ids, "period": period.pk})

    notes = Notification.objects.filter(kind="course_plan_reminder")
    assert [n.user for n in notes] == [tree.teacher_a]


@time_machine.travel(IN_WINDOW)
def test_home_card_tells_teacher_window_and_missing_hours(client, tree, period):
    client.force_login(tree.teacher_a)

    response = client.get(reverse("home"))

    assert "选课窗口开放至 2022年3月30日 00:00；还差 90 学时" in response.content.decode()


def test_period_of_other_city_is_404_for_admin(client, tree):
    other = PeriodFactory()
    client.force_login(tree.alice)

    assert client.get(reverse("courses:nudge"), {"period": other.pk}).status_code == 404


def test_teacher_without_admin_role_gets_403_on_nudge(client, tree, period):
    client.force_login(tree.teacher_a)

    assert client.get(reverse("courses:nudge")).status_code == 403


def test_inactive_teacher_sees_no_select_button(client, tree, period):
    teacher = TeacherFactory(unit=tree.school_a, status="retired")
    user = UserFactory(id_number=teacher.id_number)
    teacher.user = user
    teacher.save(update_fields=["user"])
    CourseFactory(period=period)
    client.force_login(user)

    with time_machine.travel(IN_WINDOW):
        response = _catalogue(client, period)

    assert response.context["can_select"] is False


def test_admin_role_holder_for_other_city_cannot_see_period(client, period):
    outsider = admin_user(Role.CITY_ADMIN, PeriodFactory().city)
    client.force_login(outsider)

    assert client.get(reverse("courses:fill_rates"), {"period": period.pk}).status_code == 404


@time_machine.travel(IN_WINDOW)
def test_home_card_for_provider_staff_counts_own_courses(client, tree, period, provider_staff):
    provider = provider_staff.provider_memberships.get().provider
    CourseFactory(period=period, provider=provider, capacity=10)
    Course.objects.filter(provider=provider).update(enrolled_count=7)
    CourseFactory(period=period)  # another provider's
    client.force_login(provider_staff)

    response = client.get(reverse("home"))

    assert "已发布课程 1 门，已选 7 人次，候补 0 人" in response.content.decode()


@time_machine.travel(IN_WINDOW)
def test_nudge_short_in_category_counts_ledger_plus_planned_hours(client, tree, period):
    from credits.services import credit_entry_record

    public = CourseFactory(period=period, category="public", hours=Decimal("20"))
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=public, period=period, selected_at=IN_WINDOW)
    credit_entry_record(
        teacher=tree.teacher_a.teacher,
        year=2022,
        category="public",
        hours=Decimal("10"),
        source="manual",
        reference="test:a",
    )
    client.force_login(tree.carol)

    short_public = client.get(reverse("courses:nudge"), {"short_in": "public"}).context["page"]
    short_elective = client.get(reverse("courses:nudge"), {"short_in": "elective"}).context["page"]

    assert [r.teacher.name for r in short_public] == ["teacher_b"]
    assert [r.teacher.name for r in short_elective] == ["teacher_a", "teacher_b"]
    assert short_elective[0].plan.categories[0].total == Decimal("30")


@time_machine.travel(IN_WINDOW)
def test_school_progress_and_fill_rates_query_counts_do_not_grow_with_teachers_or_courses(
    client, tree, period, django_assert_max_num_queries
):
    client.force_login(tree.erin)
    pages = [reverse("courses:school_progress"), reverse("courses:fill_rates")]
    first = CourseFactory(period=period, capacity=40)
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=first, period=period, selected_at=IN_WINDOW)
    few = {}
    for url in pages:
        client.get(url)  # warms the per-process caches
        figures_forget()  # counted anew: the most queries the page makes
        with django_assert_max_num_queries(20) as captured:
            assert client.get(url).status_code == 200
        few[url] = len(captured.captured_queries)
    for unit in (tree.school_a, tree.school_b, tree.school_c):
        for teacher in TeacherFactory.create_batch(10, unit=unit):
            course = CourseFactory(period=period, capacity=40)
            course.topics.set([Topic.objects.get(code="ethics")])
            CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=IN_WINDOW)

    for url in pages:
        figures_forget()
        with django_assert_max_num_queries(few[url]):
            assert client.get(url).status_code == 200


@time_machine.travel(IN_WINDOW)
def test_school_progress_counts_planned_enough_in_sql(client, tree, period):
    for category, hours in (("public", "30"), ("professional", "42"), ("elective", "18")):
        course = CourseFactory(period=period, category=category, hours=Decimal(hours))
        CourseSelection.objects.create(
            teacher=tree.teacher_a.teacher, course=course, period=period, selected_at=IN_WINDOW
        )
    ethics = CourseFactory(period=period, category="elective", hours=Decimal("1"))
    ethics.topics.set([Topic.objects.get(code="ethics")])
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=ethics, period=period, selected_at=IN_WINDOW)
    client.force_login(tree.erin)

    rows = client.get(reverse("courses:school_progress")).context["page"]

    assert [(r.unit.name, r.teachers, r.selected, r.planned_enough) for r in rows] == [
        ("A校", 1, 1, 1),
        ("B校", 1, 0, 0),
        ("C校", 1, 0, 0),
    ]


@time_machine.travel(IN_WINDOW)
def test_catalogue_filters_topic_and_provider(client, tree, period):
    ethics = Topic.objects.get(code="ethics")
    gdei = ProviderFactory(name="广东第二师范学院")
    CourseFactory(period=period, code="T1").topics.set([ethics])
    CourseFactory(period=period, code="T2", provider=gdei).topics.set([ethics])
    CourseFactory(period=period, code="T3", provider=gdei)
    client.force_login(tree.teacher_a)

    by_topic = _catalogue(client, period, topic=ethics.pk)
    by_both = _catalogue(client, period, topic=ethics.pk, provider=gdei.pk)

    assert [c.code for c in by_topic.context["page"]] == ["T1", "T2"]
    assert [c.code for c in by_both.context["page"]] == ["T2"]


@time_machine.travel(IN_WINDOW)
def test_fill_rates_district_export(client, tree, period):
    course = CourseFactory(period=period, category="public", hours=Decimal("1.5"))
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=course, period=period, selected_at=IN_WINDOW)
    client.force_login(tree.erin)

    response = client.get(reverse("courses:fill_rates"), {"export": "districts"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert rows == [["天河区", 1, 0, 0, 1.5, 0, 0, 1], ["海珠区", 0, 0, 0, 0, 0, 0, 0]]

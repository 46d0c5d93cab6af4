import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from courses.models import CourseSelection
from tests.factories.courses import CourseFactory, PeriodFactory
from tests.factories.portal import teacher_user


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_teacher_selects_a_course_in_place_and_the_plan_follows(live_server, page, tree):
    now = timezone.now()
    period = PeriodFactory(
        city=tree.city,
        year=now.year,
        selection_opens_at=now - dt.timedelta(days=1),
        selection_closes_at=now + dt.timedelta(days=7),
        late_opens_at=None,
        late_closes_at=None,
    )
    course = CourseFactory(period=period, title="双减背景下的作业设计", category="professional", hours=Decimal("12"))
    CourseFactory(period=period, title="心理健康教育", category="elective", hours=Decimal("6"))
    user = teacher_user(unit=tree.school_a)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("身份证号").fill(user.id_number)
    page.get_by_label("密码").fill("pw-123456")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/courses/?period={period.pk}")
    plan = page.locator("#plan-panel")
    assert "还没有选课" in plan.inner_text()
    page.evaluate("window.notReloaded = true")

    page.locator(f"#course-{course.pk}-actions").get_by_role("button", name="选课").click()

    page.locator(f"#course-{course.pk}-actions").get_by_text("已选").wait_for()
    assert "双减背景下的作业设计" in plan.inner_text()  # the panel was swapped out of band
    assert page.evaluate("window.notReloaded") is True  # by htmx, without a page load
    assert list(CourseSelection.objects.filter(teacher=user.teacher).values_list("course_id", flat=True)) == [course.pk]

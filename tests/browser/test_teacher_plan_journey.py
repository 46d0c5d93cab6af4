"""A teacher of a city selects courses until her plan meets the city's rule, at desktop width and at 375 px."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from courses.models import CourseSelection
from tests.factories.courses import CourseFactory, PeriodFactory, RuleSetFactory
from tests.factories.portal import teacher_user

RULE = {"all_of": [{"min_total": {"hours": 18}}, {"min_hours": {"category": "public", "hours": 6}}]}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("journey", ["desktop", "phone"], indirect=True)
def test_a_teacher_selects_courses_until_her_plan_meets_the_rule(journey, tree):
    now = timezone.now()
    period = PeriodFactory(
        city=tree.city,
        year=now.year,
        rule_set=RuleSetFactory(city=tree.city, year=now.year, tree=RULE),
        selection_opens_at=now - dt.timedelta(days=1),
        selection_closes_at=now + dt.timedelta(days=7),
        late_opens_at=None,
        late_closes_at=None,
    )
    professional = CourseFactory(period=period, title="大单元教学设计", category="professional", hours=Decimal("12"))
    public = CourseFactory(period=period, title="师德师风专题", category="public", hours=Decimal("6"))
    user = teacher_user(unit=tree.school_a)

    page = journey.login(user.id_number, "pw-123456")
    page.goto(f"{journey.base}/courses/?period={period.pk}")
    badge = page.locator("#plan-panel .badge").first
    expect(badge).to_have_text("计划未达标")
    for course in (professional, public):
        page.locator(f"#course-{course.pk}-actions").get_by_role("button", name="选课").click()
        page.locator(f"#course-{course.pk}-actions").get_by_text("已选").wait_for()
        if course is professional:
            expect(badge).to_have_text("计划未达标")  # 12 of 18 hours, no public hours yet
    expect(badge).to_have_text("计划已达标")
    journey.check(page, "teacher-plan")

    selected = CourseSelection.objects.filter(teacher=user.teacher).values_list("course_id", flat=True)
    assert sorted(selected) == sorted([professional.pk, public.pk])

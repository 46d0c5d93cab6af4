"""Property-based: every importer and every form fed hostile values answers with row or form errors,
or writes, but never raises (which a view would turn into a 500).

Hostile values: numbers of 20-30 digits, negative and non-ASCII digits, 1e400, NaN, impossible
dates, control characters and bidi overrides, text far over every length limit, and whatever
Hypothesis makes of text. A valid result is also written (each example inside a savepoint that is
rolled back), so a value the checks let through and the database refuses is found too.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
from decimal import Decimal

import pytest
import xlsxwriter
from django import forms
from django.db import transaction
from django_filters import FilterSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from courses import filters as course_filters
from courses import forms as course_forms
from courses.importing import COLUMNS as COURSE_COLUMNS
from courses.importing import course_import
from courses.models import Course, CourseSelection, CourseSession, OfferRule, Provider, TrainingPeriod
from courses.results_import import COLUMNS as RESULT_COLUMNS
from courses.results_import import provider_results_import
from credits import forms as credit_forms
from credits.models import Category, CreditKind, RuleSet
from credits.rule_builder import measure_choices
from enrollment import filters as enrollment_filters
from enrollment import forms as enrollment_forms
from enrollment.models import Application
from enrollment.services import quota_table_import
from portal import filters as portal_filters
from portal import forms as portal_forms
from portal.importing import ImportFileError, RowError
from portal.models import Role, Teacher, Unit
from portal.registry import AUDIENCES, NOTIFICATION_KINDS
from portal.roster_import import roster_import
from portal.views import notifications as notification_views
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory
from tests.factories.enrollment import programme_with_chain

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2022, 3, 15, 10, tzinfo=dt.UTC)
HOSTILE_TEXT = [
    "9" * 20,
    "123456789012345678901234567890",
    "-1",
    "-99999999999999999999",
    "0",
    "²³",
    "١٢٣",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "0x1F",
    "9999-12-31",
    "0001-01-01",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2022-02-30",
    "\u202egnp.exe\u202c",
    "\u0000\u0007\u001b[31m",
    "\ufeff\u200b",
    "张\u00ad三",
    "x" * 5000,
    "合格",
    "公需科目",
    "不限",
    " ",
]
hostile_text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=60))
EXTREME_NUMBERS = [2**31, 2**31 - 1, -(2**31) - 1, 2**53 + 1, 2**63, 10**20, 10**30, -(10**20), 1e300, -1e-300, 0.05]
hostile_cell = st.one_of(
    hostile_text,
    st.sampled_from(EXTREME_NUMBERS),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**12), max_value=10**12),
)
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: a failure here is a bug, not bad luck
)


def sheet(headers: list[str], rows: list[list[object]]) -> bytes:
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, headers)
    for r, values in enumerate(rows, 1):
        for c, value in enumerate(values):
            if isinstance(value, str):
                ws.write_string(r, c, value[:32767])
            elif isinstance(value, Decimal):
                ws.write_string(r, c, str(value))
            elif isinstance(value, int) and abs(value) >= 2**53:
                ws.write_string(r, c, str(value))
            else:
                ws.write_number(r, c, value)
    wb.close()
    return out.getvalue()


def rows_for(template: list[object]):
    """Rows of all-hostile cells, and (more often) a valid row with one or two cells made hostile:
    those reach the checks past the first and, when the checks let them through, the database."""
    n = len(template)
    wild = st.lists(hostile_cell, min_size=n, max_size=n)
    mutations = st.lists(st.tuples(st.integers(0, n - 1), hostile_cell), min_size=1, max_size=2)
    near = mutations.map(lambda changes: [dict(changes).get(i, v) for i, v in enumerate(template)])
    return st.one_of(st.lists(near, min_size=1, max_size=2), st.lists(wild, min_size=1, max_size=3))


def answered(run) -> None:
    """Run one import inside a savepoint that is rolled back: rows or file errors are fine, anything else is not."""
    with transaction.atomic():
        try:
            result = run()
        except ImportFileError as exc:
            assert str(exc)
        else:
            assert all(isinstance(e, RowError) and str(e) for e in result.errors)
        transaction.set_rollback(True)


@pytest.fixture
def world(tree):
    period = PeriodFactory(city=tree.city, code="2201", year=2022)
    provider = ProviderFactory(code="GZOU")
    course = CourseFactory(period=period, provider=provider, code="GZ-101")
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=course, period=period, selected_at=NOW)
    programme = programme_with_chain(tree.city, title="校长任职资格培训", quotas={tree.district1: 5})
    tree.period, tree.provider, tree.course, tree.programme = period, provider, course, programme
    return tree


ROSTER_HEADERS = ["姓名", "身份证号", "学段", "任教学科", "手机号码", "状态", "职务"]


ROSTER_ROW = ["张三", "440104199104115675", "初中", "数学", "13800138000", "在职", "教师"]
COURSE_ROW = ["K1", "大单元教学设计", "专业科目", 12, "GZOU", "线上", 200, 3, "", "", "", "简介", "发布"]
QUOTA_ROW = ["天河区", 5]
RESULT_ROW = ["440104199104115675", "张三", "GZ-101", 12, "合格"]


@given(rows=rows_for(ROSTER_ROW))
@EXAMPLES
def test_roster_import_answers_every_hostile_sheet(world, rows):
    answered(lambda: roster_import(sheet(ROSTER_HEADERS, rows), unit=world.school_a, actor=world.alice))


@given(rows=rows_for(COURSE_ROW))
@EXAMPLES
def test_course_import_answers_every_hostile_sheet(world, rows):
    headers = [c.header for c in COURSE_COLUMNS]
    answered(lambda: course_import(sheet(headers, rows), period=world.period, providers=[world.provider]))


@given(rows=rows_for(QUOTA_ROW))
@EXAMPLES
def test_quota_import_answers_every_hostile_sheet(world, rows):
    answered(
        lambda: quota_table_import(
            actor=world.erin, programme=world.programme, file=sheet(["区", "名额"], rows), now=NOW
        )
    )


@given(rows=rows_for(RESULT_ROW))
@EXAMPLES
def test_results_import_answers_every_hostile_sheet(world, rows):
    learner = world.teacher_a.teacher  # a real learner of the course, so hostile hours reach the ledger
    real = {RESULT_ROW[0]: learner.id_number, RESULT_ROW[1]: learner.name}
    rows = [[real.get(v, v) if isinstance(v, str) else v for v in row] for row in rows]
    headers = [c.header for c in RESULT_COLUMNS]
    answered(
        lambda: provider_results_import(
            sheet(headers, rows), provider=world.provider, period=world.period, actor=world.alice, now=NOW
        )
    )


# --------------------------------------------------------------------------- forms and filters


def form_makers(world):
    """Every form and filter of the portal, as its view builds it (kwargs), for hostile data."""
    programme = world.programme
    periods, providers = TrainingPeriod.objects.all(), Provider.objects.all()
    units, teachers = Unit.objects.all(), Teacher.objects.all()
    kinds_by_year = {2022: {"professional": list(CreditKind.objects.filter(category="professional"))}}
    cities = Unit.objects.filter(pk=world.city.pk)
    measures = measure_choices(list(CreditKind.objects.values_list("code", "name")), [("ethics", "师德")])
    return {
        course_forms.CourseForm: lambda d: course_forms.CourseForm(d, periods=periods, providers=providers),
        course_forms.SessionForm: lambda d: course_forms.SessionForm(d, instance=CourseSession(course=world.course)),
        course_forms.BulkForm: lambda d: course_forms.BulkForm(d, allowed_ids=[world.course.pk]),
        course_forms.CourseImportForm: lambda d: course_forms.CourseImportForm(d, {}, periods=periods),
        course_forms.ResultImportForm: lambda d: course_forms.ResultImportForm(
            d, {}, providers=providers, periods=periods
        ),
        course_forms.PeriodForm: lambda d: course_forms.PeriodForm(d, cities=cities, rule_sets=RuleSet.objects.all()),
        course_forms.FeePayerForm: lambda d: course_forms.FeePayerForm(d, payers={}),
        course_forms.ProviderAddForm: lambda d: course_forms.ProviderAddForm(d, cities=cities),
        course_forms.ProviderCreateForm: lambda d: course_forms.ProviderCreateForm(d, cities=cities),
        course_forms.StaffAddForm: lambda d: course_forms.StaffAddForm(d),
        enrollment_forms.ProgrammeSetupForm: lambda d: enrollment_forms.ProgrammeSetupForm(d, periods=periods),
        enrollment_forms.QuotaTableForm: lambda d: enrollment_forms.QuotaTableForm(
            d, districts=[world.district1, world.district2], seats={}
        ),
        credit_forms.RuleSetForm: lambda d: credit_forms.RuleSetForm(d, cities=cities),
        credit_forms.GroupModesForm: lambda d: credit_forms.GroupModesForm(d),
        credit_forms.RequirementForm: lambda d: credit_forms.RequirementForm(d, measures=measures),
        credit_forms.RuleCopyForm: lambda d: credit_forms.RuleCopyForm(d),
        credit_forms.TopicForm: lambda d: credit_forms.TopicForm(d),
        credit_forms.CreditKindForm: lambda d: credit_forms.CreditKindForm(d),
        portal_forms.AdminGrantForm: lambda d: portal_forms.AdminGrantForm(
            d, units=units, roles=[Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN]
        ),
        portal_forms.CityCreateForm: lambda d: portal_forms.CityCreateForm(d),
        portal_forms.UnitCreateForm: lambda d: portal_forms.UnitCreateForm(d, parents=units),
        portal_forms.StageForm: lambda d: portal_forms.StageForm(d),
        portal_forms.ScheduleForm: lambda d: portal_forms.ScheduleForm(d),
        portal_forms.ContactForm: lambda d: portal_forms.ContactForm(d, units=cities),
        portal_forms.AnnouncementForm: lambda d: portal_forms.AnnouncementForm(
            d, units=cities, audiences=list(AUDIENCES.values()), targets={}
        ),
        course_forms.OfferForm: lambda d: course_forms.OfferForm(
            d, providers=providers, rules=OfferRule.objects.all(), areas=units
        ),
        course_forms.ReasonForm: lambda d: course_forms.ReasonForm(d),
        course_forms.ChooseProviderForm: lambda d: course_forms.ChooseProviderForm(d, providers=providers),
        course_forms.AgreementUploadForm: lambda d: course_forms.AgreementUploadForm(d, {}, cap=Decimal("4")),
        course_forms.LateRegistrationForm: lambda d: course_forms.LateRegistrationForm(d, providers=providers),
        course_forms.OutcomeForm: lambda d: course_forms.OutcomeForm(d, {}, providers=providers),
        enrollment_forms.ProgrammeAdminForm: lambda d: enrollment_forms.ProgrammeAdminForm(d),
        enrollment_forms.ApplyForm: lambda d: enrollment_forms.ApplyForm(d),
        enrollment_forms.DecisionForm: lambda d: enrollment_forms.DecisionForm(d),
        enrollment_forms.BulkDecisionForm: lambda d: enrollment_forms.BulkDecisionForm(d),
        enrollment_forms.QuotaSetForm: lambda d: enrollment_forms.QuotaSetForm(d, programme=programme),
        enrollment_forms.QuotaMoveForm: lambda d: enrollment_forms.QuotaMoveForm(d, programme=programme),
        enrollment_forms.QuotaReopenForm: lambda d: enrollment_forms.QuotaReopenForm(d, programme=programme),
        enrollment_forms.QuotaImportForm: lambda d: enrollment_forms.QuotaImportForm(d, {}),
        enrollment_forms.FinalizeForm: lambda d: enrollment_forms.FinalizeForm(d, programme=programme),
        credit_forms.AdjustmentForm: lambda d: credit_forms.AdjustmentForm(d),
        credit_forms.ReverseForm: lambda d: credit_forms.ReverseForm(d),
        credit_forms.VerifyForm: lambda d: credit_forms.VerifyForm(d),
        credit_forms.DeclarationForm: lambda d: credit_forms.DeclarationForm(
            d, {}, categories=Category.choices, kinds_by_year=kinds_by_year
        ),
        credit_forms.DeclarationDecisionForm: lambda d: credit_forms.DeclarationDecisionForm(d),
        credit_forms.DeclarationBulkForm: lambda d: credit_forms.DeclarationBulkForm(d),
        credit_forms.SpotCheckForm: lambda d: credit_forms.SpotCheckForm(d),
        credit_forms.SchoolActivityForm: lambda d: credit_forms.SchoolActivityForm(
            d, categories=Category.choices, kinds_by_year=kinds_by_year
        ),
        credit_forms.SchoolTrainingCapForm: lambda d: credit_forms.SchoolTrainingCapForm(d),
        portal_forms.TeacherForm: lambda d: portal_forms.TeacherForm(d, instance=world.teacher_a.teacher),
        portal_forms.BulkActionForm: lambda d: portal_forms.BulkActionForm(d, teachers=teachers, destinations=units),
        portal_forms.TeacherPasswordForm: lambda d: portal_forms.TeacherPasswordForm(d),
        portal_forms.RosterUploadForm: lambda d: portal_forms.RosterUploadForm(d, {}, units=units),
        notification_views.PreferencesForm: lambda d: notification_views.PreferencesForm(
            d, kinds=list(NOTIFICATION_KINDS.values())
        ),
        course_filters.CatalogueFilter: lambda d: course_filters.CatalogueFilter(
            d, queryset=Course.objects.all(), period=world.period
        ),
        course_filters.CourseManageFilter: lambda d: course_filters.CourseManageFilter(
            d, queryset=Course.objects.all(), periods=periods, providers=providers
        ),
        course_filters.FillRateFilter: lambda d: course_filters.FillRateFilter(
            d, queryset=Course.objects.all(), providers=providers
        ),
        course_filters.NudgeFilter: lambda d: course_filters.NudgeFilter(
            d, queryset=Teacher.objects.all(), units=units
        ),
        enrollment_filters.ApplicationFilter: lambda d: enrollment_filters.ApplicationFilter(
            d, queryset=Application.objects.all(), schools=units, now=NOW
        ),
        portal_filters.TeacherFilter: lambda d: portal_filters.TeacherFilter(
            d, queryset=Teacher.objects.all(), units=units
        ),
    }


def declared(module) -> set[type]:
    return {
        obj
        for _name, obj in inspect.getmembers(module, inspect.isclass)
        if obj.__module__ == module.__name__ and issubclass(obj, forms.BaseForm | FilterSet)
    }


def test_every_form_and_filter_is_fed_hostile_values(world):
    modules = (course_forms, course_filters, enrollment_forms, enrollment_filters, credit_forms, portal_forms)
    every = set().union(*map(declared, modules)) | declared(notification_views) | {portal_filters.TeacherFilter}
    assert every - set(form_makers(world)) == set()


def fields_of(made) -> dict[str, forms.Field]:
    return (made.form if isinstance(made, FilterSet) else made).fields


@given(data=st.data())
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
def test_every_form_and_filter_answers_hostile_values(world, data):
    for make in form_makers(world).values():
        names = list(fields_of(make({})))
        values = {name: data.draw(st.lists(hostile_text, min_size=1, max_size=2)) for name in names}
        post = {
            name: v if isinstance(fields_of(make({}))[name], forms.MultipleChoiceField) else v[0]
            for name, v in values.items()
        }
        with transaction.atomic():
            made = make(post)
            if isinstance(made, FilterSet):
                list(made.qs[:5])
            elif made.is_valid() and isinstance(made, forms.ModelForm):
                made.save()
            transaction.set_rollback(True)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_character_in_any_request_value_is_refused_before_the_view(client, tree, method):
    """PostgreSQL's text holds no NUL: a view that passed one on would answer 500; none is reached."""
    client.force_login(tree.alice)
    send = getattr(client, method)

    refused = send("/credits/declarations/review/", {"q": "张\x00三"})
    named = send("/credits/declarations/review/", {"q\x00": "张三"})
    clean = send("/credits/declarations/review/", {"q": "张三"})

    assert (refused.status_code, named.status_code, clean.status_code) == (400, 400, 200)

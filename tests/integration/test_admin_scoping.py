"""The Django admin walked for every role: nothing of another city, nothing personal for the operator.

Two cities are built with a row in every registered model (``_city``). For each role of the first
city (teacher, school admin, district admin, city admin, provider staff, all of them staff) and for
the platform operator, every registered ModelAdmin is walked: its changelist (with searches that
name an outsider, and every list filter's choices), the change, delete and history views and a
changing POST of outside rows (404), every action on outside rows (nothing changes), and the add
and change forms with their inlines and autocomplete lookups (no outside choice). What is outside
is decided here, independently of portal.admin: the other city's rows; what belongs to no city
(schedules, login records, stages, topics, kinds, groups) for everyone but the operator; other
users' notifications and exports for everyone; for the operator, every row of a city but the
cities themselves and their city admins.
"""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteMixin
from django.contrib.auth.models import Group
from django.forms import ModelChoiceField
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from courses.models import (
    Course,
    CourseSelection,
    CourseSession,
    NoShowPolicy,
    OfferRule,
    Provider,
    ProviderStaff,
    TrainingPeriod,
    WaitlistEntry,
)
from credits.models import (
    Certificate,
    ComplianceSnapshot,
    CreditEntry,
    CreditKind,
    DeclarationSettings,
    RuleSet,
    Topic,
)
from enrollment.models import Application, AuditAction, AuditEntry, Programme, ProgrammeLevel
from portal.models import (
    ExportJob,
    Notification,
    PersonalDataAccess,
    ReminderDate,
    Role,
    RoleAssignment,
    Stage,
    Teacher,
    TeacherMove,
    TeacherStatus,
    Unit,
    UnitKind,
    User,
)
from portal.privacy import personal_data_access_record
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory, RuleSetFactory, shanghai
from tests.factories.credits import entries, preloaded
from tests.factories.enrollment import at, programme_with_chain
from tests.factories.portal import CityFactory, DistrictFactory, SchoolFactory, TeacherFactory, UserFactory

# The classes of rows, decided here and not read from portal.admin.
CITY_MODELS = {
    Unit,
    User,
    RoleAssignment,
    Teacher,
    TeacherMove,
    ReminderDate,
    PersonalDataAccess,
    Provider,
    TrainingPeriod,
    Course,
    CourseSelection,
    WaitlistEntry,
    Programme,
    Application,
    AuditEntry,
    RuleSet,
    CreditEntry,
    Certificate,
    ComplianceSnapshot,
    NoShowPolicy,
    DeclarationSettings,
    OfferRule,
}
PLATFORM_MODELS = {
    Stage,
    Topic,
    CreditKind,
    PeriodicTask,
    ClockedSchedule,
    CrontabSchedule,
    SolarSchedule,
    IntervalSchedule,
    AccessAttempt,
    AccessLog,
    AccessFailureLog,
    Group,
}
SHARED_CHOICES = {Stage, Topic, CreditKind}  # reference data every form may offer
OWN_MODELS = {Notification, ExportJob}  # each user's own, nobody else's
ROLES = ["teacher", "school_admin", "district_admin", "city_admin", "provider_staff", "operator"]
PER_MODEL = 2  # outside rows tried per model on the object pages


def _city(code: str) -> dict:
    """A city with one row in every model an admin shows; returns its people."""
    city = CityFactory(code=code, name=f"{code}市")
    district = DistrictFactory(parent=city)
    school = SchoolFactory(parent=district)
    people = {
        "school_admin": UserFactory(name=f"{code}校管"),
        "district_admin": UserFactory(name=f"{code}区管"),
        "city_admin": UserFactory(name=f"{code}市管"),
        "provider_staff": UserFactory(name=f"{code}机构"),
    }
    for role, unit in (("school_admin", school), ("district_admin", district), ("city_admin", city)):
        RoleAssignment.objects.create(user=people[role], role=role, unit=unit)
    teacher = TeacherFactory(unit=school, name=f"{code}教师")
    people["teacher"] = UserFactory(id_number=teacher.id_number, name=teacher.name)
    teacher.user = people["teacher"]
    teacher.save(update_fields=["user"])
    TeacherFactory(unit=school)  # without a login
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    TeacherMove.objects.create(
        teacher=TeacherFactory(unit=school, status=TeacherStatus.RETIRED),
        from_unit=school,
        status=TeacherStatus.RETIRED,
        date=dt.date(2022, 7, 1),
    )
    ReminderDate.objects.create(city=city, date=dt.date(2022, 11, 1))
    NoShowPolicy.objects.create(city=city)
    DeclarationSettings.objects.create(
        city=city, year=2022, declare_until=dt.date(2022, 12, 10), certify_until=dt.date(2022, 12, 20)
    )
    provider = ProviderFactory()
    provider.cities.set([city])
    ProviderStaff.objects.create(provider=provider, user=people["provider_staff"])
    period = PeriodFactory(city=city, rule_set=RuleSetFactory(city=city))
    course = CourseFactory(period=period, provider=provider, mode="offline")
    OfferRule.objects.create(
        period=period,
        kind=CreditKind.objects.get(code="walker"),
        min_hours=42,
    )
    CourseSession.objects.create(
        course=course, date=dt.date(2022, 4, 25), starts_at=dt.time(9), ends_at=dt.time(12), place="301"
    )
    CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=shanghai(2022, 3, 20))
    WaitlistEntry.objects.create(teacher=TeacherFactory(unit=school), course=course, created_at=shanghai(2022, 3, 21))
    programme = programme_with_chain(city, period=PeriodFactory(city=city, rule_set=None), quotas={district: 5})
    level = ProgrammeLevel.objects.filter(programme=programme).order_by("order").first()
    application = Application.objects.create(
        programme=programme,
        teacher=teacher,
        school=school,
        district=district,
        level=level,
        deadline=level.deadline,
        submitted_at=at("2022-03-14 09:00"),
    )
    AuditEntry.objects.create(
        programme=programme,
        application=application,
        actor=people["teacher"],
        actor_name=teacher.name,
        actor_role=Role.TEACHER,
        action=AuditAction.SUBMIT,
        created_at=at("2022-03-14 09:00"),
    )
    entries(teacher, 2022, ("public", 10))
    Certificate.objects.create(code=f"CERT{code}", teacher=teacher, year=2022, content={}, content_hash=code)
    ComplianceSnapshot.objects.create(unit=school, year=2022, date=dt.date(2022, 6, 1), teachers=3, compliant=1)
    for user in (people["teacher"], people["city_admin"]):
        Notification.objects.create(user=user, kind="test", title=f"给{user.name}的通知")
        ExportJob.objects.create(user=user, kind="roster")
    personal_data_access_record(people["city_admin"], purpose="test", count=1, unit=city)
    return {**people, "teacher_record": teacher, "city": city}


def _platform_rows() -> None:
    Topic.objects.get_or_create(code="walker", defaults={"name": "巡检专题"})
    CreditKind.objects.get_or_create(code="walker", defaults={"name": "巡检类型", "category": "professional"})
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(event="sunrise", latitude=Decimal("23.13"), longitude=Decimal("113.26"))
    IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    Group.objects.create(name="巡检组")
    now = timezone.now()
    record = {"username": "440106198001010015", "ip_address": "10.0.0.1", "user_agent": "x", "attempt_time": now}
    AccessAttempt.objects.create(**record, failures_since_start=1)
    AccessLog.objects.create(**record)
    AccessFailureLog.objects.create(**record)


def _snapshot() -> dict:
    return {model: set(model._base_manager.values_list("pk", flat=True)) for model in apps.get_models()}


def _diff(after: dict, before: dict) -> dict:
    return {model: after[model] - before.get(model, set()) for model in after}


@pytest.fixture
def worlds(db):
    preloaded()
    _platform_rows()
    before = _snapshot()
    home = _city("H1")
    middle = _snapshot()
    away = _city("A2")
    after = _snapshot()
    operator = UserFactory(name="平台运营", is_staff=True, is_operator=True)
    return {
        "home": home,
        "away": away,
        "operator": operator,
        "home_rows": _diff(middle, before),
        "away_rows": _diff(after, middle),
        "platform": {model: after[model] for model in PLATFORM_MODELS},
    }


def _outside(worlds, role: str, user: User) -> dict:
    """model -> the pks the role must never meet, as rows in a page."""
    home, away = worlds["home_rows"], worlds["away_rows"]
    if role == "operator":
        cities = set(Unit.objects.filter(kind=UnitKind.CITY).values_list("pk", flat=True))
        city_admins = set(RoleAssignment.objects.filter(role=Role.CITY_ADMIN).values_list("pk", flat=True))
        city_admin_users = set(RoleAssignment.objects.filter(role=Role.CITY_ADMIN).values_list("user_id", flat=True))
        allowed = {Unit: cities, RoleAssignment: city_admins, User: city_admin_users}
        outside = {m: (home[m] | away[m]) - allowed.get(m, set()) for m in home}
    else:
        outside = {m: set(away[m]) for m in away}
        for model, pks in worlds["platform"].items():
            outside[model] = outside[model] | pks
    for model in OWN_MODELS:
        outside[model] = set(model.objects.exclude(user=user).values_list("pk", flat=True))
    return outside


def _outside_choices(outside: dict) -> dict:
    return {m: (set() if m in SHARED_CHOICES else pks) for m, pks in outside.items()}


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


class Walk:
    def __init__(self, client, outside, choices):
        self.client, self.outside, self.choices = client, outside, choices
        self.leaks: list[str] = []
        self.counts = Counter()

    def meets(self, what: str, model, pks) -> None:
        self.counts["rows_checked" if what.startswith("row") else "choices_checked"] += len(set(pks))
        bad = set(pks) & (self.outside if what.startswith("row") else self.choices).get(model, set())
        if bad:
            self.leaks.append(f"{what}: {model._meta.label} {sorted(bad)}")

    def form(self, where: str, response) -> None:
        forms = [("form", response.context["adminform"].form)]
        for inline in response.context.get("inline_admin_formsets", []):
            formset = inline.formset
            forms += [(f"inline {formset.prefix}", f) for f in [*formset.forms, formset.empty_form]]
        for label, form in forms:
            for name, field in form.fields.items():
                if not isinstance(field, ModelChoiceField) or field.widget.is_hidden:
                    continue  # a hidden key (an inline row's own id) offers nothing
                self.meets(
                    f"choice {where} {label}.{name}", field.queryset.model, field.queryset.values_list("pk", flat=True)
                )
                if isinstance(field.widget, AutocompleteMixin):
                    self.autocomplete(where, field)

    def autocomplete(self, where: str, field) -> None:
        source = field.widget.field
        response = self.client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": source.model._meta.app_label,
                "model_name": source.model._meta.model_name,
                "field_name": source.name,
                "term": "",
            },
        )
        if response.status_code == 200:
            ids = [int(r["id"]) for r in response.json()["results"]]
            self.meets(f"choice {where} autocomplete {source.name}", source.related_model, ids)


def _searches(worlds) -> list[str]:
    away = worlds["away"]
    teacher = away["teacher_record"]
    return [teacher.id_number, teacher.name]


@pytest.mark.parametrize("role", ROLES)
def test_admin_shows_no_outside_row_or_choice(worlds, role):
    user = worlds["operator"] if role == "operator" else worlds["home"][role]
    outside = _outside(worlds, role, user)
    client = Client()
    client.force_login(user)
    walk = Walk(client, outside, _outside_choices(outside))
    registry = admin.site._registry

    for model, model_admin in registry.items():
        walk.counts["admins"] += 1
        changelist = client.get(_url(model, "changelist"))
        assert changelist.status_code in (200, 403), (model, changelist.status_code)
        inside = []
        if changelist.status_code == 200:
            cl = changelist.context["cl"]
            walk.meets(f"row changelist {model.__name__}", model, cl.queryset.values_list("pk", flat=True))
            inside = [pk for pk in cl.queryset.values_list("pk", flat=True)[:1]]
            for spec in cl.filter_specs:
                if getattr(spec, "lookup_choices", None) and getattr(spec, "field", None) is not None:
                    related = spec.field.related_model
                    if related is not None:
                        pks = [pk for pk, _label in spec.lookup_choices]
                        walk.meets(f"choice list filter {model.__name__}.{spec.field_path}", related, pks)
            if model_admin.search_fields:
                for term in _searches(worlds):
                    found = client.get(_url(model, "changelist"), {"q": term}).context["cl"].queryset
                    walk.meets(f"row search {model.__name__} {term!r}", model, found.values_list("pk", flat=True))
            _try_actions(walk, model, changelist)
        can_view = changelist.status_code == 200
        # A role kept out of the model (403) is tried once; one that uses it, on each page and a POST.
        for pk in sorted(outside.get(model, ()))[: PER_MODEL if can_view else 1]:
            pages = [("get", "change"), ("get", "delete"), ("post", "change"), ("get", "history")]
            for method, view in pages if can_view else pages[:1]:
                status = getattr(client, method)(_url(model, view, pk)).status_code
                walk.counts["object_pages"] += 1
                if status != 404 and not (status == 403 and not can_view):
                    walk.leaks.append(f"row {method} {view} {model._meta.label} {pk}: {status}")
        add = client.get(_url(model, "add"))
        if add.status_code == 200:
            walk.form(f"add {model.__name__}", add)
        for pk in inside:
            change = client.get(_url(model, "change", pk))
            if change.status_code == 200 and "adminform" in change.context:
                walk.form(f"change {model.__name__}", change)

    print(f"\n{role}: {dict(walk.counts)}, leaks {len(walk.leaks)}", *walk.leaks, sep="\n  ")
    assert walk.leaks == []
    assert walk.counts["admins"] == len(registry)


def _try_actions(walk: Walk, model, changelist) -> None:
    action_form = changelist.context.get("action_form")
    targets = sorted(walk.outside.get(model, ()))
    if action_form is None or not targets:
        return
    before = list(model._base_manager.filter(pk__in=targets).order_by("pk").values())
    for name, _label in action_form.fields["action"].choices:
        if not name:
            continue
        walk.counts["actions_tried"] += 1
        walk.client.post(
            _url(model, "changelist"), {"action": name, "_selected_action": targets, "index": 0, "post": "yes"}
        )
        after = list(model._base_manager.filter(pk__in=targets).order_by("pk").values())
        if after != before:
            walk.leaks.append(f"action {name} on {model._meta.label} changed outside rows")
            before = after


def test_every_registered_admin_is_classified_here():
    """A new ModelAdmin must be placed in one of the classes above (and its rows built in ``_city``)."""
    assert set(admin.site._registry) == CITY_MODELS | PLATFORM_MODELS | OWN_MODELS


def test_city_admin_sees_every_row_of_her_city(worlds):
    """The walk is not passed by showing nothing: the home city's admin meets all of her city's rows."""
    client = Client()
    client.force_login(worlds["home"]["city_admin"])
    missing = {}
    for model in CITY_MODELS:
        shown = set(client.get(_url(model, "changelist")).context["cl"].queryset.values_list("pk", flat=True))
        expected = worlds["home_rows"][model]
        if model is User:
            expected = expected - {worlds["home"]["city_admin"].pk}  # superiors and herself aside: none here
            shown.discard(worlds["home"]["city_admin"].pk)
        if not expected <= shown:
            missing[model.__name__] = expected - shown
    assert missing == {}


def test_operator_sees_what_belongs_to_no_city(worlds):
    client = Client()
    client.force_login(worlds["operator"])

    shown = {
        model: set(client.get(_url(model, "changelist")).context["cl"].queryset.values_list("pk", flat=True))
        for model in PLATFORM_MODELS - {Group}
    }

    assert {model: worlds["platform"][model] - pks for model, pks in shown.items()} == {model: set() for model in shown}
    assert client.get(_url(Group, "changelist")).status_code == 403  # permissions: superusers only

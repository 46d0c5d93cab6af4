"""The one way the apps tell the portal what it must know about them.

The portal is the ground floor: it imports none of the apps built on it. Each app
registers, from its ``AppConfig.ready()``, through the functions below:

- nav items: the links in the header, per role;
- home cards: what each role must do now, shown on its home page;
- memberships: roles held through an app's own table (provider staff), for the scope;
- notification kinds: the kinds a user can opt in to by e-mail;
- export kinds: long exports the export runner writes in the background;
- jobs: periodic tasks, kept as django-celery-beat rows (``portal.schedules``);
- demo steps: what each app adds to the demo data.

``portal.checks`` verifies at start-up that every registered job names a task that exists.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from portal.models import Role, User


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[Role, ...]
    order: int = 100


@dataclass(frozen=True)
class HomeCard:
    role: Role
    title: str
    text: str = ""
    url: str = ""
    link_label: str = ""
    count: int | None = None
    level: str = "secondary"  # a Bootstrap colour: danger, warning, success, ...
    order: int = 100


CardProvider = Callable[..., list[HomeCard]]  # (request, portal.scoping.Scope, now) -> cards


@dataclass(frozen=True)
class Membership:
    """A role held through an app's own table rather than a RoleAssignment (provider staff).

    ``ids_of(user_id)`` gives the ids of the organisations the user belongs to under
    this role; ``holders()`` gives (organisation name, user) for every member (demo logins);
    ``users_reached(scope)`` the ids (a values queryset) of the members an admin with that
    ``portal.scoping.Scope`` looks after (a city admin: the staff of providers serving her city).
    """

    role: Role
    ids_of: Callable[[int], tuple[int, ...]]
    holders: Callable[[], Iterable[tuple[str, User]]]
    users_reached: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class NotificationKind:
    code: str
    label: str
    order: int = 100


@dataclass
class ExportSpec:
    """What one export writes: a title line, headers, the row count (for progress) and the rows."""

    title: str
    headers: list[str]
    total: int
    rows: Iterable[Sequence]
    sheet_name: str | None = None
    widths: Sequence[int] | None = None


class ExportRefused(Exception):
    """The export cannot be written (e.g. no rule set for the year); the message is shown to the user."""


@dataclass(frozen=True)
class ExportKind:
    code: str
    label: str
    roles: tuple[Role, ...]
    build: Callable[[User, dict], ExportSpec]  # (user, params) -> what to write, scoped to the user


@dataclass(frozen=True)
class Job:
    """A periodic task: ``task`` is the Celery task's name, ``crontab`` its default schedule.

    The schedule lives in a django-celery-beat row named ``name``, created when missing
    after ``migrate``; an admin may change or switch it off there, and that stays.
    """

    name: str
    task: str
    crontab: tuple[str, str]  # (minute, hour), every day
    description: str


DemoStep = Callable[[Any], None]  # (portal.demo.DemoContext) -> None

NAV_ITEMS: list[NavItem] = []
CARD_PROVIDERS: list[CardProvider] = []
MEMBERSHIPS: list[Membership] = []
NOTIFICATION_KINDS: dict[str, NotificationKind] = {}
EXPORT_KINDS: dict[str, ExportKind] = {}
JOBS: dict[str, Job] = {}
DEMO_STEPS: list[tuple[int, DemoStep]] = []


def register_nav(*items: NavItem) -> None:
    NAV_ITEMS.extend(items)
    NAV_ITEMS.sort(key=lambda item: item.order)


def register_cards(provider: CardProvider) -> None:
    if provider not in CARD_PROVIDERS:
        CARD_PROVIDERS.append(provider)


def register_membership(membership: Membership) -> None:
    MEMBERSHIPS.append(membership)


def register_notification_kind(code: str, label: Any, order: int = 100) -> None:
    NOTIFICATION_KINDS[code] = NotificationKind(code, label, order)


def register_export(kind: ExportKind) -> None:
    EXPORT_KINDS[kind.code] = kind


def register_job(job: Job) -> None:
    JOBS[job.name] = job


def register_demo(step: DemoStep, order: int) -> None:
    """``step(ctx)`` runs after the portal's own demo data, in ``order``."""
    if all(existing is not step for _order, existing in DEMO_STEPS):
        DEMO_STEPS.append((order, step))
        DEMO_STEPS.sort(key=lambda pair: pair[0])

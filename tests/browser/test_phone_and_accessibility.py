"""Every page a demo user reaches from home, and every set-up page of a city admin and of the platform
operator, in Chromium at 1280 px and at 375 x 812 (a phone): axe-core (served locally from static/vendor)
finds no serious or critical violation, and nothing scrolls sideways on the phone. Screenshots of each
page go to var/screenshots/ (not committed)."""

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from django.conf import settings
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone

from courses.models import CourseStatus, ProviderStaff
from portal import demo
from portal.models import Announcement, Contact, Stage, User
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory
from tests.factories.enrollment import programme_with_chain
from tests.factories.portal import UserFactory
from tests.integration.test_crawl import internal_links

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}
AXE = "/static/vendor/axe-core/axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
}"""


def kind_of(url: str) -> tuple[str, tuple[str, ...]]:
    """One page per view and set of query keys: /courses/81/ and /courses/82/ look the same."""
    path, _sep, query = url.partition("?")
    return resolve(path).route, tuple(sorted(key for key, _value in parse_qsl(query)))


def pages_of(number: str, depth: int = 2, limit: int = 12) -> list[str]:
    """The HTML pages reachable from home in `depth` clicks, as the crawl test finds them."""
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(id_number=number))
    pages, kinds, frontier = [], set(), ["/"]
    for _ in range(depth + 1):
        next_frontier = []
        for url in frontier:
            if url in pages or len(pages) >= limit or kind_of(url) in kinds:
                continue
            kinds.add(kind_of(url))
            response = client.get(url)
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                pages.append(url)
                next_frontier += sorted(internal_links(response.content.decode(), url) - set(pages))
        frontier = next_frontier
    return pages


def session_cookie(live_server, number: str) -> dict:
    client = Client()
    client.force_login(User.objects.get(id_number=number))
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }


@pytest.fixture
def demo_roles(transactional_db):
    """One demo login per role and city (Guangzhou and Maoming run their years differently)."""
    demo.load()
    by_role = {}
    for role, number, _name in demo.logins():
        by_role.setdefault(f"{role.split('（')[0]}-{number[:4]}", number)  # 4401 广州, 4409 茂名
    return by_role


def audit(browser, live_server, number: str, urls: list[str], shots: str | None = None) -> dict:
    """Open each of ``urls`` as ``number`` at both widths; {(width, url): what is wrong} (nothing: left out).

    What is wrong: a status other than 200, axe's serious or critical findings, a page wider than the
    viewport. With ``shots``, a screenshot of each page goes to var/screenshots/<width>/<shots><url>.jpg.
    """
    found = {}
    for viewport, size in VIEWPORTS.items():
        context = browser.new_context(locale="zh-CN", viewport=size)
        context.add_cookies([session_cookie(live_server, number)])
        page = context.new_page()
        page.set_default_timeout(15_000)
        (SCREENSHOTS / viewport).mkdir(parents=True, exist_ok=True)
        for url in urls:
            status = page.goto(live_server.url + url).status
            page.add_script_tag(url=live_server.url + AXE)
            violations = page.evaluate(RUN_AXE)
            width = page.evaluate("document.documentElement.scrollWidth")
            if status != 200 or violations or width > size["width"]:
                found[(viewport, url)] = {"status": status, "axe": violations, "scroll_width": width}
            if shots is not None:
                name = f"{shots}{url}".replace("/", "_").replace("?", "_")[:120]
                page.screenshot(path=SCREENSHOTS / viewport / f"{name}.jpg", full_page=True, quality=70)
        context.close()
    return found


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_page_of_each_role_passes_axe_and_fits_the_viewport(live_server, browser, demo_roles):
    found = {}
    for role, number in demo_roles.items():
        found |= {
            (role, *where): wrong
            for where, wrong in audit(browser, live_server, number, pages_of(number), shots=role).items()
        }
    (SCREENSHOTS / "findings.json").write_text(
        json.dumps({" ".join(k): v for k, v in found.items()}, ensure_ascii=False, indent=1)
    )
    assert found == {}


@pytest.fixture
def setup_pages(tree):
    """The set-up pages of a city admin and of the platform operator, each with something on it to edit."""
    now = timezone.now()
    stage, _created = Stage.objects.get_or_create(code="junior", defaults={"name": "初中", "order": 30})
    period = PeriodFactory(city=tree.city)
    provider = ProviderFactory(name="甲市开放大学", code="JIA")
    provider.cities.add(tree.city)
    ProviderStaff.objects.create(provider=provider, user=UserFactory(name="周文"))
    draft = CourseFactory(period=period, provider=provider, status=CourseStatus.DRAFT, title="待审核的课程")
    programme = programme_with_chain(tree.city, period=period, quotas={tree.district1: 5, tree.district2: 3})
    contact = Contact.objects.create(unit=tree.district1, name="王老师", phone="020-1234", duty="选课答疑")
    announcement = Announcement.objects.create(unit=tree.city, title="选课通知", body="三月选课", publish_at=now)
    operator = UserFactory(is_operator=True, name="平台运营")
    city_admin = [
        reverse("portal:setup"),
        reverse("portal:unit_tree"),
        reverse("portal:contacts"),
        reverse("portal:contact_edit", args=[contact.pk]),
        reverse("portal:announcements"),
        reverse("portal:announcement_create"),
        reverse("portal:announcement_edit", args=[announcement.pk]),
        reverse("credits:rule_list"),
        reverse("credits:rule_create"),
        reverse("credits:rule_edit", args=[period.rule_set.pk]),
        reverse("courses:period_list"),
        reverse("courses:period_create"),
        reverse("courses:period_edit", args=[period.pk]),
        reverse("courses:period_fee_payers", args=[period.pk]),
        reverse("courses:provider_list"),
        reverse("courses:provider_detail", args=[provider.pk]),
        reverse("courses:manage_list") + "?status=draft",  # the course-review queue
        reverse("courses:course_edit", args=[draft.pk]),
        reverse("enrollment:setup_programme_list"),
        reverse("enrollment:setup_programme_create"),
        reverse("enrollment:setup_programme_edit", args=[programme.pk]),
        reverse("enrollment:quota_manage", args=[programme.pk]),
    ]
    platform = [
        reverse("portal:operator_cities"),
        reverse("portal:operator_city", args=[tree.city.pk]),
        reverse("portal:operator_stages"),
        reverse("portal:operator_stage", args=[stage.pk]),
        reverse("portal:operator_schedules"),
        reverse("credits:catalogue_settings"),
    ]
    return {tree.erin.id_number: city_admin, operator.id_number: platform}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_setup_page_passes_axe_and_fits_the_viewport(live_server, browser, setup_pages):
    found = {}
    for number, urls in setup_pages.items():
        found |= audit(browser, live_server, number, urls)
    assert found == {}

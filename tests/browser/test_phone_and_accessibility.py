"""Every page a demo user reaches from home, in Chromium at 1280 px and at 375 x 812 (a phone):
axe-core (served locally from static/vendor) finds no serious or critical violation, and nothing
scrolls sideways on the phone. Screenshots of each page go to var/screenshots/ (not committed)."""

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from django.conf import settings
from django.test import Client
from django.urls import resolve

from portal import demo
from portal.models import User
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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_of_each_role_passes_axe_and_fits_the_viewport(live_server, browser, demo_roles, viewport):
    size = VIEWPORTS[viewport]
    violations, too_wide = {}, {}
    (SCREENSHOTS / viewport).mkdir(parents=True, exist_ok=True)
    for role, number in demo_roles.items():
        context = browser.new_context(locale="zh-CN", viewport=size)
        context.add_cookies([session_cookie(live_server, number)])
        page = context.new_page()
        page.set_default_timeout(15_000)
        for url in pages_of(number):
            page.goto(live_server.url + url)
            page.add_script_tag(url=live_server.url + AXE)
            for found in page.evaluate(RUN_AXE):
                violations.setdefault(found, []).append(f"{role} {url}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > size["width"]:
                too_wide[(role, url)] = width
            name = f"{role}{url}".replace("/", "_").replace("?", "_")[:120]
            page.screenshot(path=SCREENSHOTS / viewport / f"{name}.png", full_page=True)
        context.close()
    (SCREENSHOTS / viewport / "violations.json").write_text(
        json.dumps(
            {"axe": violations, "too_wide": {" ".join(k): v for k, v in too_wide.items()}}, ensure_ascii=False, indent=1
        )
    )
    assert violations == {}
    assert too_wide == {}

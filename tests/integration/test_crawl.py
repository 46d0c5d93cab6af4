"""Every page a demo user can reach from home, two clicks deep, answers without a server error."""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client

from portal import demo
from portal.models import User

LINK = re.compile(r'href="([^"#]+)"')
SKIP = ("/accounts/logout", "/admin/", "/static/", "/media/", "/i18n/", "/accounts/password_reset")


@pytest.fixture
def demo_logins(db):
    """One demo login per role (the first listed), to keep the crawl short."""
    demo.load()
    by_role = {}
    for role, number, _name in demo.logins():
        by_role.setdefault(role.split("（")[0], number)
    return list(by_role.values())


def internal_links(html: str, base: str) -> set[str]:
    links = set()
    for href in LINK.findall(html):
        url = urljoin(base, href.replace("&amp;", "&"))
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(SKIP):
            continue
        links.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


def crawl(client: Client, start: str = "/", depth: int = 2, limit: int = 60) -> dict[str, int]:
    seen: dict[str, int] = {}
    frontier = [start]
    for _ in range(depth + 1):
        next_frontier = []
        for url in frontier:
            if url in seen or len(seen) >= limit:
                continue
            response = client.get(url)
            seen[url] = response.status_code
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                next_frontier += sorted(internal_links(response.content.decode(), url) - seen.keys())
        frontier = next_frontier
    return seen


def test_crawl_from_each_demo_home_meets_no_server_error(demo_logins):
    visited = {}
    for number in demo_logins:
        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(id_number=number))

        pages = crawl(client)

        visited[number] = pages
        broken = {url: status for url, status in pages.items() if status >= 500}
        assert broken == {}, (number, broken)
    assert all(len(pages) > 5 for pages in visited.values()), {n: len(p) for n, p in visited.items()}

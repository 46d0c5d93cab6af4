"""Every page a demo user can reach from home, two clicks deep: no server error, the security
headers on every response, no write on a GET; then every form and filter found there is sent
hostile values (ids of 20-30 digits, negative and non-ASCII digits, control characters, long
text) and still answers without a server error."""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal import demo
from portal.models import User

LINK = re.compile(r'href="([^"#]+)"')
SKIP = ("/accounts/logout", "/admin/", "/static/", "/media/", "/i18n/", "/accounts/password_reset")
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
HOSTILE = [
    "9" * 20,
    "12345678901234567890123456789",
    "-1",
    "0",
    "²³",
    "1e400",
    "\u202eevil\u0000",
    "x" * 5000,
]


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> values seen (options, checkboxes)


class FormParser(HTMLParser):
    def __init__(self, base: str):
        super().__init__()
        self.base, self.forms, self.current, self.select = base, [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = Form(urljoin(self.base, a.get("action") or self.base), (a.get("method") or "get").lower())
            self.forms.append(self.current)
        elif self.current is not None and tag in ("input", "textarea", "select") and a.get("name"):
            if a.get("type") in ("file", "submit"):
                return
            self.current.fields.setdefault(a["name"], []).append(a.get("value") or "")
            self.select = a["name"] if tag == "select" else None
        elif self.current is not None and tag == "option" and self.select:
            self.current.fields[self.select].append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


@pytest.fixture
def demo_logins(db):
    """One demo login per role (the first listed), to keep the crawl short."""
    demo.load()
    by_role = {}
    for role, number, _name in demo.logins():
        by_role.setdefault(role.split("（")[0], number)
    return list(by_role.values())


def internal(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or parts.path.startswith(SKIP):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def internal_links(html: str, base: str) -> set[str]:
    found = (internal(urljoin(base, href.replace("&amp;", "&"))) for href in LINK.findall(html))
    return {link for link in found if link}


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    writes: list[str]
    forms: list[Form]


def crawl(client: Client, start: str = "/", depth: int = 2, limit: int = 60) -> dict[str, Page]:
    seen: dict[str, Page] = {}
    frontier = [start]
    for _ in range(depth + 1):
        next_frontier = []
        for url in frontier:
            if url in seen or len(seen) >= limit:
                continue
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            writes = [q["sql"][:120] for q in queries if WRITE.match(q["sql"]) and "django_session" not in q["sql"]]
            forms = []
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                html = response.content.decode()
                next_frontier += sorted(internal_links(html, url) - seen.keys())
                parser = FormParser(url)
                parser.feed(html)
                forms = parser.forms
            headers = {k: response.get(k, "") for k in ("Content-Security-Policy", "Permissions-Policy")}
            seen[url] = Page(response.status_code, headers, writes, forms)
        frontier = next_frontier
    return seen


def check_pages(number: str, pages: dict[str, "Page"]) -> None:
    """No server error, the one CSP without inline code, a Permissions-Policy, no write on a GET."""
    assert {url: p.status for url, p in pages.items() if p.status >= 500} == {}, number
    csp = {p.headers["Content-Security-Policy"] for p in pages.values()}
    assert len(csp) == 1 and "'unsafe-inline'" not in next(iter(csp)), csp
    assert "script-src 'self'" in next(iter(csp)) and "style-src 'self'" in next(iter(csp))
    assert {url for url, p in pages.items() if "camera=()" not in p.headers["Permissions-Policy"]} == set()
    assert {url: p.writes for url, p in pages.items() if p.writes} == {}, number
    assert len(pages) > 5, (number, len(pages))


DIGITS = re.compile(r"\d+")


def hostile_requests(pages: dict[str, Page]):
    """(method, url, data) for every form and every link with a query string, each value made hostile.

    A form is tried once per view: the same form on another object's page (the path differing
    only by its ids) goes through the same code, so the first one found stands for them all.
    """
    targets = {}
    for url, page in pages.items():
        for form in page.forms:
            action = internal(form.action)
            if action:
                path = action.split("?")[0]
                view = (form.method, DIGITS.sub("N", path), tuple(sorted(form.fields)))
                targets.setdefault(view, (path, form.fields))
        path, _sep, query = url.partition("?")
        if query:
            fields = {}
            for key, value in parse_qsl(query, keep_blank_values=True):
                fields.setdefault(key, []).append(value)
            targets.setdefault(("get", DIGITS.sub("N", path), tuple(sorted(fields))), (path, fields))
    for (method, _view, _names), (action, fields) in sorted(targets.items()):
        for value in HOSTILE:
            yield method, action, {name: [value] for name in fields}
            # Only the id-like fields hostile (selects, checkboxes, hidden ids), the rest as served.
            if any(v.isdigit() for values in fields.values() for v in values):
                yield (
                    method,
                    action,
                    {n: [value] if any(v.isdigit() for v in vs) else vs[:1] for n, vs in fields.items()},
                )


def test_every_page_form_and_filter_of_each_demo_role_is_safe_under_hostile_values(demo_logins):
    """One crawl per role serves both halves: the pages themselves, then their forms and filters."""
    tried, broken = 0, {}
    for number in demo_logins:
        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(id_number=number))
        pages = crawl(client)
        check_pages(number, pages)
        for method, action, data in hostile_requests(pages):
            if method == "post":
                response = client.post(action, data)
            else:
                response = client.get(f"{action}?{urlencode(data, doseq=True)}")
            tried += 1
            if response.status_code >= 500:
                broken[(number, method, action, str(data)[:80])] = response.status_code
    print(f"\nhostile crawl: {tried} requests for {len(demo_logins)} roles")
    assert broken == {}
    assert tried > 300, tried

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

# Playwright's sync API runs an event loop in this thread; Django then refuses
# ORM calls from the test body unless told this is intended (the live server
# runs in its own thread with its own connection).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# --- journeys: one user after another, at desktop width and at 375 px -------------------------------------------

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"  # not committed (.gitignore)
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}


class Journey:
    """One viewport's pages: log in, follow the nav, check the width, keep a screenshot."""

    def __init__(self, browser, base: str, viewport: str):
        self.browser, self.base, self.viewport = browser, base, viewport
        self.context = None

    def login(self, number: str, password: str):
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(locale="zh-CN", viewport=VIEWPORTS[self.viewport])
        page = self.context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{self.base}/accounts/login/")
        page.get_by_label("身份证号").fill(number)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        return page

    def nav(self, page, label: str) -> None:
        toggler = page.locator(".navbar-toggler")
        if toggler.is_visible():
            toggler.click()
            page.locator("#nav.show").wait_for()  # opened: a click during the animation may be lost
        with page.expect_navigation():
            page.locator("#nav").get_by_role("link", name=label, exact=True).first.click()

    def setup(self, page, url_name: str) -> None:
        """From the 年度设置 page, the link to one set-up page."""
        self.nav(page, "年度设置")
        page.locator(f"#setup-links a[href='{reverse(url_name)}']").first.click()
        page.wait_for_load_state()

    def check(self, page, name: str) -> None:
        """No sideways scrolling at this width, and a screenshot of the page."""
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[self.viewport]["width"], f"{name}: {width} px wide"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{self.viewport}-{name}.png", full_page=True)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()


@pytest.fixture
def journey(browser, live_server, request):
    journey = Journey(browser, live_server.url, request.param)
    yield journey
    journey.close()

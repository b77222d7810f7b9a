"""Playwright with Debian's Chromium (never a downloaded browser)."""

import os

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API keeps an event loop in the test thread; the test's own ORM calls are
# still synchronous and safe, so Django's async guard is relaxed for browser tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, daphne_server):
    """A fresh page that fails the test on console errors or requests leaving 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=daphne_server)
    page = context.new_page()
    page.console_errors = []
    page.outside_requests = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))

    def check_host(request):
        if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            page.outside_requests.append(request.url)

    page.on("request", check_host)
    yield page
    context.close()


def login(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)

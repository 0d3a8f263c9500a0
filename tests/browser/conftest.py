"""Playwright's sync API driving Debian's chromium against pytest-django's live server.

Each test gets a fresh browser context (its own cookies) and a page that records every request
it makes, so a test can assert the browser never reached past the live server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class RequestLog:
    """Every URL the page asked for, in order."""

    server: str
    urls: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        """Requests to any host other than the live server (data: and blob: URLs never leave the page)."""
        host = urlsplit(self.server).netloc
        return [u for u in self.urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != host]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def requests_seen(live_server) -> RequestLog:
    return RequestLog(server=live_server.url)


@pytest.fixture
def page(browser: Browser, live_server, transactional_db, requests_seen: RequestLog) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("request", lambda request: requests_seen.urls.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def screenshot(page: Page):
    """Save what the page shows to ``test-artifacts/<name>.png`` (the folder is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(name: str, *, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save


def log_in(page: Page, username: str) -> None:
    """Sign in through the real login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")

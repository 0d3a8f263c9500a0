"""The strict Content-Security-Policy holds in a real browser: no page of ours (nor the API docs,
nor the Django admin) needs an inline script, an inline style or eval, so chromium blocks nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.factories import LeadDefinitionFactory, LeadFactory, RepFactory, UserFactory

pytestmark = pytest.mark.browser

PAGES = ["/leads/", "/queue/", "/definition/", "/imports/", "/imports/new/", "/audit/", "/admin/",
         "/admin/leads/lead/"]  # fmt: skip


def test_no_page_breaks_the_csp(page: Page):
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(f"{page.url}: {msg.text}") if "Content Security" in msg.text else None
    )
    LeadDefinitionFactory()
    RepFactory(user__username="sam", user__roles=["admin", "sales", "marketing"], user__is_staff=True,
               user__is_superuser=True)  # fmt: skip
    lead = LeadFactory()
    log_in(page, "sam")

    for url in [*PAGES, f"/leads/{lead.pk}/", f"/admin/leads/lead/{lead.pk}/change/"]:
        response = page.goto(url)
        assert response is not None, url
        assert response.status == 200, url
        page.wait_for_load_state("networkidle")
    page.goto("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)

    assert violations == []


def test_the_csp_header_reaches_the_browser(page: Page):
    UserFactory(username="mara", roles=["marketing"])
    log_in(page, "mara")

    response = page.goto("/leads/")

    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

"""An admin sets up a territory in a real browser (criteria, a rep added as a new row, a problem shown
beside its field), then tests where a lead would go; marketing sees the same pages read-only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from leads.models import AuditEvent
from routing.models import Territory
from tests.browser.conftest import log_in
from tests.browser.test_role_pages import assert_only_live_server
from tests.factories import RepFactory, UserFactory

pytestmark = pytest.mark.browser


def test_admin_creates_a_territory_with_a_rep_then_tests_a_lead(page, requests_seen, screenshot):
    UserFactory(username="ada", first_name="Ada", last_name="Admin", roles=["admin"])
    RepFactory(user__username="bob", user__first_name="Bob", user__last_name="Berg")
    UserFactory(username="mara", roles=["marketing"])

    log_in(page, "ada")
    page.get_by_role("link", name="Territories").click()
    expect(page).to_have_url(re.compile(r"/territories/$"))
    page.get_by_role("link", name="New territory").click()

    page.get_by_label("Name", exact=True).fill("DACH")
    page.get_by_label("Countries").fill("DE, AT, Germany")
    page.get_by_label("Postal code ranges").fill("10000-14999")
    page.get_by_role("button", name="+ Add a rep").click()
    page.locator("#seats-rows tr").last.get_by_label("Rep").select_option(label="Bob Berg (bob)")
    page.locator("#seats-rows tr").last.get_by_label("Weight").fill("2")
    page.get_by_role("button", name="Save territory").click()

    # One bad value: named beside its field, nothing saved, everything typed still there.
    expect(page.locator("#problems")).to_contain_text("Nothing was saved yet")
    expect(page.locator(".field.has-error")).to_contain_text("Use two-letter ISO country codes; not GERMANY.")
    expect(page.get_by_label("Postal code ranges")).to_have_value("10000-14999")
    assert not Territory.objects.exists()
    page.get_by_label("Countries").fill("DE, AT")
    page.get_by_role("button", name="Save territory").click()

    expect(page.locator("#messages")).to_contain_text("Saved DACH")
    row = page.locator('#territories-table tr[data-territory="dach"]')
    expect(row).to_contain_text("Countries: DE, AT")
    expect(row).to_contain_text("Bob Berg (2)")
    screenshot("territories")

    page.get_by_role("link", name="Test a lead").click()
    page.get_by_label("Country", exact=True).fill("DE")
    page.get_by_label("Postal code", exact=True).fill("10115")
    page.get_by_role("button", name="Where would it go?").click()
    expect(page.locator("#verdict-h")).to_have_text("Bob Berg in DACH")
    expect(page.locator("#seat-verdicts")).to_contain_text("Bob Berg: Gets it")
    screenshot("route-test")
    assert AuditEvent.objects.filter(action__in=["territory.create", "territory.reps"]).count() == 2
    assert_only_live_server(requests_seen)


def test_marketing_reads_territories_without_edit_buttons(page):
    UserFactory(username="mara", roles=["marketing"])
    Territory.objects.create(name="Nordics", slug="nordics", countries=["SE", "NO"])

    log_in(page, "mara")
    page.goto("/territories/")

    expect(page.locator('#territories-table tr[data-territory="nordics"]')).to_contain_text("Countries: SE, NO")
    expect(page.get_by_role("link", name="New territory")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)

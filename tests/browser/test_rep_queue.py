"""The rep's home page in a real browser: the queue with SLA timers, accept one lead, reject another with a
reason, and watch the load meter move, all by htmx swaps on the live server."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Lead, Stage
from routing.models import Rejection
from tests.browser.conftest import log_in
from tests.browser.test_role_pages import assert_only_live_server, mark_document, same_document
from tests.factories import LeadFactory, RepFactory, SourceFactory

pytestmark = pytest.mark.browser


def test_rep_accepts_one_lead_rejects_another_and_the_load_meter_moves(page, requests_seen, screenshot):
    rep = RepFactory(user__username="rick", user__first_name="Rick", user__last_name="Santos", max_open_leads=5).user
    fair = SourceFactory(name="Trade fair", slug="fair")
    now = timezone.now()
    overdue = LeadFactory(
        first_name="Olivia",
        last_name="Overdue",
        stage=Stage.MQL,
        owner=rep,
        score=85,
        sla_due_at=now - datetime.timedelta(hours=1, minutes=10),
        score_breakdown=[
            {"rule": "vp", "kind": "fit", "points": 20, "text": "+20 Title is VP or above"},
            {"rule": "pricing", "kind": "engagement", "points": 15, "text": "+15 Visited pricing"},
        ],
    )
    soon = LeadFactory(
        first_name="Sam",
        last_name="Soon",
        stage=Stage.MQL,
        owner=rep,
        score=62,
        source=fair,
        sla_due_at=now + datetime.timedelta(hours=3),
    )
    LeadFactory(
        first_name="Lena",
        last_name="Later",
        stage=Stage.MQL,
        owner=rep,
        score=90,
        sla_due_at=now + datetime.timedelta(hours=20),
    )

    log_in(page, "rick")

    expect(page).to_have_url(re.compile(r"/queue/$"))
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(3)
    # Most urgent first: the overdue lead, in red, then the one due soonest.
    expect(rows.nth(0)).to_contain_text("Olivia Overdue")
    expect(rows.nth(0).locator(".overdue")).to_contain_text("Overdue by 1")
    expect(rows.nth(1)).to_contain_text("Sam Soon")
    expect(rows.nth(1).locator("td.sla")).to_contain_text(re.compile(r"2\shours, \d+\sminutes left"))
    expect(page.locator("#load-count")).to_have_text("3")
    expect(page.locator("#load-meter")).to_have_attribute("value", "3")
    # The score explains itself.
    row = page.locator(f'#queue-table tr[data-lead-id="{overdue.pk}"]')
    row.locator(".score-details summary").click()
    expect(row.locator(".breakdown")).to_contain_text("+20 Title is VP or above")
    screenshot("rep-queue")

    mark_document(page)
    row.get_by_role("button", name="Accept").click()

    expect(page.locator("#messages")).to_contain_text("You accepted Olivia Overdue.")
    expect(page.locator("#load-count")).to_have_text("2")
    expect(page.locator("#load-meter")).to_have_attribute("value", "2")
    accepted = page.locator(f'#queue-table tr[data-lead-id="{overdue.pk}"]')
    expect(accepted).to_contain_text("SAL")
    # Accepted: its timer is now the first touch's, never the lapsed accept deadline's "Overdue".
    expect(accepted.locator("td.sla")).to_contain_text("First touch")
    expect(accepted.locator(".overdue")).to_have_count(0)
    expect(accepted.get_by_role("button", name="Accept")).to_have_count(0)

    row = page.locator(f'#queue-table tr[data-lead-id="{soon.pk}"]')
    row.locator("details.reject summary").click()
    row.get_by_label("Reason").select_option("not_a_fit")
    row.get_by_label("Note").fill("Consumer, not a business")
    row.get_by_role("button", name="Reject lead").click()

    expect(page.locator("#messages")).to_contain_text("You rejected Sam Soon: Not a fit.")
    expect(page.locator(f'#queue-table tr[data-lead-id="{soon.pk}"]')).to_have_count(0)
    expect(rows).to_have_count(2)
    expect(page.locator("#load-count")).to_have_text("1")
    expect(page.locator("#load-meter")).to_have_attribute("value", "1")
    assert same_document(page)
    screenshot("rep-queue-answered")

    overdue.refresh_from_db()
    assert (overdue.stage, overdue.accepted_at is not None) == (Stage.SAL, True)
    rejection = Rejection.objects.get(lead=soon)
    assert (rejection.reason, rejection.note, rejection.source) == ("not_a_fit", "Consumer, not a business", fair)
    assert Lead.objects.get(pk=soon.pk).owner is None
    assert_only_live_server(requests_seen)

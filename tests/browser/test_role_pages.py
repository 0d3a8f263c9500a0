"""Each role's first page in a real browser: log in through the form, look, click, see it change.

These run against the live server in chromium because the behaviour under test (htmx swapping a
part of the page, pushing the URL, CSRF on htmx posts, no request leaving the server) only exists
in a browser.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from leads.models import Lead, LeadDefinition, Stage
from routing.models import OverflowEntry
from scoring.defaults import DEFAULT_RULES
from tests.browser.conftest import RequestLog, log_in
from tests.factories import LeadDefinitionFactory, LeadFactory, RepFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.browser


def mark_document(page: Page) -> None:
    """Tag the current document; if the tag survives a click, htmx swapped a part, no page load happened."""
    page.evaluate("window.__leadflowMarker = 'same-document'")


def same_document(page: Page) -> bool:
    return page.evaluate("window.__leadflowMarker") == "same-document"


def assert_only_live_server(requests_seen: RequestLog) -> None:
    assert any(url.endswith("/static/js/htmx.min.js") for url in requests_seen.urls), requests_seen.urls
    assert requests_seen.foreign() == []


def test_marketer_filters_the_inbox_and_the_table_updates_in_place(page, requests_seen, screenshot):
    UserFactory(username="mara", first_name="Mara", last_name="Lind", roles=["marketing"])
    web = SourceFactory(name="Website form", slug="web")
    fair = SourceFactory(name="Trade fair", slug="fair")
    stages = [Stage.MQL, Stage.NEW, Stage.MQL, Stage.NURTURE, Stage.NEW, Stage.SAL]
    for number, stage in enumerate(stages):
        LeadFactory(
            first_name=f"Person{number}",
            last_name="Example",
            stage=stage,
            source=web if number % 2 else fair,
            score=20 + number * 10,
        )

    log_in(page, "mara")

    expect(page).to_have_url(re.compile(r"/leads/$"))
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(6)
    screenshot("inbox")

    mark_document(page)
    page.locator("#inbox-filters").get_by_label("MQL", exact=True).check()

    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]stage=mql"))
    assert same_document(page)
    for name in ("Person0 Example", "Person2 Example"):
        expect(page.locator("#inbox-table")).to_contain_text(name)

    page.get_by_label("Search").fill("Person2")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=Person2"))
    assert same_document(page)
    screenshot("inbox-filtered")

    # Back goes to the previous filter state: htmx asks the server for that whole page again.
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"q=Person2"))
    expect(rows).to_have_count(2)
    expect(page.get_by_label("Search")).to_have_value("")
    page.go_forward()
    expect(rows).to_have_count(1)

    # The pushed URL is shareable: opened afresh, it shows the same filtered page.
    page.goto(page.url)
    expect(rows).to_have_count(1)
    expect(page.locator("#inbox-filters").get_by_label("MQL", exact=True)).to_be_checked()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/leads/")
    expect(rows).to_have_count(6)
    screenshot("inbox-phone", full_page=False)
    assert_only_live_server(requests_seen)


def test_rep_claims_a_lead_and_sees_it_move_into_the_queue(page, requests_seen, screenshot):
    rep = RepFactory(user__username="rick", user__first_name="Rick", user__last_name="Santos", max_open_leads=5).user
    now = timezone.now()
    LeadFactory(
        first_name="Owned",
        last_name="Overdue",
        stage=Stage.SAL,
        owner=rep,
        score=55,
        sla_due_at=now - datetime.timedelta(hours=2),
    )
    LeadFactory(
        first_name="Owned",
        last_name="Fresh",
        stage=Stage.MQL,
        owner=rep,
        score=70,
        sla_due_at=now + datetime.timedelta(hours=20),
    )
    # Reps claim from overflow: MQLs routing found nobody with room for.
    claimable = LeadFactory(first_name="Hot", last_name="Prospect", stage=Stage.MQL, score=88)
    warm = LeadFactory(first_name="Warm", last_name="Prospect", stage=Stage.MQL, score=64)
    for waiting in (claimable, warm):
        OverflowEntry.objects.create(lead=waiting, score=waiting.score, reason="Nobody had room.")

    log_in(page, "rick")

    expect(page).to_have_url(re.compile(r"/queue/$"))
    # The meter counts unworked leads (owned MQLs not yet accepted): the SAL is being worked.
    expect(page.locator("#load-count")).to_have_text("1")
    expect(page.locator(".load-label").first).to_contain_text("1 of 5 open leads")
    expect(page.locator("#load-meter")).to_have_attribute("value", "1")
    expect(page.locator("#queue-table tbody tr")).to_have_count(2)
    expect(page.locator("#queue-table .overdue")).to_contain_text("Overdue by 2")
    expect(page.locator("#claimable li")).to_have_count(2)
    screenshot("queue")

    mark_document(page)
    page.locator(f'#claimable li[data-lead-id="{claimable.pk}"]').get_by_role("button", name="Claim").click()

    expect(page.locator(f'#queue-table tr[data-lead-id="{claimable.pk}"]')).to_contain_text("Hot Prospect")
    expect(page.locator("#queue-table tbody tr")).to_have_count(3)
    expect(page.locator(f'#claimable li[data-lead-id="{claimable.pk}"]')).to_have_count(0)
    expect(page.locator("#load-count")).to_have_text("2")
    expect(page.locator("#messages")).to_contain_text("Hot Prospect is yours now.")
    assert same_document(page)
    screenshot("queue-claimed")

    claimable.refresh_from_db()
    assert claimable.owner == rep
    assert Lead.objects.filter(owner=rep).count() == 3
    assert_only_live_server(requests_seen)


def test_admin_reads_the_definition_and_opens_an_older_version(page, requests_seen, screenshot):
    ada = UserFactory(username="ada", first_name="Ada", last_name="Okafor", roles=["admin"])
    LeadDefinitionFactory(version=1, status=LeadDefinition.Status.RETIRED, author=ada, note="The first agreement.")
    LeadDefinitionFactory(
        version=2,
        status=LeadDefinition.Status.PUBLISHED,
        author=ada,
        published_by=ada,
        note="Pricing visits decay faster.",
    )
    LeadDefinitionFactory(version=3, status=LeadDefinition.Status.DRAFT, published_at=None, note="Webinars up.")

    log_in(page, "ada")

    expect(page).to_have_url(re.compile(r"/definition/$"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("v2")
    expect(heading).to_contain_text("Published")
    expect(page.locator(".badge-admin")).to_be_visible()
    expect(page.locator("#fit-rules tbody tr")).to_have_count(len(DEFAULT_RULES["fit"]))
    expect(page.locator("#engagement-rules tbody tr")).to_have_count(len(DEFAULT_RULES["engagement"]))
    expect(page.locator("#fit-rules")).to_contain_text("Seniority is one of VP, C-level")
    expect(page.locator("#history li")).to_have_count(3)
    screenshot("definition")

    page.locator("#history").get_by_role("link", name=re.compile(r"^v1\b")).click()

    expect(page).to_have_url(re.compile(r"/definition/1/$"))
    expect(heading).to_contain_text("v1")
    expect(heading).to_contain_text("Retired")
    expect(page.locator(".definition-meta")).to_contain_text("The first agreement.")
    expect(page.locator("#history .is-current")).to_contain_text("v1")
    screenshot("definition-v1")
    assert_only_live_server(requests_seen)

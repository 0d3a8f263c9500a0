"""Triage in a real browser: tick leads, disqualify them with a reason, find them as junk, restore
one from its page, save the filter as a view and apply it again.

A browser is needed because the behaviour under test lives there: the action bar appearing when a
row is ticked (CSS), select-all from the keyboard (app.js), htmx re-rendering the results after a
bulk post, and the saved view keeping the filters htmx pushed into the URL.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import Lead, Stage, StageChange, Submission
from tests.browser.conftest import RequestLog, log_in
from tests.factories import LeadFactory, RepFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.browser


def row(page: Page, lead: Lead):
    return page.locator(f'#inbox-table tr[data-lead-id="{lead.pk}"]')


def mark_document(page: Page) -> None:
    page.evaluate("window.__leadflowMarker = 'same-document'")


def same_document(page: Page) -> bool:
    return page.evaluate("window.__leadflowMarker") == "same-document"


def assert_only_live_server(requests_seen: RequestLog) -> None:
    assert any(url.endswith("/static/js/htmx.min.js") for url in requests_seen.urls), requests_seen.urls
    assert requests_seen.foreign() == []


def test_marketer_disqualifies_two_leads_restores_one_and_reuses_a_saved_view(page, requests_seen, screenshot):
    mara = UserFactory(username="mara", first_name="Mara", last_name="Lind", roles=["marketing"])
    RepFactory(user__username="rick", user__first_name="Rick", user__last_name="Santos")
    web = SourceFactory(name="Website form", slug="web")
    leads = [
        LeadFactory(first_name=f"Person{number}", last_name="Example", source=web, score=30 + number * 10)
        for number in range(5)
    ]
    first, second = leads[1], leads[3]
    Submission.objects.create(
        source=web,
        lead=first,
        payload={"first_name": "Person1", "email": "person1@rivalcrm.com", "utm_campaign": "spring-webinar"},
        meta={"via": "web_form"},
    )

    log_in(page, "mara")

    rows = page.locator("#inbox-table tbody tr")
    bar = page.locator("#bulk-bar")
    expect(rows).to_have_count(5)
    expect(bar).to_be_hidden()

    # Select all and none from the keyboard: the header box is in the tab order.
    select_all = page.get_by_label("Select every lead on this page")
    select_all.focus()
    page.keyboard.press("Space")
    expect(page.locator("[data-bulk-count]")).to_have_text("5")
    expect(bar).to_be_visible()
    page.keyboard.press("Space")
    expect(bar).to_be_hidden()

    row(page, first).get_by_role("checkbox").check()
    row(page, second).get_by_role("checkbox").check()
    expect(bar).to_be_visible()
    expect(page.locator("[data-bulk-count]")).to_have_text("2")
    expect(select_all).to_have_js_property("indeterminate", True)

    bar.get_by_text("Disqualify…").click()
    expect(page.get_by_label("Why is it junk?")).to_be_focused()
    page.get_by_label("Why is it junk?").select_option(label="Competitor")
    page.get_by_label("Details").fill("works at rivalcrm.com")
    screenshot("inbox-bulk", full_page=False)

    mark_document(page)
    page.get_by_label("Details").press("Enter")  # presses Disqualify, not the bar's first button

    expect(page.locator("#messages")).to_contain_text("2 leads moved to Junk.")
    expect(rows).to_have_count(5)
    expect(bar).to_be_hidden()
    assert same_document(page)
    assert set(Lead.objects.filter(stage=Stage.JUNK).values_list("pk", flat=True)) == {first.pk, second.pk}

    # Junk stays listed: filtered to junk, with the reason in its own column.
    page.locator("#inbox-filters").get_by_label("Junk", exact=True).check()
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]stage=junk"))
    expect(page.locator("#inbox-table thead")).to_contain_text("Junk reason")
    expect(row(page, first).locator(".junk-reason-cell")).to_have_text("Competitor: works at rivalcrm.com")
    screenshot("inbox-junk")

    row(page, first).get_by_role("link", name="Person1 Example").click()
    expect(page.locator("#junk-notice")).to_contain_text("Competitor: works at rivalcrm.com")
    expect(page.locator("#submissions")).to_contain_text("spring-webinar")
    expect(page.locator("#submissions")).to_contain_text("Web form")
    screenshot("lead-junk")

    page.get_by_role("button", name="Restore from junk").click()
    expect(page.locator("#messages")).to_contain_text("Restored from junk")
    expect(page.locator("#junk-notice")).to_have_count(0)
    expect(page.locator(".lead-head .stage")).to_have_text("New")
    expect(page.locator(".timeline")).to_contain_text("Junk → New")
    screenshot("lead-restored")

    # Back in the inbox, filter to junk (htmx) and keep that as a view shared with the team.
    page.get_by_role("link", name="Inbox", exact=True).first.click()
    page.locator("#inbox-filters").get_by_label("Junk", exact=True).check()
    expect(rows).to_have_count(1)
    expect(row(page, second)).to_be_visible()
    page.locator("#saved-views").get_by_text("Save this view").click()
    page.get_by_label("Name").fill("Junk to review")
    page.get_by_label("Share with the team").check()
    page.get_by_role("button", name="Save view").click()

    expect(page.locator("#messages")).to_contain_text("Saved the view “Junk to review”")
    expect(page.locator("#my-views")).to_contain_text("Junk to review")
    expect(page.locator("#my-views .is-current")).to_contain_text("Junk to review")
    expect(rows).to_have_count(1)

    page.goto("/leads/")
    expect(rows).to_have_count(5)
    page.locator("#my-views").get_by_role("link", name="Junk to review").click()
    expect(page).to_have_url(re.compile(r"/leads/\?stage=junk$"))
    expect(rows).to_have_count(1)
    expect(page.locator("#inbox-filters").get_by_label("Junk", exact=True)).to_be_checked()
    screenshot("inbox-saved-view")

    assert StageChange.objects.filter(actor=mara, to_stage=Stage.JUNK).count() == 2
    assert_only_live_server(requests_seen)

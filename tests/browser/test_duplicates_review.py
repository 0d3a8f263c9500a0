"""Working through the duplicate review queue with the keyboard only, in a real browser: pick a field and
merge one pair, skip one, mark one "not a duplicate"; each decision swaps in the next pair (htmx, no page
load) with the focus on it, and the database holds the result."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dedupe.models import DuplicateCandidate, Merge
from leads.models import Lead
from tests.browser.conftest import log_in
from tests.browser.test_role_pages import assert_only_live_server, mark_document, same_document
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.browser


def htmx_idle(page) -> None:
    """Wait until no htmx request, swap or settle is under way on the page."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def _pair(score: float, older: dict, newer: dict) -> DuplicateCandidate:
    old = LeadFactory(**older)
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=5))
    new = LeadFactory(**newer)
    return DuplicateCandidate.objects.create(lead_a=old, lead_b=new, score=score, reasons=["same last name (+4.0)"])


def _focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_marketer_works_through_pairs_with_the_keyboard(page, requests_seen, screenshot):
    UserFactory(username="mara", roles=["marketing"])
    first = _pair(
        0.91,
        {"first_name": "Robert", "last_name": "Smith", "email": "rob@acme.com", "company": "Acme", "title": ""},
        {"first_name": "Bob", "last_name": "Smith", "email": "rob@acme.com", "company": "Acme", "title": "CTO"},
    )
    second = _pair(
        0.85,
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@globex.com"},
        {"first_name": "Anne", "last_name": "Lee", "email": "anne@globex.com"},
    )
    third = _pair(
        0.8,
        {"first_name": "Kim", "last_name": "Park", "email": "kim@initech.com"},
        {"first_name": "Kimberly", "last_name": "Park", "email": "kpark@initech.com"},
    )

    log_in(page, "mara")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    expect(page).to_have_url(re.compile(r"/duplicates/$"))
    expect(page.locator("#pairs-left")).to_have_text("3")
    rows = page.locator("#pairs-table tbody tr")
    expect(rows.first).to_have_attribute("data-pair-id", str(first.pk))

    page.keyboard.press("j")  # start with the most probable pair
    expect(page).to_have_url(re.compile(rf"/duplicates/{first.pk}/$"))
    panel = page.locator("#pair-panel")
    expect(panel).to_be_focused()
    expect(page.locator("#pairs-left")).to_have_text("3")
    expect(page.locator('tr[data-field="first_name"]')).to_have_class(re.compile("pair-differs"))
    expect(page.locator('tr[data-field="title"]')).to_have_class(re.compile("pair-one"))
    screenshot("duplicates-pair")
    mark_document(page)

    # f: to the first field that differs (first name: the newer "Bob" is picked by default);
    # the arrow picks the older "Robert" instead; m merges.
    page.keyboard.press("f")
    picked = page.locator('input[name="f_first_name"]:checked')
    expect(picked).to_have_value("b")
    expect(picked).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(page.locator('input[name="f_first_name"]:checked')).to_have_value("a")
    page.keyboard.press("m")

    expect(page.locator("#pair-done")).to_contain_text(f"Merged lead #{first.lead_b_id} into #{first.lead_a_id}")
    expect(panel).to_have_attribute("data-pair-id", str(second.pk))
    expect(page).to_have_url(re.compile(rf"/duplicates/{second.pk}/$"))
    expect(page.locator("#pairs-left")).to_have_text("2")
    expect(page.locator("#pair-panel")).to_be_focused()
    assert same_document(page)

    page.keyboard.press("s")  # skip the Lees for now
    expect(page.locator("#pair-panel")).to_have_attribute("data-pair-id", str(third.pk))
    expect(page.locator("#pair-panel")).to_be_focused()

    htmx_idle(page)  # the skip's swap settles before the next key, as a person's next key would
    page.keyboard.press("n")  # the Parks are two people
    expect(page.locator("#pair-done")).to_contain_text("not a duplicate")
    # After the last pair the queue starts again at the one skipped.
    expect(page.locator("#pair-panel")).to_have_attribute("data-pair-id", str(second.pk))
    expect(page.locator("#pairs-left")).to_have_text("1")
    expect(page.locator("#pair-panel")).to_be_focused()
    page.keyboard.press("k")  # nothing before it: k does nothing
    expect(page.locator("#pair-panel")).to_have_attribute("data-pair-id", str(second.pk))
    assert same_document(page)
    screenshot("duplicates-after-keyboard")

    survivor = Lead.objects.get(pk=first.lead_a_id)
    assert survivor.first_name == "Robert"  # the reviewer's pick over "most recent"
    assert survivor.title == "CTO"  # filled from the merged lead by default
    assert Lead.objects.get(pk=first.lead_b_id).merged_into_id == survivor.pk
    assert Merge.objects.get().actor.username == "mara"
    statuses = dict(DuplicateCandidate.objects.values_list("pk", "status"))
    assert statuses == {
        first.pk: DuplicateCandidate.Status.MERGED,
        second.pk: DuplicateCandidate.Status.OPEN,
        third.pk: DuplicateCandidate.Status.DISMISSED,
    }
    assert_only_live_server(requests_seen)


def test_marketer_undoes_a_merge_with_the_keyboard_and_the_pair_comes_back(page, requests_seen, screenshot):
    UserFactory(username="mara", roles=["marketing"])
    first = _pair(
        0.91,
        {"first_name": "Robert", "last_name": "Smith", "email": "rob@acme.com", "company": "Acme"},
        {"first_name": "Bob", "last_name": "Smith", "email": "rob@acme.com", "company": "Acme"},
    )
    second = _pair(
        0.85,
        {"first_name": "Ann", "last_name": "Lee", "email": "ann@globex.com"},
        {"first_name": "Anne", "last_name": "Lee", "email": "anne@globex.com"},
    )

    log_in(page, "mara")
    page.goto(f"/duplicates/{first.pk}/")
    panel = page.locator("#pair-panel")
    expect(panel).to_be_focused()
    mark_document(page)

    page.keyboard.press("m")  # merge by mistake...
    expect(page.locator("#pair-done")).to_contain_text(f"Merged lead #{first.lead_b_id} into #{first.lead_a_id}")
    expect(panel).to_have_attribute("data-pair-id", str(second.pk))
    expect(page.locator('#undo-form [data-shortcut="undo"]')).to_be_visible()
    expect(page.locator("#pair-panel")).to_be_focused()
    htmx_idle(page)
    screenshot("duplicates-undo-offered")

    page.keyboard.press("u")  # ...and take it back: the pair is shown again, undecided

    expect(page.locator("#pair-done")).to_contain_text("the pair is back for review")
    expect(page.locator("#pair-panel")).to_have_attribute("data-pair-id", str(first.pk))
    expect(page).to_have_url(re.compile(rf"/duplicates/{first.pk}/$"))
    expect(page.locator("#pairs-left")).to_have_text("2")
    expect(page.locator("#pair-panel")).to_be_focused()
    expect(page.locator('[data-shortcut="merge"]')).to_be_visible()
    assert same_document(page)

    merge = Merge.objects.get()
    assert merge.undone_at is not None
    assert merge.undone_by.username == "mara"
    assert set(Lead.objects.filter(pk__in=[first.lead_a_id, first.lead_b_id]).values_list("status", flat=True)) == {
        Lead.Status.ACTIVE
    }
    first.refresh_from_db()
    assert first.status == DuplicateCandidate.Status.OPEN
    assert_only_live_server(requests_seen)

"""Changing the lead definition end to end in a real browser: draft a rule, preview its effect,
two approvals by two people, publish, and see a lead's score and explanation change.

In a browser because what is under test only exists there: the editor's "Add a rule" (a row copied
from a <template> by app.js), the preview swapped in by htmx, two people signing in through the
login form, and no request ever leaving the live server.
"""

from __future__ import annotations

import copy
import re

import pytest
from playwright.sync_api import Page, expect

from leads.models import DefinitionApproval, Lead, LeadDefinition, Stage
from scoring.defaults import DEFAULT_RULES
from scoring.services import lead_score
from tests.browser.conftest import RequestLog, log_in
from tests.factories import LeadDefinitionFactory, LeadFactory, RepFactory, SourceFactory, TerritoryFactory, UserFactory

pytestmark = pytest.mark.browser


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state("load")


def test_two_admins_draft_preview_approve_and_publish_a_rule_and_the_lead_score_follows(
    page: Page, requests_seen: RequestLog, screenshot
):
    ada = UserFactory(username="ada", first_name="Ada", last_name="Moreau", roles=["admin", "marketing"])
    RepFactory(user=UserFactory(username="sam", first_name="Sam", last_name="Tanaka", roles=["admin", "sales"]))
    LeadDefinitionFactory(version=1, author=ada, published_by=ada, rules=copy.deepcopy(DEFAULT_RULES))
    web = SourceFactory(name="Website form", slug="website-form")
    TerritoryFactory(name="North America", slug="na", countries=["US", "CA"])
    fiona = LeadFactory(
        first_name="Fiona",
        last_name="Fintech",
        company="Ledgerly",
        industry="fintech",
        seniority="director",
        employees=250,
        country="US",
        source=web,
        stage=Stage.NEW,
    )
    others = [
        LeadFactory(first_name="Sven", last_name="Software", industry="software", country="DE", source=web),
        LeadFactory(first_name="Rita", last_name="Retail", industry="retail", seniority="vp", source=web),
    ]
    for lead in (fiona, *others):
        lead_score(lead=lead)
    fiona.refresh_from_db()
    assert (fiona.score, fiona.stage) == (50, Stage.NEW)  # director 10, industry 15, 200+ people 15, US 10

    # --- Ada (marketing admin) drafts a rule ----------------------------------------------------------
    log_in(page, "ada")
    page.goto("/definition/")
    page.get_by_role("button", name="New draft").click()
    expect(page).to_have_url(re.compile(r"/definition/2/edit/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit draft v2")
    fit_rows = page.locator("#fit-rows tr")
    expect(fit_rows).to_have_count(len(DEFAULT_RULES["fit"]))

    page.get_by_role("button", name="+ Add a fit rule").click()
    expect(fit_rows).to_have_count(len(DEFAULT_RULES["fit"]) + 1)
    new_rule = fit_rows.last
    expect(new_rule.get_by_label("Label", exact=True)).to_be_focused()
    new_rule.get_by_label("Label", exact=True).fill("Industry is fintech")
    new_rule.get_by_label("Field", exact=True).select_option("industry")
    new_rule.get_by_label("Operator", exact=True).select_option("eq")
    new_rule.get_by_label("Value", exact=True).fill("fintech")
    new_rule.get_by_label("Points", exact=True).fill("300")
    # Pricing-page visits fade faster too.
    page.locator("#engagement-rows tr").first.get_by_label("Half-life (days)").fill("10")
    page.get_by_role("textbox", name="Note").fill("Fintech buys fastest: +30.")
    page.get_by_role("button", name="Save draft").click()

    # A problem is shown beside its field, and what was typed is still there.
    expect(page.locator("#problems")).to_contain_text("fit rule 7 (“Industry is fintech”) \u203a points")
    new_rule = page.locator("#fit-rows tr").last
    expect(new_rule.locator(".cell-num.has-error")).to_contain_text("Points must be a whole number from -100 to 100")
    expect(new_rule.get_by_label("Value", exact=True)).to_have_value("fintech")
    expect(page.get_by_role("textbox", name="Note")).to_have_value("Fintech buys fastest: +30.")
    new_rule.get_by_label("Points", exact=True).fill("30")
    new_rule.scroll_into_view_if_needed()
    screenshot("definition-editor")
    page.get_by_role("button", name="Save draft").click()

    expect(page).to_have_url(re.compile(r"/definition/2/$"))
    expect(page.locator("#messages")).to_contain_text("Draft v2 saved.")
    expect(page.locator("#fit-rules")).to_contain_text("Industry is fintech")

    # --- Ada previews the effect: Fiona would become an MQL --------------------------------------------
    page.evaluate("window.__leadflowMarker = 'same-document'")
    page.locator("#preview").get_by_role("button", name="Preview").click()
    expect(page.locator("#into-mql")).to_have_text("1")
    expect(page.locator("#out-of-mql")).to_have_text("0")
    expect(page.locator("#sample-into")).to_contain_text("Fiona Fintech")
    expect(page.locator("#sample-into")).to_contain_text("50 → 80")
    expect(page.locator("#preview-by-source")).to_contain_text("Website form")
    expect(page.locator("#preview-by-territory")).to_contain_text("North America")
    assert page.evaluate("window.__leadflowMarker") == "same-document"  # htmx swapped the panel in place
    screenshot("definition-preview", full_page=False)

    # --- Ada approves for marketing; she cannot approve for sales ---------------------------------------
    approvals = page.locator("#approvals")
    expect(approvals.get_by_role("button", name="Approve as sales")).to_have_count(0)
    expect(page.locator("#publish")).to_be_disabled()
    approvals.get_by_label("Note for the marketing approval").fill("Demand gen agrees.")
    approvals.get_by_role("button", name="Approve as marketing").click()
    expect(page.locator("#approval-marketing")).to_contain_text("Approved by Ada Moreau")
    expect(page.locator("#approval-sales")).to_contain_text("Waiting for a sales admin")
    expect(page.locator("#publish")).to_be_disabled()
    log_out(page)

    # --- Sam (sales admin) approves for sales and publishes ----------------------------------------------
    log_in(page, "sam")
    page.goto("/definition/")
    expect(page.locator("#drafts-waiting")).to_contain_text("Draft v2")
    page.locator("#drafts-waiting").get_by_role("link", name="Draft v2").click()
    expect(page).to_have_url(re.compile(r"/definition/2/$"))
    expect(page.locator("#approval-marketing")).to_contain_text("Demand gen agrees.")
    page.locator("#approvals").get_by_role("button", name="Approve as sales").click()
    expect(page.locator("#approval-sales")).to_contain_text("Approved by Sam Tanaka")
    expect(page.locator("#publish")).to_be_enabled()
    page.locator("#publish").click()

    expect(page).to_have_url(re.compile(r"/definition/2/#rescore$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Published")
    expect(page.locator("#rescore")).to_have_attribute("data-state", "done")
    expect(page.locator("#rescore-done")).to_have_text("3")
    expect(page.locator("#rescore-summary")).to_contain_text("1 became MQL;")
    expect(page.locator("#approved-by")).to_contain_text("Ada Moreau (marketing")
    expect(page.locator("#approved-by")).to_contain_text("Sam Tanaka (sales")

    # --- The two versions side by side ---------------------------------------------------------------------
    page.goto("/definition/compare/?a=1&b=2")
    added = page.locator('#diff-fit tr.diff-added[data-key="industry_is_fintech"]')
    expect(added).to_contain_text("Industry is fintech: +30")
    changed = page.locator('#diff-engagement tr.diff-changed[data-key="pricing"]')
    expect(changed.locator(".diff-old")).to_contain_text("half-life: 14")
    expect(changed.locator(".diff-new")).to_contain_text("half-life: 10")
    expect(page.locator("#diff-summary")).to_contain_text("1 changed, 1 added, 0 removed.")
    screenshot("definition-diff")

    # --- Fiona's page: the new score, explained ---------------------------------------------------------
    page.goto(f"/leads/{fiona.pk}/")
    expect(page.locator(".score-value")).to_have_text("80")
    expect(page.get_by_role("heading", name="Why it scored 80")).to_be_visible()
    expect(page.locator(".breakdown li", has_text="+30 Industry is fintech")).to_have_count(1)
    fiona.refresh_from_db()
    assert (fiona.score, fiona.stage, fiona.definition.version) == (80, Stage.MQL, 2)
    assert LeadDefinition.objects.get(version=1).status == LeadDefinition.Status.RETIRED
    assert set(DefinitionApproval.objects.values_list("user__username", "side")) == {
        ("ada", "marketing"),
        ("sam", "sales"),
    }
    assert Lead.objects.filter(stage=Stage.MQL).count() == 1
    assert requests_seen.foreign() == []
    assert any(url.endswith("/static/js/htmx.min.js") for url in requests_seen.urls)

"""The end of the funnel in a real browser: a rep converts their SQL from the lead page, sees the
opportunity with the lead's history still there, and closes it as won; then recycles another lead."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leads.models import Account, Lead, Opportunity, Stage
from tests.browser.conftest import log_in
from tests.factories import ActivityFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.browser


def test_rep_converts_a_lead_closes_it_won_and_recycles_another(page, screenshot):
    rep = RepFactory(user__username="rick").user
    lead = LeadFactory(
        first_name="Peter",
        last_name="Gibbons",
        company="Initech",
        company_domain="initech.example",
        stage=Stage.SQL,
        owner=rep,
    )
    ActivityFactory(lead=lead, subject="Visited /pricing")
    later = LeadFactory(first_name="Milton", last_name="Waddams", stage=Stage.SAL, owner=rep)
    close_by = timezone.localdate() + datetime.timedelta(days=21)

    log_in(page, "rick")
    page.goto(f"/leads/{lead.pk}/")
    convert = page.locator("#convert-form")
    expect(page.locator("#convert")).to_contain_text("at a new account “Initech”")
    convert.get_by_label("Opportunity name").fill("Initech TPS rollout")
    convert.get_by_label("Amount").fill("18500")
    convert.get_by_label("Expected close").fill(close_by.isoformat())
    convert.get_by_role("button", name="Convert to opportunity").click()

    card = page.locator("#opportunity")
    expect(card).to_contain_text("Initech TPS rollout")
    expect(card).to_contain_text("18,500.00")
    expect(page.locator(".timeline")).to_contain_text("Visited /pricing")
    expect(page.locator(".timeline")).to_contain_text("SQL → Opportunity")
    screenshot("lead-converted")

    close = page.locator("#close-form")
    close.get_by_role("radio", name="Won").check()
    close.get_by_label("Final amount").fill("19000")
    close.get_by_role("button", name="Close the opportunity").click()

    expect(page.locator("#opportunity .opportunity-outcome")).to_contain_text("Won")
    expect(page.locator("#close-form")).to_have_count(0)
    opportunity = Opportunity.objects.get(lead=lead)
    assert (opportunity.stage, opportunity.amount, opportunity.account) == (
        "won",
        19000,
        Account.objects.get(domain="initech.example"),
    )
    assert Lead.objects.get(pk=lead.pk).stage == Stage.WON

    page.goto(f"/leads/{later.pk}/")
    stage_form = page.locator("#stage-form")
    stage_form.get_by_label("Move from SAL (accepted) to").select_option(label="Nurture")
    stage_form.get_by_label("Reason from the list").select_option(label="Not ready")
    stage_form.get_by_label("Revisit on").fill((timezone.localdate() + datetime.timedelta(days=45)).isoformat())
    stage_form.get_by_role("button", name="Move").click()

    expect(page.locator("#messages")).to_contain_text("Moved to Nurture")
    expect(page.locator("#messages")).to_contain_text("Milton Waddams is back with marketing")
    later.refresh_from_db()
    assert (later.stage, later.owner, later.revisit_on) == (
        Stage.NURTURE,
        None,
        timezone.localdate() + datetime.timedelta(days=45),
    )

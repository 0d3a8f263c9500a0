"""The lifecycle in the pages: stage moves with listed reasons and recycling, converting a lead and
closing its opportunity from the lead page, and the admins' reason lists."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leads.models import Account, AuditEvent, Lead, Opportunity, Reason, Stage
from tests.factories import ActivityFactory, LeadFactory, OpportunityFactory, listed_reason

pytestmark = pytest.mark.django_db


def in_days(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def page(client, lead: Lead) -> str:
    return client.get(f"/leads/{lead.pk}/").content.decode()


# --- Stage moves ------------------------------------------------------------------------------------


def test_a_rep_recycles_their_lead_from_the_page(client, rep):
    lead = LeadFactory(stage=Stage.SAL, owner=rep)
    client.force_login(rep)
    timing = listed_reason("recycled", "Timing")

    html = page(client, lead)
    response = client.post(
        f"/leads/{lead.pk}/stage/",
        {"stage": "nurture", "reason_code": timing.pk, "revisit_on": in_days(60), "reason": "Budget in Q3"},
    )

    assert '<optgroup label="Recycled">' in html
    assert response.status_code == 302
    assert response.url == "/"  # out of the rep's sight now: home, with a message
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.revisit_on.isoformat()) == (Stage.NURTURE, None, in_days(60))
    # Back with marketing: the rep no longer sees it, marketing finds it with its revisit date.


def test_the_stage_menu_offers_only_the_moves_the_user_may_make(client, marketer, rep):
    unowned = LeadFactory(stage=Stage.MQL)
    owned = LeadFactory(stage=Stage.SQL, owner=rep)
    client.force_login(marketer)

    marketing_menu = page(client, unowned)
    owned_page = page(client, owned)
    client.force_login(rep)
    rep_menu = page(client, owned)

    assert '<option value="nurture">' in marketing_menu
    assert '<option value="sal">' not in marketing_menu
    assert 'id="stage-form"' not in owned_page  # marketing does not move a rep's lead
    assert '<option value="lost">' in rep_menu
    assert '<option value="opportunity">' not in rep_menu  # converting is its own form


def test_a_refused_move_names_the_reason_field(client, rep):
    lead = LeadFactory(stage=Stage.SQL, owner=rep)
    client.force_login(rep)

    response = client.post(f"/leads/{lead.pk}/stage/", {"stage": "lost", "reason": "too pricey"})

    assert response.status_code == 400
    assert "needs a reason from the lost reasons list" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL


def test_marketing_posting_a_move_on_a_reps_lead_gets_a_403(client, marketer, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    client.force_login(marketer)

    response = client.post(f"/leads/{lead.pk}/stage/", {"stage": "nurture", "reason": "later"})

    assert response.status_code == 403
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_the_inbox_filters_leads_due_for_revisit(client, marketer):
    due = LeadFactory(stage=Stage.NURTURE, revisit_on=timezone.localdate(), last_name="Duenow")
    LeadFactory(stage=Stage.NURTURE, revisit_on=timezone.localdate() + datetime.timedelta(days=9), last_name="Later")
    client.force_login(marketer)

    html = client.get("/leads/", {"revisit_due": "on"}).content.decode()

    assert f"/leads/{due.pk}/" in html
    assert "Later" not in html
    assert "Due for revisit" in html


# --- Convert and close --------------------------------------------------------------------------------


def test_the_owner_converts_from_the_lead_page_and_the_history_stays(client, rep):
    lead = LeadFactory(stage=Stage.SQL, owner=rep, company="Vandelay", company_domain="vandelay.example")
    ActivityFactory(lead=lead, subject="Visited /pricing")
    client.force_login(rep)

    before = page(client, lead)
    response = client.post(
        f"/leads/{lead.pk}/convert/", {"name": "Vandelay imports", "amount": "7300", "expected_close_on": in_days(20)}
    )
    after = client.get(response.url).content.decode()

    assert 'id="convert-form"' in before
    assert "at a new account" in before
    assert response.status_code == 302
    opportunity = Opportunity.objects.get(lead=lead)
    assert opportunity.account == Account.objects.get(domain="vandelay.example")
    assert 'id="opportunity"' in after
    assert "Vandelay imports" in after
    assert "Visited /pricing" in after  # the timeline is still the lead's
    assert "SQL → Opportunity" in after
    assert 'id="close-form"' in after


def test_the_convert_form_names_the_matching_account(client, rep):
    Account.objects.create(name="Kramerica", domain="kramerica.example")
    lead = LeadFactory(stage=Stage.SAL, owner=rep, company_domain="kramerica.example")
    client.force_login(rep)

    assert "<strong>Kramerica</strong> (existing account)" in page(client, lead)


def test_a_bad_conversion_comes_back_with_the_field_error(client, rep):
    lead = LeadFactory(stage=Stage.SQL, owner=rep)
    client.force_login(rep)

    response = client.post(f"/leads/{lead.pk}/convert/", {"amount": "100", "expected_close_on": in_days(-2)})

    assert response.status_code == 400
    assert "The expected close date cannot be in the past." in response.content.decode()
    assert not Opportunity.objects.exists()


def test_marketing_cannot_convert(client, marketer):
    lead = LeadFactory(stage=Stage.SQL)
    client.force_login(marketer)

    assert 'id="convert-form"' not in page(client, lead)
    assert (
        client.post(f"/leads/{lead.pk}/convert/", {"amount": "1", "expected_close_on": in_days(1)}).status_code == 403
    )


def test_the_owner_closes_won_and_then_lost_is_refused(client, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep, amount=5000)
    client.force_login(rep)

    won = client.post(
        f"/opportunities/{opportunity.pk}/close/", {"outcome": "won", "amount": "5500", "closed_on": in_days(0)}
    )
    html = client.get(won.url).content.decode()
    again = client.post(
        f"/opportunities/{opportunity.pk}/close/",
        {"outcome": "lost", "lost_reason": listed_reason("lost", "Price").pk},
    )

    assert won.status_code == 302
    assert "Won “" in html
    assert "5,500.00" in html
    assert 'id="close-form"' not in html
    assert again.status_code == 302
    assert "already closed as won" in client.get(again.url).content.decode()
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.amount) == ("won", 5500)


def test_the_owner_edits_an_open_opportunity_from_the_lead_page(client, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep, amount=5000, name="Acme deal")
    client.force_login(rep)

    html = client.get(f"/leads/{opportunity.lead_id}/").content.decode()
    saved = client.post(
        f"/opportunities/{opportunity.pk}/edit/",
        {"name": "Acme  platform deal", "amount": "7500", "expected_close_on": in_days(45)},
    )
    past = client.post(
        f"/opportunities/{opportunity.pk}/edit/",
        {"name": "Acme deal", "amount": "7500", "expected_close_on": in_days(-1)},
    )

    assert 'id="opportunity-edit-form"' in html
    assert saved.status_code == 302
    assert past.status_code == 400
    assert "cannot be in the past" in past.content.decode()
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.amount, opportunity.expected_close_on.isoformat()) == (
        "Acme platform deal",
        7500,
        in_days(45),
    )
    event = AuditEvent.objects.get(action="opportunity.update", object_id=str(opportunity.pk))
    assert (event.actor, event.changes["amount"]) == (rep, ["5000.00", "7500.00"])


def test_a_closed_opportunity_offers_no_edit_and_refuses_one(client, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep, amount=5000)
    client.force_login(rep)
    client.post(f"/opportunities/{opportunity.pk}/close/", {"outcome": "won", "amount": "5500"})

    html = client.get(f"/leads/{opportunity.lead_id}/").content.decode()
    edit = client.post(
        f"/opportunities/{opportunity.pk}/edit/", {"name": "X", "amount": "1", "expected_close_on": in_days(9)}
    )

    assert 'id="opportunity-edit-form"' not in html
    assert edit.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.amount) != ("X", 1)


def test_marketing_sees_the_opportunity_but_may_not_edit_it(client, marketer, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep, amount=5000)
    client.force_login(marketer)

    html = client.get(f"/leads/{opportunity.lead_id}/").content.decode()
    edit = client.post(
        f"/opportunities/{opportunity.pk}/edit/", {"name": "X", "amount": "1", "expected_close_on": in_days(9)}
    )

    assert 'id="opportunity"' in html
    assert 'id="opportunity-edit-form"' not in html
    assert edit.status_code == 403


def test_closing_lost_without_a_reason_shows_the_error(client, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep)
    client.force_login(rep)

    response = client.post(f"/opportunities/{opportunity.pk}/close/", {"outcome": "lost"})

    assert response.status_code == 400
    assert "Pick why it was lost" in response.content.decode()


# --- Reason lists -------------------------------------------------------------------------------------


def test_admins_keep_the_reason_lists_in_the_browser(client, lf_admin):
    client.force_login(lf_admin)
    price = listed_reason("lost", "Price")

    html = client.get("/reasons/").content.decode()
    added = client.post("/reasons/", {"kind": "recycled", "label": "Reorganising"})
    edited = client.post(f"/reasons/{price.pk}/", {"label": "Price too high", "position": "5"})

    assert 'id="reasons-lost"' in html
    assert 'value="Went dark"' in html
    assert added.status_code == 302
    assert Reason.objects.filter(kind="recycled", label="Reorganising").exists()
    assert edited.status_code == 302
    price.refresh_from_db()
    assert (price.label, price.position, price.is_active) == ("Price too high", 5, False)  # unticked: out of use


def test_a_duplicate_reason_is_shown_on_the_form(client, lf_admin):
    client.force_login(lf_admin)

    response = client.post("/reasons/", {"kind": "lost", "label": "competitor"})

    assert response.status_code == 400
    assert "already has" in response.content.decode()


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_only_admins_open_the_reason_lists(request, client, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get("/reasons/").status_code == 403

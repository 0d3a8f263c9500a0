"""Conversion, opportunities, won and lost, and the reason lists, through the API."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leads.models import Account, Lead, Opportunity, Reason, Stage
from tests.factories import CampaignFactory, LeadFactory, OpportunityFactory, listed_reason

pytestmark = pytest.mark.django_db


def in_days(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


def convert(client, lead: Lead, **body):
    return client.post(
        f"/api/leads/{lead.pk}/convert/", {"amount": "5000", "expected_close_on": in_days(14), **body}, format="json"
    )


# --- Convert ------------------------------------------------------------------------------------------


def test_the_owner_converts_a_lead_and_gets_the_opportunity(client_as, rep):
    campaign = CampaignFactory(slug="spring-webinar")
    lead = LeadFactory(stage=Stage.SQL, owner=rep, company="Hooli", company_domain="hooli.example", campaign=campaign)

    response = convert(client_as(rep), lead, name="Hooli pilot", amount="24000.00")

    assert response.status_code == 201, response.content
    body = response.json()
    account = Account.objects.get(domain="hooli.example")
    assert body["name"] == "Hooli pilot"
    assert (body["amount"], body["stage"], body["owner"], body["campaign"]) == (
        "24000.00",
        "open",
        "rick",
        "spring-webinar",
    )
    assert (body["lead"], body["account"], body["account_name"]) == (lead.pk, account.pk, "Hooli")
    lead_body = client_as(rep).get(f"/api/leads/{lead.pk}/").json()
    assert (lead_body["stage"], lead_body["account"], lead_body["contact"]) == (
        "opportunity",
        account.pk,
        body["contact"],
    )
    assert lead_body["converted_at"] is not None


@pytest.mark.parametrize(
    ("who", "owner", "expected"),
    [("rep", "rep", 201), ("lf_admin", "rep", 201), ("marketer", None, 403), ("other_rep", "rep", 404)],
)
def test_who_may_convert(request, client_as, who, owner, expected):
    lead = LeadFactory(stage=Stage.SQL, owner=request.getfixturevalue(owner) if owner else None)

    response = convert(client_as(request.getfixturevalue(who)), lead)

    assert response.status_code == expected
    assert Opportunity.objects.filter(lead=lead).exists() == (expected == 201)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"expected_close_on": "soon"}, "expected_close_on"),
        ({"expected_close_on": in_days(-3)}, "expected_close_on"),
        ({"account": 999999}, "account"),
    ],
)
def test_bad_conversion_input_is_a_400_naming_the_field(client_as, rep, body, field):
    lead = LeadFactory(stage=Stage.SQL, owner=rep)

    response = convert(client_as(rep), lead, **body)

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL


def test_a_lead_not_yet_accepted_cannot_be_converted(client_as, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)

    response = convert(client_as(rep), lead)

    assert response.status_code == 400
    assert "this one is MQL" in response.json()["stage"][0]


# --- Opportunities ------------------------------------------------------------------------------------


def test_a_rep_lists_only_their_own_opportunities_and_marketing_sees_all(client_as, rep, other_rep, marketer):
    mine = OpportunityFactory(lead__owner=rep, owner=rep)
    theirs = OpportunityFactory(lead__owner=other_rep, owner=other_rep)

    as_rep = client_as(rep).get("/api/opportunities/").json()["results"]
    as_marketer = client_as(marketer).get("/api/opportunities/").json()["results"]

    assert [row["id"] for row in as_rep] == [mine.pk]
    assert {row["id"] for row in as_marketer} == {mine.pk, theirs.pk}
    assert client_as(rep).get(f"/api/opportunities/{theirs.pk}/").status_code == 404


def test_opportunities_filter_by_stage_source_campaign_owner_and_close_date(client_as, marketer, rep):
    campaign = CampaignFactory(slug="expo")
    won = OpportunityFactory(
        lead__owner=rep,
        owner=rep,
        lead__campaign=campaign,
        lead__source=campaign.source,
        stage="won",
        closed_on=datetime.date(2026, 3, 10),
    )
    lost = OpportunityFactory(stage="lost", closed_on=datetime.date(2026, 1, 5))
    OpportunityFactory()
    client = client_as(marketer)

    def ids(**params):
        return {row["id"] for row in client.get("/api/opportunities/", params).json()["results"]}

    assert ids(stage="won") == {won.pk}
    assert ids(stage=["won", "lost"]) == {won.pk, lost.pk}
    assert ids(campaign="expo") == {won.pk}
    assert ids(source=campaign.source.slug) == {won.pk}
    assert ids(owner="rick") == {won.pk}
    assert ids(closed_after="2026-02-01") == {won.pk}
    assert ids(closed_before="2026-02-01") == {lost.pk}


def test_the_owner_closes_won_and_the_lead_follows(client_as, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep, amount=8000)

    response = client_as(rep).post(
        f"/api/opportunities/{opportunity.pk}/close/", {"outcome": "won", "amount": "9100.00"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["stage"], response.json()["amount"]) == ("won", "9100.00")
    assert response.json()["closed_on"] == timezone.localdate().isoformat()
    assert Lead.objects.get(pk=opportunity.lead_id).stage == Stage.WON


def test_closing_lost_needs_a_lost_reason(client_as, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep)
    client = client_as(rep)

    refused = client.post(f"/api/opportunities/{opportunity.pk}/close/", {"outcome": "lost"}, format="json")
    price = listed_reason("lost", "Price")
    closed = client.post(
        f"/api/opportunities/{opportunity.pk}/close/",
        {"outcome": "lost", "lost_reason": price.pk, "closed_on": in_days(0), "note": "Half the budget"},
        format="json",
    )

    assert refused.status_code == 400
    assert list(refused.json()) == ["lost_reason"]
    assert closed.status_code == 200
    assert closed.json()["lost_reason"]["label"] == "Price"
    assert Lead.objects.get(pk=opportunity.lead_id).stage == Stage.LOST


@pytest.mark.parametrize(("who", "expected"), [("marketer", 403), ("other_rep", 404), ("lf_admin", 200)])
def test_who_may_close(request, client_as, rep, who, expected):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep)

    response = client_as(request.getfixturevalue(who)).post(
        f"/api/opportunities/{opportunity.pk}/close/", {"outcome": "won"}, format="json"
    )

    assert response.status_code == expected
    opportunity.refresh_from_db()
    assert opportunity.stage == ("won" if expected == 200 else "open")


# --- Reasons ------------------------------------------------------------------------------------------


def test_everyone_reads_the_reason_lists_by_kind(client_as, rep):
    response = client_as(rep).get("/api/reasons/", {"kind": "lost"})

    assert response.status_code == 200
    assert [row["label"] for row in response.json()] == [
        "Price",
        "Competitor",
        "No budget",
        "No decision",
        "Timing",
        "Went dark",
    ]


def test_admins_add_and_deactivate_reasons_and_others_may_not(client_as, lf_admin, marketer):
    added = client_as(lf_admin).post("/api/reasons/", {"kind": "disqualified", "label": "Reseller"}, format="json")
    refused = client_as(marketer).post("/api/reasons/", {"kind": "lost", "label": "Reorg"}, format="json")
    spam = listed_reason("disqualified", "Spam")
    deactivated = client_as(lf_admin).patch(f"/api/reasons/{spam.pk}/", {"is_active": False}, format="json")
    duplicate = client_as(lf_admin).post("/api/reasons/", {"kind": "lost", "label": "PRICE"}, format="json")

    assert added.status_code == 201
    assert added.json()["label"] == "Reseller"
    assert refused.status_code == 403
    assert deactivated.status_code == 200
    assert Reason.objects.get(pk=spam.pk).is_active is False
    assert duplicate.status_code == 400
    assert "already has" in duplicate.json()["label"][0]
    assert client_as(lf_admin).delete(f"/api/reasons/{spam.pk}/").status_code == 405


def test_the_owner_edits_an_open_opportunity(client_as, rep):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep, amount=8000)

    response = client_as(rep).patch(
        f"/api/opportunities/{opportunity.pk}/",
        {"name": "Bigger deal", "amount": "12000.00", "expected_close_on": in_days(40)},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["amount"], body["expected_close_on"]) == ("Bigger deal", "12000.00", in_days(40))
    assert body["stage"] == "open"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-3"}, "amount"),
        ({"expected_close_on": in_days(-1)}, "expected_close_on"),
        ({"stage": "won"}, "stage"),
        ({"name": "   "}, "name"),
    ],
)
def test_bad_edits_are_a_400_naming_the_field(client_as, rep, body, field):
    opportunity = OpportunityFactory(lead__owner=rep, owner=rep)

    response = client_as(rep).patch(f"/api/opportunities/{opportunity.pk}/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_closed_opportunities_and_other_peoples_are_not_edited(client_as, rep, marketer):
    won = OpportunityFactory(lead__owner=rep, owner=rep, stage="won", closed_on=timezone.localdate())
    open_one = OpportunityFactory(lead__owner=rep, owner=rep)

    closed = client_as(rep).patch(f"/api/opportunities/{won.pk}/", {"amount": "1"}, format="json")
    by_marketing = client_as(marketer).patch(f"/api/opportunities/{open_one.pk}/", {"amount": "1"}, format="json")

    assert closed.status_code == 400
    assert "is not edited" in closed.json()["non_field_errors"][0]
    assert by_marketing.status_code == 403
    assert client_as(rep).put(f"/api/opportunities/{open_one.pk}/", {}, format="json").status_code == 405

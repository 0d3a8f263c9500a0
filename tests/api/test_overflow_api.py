"""The overflow queue over the API: who sees it, hottest first, and a rep claiming from it; reps' intake today."""

from __future__ import annotations

import pytest

from leads.models import AuditEvent, Lead, Stage
from routing.models import Assignment, OverflowEntry
from routing.services import leads_route_batch
from tests.factories import LeadFactory, TerritoryFactory, TerritoryMembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(db):
    """Three MQLs in the EMEA overflow (its only rep has no room)."""
    emea = TerritoryFactory(name="EMEA", slug="emea", countries=["DE"])
    TerritoryMembershipFactory(territory=emea, rep__max_open_leads=0)
    leads = [LeadFactory(country="DE", stage=Stage.MQL, score=score) for score in (65, 90, 75)]
    leads_route_batch(lead_ids=[lead.pk for lead in leads])
    return leads


def test_marketing_sees_the_overflow_hottest_first(client_as, marketer, waiting):
    response = client_as(marketer).get("/api/overflow/", {"territory": "emea"})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["score"] for row in rows] == [90, 75, 65]
    assert rows[0]["territory"] == "emea"
    assert rows[0]["reason"].startswith("Overflow: nobody in EMEA has room for a score of 90")


def test_a_rep_may_not_list_the_overflow(client_as, rep, waiting):
    assert client_as(rep).get("/api/overflow/").status_code == 403


def test_a_rep_claims_a_lead_from_overflow(client_as, rep, waiting):
    hot = waiting[1]

    response = client_as(rep).post(f"/api/overflow/{hot.pk}/claim/")
    again = client_as(rep).post(f"/api/overflow/{hot.pk}/claim/")

    assert response.status_code == 200, response.json()
    assert (response.json()["rule"], response.json()["username"]) == ("claim", "rick")
    assert Lead.objects.get(pk=hot.pk).owner == rep
    assert not OverflowEntry.objects.filter(lead=hot).exists()
    assert AuditEvent.objects.filter(action="lead.claim", object_id=str(hot.pk)).exists()
    assert again.status_code in (400, 404)


def test_a_full_rep_is_told_why_they_cannot_claim(client_as, rep, waiting):
    rep.rep.max_open_leads = 0
    rep.rep.save()

    response = client_as(rep).post(f"/api/overflow/{waiting[0].pk}/claim/")

    assert response.status_code == 400
    assert "at capacity" in str(response.json())


def test_the_reps_list_shows_todays_intake(client_as, lf_admin, rep):
    Assignment.objects.create(lead=LeadFactory(owner=rep, stage=Stage.MQL), rep=rep.rep, rule="manual")

    rows = client_as(lf_admin).get("/api/reps/").json()["results"]
    detail = client_as(lf_admin).get(f"/api/reps/{rep.rep.pk}/").json()

    assert [row["new_today"] for row in rows if row["username"] == "rick"] == [1]
    assert detail["new_today"] == 1

"""The routing dry run (``POST /api/routing/test/``), notifications, and claims that respect capacity."""

from __future__ import annotations

import pytest

from leads.models import Stage
from routing.models import Assignment, Notification, OverflowEntry, Rejection, Rep
from tests.factories import AccountFactory, LeadFactory, RepFactory, TerritoryFactory, TerritoryMembershipFactory

pytestmark = pytest.mark.django_db

TEST = "/api/routing/test/"


def test_routing_test_by_fields_names_the_territory_rep_rule_and_every_verdict(client_as, marketer):
    dach = TerritoryFactory(name="DACH", slug="dach", priority=10, countries=["DE"])
    TerritoryFactory(name="France", slug="fr", priority=5, countries=["FR"])
    ann = RepFactory(user__username="ann", min_score=80)
    bob = RepFactory(user__username="bob")
    TerritoryMembershipFactory(territory=dach, rep=ann, weight=9)
    TerritoryMembershipFactory(territory=dach, rep=bob)

    response = client_as(marketer).post(TEST, {"country": "de", "score": 60}, format="json")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["territory"], body["username"], body["rule"], body["lead"]) == (
        "dach",
        "bob",
        "territory_round_robin",
        None,
    )
    assert body["territories"] == [
        {"territory": "fr", "name": "France", "priority": 5, "chosen": False, "why": "Country DE is not FR"},
        {
            "territory": "dach",
            "name": "DACH",
            "priority": 10,
            "chosen": True,
            "why": "Matches, and comes first",
        },
    ]
    assert [(s["rep"], s["chosen"]) for s in body["seats"]] == [(ann.pk, False), (bob.pk, True)]
    assert body["seats"][0]["why"] == "Passed over: takes scores of 80 and up"
    assert not Assignment.objects.exists()


def test_routing_test_of_an_existing_lead_passes_over_the_rep_who_rejected_it(client_as, lf_admin, rep):
    dach = TerritoryFactory(name="DACH", slug="dach", countries=["DE"])
    rick = Rep.objects.get(user=rep)
    TerritoryMembershipFactory(territory=dach, rep=rick)
    lead = LeadFactory(stage=Stage.MQL, country="DE", score=70)
    Rejection.objects.create(lead=lead, rep=rick, reason="not_a_fit")

    body = client_as(lf_admin).post(TEST, {"lead": lead.pk}, format="json").json()

    assert (body["lead"], body["rule"], body["rep"]) == (lead.pk, "overflow", None)
    assert body["seats"][0]["why"] == "Passed over: rejected it"
    assert "rejected it" in body["reason"]


def test_routing_test_account_owner_rule(client_as, lf_admin, rep):
    lead = LeadFactory(stage=Stage.MQL, score=70, account=AccountFactory(name="Acme", owner=rep))

    body = client_as(lf_admin).post(TEST, {"lead": lead.pk}, format="json").json()

    assert (body["rule"], body["username"], body["rule_label"]) == ("account_owner", "rick", "Account owner")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "non_field_errors", "Give an existing lead's id, or some of its fields."),
        ({"lead": 999999}, "lead", "No lead 999999 that you may see."),
        ({"country": "Germany"}, "country", ""),
        ({"colour": "red"}, "colour", ""),
    ],
)
def test_routing_test_bad_input_is_a_400_naming_the_field(client_as, lf_admin, data, field, message):
    response = client_as(lf_admin).post(TEST, data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert message in str(response.json()[field])


def test_reps_may_not_dry_run_routing(client_as, rep):
    assert client_as(rep).post(TEST, {"country": "DE"}, format="json").status_code == 403


def test_notifications_list_mine_filter_unread_and_mark_read(client_as, rep, other_rep):
    mine = Notification.objects.create(user=rep, kind="sla_escalated", title="One")
    Notification.objects.create(user=rep, kind="sla_escalated", title="Two")
    theirs = Notification.objects.create(user=other_rep, kind="sla_escalated", title="Theirs")
    client = client_as(rep)

    listed = client.get("/api/notifications/").json()["results"]
    read = client.post(f"/api/notifications/{mine.pk}/read/")
    not_mine = client.post(f"/api/notifications/{theirs.pk}/read/")
    unread = client.get("/api/notifications/", {"unread": "true"}).json()["results"]
    all_read = client.post("/api/notifications/read-all/").json()

    assert [row["title"] for row in listed] == ["Two", "One"]
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert not_mine.status_code == 404
    assert [row["title"] for row in unread] == ["Two"]
    assert all_read == {"marked_read": 1}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_claiming_over_the_leads_api_respects_capacity(client_as, rep):
    Rep.objects.filter(user=rep).update(max_open_leads=1)
    LeadFactory(owner=rep, stage=Stage.MQL)  # already at capacity
    lead = LeadFactory(stage=Stage.MQL)
    OverflowEntry.objects.create(lead=lead, score=lead.score)

    response = client_as(rep).post(f"/api/leads/{lead.pk}/claim/")

    assert response.status_code == 400
    assert "at capacity (1 of 1 open leads)" in response.json()["non_field_errors"][0]
    lead.refresh_from_db()
    assert lead.owner is None

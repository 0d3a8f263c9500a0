"""Territories and reps over the API: who may change what, the audit trail, and the reps' load."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from leads.models import AuditEvent, Lead, Stage
from routing.models import Assignment, Rep, SlaBreach, Territory
from routing.selectors import rep_load
from tests.factories import LeadFactory, RepFactory, TerritoryFactory, TerritoryMembershipFactory

pytestmark = pytest.mark.django_db


# --- Territories -------------------------------------------------------------------------------


def test_admin_creates_reads_updates_and_deletes_a_territory(client_as, lf_admin, rep):
    client = client_as(lf_admin)

    created = client.post(
        "/api/territories/",
        {"name": "North America", "slug": "na", "countries": ["us", "CA"], "priority": 10, "manager": "ada"},
        format="json",
    )
    TerritoryMembershipFactory(territory=Territory.objects.get(slug="na"), rep=rep.rep, weight=3)
    read = client.get("/api/territories/na/")
    updated = client.patch("/api/territories/na/", {"priority": 5, "industries": ["software"]}, format="json")
    deleted = client.delete("/api/territories/na/")

    assert created.status_code == 201, created.json()
    assert created.json()["countries"] == ["US", "CA"]
    assert read.json()["reps"] == [{"rep": rep.rep.pk, "username": "rick", "weight": 3}]
    assert (updated.status_code, updated.json()["priority"]) == (200, 5)
    assert deleted.status_code == 204
    assert not Territory.objects.exists()
    assert Rep.objects.filter(pk=rep.rep.pk).exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["territory.create", "territory.update", "territory.delete"]
    update = AuditEvent.objects.get(action="territory.update")
    assert update.changes == {"priority": [10, 5], "industries": [[], ["software"]]}
    assert AuditEvent.objects.get(action="territory.delete").changes["slug"] == ["na", None]


def test_rep_reads_territories_but_may_not_change_them(client_as, rep):
    TerritoryFactory(slug="emea", priority=50)
    client = client_as(rep)

    assert client.get("/api/territories/").status_code == 200
    assert client.post("/api/territories/", {"name": "Mine", "slug": "mine"}, format="json").status_code == 403
    assert client.patch("/api/territories/emea/", {"priority": 1}, format="json").status_code == 403
    assert client.delete("/api/territories/emea/").status_code == 403
    assert Territory.objects.get().priority == 50
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"min_employees": 500, "max_employees": 50}, "max_employees"),
        ({"countries": ["USA"]}, "countries"),
        ({"countries": "US"}, "countries"),
        ({"manager": "nobody"}, "manager"),
    ],
)
def test_bad_territory_is_a_400_naming_the_field(client_as, lf_admin, data, field):
    response = client_as(lf_admin).post("/api/territories/", {"name": "T", "slug": "t", **data}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Territory.objects.exists()


def test_territories_filter_by_country(client_as, rep):
    TerritoryFactory(slug="us", countries=["US"])
    TerritoryFactory(slug="dach", countries=["DE", "AT", "CH"])

    rows = client_as(rep).get("/api/territories/", {"country": "at"}).json()["results"]

    assert [row["slug"] for row in rows] == ["dach"]


# --- Reps --------------------------------------------------------------------------------------


def test_reps_show_open_lead_count_capacity_intake_breaches_and_territories(client_as, marketer, rep):
    TerritoryMembershipFactory(rep=rep.rep, territory=TerritoryFactory(slug="west"), weight=2)
    for stage in (Stage.MQL, Stage.SAL, Stage.SQL):
        LeadFactory(owner=rep, stage=stage)
    LeadFactory(owner=rep, stage=Stage.OPPORTUNITY)  # past the rep's queue
    LeadFactory(owner=rep, stage=Stage.NEW)
    survivor = LeadFactory(owner=rep, stage=Stage.MQL)
    LeadFactory(owner=rep, stage=Stage.MQL, status=Lead.Status.MERGED, merged_into=survivor)
    accepted = LeadFactory(owner=rep, stage=Stage.MQL, accepted_at=timezone.now())
    Assignment.objects.create(lead=survivor, rep=rep.rep, rule="manual")
    for days_ago in (1, 40):
        SlaBreach.objects.create(
            lead=accepted,
            rep=rep.rep,
            stage=Stage.MQL,
            kind="accept",
            due_at=timezone.now() - datetime.timedelta(days=days_ago, hours=1),
            breached_at=timezone.now() - datetime.timedelta(days=days_ago),
            action="escalated",
        )

    body = client_as(marketer).get(f"/api/reps/{rep.rep.pk}/").json()
    listed = client_as(marketer).get("/api/reps/").json()["results"]

    assert body["username"] == "rick"
    # Open = unworked: owned active MQLs not yet accepted, the count routing caps (routing.selectors.rep_load).
    assert body["open_leads"] == 2 == rep_load(reps=[rep.rep])[rep.rep.pk].open_leads
    assert (body["max_open_leads"], body["max_new_per_day"], body["new_today"]) == (25, 10, 1)
    assert body["sla_breaches"] == 1  # in the last 30 days
    assert listed == [body]
    assert body["territories"] == [{"territory": "west", "name": body["territories"][0]["name"], "weight": 2}]


def test_rep_list_costs_the_same_queries_however_many_reps(client_as, marketer, django_assert_max_num_queries):
    territory = TerritoryFactory()
    for membership in TerritoryMembershipFactory.create_batch(12, territory=territory):
        LeadFactory.create_batch(2, owner=membership.rep.user, stage=Stage.MQL)
    client = client_as(marketer)
    client.get("/api/reps/")  # warm the user's permission cache like any later request would have

    with django_assert_max_num_queries(4):  # reps (open counts inline), seats, today's intake, breaches
        response = client.get("/api/reps/")

    rows = response.json()["results"]
    assert len(rows) == 12
    assert {row["open_leads"] for row in rows} == {2}


def test_rep_changes_own_appetite_and_availability(client_as, rep):
    response = client_as(rep).patch(
        f"/api/reps/{rep.rep.pk}/",
        {"min_score": 40, "is_available": False, "out_of_office_until": "2030-01-06T09:00:00Z"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    rep.rep.refresh_from_db()
    assert (rep.rep.min_score, rep.rep.is_available) == (40, False)
    assert rep.rep.out_of_office_until.year == 2030
    event = AuditEvent.objects.get(action="rep.update")
    assert (event.actor, event.changes["min_score"]) == (rep, [0, 40])


def test_rep_may_not_raise_own_capacity(client_as, rep):
    response = client_as(rep).patch(f"/api/reps/{rep.rep.pk}/", {"max_open_leads": 500}, format="json")

    assert response.status_code == 400
    assert "max_open_leads" in response.json()
    rep.rep.refresh_from_db()
    assert rep.rep.max_open_leads == 25


def test_rep_may_not_change_another_reps_profile(client_as, rep, other_rep):
    response = client_as(rep).patch(f"/api/reps/{other_rep.rep.pk}/", {"is_available": False}, format="json")

    assert response.status_code == 403
    other_rep.rep.refresh_from_db()
    assert other_rep.rep.is_available is True


def test_admin_changes_any_reps_capacity_and_hours(client_as, lf_admin, rep):
    response = client_as(lf_admin).patch(
        f"/api/reps/{rep.rep.pk}/",
        {"max_open_leads": 40, "timezone": "Europe/Berlin", "work_start": "08:00", "work_end": "16:00"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["max_open_leads"] == 40
    assert AuditEvent.objects.get(action="rep.update").changes["timezone"] == ["UTC", "Europe/Berlin"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"work_start": "18:00"}, "work_end"),
        ({"max_open_leads": -1}, "max_open_leads"),
    ],
)
def test_bad_rep_change_is_a_400_naming_the_field(client_as, lf_admin, rep, data, field):
    response = client_as(lf_admin).patch(f"/api/reps/{rep.rep.pk}/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not AuditEvent.objects.exists()


def test_reps_filter_by_territory(client_as, marketer, rep, other_rep):
    TerritoryMembershipFactory(rep=rep.rep, territory=TerritoryFactory(slug="west"))
    RepFactory()

    rows = client_as(marketer).get("/api/reps/", {"territory": "west"}).json()["results"]

    assert [row["username"] for row in rows] == ["rick"]


def test_territory_reps_postal_ranges_and_named_accounts_over_the_api(client_as, lf_admin):
    ann, bob = RepFactory(user__username="ann"), RepFactory(user__username="bob")
    client = client_as(lf_admin)

    created = client.post(
        "/api/territories/",
        {
            "name": "Key",
            "slug": "key",
            "postal_ranges": [["10000", "14999"]],
            "named_accounts": ["acme.com"],
            "seats": [{"rep": ann.pk, "weight": 2}, {"rep": bob.pk}],
        },
        format="json",
    )
    changed = client.patch("/api/territories/key/", {"seats": [{"rep": bob.pk, "weight": 3}]}, format="json")
    untouched = client.patch("/api/territories/key/", {"priority": 7}, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["postal_ranges"] == [["10000", "14999"]]
    assert created.json()["named_accounts"] == ["acme.com"]
    assert sorted((r["username"], r["weight"]) for r in created.json()["reps"]) == [("ann", 2), ("bob", 1)]
    assert [(r["username"], r["weight"]) for r in changed.json()["reps"]] == [("bob", 3)]
    assert [(r["username"], r["weight"]) for r in untouched.json()["reps"]] == [("bob", 3)]
    assert list(
        AuditEvent.objects.filter(action="territory.reps").order_by("id").values_list("changes", flat=True)
    ) == [
        {"reps": [{}, {"ann": 2, "bob": 1}]},
        {"reps": [{"ann": 2, "bob": 1}, {"bob": 3}]},
    ]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"postal_ranges": [["10000", "999"]]}, "postal_ranges", "both ends need the same number of characters"),
        ({"postal_ranges": [["2", "1"]]}, "postal_ranges", "must start below where it ends"),
        ({"postal_ranges": [["1"]]}, "postal_ranges", "Give a range as two codes"),
        ({"seats": [{"rep": 999999}]}, "seats", "object does not exist"),
        ({"seats": [{"weight": 0}]}, "seats", "required"),
    ],
)
def test_bad_ranges_or_seats_are_a_400_naming_the_field(client_as, lf_admin, data, field, message):
    response = client_as(lf_admin).post("/api/territories/", {"name": "X", "slug": "x", **data}, format="json")

    assert response.status_code == 400
    assert message in str(response.json()[field])
    assert not Territory.objects.exists()


def test_a_rep_seated_twice_is_refused(client_as, lf_admin, rep):
    seats = [{"rep": rep.rep.pk}, {"rep": rep.rep.pk, "weight": 2}]

    response = client_as(lf_admin).post("/api/territories/", {"name": "X", "slug": "x", "seats": seats}, format="json")

    assert response.status_code == 400
    assert "is listed twice" in response.json()["seats"][0]


def test_rep_sets_an_out_of_office_period_but_not_working_days(client_as, rep):
    client = client_as(rep)

    away = client.patch(
        f"/api/reps/{rep.rep.pk}/",
        {"out_of_office_from": "2026-12-21T00:00:00Z", "out_of_office_until": "2027-01-04T09:00:00Z"},
        format="json",
    )
    backwards = client.patch(
        f"/api/reps/{rep.rep.pk}/",
        {"out_of_office_from": "2027-02-01T00:00:00Z", "out_of_office_until": "2027-01-04T09:00:00Z"},
        format="json",
    )
    days = client.patch(f"/api/reps/{rep.rep.pk}/", {"work_days": [1, 2]}, format="json")

    assert away.status_code == 200, away.json()
    assert away.json()["out_of_office_from"] == "2026-12-21T00:00:00Z"
    assert backwards.status_code == 400
    assert "The absence must end after it starts." in backwards.json()["out_of_office_until"]
    assert days.status_code == 400
    assert "work_days" in days.json()
    assert AuditEvent.objects.filter(action="rep.update").count() == 1


def test_admin_sets_working_days_and_bad_days_are_named(client_as, lf_admin, rep):
    client = client_as(lf_admin)

    ok = client.patch(f"/api/reps/{rep.rep.pk}/", {"work_days": [1, 2, 3, 4]}, format="json")
    bad = client.patch(f"/api/reps/{rep.rep.pk}/", {"work_days": [0, 8]}, format="json")

    assert ok.json()["work_days"] == [1, 2, 3, 4]
    assert bad.status_code == 400
    assert "Pick at least one working day" in bad.json()["work_days"][0]

"""Accounts, contacts, sources (and their keys), campaigns, lead definitions and the audit trail."""

from __future__ import annotations

import pytest

from leads.models import AuditEvent, Campaign, Contact, Source
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    LeadDefinitionFactory,
    LeadFactory,
    OpportunityFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- Sources and their API keys ----------------------------------------------------------------


def test_new_source_answers_its_api_key_once_and_never_its_hash(client_as, marketer):
    client = client_as(marketer)

    created = client.post("/api/sources/", {"name": "Web form", "slug": "web", "kind": "web_form"}, format="json")

    assert created.status_code == 201, created.json()
    key = created.json()["api_key"]
    source = Source.objects.get(slug="web")
    assert key.startswith(Source.KEY_PREFIX)
    assert source.api_key_hash == Source.hash_api_key(key)
    assert created.json()["source"]["api_key_prefix"] == key[:10]
    later = [client.get("/api/sources/web/"), client.get("/api/sources/"), client.get("/api/sources/web/").json()]
    for response in [created, *later[:2]]:
        assert source.api_key_hash not in response.content.decode()
    assert "api_key" not in later[2]
    assert key not in later[1].content.decode()


def test_rotating_a_key_replaces_it_and_keeps_the_old_one_only_for_the_grace_period(client_as, marketer):
    client = client_as(marketer)
    old_key = client.post("/api/sources/", {"name": "Events", "slug": "events"}, format="json").json()["api_key"]
    old_hash = Source.objects.get(slug="events").api_key_hash

    response = client.post("/api/sources/events/rotate-key/")

    assert response.status_code == 200
    new_key = response.json()["api_key"]
    source = Source.objects.get(slug="events")
    assert source.api_key_hash != old_hash
    assert source.api_key_hash == Source.hash_api_key(new_key)
    assert not Source.objects.filter(api_key_hash=Source.hash_api_key(old_key)).exists()
    assert old_hash not in response.content.decode()
    event = AuditEvent.objects.get(action="source.rotate_key")
    until = source.previous_api_key_expires_at
    assert event.changes == {
        "api_key_prefix": [old_key[:10], new_key[:10]],
        "previous_key_valid_until": [None, until.isoformat()],
    }
    assert response.json()["source"]["previous_api_key_expires_at"] is not None


def test_rep_may_read_sources_but_not_rotate_keys(client_as, rep):
    source = SourceFactory(slug="web")
    source.set_new_api_key()
    source.save()
    before = source.api_key_hash
    client = client_as(rep)

    assert client.get("/api/sources/web/").status_code == 200
    assert client.post("/api/sources/web/rotate-key/").status_code == 403
    assert client.post("/api/sources/", {"name": "Mine", "slug": "mine"}, format="json").status_code == 403
    source.refresh_from_db()
    assert source.api_key_hash == before


def test_source_writes_leave_audit_events_with_before_and_after(client_as, marketer):
    client = client_as(marketer)
    client.post("/api/sources/", {"name": "Partner", "slug": "partner", "trust": 40}, format="json")

    response = client.patch("/api/sources/partner/", {"trust": 80, "is_active": False}, format="json")

    assert response.status_code == 200
    created = AuditEvent.objects.get(action="source.create")
    updated = AuditEvent.objects.get(action="source.update")
    assert created.changes["slug"] == [None, "partner"]
    assert "api_key_hash" not in created.changes
    assert updated.changes == {"trust": [40, 80], "is_active": [True, False]}
    assert (updated.actor, updated.ip_address, updated.object_repr) == (marketer, "127.0.0.1", "Partner")


@pytest.mark.parametrize(
    ("change", "field"),
    [({"slug": "renamed"}, "slug"), ({"trust": 101}, "trust"), ({"kind": "carrier-pigeon"}, "kind")],
)
def test_bad_source_change_is_a_400_naming_the_field(client_as, marketer, change, field):
    SourceFactory(slug="web", trust=50)

    response = client_as(marketer).patch("/api/sources/web/", change, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Source.objects.get(slug="web").trust == 50
    assert not AuditEvent.objects.exists()


def test_sources_filter_by_kind(client_as, marketer):
    SourceFactory(slug="web", kind=Source.Kind.WEB_FORM)
    SourceFactory(slug="expo", kind=Source.Kind.EVENT)

    rows = results(client_as(marketer).get("/api/sources/", {"kind": "event"}))

    assert [row["slug"] for row in rows] == ["expo"]


# --- Campaigns ---------------------------------------------------------------------------------


def test_campaign_create_and_update_leave_audit_events(client_as, marketer):
    SourceFactory(slug="web")
    client = client_as(marketer)

    created = client.post(
        "/api/campaigns/",
        {"name": "Spring", "slug": "spring", "source": "web", "cost": "1000", "starts_on": "2025-03-01"},
        format="json",
    )
    updated = client.patch("/api/campaigns/spring/", {"cost": "1500.50"}, format="json")

    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["cost"] == "1500.50"
    assert AuditEvent.objects.get(action="campaign.update").changes == {"cost": ["1000.00", "1500.50"]}
    assert AuditEvent.objects.get(action="campaign.create").changes["source"] == [None, Source.objects.get().pk]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ends_on": "2025-01-01"}, "ends_on"),
        ({"cost": "-5"}, "cost"),
        ({"source": "nowhere"}, "source"),
        ({"slug": "other"}, "slug"),
    ],
)
def test_bad_campaign_change_is_a_400_naming_the_field(client_as, marketer, data, field):
    CampaignFactory(slug="spring", starts_on="2025-03-01")

    response = client_as(marketer).patch("/api/campaigns/spring/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Campaign.objects.filter(slug="spring").exists()


def test_campaigns_filter_by_source(client_as, rep):
    web = SourceFactory(slug="web")
    CampaignFactory(slug="web-spring", source=web)
    CampaignFactory(slug="expo-2025")

    rows = results(client_as(rep).get("/api/campaigns/", {"source": "web"}))

    assert [row["slug"] for row in rows] == ["web-spring"]


# --- Accounts and contacts ---------------------------------------------------------------------


def test_accounts_filter_by_domain_industry_and_country(client_as, marketer):
    acme = AccountFactory(domain="acme.example", industry="software", country="US")
    AccountFactory(domain="globex.example", industry="energy", country="US")
    AccountFactory(domain="initech.example", industry="software", country="DE")
    client = client_as(marketer)

    assert [r["id"] for r in results(client.get("/api/accounts/", {"domain": "ACME.example"}))] == [acme.pk]
    assert [r["id"] for r in results(client.get("/api/accounts/", {"industry": "software", "country": "us"}))] == [
        acme.pk
    ]


def test_account_domain_is_cleaned_and_must_be_unique(client_as, marketer):
    AccountFactory(domain="acme.example")
    client = client_as(marketer)

    duplicate = client.post("/api/accounts/", {"name": "Acme again", "domain": "WWW.Acme.example"}, format="json")
    fresh = client.post("/api/accounts/", {"name": "Globex", "domain": " Globex.Example "}, format="json")

    assert duplicate.status_code == 400
    assert "domain" in duplicate.json()
    assert fresh.status_code == 201
    assert fresh.json()["domain"] == "globex.example"


def test_marketing_adds_contacts_anywhere_and_a_rep_only_at_an_account_they_own(client_as, rep, marketer):
    own, others = AccountFactory(owner=rep), AccountFactory()
    contact = {"first_name": "Ann", "email": "Ann@Acme.example"}

    by_marketer = client_as(marketer).post("/api/contacts/", {**contact, "account": others.pk}, format="json")
    by_rep_own = client_as(rep).post("/api/contacts/", {**contact, "account": own.pk}, format="json")
    by_rep_other = client_as(rep).post("/api/contacts/", {**contact, "account": others.pk}, format="json")
    by_rep_none = client_as(rep).post("/api/contacts/", contact, format="json")

    assert (by_marketer.status_code, by_rep_own.status_code) == (201, 201)
    assert by_rep_own.json()["email"] == "ann@acme.example"
    assert (by_rep_other.status_code, by_rep_none.status_code) == (403, 403)
    assert Contact.objects.filter(account=others).count() == 1
    event = AuditEvent.objects.get(action="contact.create", object_id=str(by_rep_own.json()["id"]))
    assert event.actor == rep


def test_a_rep_changes_the_contacts_of_their_accounts_leads_and_deals_only(client_as, rep, other_rep):
    of_account = ContactFactory(account=AccountFactory(owner=rep))
    of_lead = ContactFactory(account=AccountFactory())
    LeadFactory(contact=of_lead, owner=rep)
    of_deal = ContactFactory(account=AccountFactory())
    OpportunityFactory(contact=of_deal, owner=rep, lead__owner=rep)
    strangers = ContactFactory(account=AccountFactory(owner=other_rep))
    client = client_as(rep)

    answers = [
        client.patch(f"/api/contacts/{c.pk}/", {"title": "CFO"}, format="json").status_code
        for c in (of_account, of_lead, of_deal, strangers)
    ]
    moved_away = client.patch(
        f"/api/contacts/{of_account.pk}/", {"account": strangers.account_id}, format="json"
    ).status_code

    assert answers == [200, 200, 200, 403]
    assert moved_away == 403
    assert client.get(f"/api/contacts/{strangers.pk}/").status_code == 200  # reading stays open
    strangers.refresh_from_db()
    of_account.refresh_from_db()
    assert (strangers.title, of_account.account.owner) == ("", rep)
    changes = AuditEvent.objects.get(action="contact.update", object_id=str(of_lead.pk)).changes
    assert changes == {"title": ["", "CFO"]}


# --- Lead definitions --------------------------------------------------------------------------


def test_lead_definitions_are_read_by_version_and_read_only(client_as, marketer, published_definition):
    client = client_as(marketer)

    response = client.get(f"/api/lead-definitions/{published_definition.version}/")

    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert response.json()["mql_threshold"] == published_definition.mql_threshold
    assert client.post("/api/lead-definitions/", {"version": 99}, format="json").status_code == 405
    assert client.get("/api/lead-definitions/999/").status_code == 404


def test_lead_definitions_filter_by_status(client_as, rep, published_definition):
    LeadDefinitionFactory(status="draft", published_at=None)

    rows = results(client_as(rep).get("/api/lead-definitions/", {"status": "published"}))

    assert [row["version"] for row in rows] == [published_definition.version]


# --- Audit trail -------------------------------------------------------------------------------


def test_audit_events_are_for_admins_only(client_as, lf_admin, marketer, rep):
    SourceFactory(slug="web")
    client_as(marketer).patch("/api/sources/web/", {"trust": 90}, format="json")

    assert client_as(rep).get("/api/audit-events/").status_code == 403
    assert client_as(marketer).get("/api/audit-events/").status_code == 403
    rows = results(client_as(lf_admin).get("/api/audit-events/"))
    assert [(row["action"], row["actor"], row["object_type"]) for row in rows] == [
        ("source.update", "mara", "leads.source")
    ]
    assert rows[0]["changes"] == {"trust": [50, 90]}


def test_audit_events_filter_by_action_and_object(client_as, lf_admin):
    client = client_as(lf_admin)
    web = SourceFactory(slug="web")
    expo = SourceFactory(slug="expo")
    client.post("/api/sources/web/rotate-key/")
    client.post("/api/sources/expo/rotate-key/")
    client.patch("/api/sources/expo/", {"trust": 10}, format="json")

    by_object = results(client.get("/api/audit-events/", {"object_type": "leads.source", "object_id": expo.pk}))
    by_action = results(client.get("/api/audit-events/", {"action": "source.rotate_key"}))

    assert {row["action"] for row in by_object} == {"source.rotate_key", "source.update"}
    assert {row["object_id"] for row in by_action} == {str(web.pk), str(expo.pk)}
    assert client.post("/api/audit-events/", {}, format="json").status_code == 405

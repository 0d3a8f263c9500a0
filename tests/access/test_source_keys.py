"""A source's key writes into its own source only: never another source's campaign or submissions."""

from __future__ import annotations

import pytest

from leads.models import Lead
from leads.pipeline import CAMPAIGN_NOT_OF_SOURCE, leads_normalize
from tests.factories import CampaignFactory, LeadDefinitionFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources():
    LeadDefinitionFactory()
    web, partner = SourceFactory(slug="web"), SourceFactory(slug="partner")
    keys = {}
    for source in (web, partner):
        keys[source.slug] = source.set_new_api_key()
        source.save()
    return web, partner, keys, CampaignFactory(source=web, slug="spring"), CampaignFactory(source=partner, slug="p1")


def _intake(client, key: str, **payload: str) -> Lead:
    response = client.post("/api/intake/", payload, content_type="application/json", headers={"X-Source-Key": key})
    assert response.status_code == 202, response.content
    lead = Lead.objects.get(pk=response.json()["lead"])
    leads_normalize(lead_ids=[lead.pk])
    lead.refresh_from_db()
    return lead


def test_another_sources_campaign_slug_is_not_taken_by_intake(client, sources):
    _, partner, keys, spring, _ = sources

    lead = _intake(client, keys["partner"], email="pat@newco.example", campaign=spring.slug)

    assert (lead.source, lead.campaign) == (partner, None)
    assert lead.invalid_fields["campaign"] == {"value": "spring", "problem": CAMPAIGN_NOT_OF_SOURCE}


def test_the_sources_own_campaign_slug_is_taken(client, sources):
    _, partner, keys, _, p1 = sources

    lead = _intake(client, keys["partner"], email="pat@newco.example", campaign="p1")

    assert (lead.source, lead.campaign) == (partner, p1)


def test_a_source_key_reads_its_own_submissions_only(client, sources):
    _, _, keys, _, _ = sources
    sent = client.post("/api/intake/", {"email": "a@b.example"}, content_type="application/json",
                       headers={"X-Source-Key": keys["web"]}).json()  # fmt: skip

    own = client.get(f"/api/intake/{sent['id']}/", headers={"X-Source-Key": keys["web"]})
    other = client.get(f"/api/intake/{sent['id']}/", headers={"X-Source-Key": keys["partner"]})

    assert (own.status_code, other.status_code) == (200, 404)


def test_a_lead_sent_through_the_api_takes_a_campaign_of_its_own_source_only(client, marketer, sources):
    client.force_login(marketer)
    before = Lead.objects.count()

    response = client.post(
        "/api/leads/", {"source": "partner", "campaign": "spring", "email": "x@y.example"}, "application/json"
    )

    assert response.status_code == 400
    assert "another source" in response.json()["campaign"][0]
    assert Lead.objects.count() == before

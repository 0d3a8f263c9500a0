"""Scoring leads stored in the database: what the engine is given, and what is stored afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Activity, Lead, LeadDefinition
from scoring.services import lead_facts, lead_score
from tests.factories import AccountFactory, ActivityFactory, LeadDefinitionFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db


def test_lead_score_stores_score_breakdown_time_and_definition_version(published_definition):
    at = timezone.now()
    lead = LeadFactory(title="VP Sales", seniority="vp", industry="software", employees=250, country="US")
    ActivityFactory(lead=lead, kind=Activity.Kind.PRICING_VISIT, occurred_at=at - timedelta(days=14))

    result = lead_score(lead=lead, at=at)

    stored = Lead.objects.get(pk=lead.pk)
    assert stored.score == result.total == 20 + 15 + 15 + 10 + 10
    assert (stored.fit_score, stored.engagement_score) == (60, 10)
    assert stored.score_breakdown == result.breakdown()
    assert sum(line["points"] for line in stored.score_breakdown) == stored.score
    assert stored.scored_at == at
    assert stored.definition == published_definition
    assert lead.score == stored.score  # the caller's object is refreshed


def test_lead_score_uses_the_published_definition_by_default(published_definition):
    LeadDefinitionFactory(status=LeadDefinition.Status.DRAFT, published_at=None, rules={"fit": [], "engagement": []})
    lead = LeadFactory(seniority="c_level")

    lead_score(lead=lead)

    assert lead.definition == published_definition
    assert lead.score > 0


def test_lead_score_can_try_a_draft_definition(published_definition):
    draft = LeadDefinitionFactory(
        status=LeadDefinition.Status.DRAFT,
        published_at=None,
        rules={"fit": [{"id": "de", "field": "country", "op": "eq", "value": "DE", "points": 7}]},
    )
    lead = LeadFactory(country="DE")

    result = lead_score(lead=lead, definition=draft)

    assert result.total == 7
    assert lead.definition == draft


def test_lead_score_without_a_published_definition_is_an_error():
    lead = LeadFactory()

    with pytest.raises(LookupError, match="No published lead definition"):
        lead_score(lead=lead)

    assert Lead.objects.get(pk=lead.pk).scored_at is None


def test_rescoring_later_lowers_the_engagement_score(published_definition):
    now = timezone.now()
    lead = LeadFactory()
    ActivityFactory(lead=lead, kind=Activity.Kind.PRICING_VISIT, occurred_at=now)

    first = lead_score(lead=lead, at=now)
    later = lead_score(lead=lead, at=now + timedelta(days=14))

    assert (first.engagement, later.engagement) == (20, 10)
    assert lead.engagement_score == 10


def test_facts_carry_the_source_the_email_domain_and_the_account(published_definition):
    account = AccountFactory(industry="fintech", employees=1200, country="GB")
    lead = LeadFactory(
        email="ana@globex.example", source=SourceFactory(slug="webinar"), account=account, employees=None
    )
    ActivityFactory(lead=lead, kind=Activity.Kind.WEBINAR)

    facts = lead_facts(lead=lead)

    assert facts.fields["source"] == "webinar"
    assert facts.fields["email_domain"] == "globex.example"
    assert facts.fields["account_industry"] == "fintech"
    assert facts.fields["account_employees"] == 1200
    assert facts.fields["account_country"] == "GB"
    assert facts.fields["employees"] is None
    assert [a.kind for a in facts.activities] == [Activity.Kind.WEBINAR]


def test_rules_may_name_account_and_derived_fields():
    rules = {
        "fit": [
            {"id": "acct", "field": "account_industry", "op": "eq", "value": "fintech", "points": 5},
            {"id": "src", "field": "source", "op": "eq", "value": "webinar", "points": 3},
            {"id": "dom", "field": "email_domain", "op": "ne", "value": "gmail.com", "points": 2},
        ]
    }
    definition = LeadDefinitionFactory(rules=rules)
    lead = LeadFactory(
        email="ana@globex.example", source=SourceFactory(slug="webinar"), account=AccountFactory(industry="fintech")
    )

    result = lead_score(lead=lead, definition=definition)

    assert [line.rule_id for line in result.lines] == ["acct", "src", "dom"]
    assert result.total == 10


def test_a_lead_without_an_account_has_no_account_facts():
    assert "account_industry" not in lead_facts(lead=LeadFactory(account=None)).fields

"""Scoring leads in the database with the pure engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.models import Lead, LeadDefinition
from leads.selectors import lead_definition_current
from scoring.engine import ActivityFact, LeadFacts, ScoreResult, score_lead

#: Lead fields the fit rules may name (besides ``account_*`` and the derived ones below).
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "seniority",
    "job_function",
    "company",
    "company_domain",
    "industry",
    "employees",
    "city",
    "state",
    "postal_code",
    "country",
)


def lead_facts(*, lead: Lead) -> LeadFacts:
    """The plain data the engine scores, read from ``lead``, its source and its account."""
    fields: dict[str, Any] = {name: getattr(lead, name) for name in LEAD_FIELDS}
    fields["source"] = lead.source.slug if lead.source_id else ""
    fields["email_domain"] = lead.email.rpartition("@")[2] if "@" in lead.email else ""
    if lead.account_id:
        account = lead.account
        fields.update(
            account_industry=account.industry, account_employees=account.employees, account_country=account.country
        )
    activities = [ActivityFact(kind, at) for kind, at in lead.activities.values_list("kind", "occurred_at")]
    return LeadFacts(fields=fields, activities=activities)


@transaction.atomic
def lead_score(*, lead: Lead, definition: LeadDefinition | None = None, at: datetime | None = None) -> ScoreResult:
    """Score ``lead`` under ``definition`` (default: the published one) and store score and breakdown."""
    definition = definition or lead_definition_current()
    if definition is None:
        raise LookupError("No published lead definition to score with.")
    at = at or timezone.now()
    result = score_lead(lead_facts(lead=lead), definition.rules, at)
    Lead.objects.filter(pk=lead.pk).update(
        score=result.total,
        fit_score=result.fit,
        engagement_score=result.engagement,
        score_breakdown=result.breakdown(),
        scored_at=at,
        definition=definition,
        updated_at=timezone.now(),
    )
    lead.refresh_from_db(
        fields=["score", "fit_score", "engagement_score", "score_breakdown", "scored_at", "definition"]
    )
    return result

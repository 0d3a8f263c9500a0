"""Scoring leads in the database with the pure engine."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leads.models import Activity, Lead, LeadDefinition, Stage, StageChange
from leads.normalize import is_free_email
from leads.selectors import lead_definition_current
from scoring.engine import ActivityFact, LeadFacts, ScoreResult, score_lead
from scoring.qualify import MOVE_FIELDS, RELEASE_FIELDS, lead_follows_score, leads_qualify

#: Activity kinds that are engagement (notes, calls and system notices score nothing).
ENGAGEMENT_KINDS = tuple(
    kind
    for kind in Activity.Kind.values
    if kind not in (Activity.Kind.NOTE, Activity.Kind.CALL, Activity.Kind.MEETING, Activity.Kind.SYSTEM)
)

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


def lead_fields(*, lead: Lead) -> dict[str, Any]:
    """The plain field values rules may name: the lead's, its source's and (if linked) its account's."""
    fields: dict[str, Any] = {name: getattr(lead, name) for name in LEAD_FIELDS}
    fields["source"] = lead.source.slug if lead.source_id else ""
    fields["email_domain"] = lead.email.rpartition("@")[2] if "@" in lead.email else ""
    fields["email_is_business"] = bool(lead.email) and not is_free_email(lead.email)
    if lead.account_id:
        account = lead.account
        fields.update(
            account_industry=account.industry, account_employees=account.employees, account_country=account.country
        )
    return fields


def lead_facts_bulk(*, leads: Sequence[Lead]) -> dict[int, LeadFacts]:
    """Facts for many leads with one query for all their activities (source and account come joined)."""
    activities: dict[int, list[ActivityFact]] = defaultdict(list)
    rows = Activity.objects.filter(lead_id__in=[lead.pk for lead in leads], kind__in=ENGAGEMENT_KINDS)
    for lead_id, kind, at in rows.values_list("lead_id", "kind", "occurred_at"):
        activities[lead_id].append(ActivityFact(kind, at))
    return {lead.pk: LeadFacts(fields=lead_fields(lead=lead), activities=activities[lead.pk]) for lead in leads}


def lead_facts(*, lead: Lead) -> LeadFacts:
    """The plain data the engine scores, read from ``lead``, its source and its account."""
    return lead_facts_bulk(leads=[lead])[lead.pk]


#: The lead columns a score is stored in.
SCORE_COLUMNS = ("score", "fit_score", "engagement_score", "score_breakdown", "scored_at", "definition")


def lead_set_score(lead: Lead, result: ScoreResult, *, definition: LeadDefinition, at: datetime) -> None:
    """Put ``result`` on ``lead`` in memory (the ``SCORE_COLUMNS``); the caller writes it."""
    lead.score, lead.fit_score, lead.engagement_score = result.total, result.fit, result.engagement
    lead.score_breakdown = result.breakdown()
    lead.scored_at = at
    lead.definition = definition


@transaction.atomic
def lead_score(*, lead: Lead, definition: LeadDefinition | None = None, at: datetime | None = None) -> ScoreResult:
    """Score ``lead`` under ``definition`` (default: the published one), store score and breakdown,
    and apply the stage rules that follow a score (``scoring.qualify``) if the lead is through the pipeline."""
    definition = definition or lead_definition_current()
    if definition is None:
        raise LookupError("No published lead definition to score with.")
    at = at or timezone.now()
    locked = Lead.objects.select_for_update(of=("self",)).select_related("source", "account").get(pk=lead.pk)
    facts = lead_facts(lead=locked)
    result = score_lead(facts, definition.rules, at)
    lead_set_score(locked, result, definition=definition, at=at)
    locked.updated_at = timezone.now()
    columns = [*SCORE_COLUMNS, "updated_at"]
    if lead_follows_score(locked):
        qualified = leads_qualify([locked], [result], [facts], definition=definition, now=locked.updated_at)
        if qualified.moved:
            columns += [*MOVE_FIELDS, *(RELEASE_FIELDS if qualified.released else ())]
            StageChange.objects.bulk_create(qualified.changes)
            Activity.objects.bulk_create(qualified.notices)
    locked.save(update_fields=columns)
    if locked.stage == Stage.MQL and locked.owner_id is None:
        from routing.services import leads_route_batch

        leads_route_batch(lead_ids=[locked.pk])  # crossed the threshold: to a rep, or overflow
    lead.refresh_from_db(fields=[*SCORE_COLUMNS, *MOVE_FIELDS, *RELEASE_FIELDS, "updated_at", "owner"])
    return result

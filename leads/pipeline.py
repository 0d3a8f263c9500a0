"""The intake pipeline's steps, each a service over a batch of lead ids.

A lead's processing state lives on its row::

    received -> normalized -> matched -> screened -> scored -> routed

Each step locks the batch's leads that are in its input state (``SELECT ... FOR UPDATE``, in id
order), does its work in bulk and moves them on, all in one transaction. A step run twice, or
for leads that are elsewhere in the pipeline, does nothing to them: so running the whole chain
again from the first step (what the sweeper does) re-drives every lead from wherever it stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leadflow.db import bulk_update_rows
from leads.models import Activity, Campaign, ImportJob, Lead, LeadDefinition, Stage, StageChange, Submission
from leads.normalize import normalize_lead
from leads.screening import screen_lead
from leads.selectors import lead_definition_current
from scoring.engine import LeadFacts, score_lead
from scoring.qualify import MOVE_FIELDS, RELEASE_FIELDS, Qualification, leads_qualify
from scoring.services import SCORE_COLUMNS, lead_facts_bulk, lead_fields, lead_set_score

State = Lead.PipelineState

#: Fields a submission may carry that map onto lead columns; anything else is kept in ``Lead.extra``.
LEAD_INPUT_FIELDS = (
    "first_name", "last_name", "name", "email", "phone", "company", "website", "title", "industry",
    "employees", "street", "city", "state", "postal_code", "country",
)  # fmt: skip
#: Fields of a submission that say where it came from rather than who the person is.
PROVENANCE_FIELDS = ("external_id", "source", "campaign")
CAMPAIGN_NOT_OF_SOURCE = "No campaign of this source with this slug"
NORMALIZED_FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "company_domain", "website", "title", "seniority",
    "job_function", "industry", "employees", "street", "city", "state", "postal_code", "country",
)  # fmt: skip
#: Lead fields the screening rules look at.
SCREENED_FIELDS = ("email", "company_domain", "company", "first_name", "last_name", "industry", "seniority", "country")


def lead_apply_raw(lead: Lead, raw: Mapping[str, Any]) -> None:
    """Set ``lead``'s fields from a raw submission: normalized values, problems, and extra fields kept."""
    result = normalize_lead(dict(raw))
    for name, value in result.values.items():
        setattr(lead, name, value)
    lead.invalid_fields = result.problems
    lead.extra = {
        str(k)[:100]: v for k, v in raw.items() if k not in LEAD_INPUT_FIELDS and k not in PROVENANCE_FIELDS and v
    }


def _locked(lead_ids: Iterable[int], state: str) -> list[Lead]:
    return list(
        Lead.objects.select_for_update(of=("self",))
        .select_related("source", "account")
        .filter(pk__in=list(lead_ids), pipeline_state=state)
        .order_by("pk")
    )


def _advance(leads: Sequence[Lead], fields: Sequence[str], state: str) -> None:
    now = timezone.now()
    for lead in leads:
        lead.pipeline_state = state
        lead.updated_at = now
    bulk_update_rows(leads, [*fields, "pipeline_state", "updated_at"])


@transaction.atomic
def leads_normalize(*, lead_ids: Sequence[int]) -> int:
    """received -> normalized: clean every field from the lead's first raw submission."""
    leads = _locked(lead_ids, State.RECEIVED)
    if not leads:
        return 0
    payloads: dict[int, dict[str, Any]] = {}
    rows = Submission.objects.filter(lead_id__in=[lead.pk for lead in leads]).order_by("-received_at")
    for lead_id, payload in rows.values_list("lead_id", "payload"):
        payloads[lead_id] = payload  # ordered newest first, so the first submission wins
    slugs = {str(p.get("campaign", "")).strip() for p in payloads.values()} - {""}
    # A submission names a campaign of its own source: a source's key never credits another source's campaign.
    campaigns = (
        {
            (source_id, slug): pk
            for source_id, slug, pk in Campaign.objects.filter(slug__in=slugs).values_list("source_id", "slug", "pk")
        }
        if slugs
        else {}
    )
    for lead in leads:
        raw = payloads.get(lead.pk, {})
        lead_apply_raw(lead, raw)
        slug = str(raw.get("campaign", "")).strip()
        if lead.campaign_id is None and slug:
            if (lead.source_id, slug) in campaigns:
                lead.campaign_id = campaigns[lead.source_id, slug]
            else:
                lead.invalid_fields["campaign"] = {"value": slug[:300], "problem": CAMPAIGN_NOT_OF_SOURCE}
    _advance(leads, [*NORMALIZED_FIELDS, "campaign", "invalid_fields", "extra"], State.NORMALIZED)
    return len(leads)


@transaction.atomic
def leads_match(*, lead_ids: Sequence[int], definition: LeadDefinition | None = None) -> int:
    """normalized -> matched: find each lead's duplicates (``dedupe``) and link it to its account and contact.

    A lead above the definition's auto-merge threshold is merged into the oldest matching lead
    (and so leaves the pipeline, merged); one above the review threshold is queued for review.
    """
    from dedupe.services import leads_dedupe_saved

    leads = _locked(lead_ids, State.NORMALIZED)
    if not leads:
        return 0
    merged = leads_dedupe_saved(leads=leads, definition=definition or lead_definition_current())
    if merged:  # survivors in this batch took values from their duplicates: read them again
        leads = _locked([lead.pk for lead in leads if lead.pk not in merged], State.NORMALIZED)
    _link_accounts(leads)
    _advance(leads, ["account", "contact"], State.MATCHED)
    return len(leads) + len(merged)


@transaction.atomic
def leads_screen(*, lead_ids: Sequence[int], definition: LeadDefinition | None = None) -> int:
    """matched -> screened: new leads that break a screening rule become junk, with the rule as reason."""
    leads = _locked(lead_ids, State.MATCHED)
    if not leads:
        return 0
    spam = dict(
        Submission.objects.filter(lead_id__in=[lead.pk for lead in leads])
        .exclude(spam_reason="")
        .values_list("lead_id", "spam_reason")
    )
    changes = _screen(leads, definition or lead_definition_current(), spam)
    _advance(leads, ["stage", "junk_reason", "stage_changed_at"], State.SCREENED)
    StageChange.objects.bulk_create(changes)
    return len(leads)


SCORE_FIELDS = (*SCORE_COLUMNS, *MOVE_FIELDS)


@transaction.atomic
def leads_score(*, lead_ids: Sequence[int], definition: LeadDefinition | None = None) -> int:
    """screened -> scored: score under the published definition, and apply the stage rules that follow
    a score (``scoring.qualify``): new or nurtured leads that qualify become MQLs."""
    leads = _locked(lead_ids, State.SCREENED)
    if not leads:
        return 0
    definition = definition or lead_definition_current()
    facts = lead_facts_bulk(leads=leads)
    qualified = _score(leads, definition, [facts[lead.pk] for lead in leads])
    _advance(leads, SCORE_FIELDS, State.SCORED)
    bulk_update_rows(qualified.released, RELEASE_FIELDS)
    StageChange.objects.bulk_create(qualified.changes)
    Activity.objects.bulk_create(qualified.notices)
    return len(leads)


def leads_process_unsaved(leads: Sequence[Lead], *, definition: LeadDefinition | None) -> list[StageChange]:
    """Run matching, screening and scoring over normalized leads not yet saved, in memory.

    For a batch that arrives whole (an import chunk): its leads are inserted once, already scored,
    instead of being written again at every step; the same step logic as for leads that arrive
    one by one. Leads left for routing (MQLs) end ``scored``, the others ``routed``. Returns the stage
    changes to insert with them.
    """
    from routing.services import lead_routable

    _link_accounts(leads)
    changes = _screen(leads, definition, {})
    # New leads have no owner to release, so the stage changes are all a qualification leaves to insert.
    changes += _score(leads, definition, [LeadFacts(fields=lead_fields(lead=lead)) for lead in leads]).changes
    for lead in leads:
        # The route step would only move a lead that is no MQL on: it is inserted through the pipeline
        # (never written a second time, never sent to a worker); the MQLs wait for routing.
        lead.pipeline_state = State.SCORED if lead_routable(lead) else State.ROUTED
    return changes


def _link_accounts(leads: Sequence[Lead]) -> None:
    """Link each lead to the account with its company domain or name, and to the contact with its e-mail."""
    from dedupe.services import leads_link_accounts

    leads_link_accounts(leads=leads)


def _screen(leads: Sequence[Lead], definition: LeadDefinition | None, spam: Mapping[int, str]) -> list[StageChange]:
    rules = definition.rules.get("screening", {}) if definition else {}
    changes = []
    for lead in leads:
        if lead.stage != Stage.NEW:
            continue
        verdict = screen_lead(
            {name: getattr(lead, name) for name in SCREENED_FIELDS}, rules, spam_reason=spam.get(lead.pk, "")
        )
        if verdict:
            lead.stage = Stage.JUNK
            lead.stage_changed_at = timezone.now()
            lead.junk_reason = verdict.reason[:200]
            changes.append(
                StageChange(lead=lead, from_stage=Stage.NEW, to_stage=Stage.JUNK, reason=f"Screening: {verdict.reason}")
            )
    return changes


def _score(leads: Sequence[Lead], definition: LeadDefinition | None, facts: Sequence[LeadFacts]) -> Qualification:
    if definition is None:
        return Qualification()
    now = timezone.now()
    results = []
    for lead, lead_facts in zip(leads, facts, strict=True):
        result = score_lead(lead_facts, definition.rules, now)
        lead_set_score(lead, result, definition=definition, at=now)
        results.append(result)
    active = [n for n, lead in enumerate(leads) if lead.status == Lead.Status.ACTIVE]
    return leads_qualify(
        [leads[n] for n in active],
        [results[n] for n in active],
        [facts[n] for n in active],
        definition=definition,
        now=now,
    )


@transaction.atomic
def leads_route(*, lead_ids: Sequence[int]) -> int:
    """scored -> routed: the MQLs go to reps by account owner, territory and capacity, or to
    overflow (``routing.services``); then count the finished rows on their import jobs."""
    from routing.services import leads_route_batch

    leads = _locked(lead_ids, State.SCORED)
    if not leads:
        return 0
    leads_route_batch(lead_ids=[lead.pk for lead in leads])
    _advance(leads, [], State.ROUTED)
    import_job_count_processed(counts=Counter(lead.import_job_id for lead in leads if lead.import_job_id))
    return len(leads)


def import_job_count_processed(*, counts: Mapping[int, int]) -> None:
    """Add finished rows to import jobs, and close the jobs whose every row is through."""
    now = timezone.now()
    for job_id, count in counts.items():
        ImportJob.objects.filter(pk=job_id).update(rows_processed=F("rows_processed") + count, updated_at=now)
        import_job_finish_if_done(job_id=job_id)


def import_job_finish_if_done(*, job_id: int) -> bool:
    """Mark the job done once every row was read and every imported or merged row went through."""
    done = (
        ImportJob.objects.filter(
            pk=job_id,
            status__in=[ImportJob.Status.READING, ImportJob.Status.PROCESSING],
            read_at__isnull=False,
            rows_processed__gte=F("rows_imported"),
        ).update(status=ImportJob.Status.DONE, finished_at=timezone.now(), updated_at=timezone.now())
        > 0
    )
    return done

"""Rescoring every open lead in the background: after a definition is published, and the daily decay.

``rescore_job_start`` counts the open leads, records a ``RescoreJob`` and, once its transaction
commits, sends the leads to the workers in chunks: consecutive id ranges of ``RESCORE_CHUNK_SIZE``
leads, fixed when the job starts. Chunks run in parallel; each is stored at most once
(``RescoreChunk`` is the ledger, as ``ImportChunk`` is for imports), in one transaction that locks
its leads in id order (as every pipeline step does, so they never deadlock), scores them with the
pure engine, writes them back with bulk SQL, applies the stage rules (``scoring.qualify``) and adds
its count to the job. The job is done when every chunk has counted its leads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from leadflow.db import bulk_update_rows
from leads.models import Activity, Lead, LeadDefinition, RescoreChunk, RescoreJob, Stage, StageChange
from leads.selectors import lead_definition_current
from routing.services import leads_route_batch
from scoring.engine import score_lead
from scoring.qualify import MOVE_FIELDS, RELEASE_FIELDS, RESCORED_STAGES, lead_follows_score, leads_qualify
from scoring.services import LEAD_FIELDS, SCORE_COLUMNS, lead_facts_bulk, lead_set_score

if TYPE_CHECKING:
    from dedupe.models import DedupeJob

#: What a chunk reads of each lead: the facts the rules may name, and what the stage rules look at.
#: (Loading whole rows would read every JSON column back for nothing.)
CHUNK_LEAD_FIELDS = (
    *LEAD_FIELDS,
    "status", "stage", "pipeline_state", "owner", "accepted_at", "assigned_at", "sla_due_at",
    "source", "source__slug", "account", "account__industry", "account__employees", "account__country",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """One chunk of a job: leads with ids from ``first_id`` to ``last_id``, ``leads`` of them when planned."""

    number: int
    first_id: int
    last_id: int
    leads: int


def rescore_leads(*, reason: str) -> QuerySet[Lead]:
    """The leads a job for ``reason`` rescores: the open ones (active; not junk, won or lost).

    The daily decay needs only those with engagement points: a lead without any has nothing to decay.
    """
    leads = Lead.objects.filter(status=Lead.Status.ACTIVE, stage__in=RESCORED_STAGES)
    if reason == RescoreJob.Reason.DECAY:
        leads = leads.exclude(engagement_score=0)
    return leads


def rescore_chunks_plan(lead_ids: Sequence[int], size: int) -> list[ChunkPlan]:
    """Split ``lead_ids`` (ascending) into id ranges of ``size`` leads each."""
    return [
        ChunkPlan(
            number, lead_ids[start], lead_ids[min(start + size, len(lead_ids)) - 1], len(lead_ids[start : start + size])
        )
        for number, start in enumerate(range(0, len(lead_ids), size))
    ]


@transaction.atomic
def rescore_job_start(*, definition: LeadDefinition, reason: str, actor: AbstractBaseUser | None = None) -> RescoreJob:
    """Record a job rescoring every open lead under ``definition``; its chunks go to the workers on commit."""
    lead_ids = list(rescore_leads(reason=reason).order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    finished = not lead_ids
    job = RescoreJob.objects.create(
        definition=definition,
        reason=reason,
        leads_total=len(lead_ids),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        status=RescoreJob.Status.DONE if finished else RescoreJob.Status.PENDING,
        started_at=now if finished else None,
        finished_at=now if finished else None,
    )
    plan = rescore_chunks_plan(lead_ids, settings.RESCORE_CHUNK_SIZE)
    if plan:
        job.plan = [[c.number, c.first_id, c.last_id, c.leads] for c in plan]
        job.save(update_fields=["plan"])
        transaction.on_commit(lambda: _send(job.pk, plan))
    return job


def chunked_jobs_redrive_stale(
    *, jobs: type[RescoreJob] | type[DedupeJob], send: Callable[[int, list[ChunkPlan]], None]
) -> int:
    """Send again, through ``send``, the planned chunks of unfinished ``jobs`` that made no progress for
    ``PIPELINE_STALE_SECONDS`` (lost with a killed worker); each job's chunk ledger makes a chunk that did
    run count once. Serves every job with a ``plan`` and a ``chunks`` ledger. Returns the chunks sent."""
    cutoff = timezone.now() - timedelta(seconds=settings.PIPELINE_STALE_SECONDS)
    sent = 0
    stale = jobs.objects.filter(status__in=[jobs.Status.PENDING, jobs.Status.RUNNING], updated_at__lt=cutoff)
    for job in stale:
        done = set(job.chunks.values_list("number", flat=True))
        missing = [ChunkPlan(*chunk) for chunk in job.plan if chunk[0] not in done]
        jobs.objects.filter(pk=job.pk).update(updated_at=timezone.now())
        if missing:
            send(job.pk, missing)
            sent += len(missing)
    return sent


def rescore_jobs_redrive_stale() -> int:
    """Send again the chunks of stale rescore jobs (see ``chunked_jobs_redrive_stale``); returns chunks sent."""
    return chunked_jobs_redrive_stale(jobs=RescoreJob, send=_send)


def _send(job_id: int, plan: Sequence[ChunkPlan]) -> None:
    from scoring.tasks import rescore_chunk_task

    for chunk in plan:
        rescore_chunk_task.delay(job_id, chunk.number, chunk.first_id, chunk.last_id, chunk.leads)


def rescore_decay_start() -> RescoreJob | None:
    """Start the daily decay: rescore, under the published definition, the open leads with engagement points.

    Nothing when there is no published definition, or when an earlier decay job is still going.
    """
    definition = lead_definition_current()
    if definition is None:
        return None
    busy = RescoreJob.objects.filter(
        reason=RescoreJob.Reason.DECAY, status__in=[RescoreJob.Status.PENDING, RescoreJob.Status.RUNNING]
    )
    if busy.exists():
        return None
    return rescore_job_start(definition=definition, reason=RescoreJob.Reason.DECAY)


def rescore_chunk_run(*, job_id: int, number: int, first_id: int, last_id: int, planned: int) -> int:
    """Rescore one chunk of a job unless it was done already; returns the number of leads rescored."""
    job = RescoreJob.objects.select_related("definition").get(pk=job_id)
    now = timezone.now()
    RescoreJob.objects.filter(pk=job_id, status=RescoreJob.Status.PENDING).update(
        status=RescoreJob.Status.RUNNING, started_at=now, updated_at=now
    )
    return _rescore_chunk(job, number, first_id, last_id, planned)


@transaction.atomic
def _rescore_chunk(job: RescoreJob, number: int, first_id: int, last_id: int, planned: int) -> int:
    chunk, created = RescoreChunk.objects.get_or_create(job=job, number=number, defaults={"leads": 0})
    if not created:
        return 0  # done by an earlier run of this task
    definition = job.definition
    leads: list[Lead] = []
    became_mql = fell_below_mql = 0
    # A newer version was published since this job started: its own job rescores these leads,
    # and this one must not write the older scores over them.
    if definition.status != LeadDefinition.Status.RETIRED:
        leads = list(
            rescore_leads(reason=job.reason)
            .filter(pk__gte=first_id, pk__lte=last_id)
            .select_for_update(of=("self",))
            .select_related("source", "account")
            .only(*CHUNK_LEAD_FIELDS)
            .order_by("pk")
        )
    if leads:
        became_mql, fell_below_mql = _rescore(leads, definition)
        RescoreChunk.objects.filter(pk=chunk.pk).update(leads=len(leads))
    now = timezone.now()
    # leads_done counts the planned leads, so the job ends even if some left the open stages meanwhile.
    # The right-hand sides see the row before this update: "leads_done >= total - planned" means
    # "this chunk brings it to the total".
    complete = Q(leads_done__gte=F("leads_total") - planned)
    RescoreJob.objects.filter(pk=job.pk).update(
        leads_done=F("leads_done") + planned,
        became_mql=F("became_mql") + became_mql,
        fell_below_mql=F("fell_below_mql") + fell_below_mql,
        status=Case(
            When(complete & ~Q(status=RescoreJob.Status.FAILED), then=Value(RescoreJob.Status.DONE)),
            default=F("status"),
        ),
        finished_at=Case(When(complete, then=Value(now)), default=F("finished_at")),
        updated_at=now,
    )
    return len(leads)


def _rescore(leads: list[Lead], definition: LeadDefinition) -> tuple[int, int]:
    """Score ``leads`` (locked) under ``definition``, write them back, apply the stage rules.

    Returns how many became MQLs and how many fell below the threshold.
    """
    now = timezone.now()
    facts = lead_facts_bulk(leads=leads)
    rules = definition.rules
    following, results, following_facts = [], [], []
    for lead in leads:
        lead_facts = facts[lead.pk]
        result = score_lead(lead_facts, rules, now)
        lead_set_score(lead, result, definition=definition, at=now)
        lead.updated_at = now
        if lead_follows_score(lead):
            following.append(lead)
            results.append(result)
            following_facts.append(lead_facts)
    qualified = leads_qualify(following, results, following_facts, definition=definition, now=now)
    bulk_update_rows(leads, [*SCORE_COLUMNS, "updated_at"])
    bulk_update_rows(qualified.moved, MOVE_FIELDS)
    bulk_update_rows(qualified.released, RELEASE_FIELDS)
    StageChange.objects.bulk_create(qualified.changes)
    Activity.objects.bulk_create(qualified.notices)
    # Leads that crossed the threshold go to routing, in this transaction (rep rows locked in id order).
    leads_route_batch(lead_ids=[lead.pk for lead in qualified.moved if lead.stage == Stage.MQL])
    return qualified.became_mql, qualified.fell_below_mql


def rescore_job_fail(*, job_id: int, error: str) -> None:
    """Mark the job failed (a chunk gave up after its retries), saying why; other chunks still count."""
    now = timezone.now()
    RescoreJob.objects.filter(pk=job_id).exclude(status=RescoreJob.Status.DONE).update(
        status=RescoreJob.Status.FAILED, error=error[:2000], finished_at=now, updated_at=now
    )

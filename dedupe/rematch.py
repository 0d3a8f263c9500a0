"""Matching re-run over the stored active leads (``manage.py dedupe_all``), e.g. after the thresholds changed.

``dedupe_job_start`` records a ``DedupeJob`` with its chunk plan (consecutive id ranges of active,
already matched leads, fixed at the start) and, once its transaction commits, sends the chunks to
the workers. Chunks run in parallel; each is stored at most once (``DedupeChunk`` is the ledger, as
``RescoreChunk`` is for rescoring), and the pipeline sweep sends again the chunks of a job that made
no progress (a killed worker). A chunk compares each of its leads only with leads of a smaller id,
so every pair is considered once, from its newer lead: above the definition's auto-merge
threshold the newer lead is merged into the oldest match, above the review threshold the pair is
queued, and pairs dismissed as "not a duplicate" are never proposed. A second run finds nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from dedupe.keys import FIELDS, lead_keys
from dedupe.matching import keys_lock, lock_keys, match_batch, record_of
from dedupe.models import DedupeChunk, DedupeJob
from dedupe.services import definition_rules, match_keys_add, match_outcomes_apply
from leads.models import Lead
from leads.selectors import lead_definition_current
from scoring.rescore import ChunkPlan, chunked_jobs_redrive_stale, rescore_chunks_plan

#: Leads per chunk of a job, unless the command says otherwise.
CHUNK_SIZE = 1000


def dedupe_leads() -> QuerySet[Lead]:
    """The leads a job matches again: active ones the pipeline has matched already (the rest it will)."""
    return Lead.objects.filter(status=Lead.Status.ACTIVE).exclude(
        pipeline_state__in=[Lead.PipelineState.RECEIVED, Lead.PipelineState.NORMALIZED]
    )


def dedupe_job_running() -> DedupeJob | None:
    return DedupeJob.objects.filter(status__in=[DedupeJob.Status.PENDING, DedupeJob.Status.RUNNING]).first()


@transaction.atomic
def dedupe_job_start(*, actor: AbstractBaseUser | None = None, chunk_size: int = CHUNK_SIZE) -> tuple[DedupeJob, bool]:
    """Start matching every active lead again, unless a job is running already: ``(job, started)``."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1.")
    # One job at a time: a second start while one runs follows that one (two starts take turns here).
    keys_lock([("dedupe_job", "start")])
    running = dedupe_job_running()
    if running is not None:
        return running, False
    lead_ids = list(dedupe_leads().order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    finished = not lead_ids
    plan = rescore_chunks_plan(lead_ids, chunk_size)
    job = DedupeJob.objects.create(
        leads_total=len(lead_ids),
        plan=[[c.number, c.first_id, c.last_id, c.leads] for c in plan],
        created_by=actor if actor is not None and actor.is_authenticated else None,
        status=DedupeJob.Status.DONE if finished else DedupeJob.Status.PENDING,
        started_at=now if finished else None,
        finished_at=now if finished else None,
    )
    if plan:
        transaction.on_commit(lambda: _send(job.pk, plan))
    return job, True


def _send(job_id: int, plan: Sequence[ChunkPlan]) -> None:
    from dedupe.tasks import dedupe_chunk_task

    for chunk in plan:
        dedupe_chunk_task.delay(job_id, chunk.number, chunk.first_id, chunk.last_id, chunk.leads)


def dedupe_jobs_redrive_stale() -> int:
    """Send again the chunks of stale dedupe jobs (see ``chunked_jobs_redrive_stale``); returns chunks sent."""
    return chunked_jobs_redrive_stale(jobs=DedupeJob, send=_send)


def dedupe_chunk_run(*, job_id: int, number: int, first_id: int, last_id: int, planned: int) -> int:
    """Match one chunk of a job again unless it was done already; returns the number of leads merged away."""
    now = timezone.now()
    DedupeJob.objects.filter(pk=job_id, status=DedupeJob.Status.PENDING).update(
        status=DedupeJob.Status.RUNNING, started_at=now, updated_at=now
    )
    return _dedupe_chunk(job_id, number, first_id, last_id, planned)


@transaction.atomic
def _dedupe_chunk(job_id: int, number: int, first_id: int, last_id: int, planned: int) -> int:
    chunk, created = DedupeChunk.objects.get_or_create(job_id=job_id, number=number, defaults={"leads": 0})
    if not created:
        return 0  # done by an earlier run of this task
    in_range = dedupe_leads().filter(pk__gte=first_id, pk__lte=last_id)
    # The keys that identify a person are locked before the rows (the order the pipeline takes them
    # in), so a chunk and a pipeline batch matching the same person take turns instead of deadlocking.
    keys_lock(lock_keys([lead_keys(record_of(lead)) for lead in in_range.only("pk", *FIELDS).order_by("pk")]))
    leads = list(in_range.select_for_update(of=("self",)).select_related("source").order_by("pk"))
    merged: set[int] = set()
    queued = 0
    if leads:
        ids = [lead.pk for lead in leads]
        definition = lead_definition_current()
        outcomes, _ = match_batch(
            [record_of(lead) for lead in leads],
            rules=definition_rules(definition),
            ids=ids,
            lock=False,
            older_only=True,
        )
        match_keys_add(leads)  # keys written by an older version of dedupe.keys are completed
        merged, queued = match_outcomes_apply(outcomes, ids, {lead.pk: lead for lead in leads})
    DedupeChunk.objects.filter(pk=chunk.pk).update(leads=len(leads), merged=len(merged), queued=queued)
    now = timezone.now()
    # leads_done counts the planned leads, so the job ends even if some were merged meanwhile.
    complete = Q(leads_done__gte=F("leads_total") - planned)
    DedupeJob.objects.filter(pk=job_id).update(
        leads_done=F("leads_done") + planned,
        merged=F("merged") + len(merged),
        queued=F("queued") + queued,
        status=Case(
            When(complete & ~Q(status=DedupeJob.Status.FAILED), then=Value(DedupeJob.Status.DONE)),
            default=F("status"),
        ),
        finished_at=Case(When(complete, then=Value(now)), default=F("finished_at")),
        updated_at=now,
    )
    return len(merged)


def dedupe_job_fail(*, job_id: int, error: str) -> None:
    """Mark the job failed (a chunk gave up after its retries), saying why; other chunks still count."""
    now = timezone.now()
    DedupeJob.objects.filter(pk=job_id).exclude(status=DedupeJob.Status.DONE).update(
        status=DedupeJob.Status.FAILED, error=error[:2000], finished_at=now, updated_at=now
    )

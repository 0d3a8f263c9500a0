"""Celery tasks for intake: thin wrappers, ids in, one service call each; retries live here.

Every task is safe to run twice (the services only move leads that are in the step's input
state), acknowledged late, and retried with back-off when the database or broker hiccups.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import chain, shared_task
from django.db import DatabaseError

RETRY = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (DatabaseError, ConnectionError, TimeoutError),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(**RETRY)
def lead_normalize_task(self, lead_ids: list[int]) -> None:
    from leads.pipeline import leads_normalize

    leads_normalize(lead_ids=lead_ids)


@shared_task(**RETRY)
def lead_match_task(self, lead_ids: list[int]) -> None:
    from leads.pipeline import leads_match

    leads_match(lead_ids=lead_ids)


@shared_task(**RETRY)
def lead_screen_task(self, lead_ids: list[int]) -> None:
    from leads.pipeline import leads_screen

    leads_screen(lead_ids=lead_ids)


@shared_task(**RETRY)
def lead_score_step_task(self, lead_ids: list[int]) -> None:
    from leads.pipeline import leads_score

    leads_score(lead_ids=lead_ids)


@shared_task(**RETRY)
def lead_route_task(self, lead_ids: list[int]) -> None:
    from leads.pipeline import leads_route

    leads_route(lead_ids=lead_ids)


#: Each step's task, in pipeline order, by the state it takes leads from.
STEP_TASKS = {
    "received": lead_normalize_task,
    "normalized": lead_match_task,
    "matched": lead_screen_task,
    "screened": lead_score_step_task,
    "scored": lead_route_task,
}


def pipeline_start(lead_ids: Sequence[int], *, first: str = "received") -> None:
    """Send ``lead_ids`` down the pipeline from the step that takes leads in state ``first`` (by default
    the whole pipeline); each step skips leads already past it.

    A batch known to be in one state (an import chunk, inserted scored) starts at its step and so
    costs no message and no transaction for the steps before it. Call it from ``transaction.on_commit``
    so the workers see the rows.
    """
    ids = list(lead_ids)
    if not ids:
        return
    states = list(STEP_TASKS)
    steps = [STEP_TASKS[state].si(ids) for state in states[states.index(first) :]]
    if len(steps) == 1:
        steps[0].apply_async()
    else:
        chain(*steps).apply_async()


@shared_task(**RETRY)
def pipeline_drain_task(self) -> int:
    """Take the web-to-lead submissions waiting in ``received`` in batches and send them on."""
    from leads.intake import leads_drain_received

    return leads_drain_received()


@shared_task(**RETRY)
def import_read_task(self, job_id: int) -> None:
    """Read an uploaded list and send its chunks not yet stored to the workers."""
    from leads.imports import import_job_read
    from leads.models import ImportJob

    import_job_read(job=ImportJob.objects.get(pk=job_id))


@shared_task(**RETRY)
def import_chunk_task(self, job_id: int, number: int, rows: list[list]) -> None:
    """Store one chunk of an import's rows (at most once) and send its leads down the pipeline."""
    from leads.imports import import_chunk_store

    import_chunk_store(job_id=job_id, number=number, rows=rows)


@shared_task(bind=True, acks_late=True)
def pipeline_sweep_task(self) -> dict[str, int]:
    """Periodic (beat): re-drive leads, imports, rescore and dedupe jobs stuck midway (e.g. a killed worker)."""
    from dedupe.rematch import dedupe_jobs_redrive_stale
    from leads.imports import import_jobs_redrive_stale
    from leads.intake import leads_redrive_stale
    from scoring.rescore import rescore_jobs_redrive_stale

    return {
        "leads": leads_redrive_stale(),
        "imports": import_jobs_redrive_stale(),
        "rescore_chunks": rescore_jobs_redrive_stale(),
        "dedupe_chunks": dedupe_jobs_redrive_stale(),
    }


@shared_task(**RETRY)
def leads_revisit_due_task(self) -> int:
    """Periodic (beat, daily): recycled leads whose revisit date has come go back in front of marketing."""
    from leads.lifecycle import leads_revisit_due

    return len(leads_revisit_due())

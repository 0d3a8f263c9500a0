"""Celery tasks for scoring: thin wrappers, ids in, one service call; retries live here.

Each is safe to run twice: a rescore chunk is stored at most once (its ledger), a lead rescored
twice gets the same score, a preview computed twice gets the same result.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from leads.tasks import RETRY


class RescoreChunkTask(Task):
    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """The chunk gave up (retries spent, or an error retrying cannot mend): the job says so."""
        from scoring.rescore import rescore_job_fail

        job_id = kwargs.get("job_id", args[0] if args else None)
        if job_id is not None:
            rescore_job_fail(job_id=job_id, error=f"Chunk {args[1] if len(args) > 1 else '?'}: {exc!r}")


class DefinitionPreviewTask(Task):
    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        from scoring.preview import definition_preview_fail

        preview_id = kwargs.get("preview_id", args[0] if args else None)
        if preview_id is not None:
            definition_preview_fail(preview_id=preview_id, error=repr(exc))


@shared_task(**RETRY)
def lead_score_task(self, lead_id: int) -> int | None:
    """Rescore one lead under the published definition (its stage follows); returns the new score.

    Nothing when the lead is gone or no definition is published.
    """
    from leads.models import Lead
    from scoring.services import lead_score

    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:
        return None
    try:
        return lead_score(lead=lead).total
    except LookupError:  # no published definition to score with
        return None


@shared_task(**RETRY, base=RescoreChunkTask)
def rescore_chunk_task(self, job_id: int, number: int, first_id: int, last_id: int, planned: int) -> int:
    """Rescore one chunk of a rescore job (at most once)."""
    from scoring.rescore import rescore_chunk_run

    return rescore_chunk_run(job_id=job_id, number=number, first_id=first_id, last_id=last_id, planned=planned)


@shared_task(**RETRY)
def rescore_decay_task(self) -> int | None:
    """Periodic (beat, daily): engagement decays with time, so rescore the leads that have some."""
    from scoring.rescore import rescore_decay_start

    job = rescore_decay_start()
    return job.pk if job else None


@shared_task(**RETRY, base=DefinitionPreviewTask)
def definition_preview_task(self, preview_id: int) -> None:
    """Compute what publishing a draft would change."""
    from leads.models import DefinitionPreview
    from scoring.preview import definition_preview_compute

    definition_preview_compute(preview=DefinitionPreview.objects.select_related("definition").get(pk=preview_id))

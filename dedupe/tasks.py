"""Celery tasks for duplicates: thin wrappers, ids in, one service call; retries live here.

Each is safe to run twice: a dedupe chunk is stored at most once (``DedupeChunk`` is its ledger),
and re-checking a lead finds nothing new the second time.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from dedupe.services import MergeError
from leads.tasks import RETRY


class DedupeChunkTask(Task):
    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """The chunk gave up (retries spent, or an error retrying cannot mend): the job says so."""
        from dedupe.rematch import dedupe_job_fail

        job_id = kwargs.get("job_id", args[0] if args else None)
        if job_id is not None:
            dedupe_job_fail(job_id=job_id, error=f"Chunk {args[1] if len(args) > 1 else '?'}: {exc!r}")


# A lead another worker merged meanwhile (the chunks run in parallel) fails a merge: the chunk's
# transaction rolls back and a retry matches it again against what is there now.
@shared_task(**{**RETRY, "autoretry_for": (*RETRY["autoretry_for"], MergeError)}, base=DedupeChunkTask)
def dedupe_chunk_task(self, job_id: int, number: int, first_id: int, last_id: int, planned: int) -> int:
    """Match one chunk of a dedupe job again (at most once); returns the leads merged away."""
    from dedupe.rematch import dedupe_chunk_run

    return dedupe_chunk_run(job_id=job_id, number=number, first_id=first_id, last_id=last_id, planned=planned)


@shared_task(**RETRY)
def lead_recheck_task(self, lead_id: int) -> int | None:
    """Check one lead for duplicates again after its identifying fields were edited; returns a merge id."""
    from dedupe.services import lead_duplicates_recheck

    merge = lead_duplicates_recheck(lead_id=lead_id)
    return merge.pk if merge is not None else None

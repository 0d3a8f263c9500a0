"""A worker killed with SIGKILL in the middle of an import: after a restart the import finishes
with every row exactly once. Needs real processes (the worker, its pool, Redis, beat's sweeper)."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.imports import import_job_create
from leads.models import ImportJob, Lead, SourceRecord, Submission
from tests.factories import LeadDefinitionFactory, SourceFactory
from tests.worker import celery_worker_running, new_queue, purge_queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = 3000
WORKER_ENV = {"IMPORT_CHUNK_ROWS": "100", "PIPELINE_BATCH_SIZE": "100", "PIPELINE_STALE_SECONDS": "3",
              "PIPELINE_SWEEP_SECONDS": "2"}  # fmt: skip


def wait_for(predicate, timeout: float, what: str, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"Timed out waiting for {what}\n{log()}")


def test_an_import_survives_its_worker_being_killed_mid_file(settings):
    settings.IMPORT_CHUNK_ROWS = 100
    LeadDefinitionFactory()
    source = SourceFactory(slug="expo")
    csv = "external_id,first_name,last_name,email,company,title,country\n" + "".join(
        f"x{n},Ann{n},Lee,ann{n}@firm{n % 97}.com,Firm {n % 97},VP Sales,US\n" for n in range(ROWS)
    )
    queue = new_queue()
    try:
        with celery_worker_running(queue=queue, env=WORKER_ENV) as first:
            job = import_job_create(source=source, upload=SimpleUploadedFile("expo.csv", csv.encode()))

            def mid_file() -> bool:
                job.refresh_from_db()
                return 300 <= job.rows_read < ROWS

            wait_for(mid_file, 60, "the reader to be part-way through the file", first.log)
            first.kill()
        job.refresh_from_db()
        assert job.rows_read < ROWS, "the worker finished before it could be killed; make the file longer"
        killed_at = job.rows_read

        with celery_worker_running(queue=queue, env=WORKER_ENV, beat=True) as second:

            def finished() -> bool:
                job.refresh_from_db()
                return job.status == ImportJob.Status.DONE

            wait_for(finished, 120, "the import to finish after the restart", second.log)
    finally:
        purge_queue(queue)

    assert killed_at < ROWS
    assert (job.rows_read, job.rows_imported, job.rows_rejected, job.rows_processed) == (ROWS, ROWS, 0, ROWS)
    leads = Lead.objects.filter(import_job=job)
    assert leads.count() == ROWS
    assert not leads.exclude(pipeline_state=Lead.PipelineState.ROUTED).exists()
    assert Submission.objects.filter(import_job=job).count() == ROWS
    assert SourceRecord.objects.filter(source=source).values("external_id").distinct().count() == ROWS

"""PostgreSQL refusing connections for a few seconds: an import carries on, intake answers 503.

The machine's PostgreSQL is shared, so it is never stopped: the worker (or, for intake, this test
process) reaches it through a TCP proxy the test cuts, which refuses new connections and drops
the open ones mid-query, as a database restart or fail-over does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from leads.imports import import_job_create
from leads.models import ImportJob, Lead, SourceRecord, Submission
from tests.factories import LeadDefinitionFactory, SourceFactory
from tests.faults.payloads import submission
from tests.faults.proxy import TcpProxy, tcp_proxy
from tests.worker import celery_worker_running, database_url, new_queue, purge_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROWS = 2000
# The production connection settings (persistent connections with health checks), small chunks.
WORKER_ENV = {"CONN_MAX_AGE": "60", "IMPORT_CHUNK_ROWS": "100", "PIPELINE_BATCH_SIZE": "100",
              "PIPELINE_STALE_SECONDS": "3", "PIPELINE_SWEEP_SECONDS": "2"}  # fmt: skip


@pytest.fixture
def postgres_proxy(transactional_db) -> Iterator[TcpProxy]:
    db = connection.settings_dict
    with tcp_proxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))) as proxy:
        yield proxy


def test_an_import_finishes_after_the_database_refused_connections_midway(settings, postgres_proxy):
    settings.IMPORT_CHUNK_ROWS = 100
    LeadDefinitionFactory()
    source = SourceFactory(slug="expo")
    csv = "external_id,first_name,last_name,email,company,title,country\n" + "".join(
        f"x{n},Ann{n},Lee,ann{n}@firm{n}.example,Firm {n},VP Sales,US\n" for n in range(ROWS)
    )
    queue = new_queue()
    worker_db = database_url(port=postgres_proxy.port)
    try:
        with celery_worker_running(queue=queue, env=WORKER_ENV, beat=True, database_url=worker_db) as worker:
            job = import_job_create(source=source, upload=SimpleUploadedFile("expo.csv", csv.encode()))

            def midway() -> bool:
                job.refresh_from_db()
                return 200 <= job.rows_processed < ROWS

            wait_for(midway, 60, "the import to be part-way through", worker.log)
            postgres_proxy.cut()
            time.sleep(4)
            job.refresh_from_db()
            cut_at = job.rows_processed
            postgres_proxy.restore()

            def finished() -> bool:
                job.refresh_from_db()
                return job.status == ImportJob.Status.DONE and job.rows_processed == ROWS

            wait_for(finished, 180, "the import to finish after the database came back", worker.log)
            log = worker.log()
    finally:
        purge_queue(queue)
    assert cut_at < ROWS, "the import finished before the database was cut off; make the file longer"
    assert "OperationalError" in log, "the worker never noticed the database was gone"
    assert (job.rows_read, job.rows_imported, job.rows_rejected) == (ROWS, ROWS, 0)
    leads = Lead.objects.filter(import_job=job)
    assert leads.count() == ROWS
    assert not leads.exclude(pipeline_state=Lead.PipelineState.ROUTED).exists()
    assert SourceRecord.objects.filter(source=source).count() == ROWS
    assert SourceRecord.objects.filter(source=source).values("external_id").distinct().count() == ROWS


@pytest.fixture
def web_process_through(postgres_proxy: TcpProxy) -> Iterator[TcpProxy]:
    """This process's own database connection goes through the proxy, as a web server's would."""
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = postgres_proxy.port
    try:
        yield postgres_proxy
    finally:
        if not postgres_proxy.serving:
            postgres_proxy.restore()
        connection.close()
        connection.settings_dict["PORT"] = port


def test_intake_answers_503_with_retry_after_while_the_database_refuses_and_stores_the_retry(
    web_source, web_process_through
):
    source, key = web_source
    client = APIClient()
    body = submission(1)
    web_process_through.cut()

    refused = client.post("/api/intake/", body, format="json", HTTP_X_SOURCE_KEY=key, HTTP_IDEMPOTENCY_KEY="k-1")

    assert refused.status_code == 503
    assert int(refused["Retry-After"]) > 0
    assert "again" in refused.json()["detail"]
    web_process_through.restore()
    stored = client.post("/api/intake/", body, format="json", HTTP_X_SOURCE_KEY=key, HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/intake/", body, format="json", HTTP_X_SOURCE_KEY=key, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (stored.status_code, again.status_code) == (202, 202)
    assert again.json()["replayed"] is True
    assert Submission.objects.filter(source=source).count() == 1


def test_an_api_call_answers_503_rather_than_500_while_the_database_refuses(marketer, web_process_through):
    client = APIClient()
    client.force_authenticate(marketer)
    web_process_through.cut()

    response = client.get("/api/leads/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"

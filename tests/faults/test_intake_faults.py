"""Web-to-lead intake under faults, with real processes: a worker killed mid-batch, a broker restart.

Afterwards every submitted lead exists exactly once and has finished the pipeline: what the
broker lost (a task in a killed worker's hands, a queue wiped by a Redis restart) is re-driven by
the pipeline sweep that beat runs. The machine's Redis is shared, so the restart test starts a
private ``redis-server`` and points both sides at it.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.models import Lead, Source, SourceRecord, Submission
from tests.faults.payloads import submission
from tests.faults.redis_server import private_redis
from tests.worker import ROOT, celery_worker_running, new_queue, purge_queue, tasks_sent_to, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {"PIPELINE_BATCH_SIZE": "25", "PIPELINE_STALE_SECONDS": "3", "PIPELINE_SWEEP_SECONDS": "2"}
ARTIFACTS = ROOT / "test-artifacts"


def post(client: APIClient, key: str, numbers: range) -> None:
    for n in numbers:
        response = client.post("/api/intake/", submission(n), format="json", HTTP_X_SOURCE_KEY=key)
        assert response.status_code == 202, response.content


def routed() -> int:
    return Lead.objects.filter(pipeline_state=Lead.PipelineState.ROUTED).count()


def assert_each_once_and_through(source: Source, total: int) -> None:
    assert Submission.objects.filter(source=source).count() == total
    assert Lead.objects.count() == total
    assert SourceRecord.objects.filter(source=source).values("external_id").distinct().count() == total
    assert SourceRecord.objects.filter(source=source).count() == total
    stuck = Lead.objects.exclude(pipeline_state=Lead.PipelineState.ROUTED).values_list("pk", "pipeline_state")
    assert not stuck.exists(), list(stuck[:10])


def test_intake_drain_survives_its_worker_being_killed_mid_batch(web_source):
    source, key = web_source
    total = 600
    client = APIClient()
    queue = new_queue()
    try:
        with celery_worker_running(queue=queue, env=WORKER_ENV) as first:
            post(client, key, range(400))
            # Kill it once it is working through the pipeline, well before the end.
            started = Lead.objects.exclude(pipeline_state=Lead.PipelineState.RECEIVED)
            wait_for(lambda: started.count() >= 25, 180, "the first batches to be under way", first.log)
            first.kill()
            killed_with = routed()
            # Submissions keep coming while no worker runs: stored, their drains wait in the queue.
            post(client, key, range(400, total))
        assert killed_with < total, "the worker finished before it could be killed; post more"
        with celery_worker_running(queue=queue, env=WORKER_ENV, beat=True) as second:
            wait_for(lambda: routed() == total, 300, "every lead to be routed after the restart", second.log)
    finally:
        purge_queue(queue)
    assert_each_once_and_through(source, total)


def test_intake_survives_a_broker_restart_with_tasks_queued(web_source, caplog):
    source, key = web_source
    client = APIClient()
    queue = new_queue()
    with private_redis(ARTIFACTS) as redis_server:
        # Stored while no worker runs: their drains wait in Redis, and the restart wipes them.
        with tasks_sent_to(queue=queue, broker_url=redis_server.url):
            post(client, key, range(200))
            assert redis_server.queued(queue) > 0
            redis_server.stop()
            # With the broker gone, intake still stores and answers 202 (the drain is not sent).
            post(client, key, range(200, 260))
            assert "pipeline_kick" in caplog.text or "Error calling" in caplog.text
            redis_server.start()
            assert redis_server.queued(queue) == 0, "the restart was meant to lose the queued tasks"
        with celery_worker_running(queue=queue, env=WORKER_ENV, broker_url=redis_server.url, beat=True) as second:
            post(client, key, range(260, 300))
            # Restart it again under a running worker: it reconnects and carries on.
            redis_server.stop()
            redis_server.start()
            post(client, key, range(300, 340))
            wait_for(lambda: routed() == 340, 300, "every lead to be routed after the restarts", second.log)
            assert second.process.poll() is None, "the worker exited when the broker went away"
            assert "Connection to broker lost" in second.log() or "Cannot connect" in second.log()
    assert_each_once_and_through(source, 340)

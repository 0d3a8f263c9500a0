"""A rescore job over a few thousand leads completes through a real Celery worker.

Needs real processes: the chunks go through Redis to a separate worker with two pool processes,
which run them in parallel, each locking its own leads and adding to the same job's counters;
whether the counters add up and the job ends is what only real concurrent transactions show.
"""

import time

import pytest
from django.utils import timezone

from leads.models import Activity, Lead, LeadDefinition, RescoreChunk, RescoreJob, Source, Stage
from scoring.rescore import rescore_job_start
from tests.factories import LeadDefinitionFactory
from tests.worker import celery_worker_running, new_queue, purge_queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEADS = 3000
CHUNK = 100
RULES = {
    "fit": [
        {"id": "vp", "label": "Title is VP", "field": "seniority", "op": "eq", "value": "vp", "points": 40},
        {"id": "us", "label": "In the US", "field": "country", "op": "eq", "value": "US", "points": 10},
    ],
    "engagement": [
        {"id": "webinar", "activity": "webinar", "label": "Attended a webinar", "points": 20, "half_life_days": 30}
    ],
    "thresholds": {"mql": 60},
}
STAGES = [Stage.NEW, Stage.NURTURE, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST]


def wait_for(predicate, timeout: float, what: str, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {what}\n{log()}")


def test_a_rescore_job_completes_through_a_real_worker(settings):
    settings.RESCORE_CHUNK_SIZE = CHUNK  # the chunks are planned where the job starts
    LeadDefinitionFactory(rules={"fit": []}, status=LeadDefinition.Status.RETIRED, retired_at=timezone.now())
    published = LeadDefinitionFactory(rules=RULES)
    source = Source.objects.create(name="Bench", slug="bench")
    leads = Lead.objects.bulk_create(
        Lead(
            source=source,
            email=f"lead{n}@firm{n % 97}.example",
            seniority="vp" if n % 2 else "manager",
            country="US" if n % 3 else "DE",
            stage=STAGES[n % len(STAGES)],
            pipeline_state=Lead.PipelineState.ROUTED,
            score=70 if STAGES[n % len(STAGES)] == Stage.MQL else 0,
        )
        for n in range(LEADS)
    )
    Activity.objects.bulk_create(
        Activity(lead=lead, kind=Activity.Kind.WEBINAR, occurred_at=timezone.now()) for lead in leads[1::4]
    )
    open_leads = Lead.objects.filter(stage__in=STAGES[:6])
    expected = open_leads.count()
    queue = new_queue()
    try:
        with celery_worker_running(queue=queue, env={"RESCORE_CHUNK_SIZE": str(CHUNK)}) as worker:
            job = rescore_job_start(definition=published, reason=RescoreJob.Reason.PUBLISH)

            def done() -> bool:
                job.refresh_from_db()
                return job.status in (RescoreJob.Status.DONE, RescoreJob.Status.FAILED)

            wait_for(done, 120, "the rescore job to finish", worker.log)
            log = worker.log()
    finally:
        purge_queue(queue)

    assert job.status == RescoreJob.Status.DONE, job.error
    assert (job.leads_total, job.leads_done) == (expected, expected)
    assert RescoreChunk.objects.filter(job=job).count() == -(-expected // CHUNK)
    assert sum(RescoreChunk.objects.filter(job=job).values_list("leads", flat=True)) == expected
    assert "Task scoring.tasks.rescore_chunk_task" in log
    # Every open lead rescored under the published version, its breakdown adding up; closed ones untouched.
    assert not open_leads.exclude(definition=published).exists()
    assert not open_leads.filter(scored_at__isnull=True).exists()
    for lead in open_leads.order_by("?")[:200]:
        assert sum(line["points"] for line in lead.score_breakdown) == lead.score
    assert not Lead.objects.exclude(stage__in=STAGES[:6]).exclude(definition=None).exists()
    # The stage rules ran: every remaining new or nurtured lead is below the threshold, and the counts add up.
    assert not Lead.objects.filter(stage__in=[Stage.NEW, Stage.NURTURE], score__gte=60).exists()
    assert not Lead.objects.filter(stage=Stage.MQL, score__lt=60, owner=None).exists()
    assert job.became_mql > 0
    assert job.fell_below_mql > 0

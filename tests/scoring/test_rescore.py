"""Rescoring every open lead in the background: chunks, the ledger, counters, and the stage rules.

Tasks run eagerly here, on commit, as a worker would run them after the commit;
``test_rescore_worker.py`` does the same through a real worker.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Activity, Lead, LeadDefinition, RescoreChunk, RescoreJob, Stage, StageChange
from scoring import rescore
from scoring.rescore import rescore_chunk_run, rescore_chunks_plan, rescore_job_start
from tests.factories import ActivityFactory, LeadDefinitionFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

#: 30 points for a VP, 40 for a webinar today: a VP who attended a webinar qualifies at 60.
RULES = {
    "fit": [{"id": "vp", "label": "Title is VP", "field": "seniority", "op": "eq", "value": "vp", "points": 30}],
    "engagement": [
        {"id": "webinar", "activity": "webinar", "label": "Attended a webinar", "points": 40, "half_life_days": 30}
    ],
    "thresholds": {"mql": 60},
}
OPEN = [Stage.NEW, Stage.NURTURE, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY]


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service and run what it queued on commit (the chunk tasks), as a real commit would."""

    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


@pytest.fixture
def chunks_of_3(settings):
    settings.RESCORE_CHUNK_SIZE = 3


@pytest.fixture
def published():
    """Version 2 just published over version 1."""
    LeadDefinitionFactory(rules={"fit": []}, status=LeadDefinition.Status.RETIRED, retired_at=timezone.now())
    return LeadDefinitionFactory(rules=RULES)


def test_a_rescore_after_publish_updates_every_open_lead_and_records_the_version(run, published, chunks_of_3):
    open_leads = [LeadFactory(stage=stage, seniority="vp") for stage in OPEN for _ in range(2)]
    closed = [
        LeadFactory(stage=stage, junk_reason="test" if stage == Stage.JUNK else "") for stage in ("junk", "won", "lost")
    ]
    merged = LeadFactory(status=Lead.Status.MERGED, merged_into=open_leads[0])
    for lead in open_leads[:3]:
        ActivityFactory(lead=lead, kind=Activity.Kind.WEBINAR)

    job = run(rescore_job_start, definition=published, reason=RescoreJob.Reason.PUBLISH)

    job.refresh_from_db()
    assert (job.status, job.leads_total, job.leads_done) == (RescoreJob.Status.DONE, 12, 12)
    assert job.started_at is not None
    assert job.finished_at >= job.started_at
    assert RescoreChunk.objects.filter(job=job).count() == 4  # 12 leads, 3 a chunk
    for lead in open_leads:
        lead.refresh_from_db()
        assert lead.definition == published
        assert lead.scored_at is not None
        assert lead.fit_score == 30
        assert lead.score == lead.fit_score + lead.engagement_score
        assert sum(line["points"] for line in lead.score_breakdown) == lead.score
    assert [Lead.objects.get(pk=lead.pk).score for lead in open_leads[:4]] == [70, 70, 70, 30]
    for lead in [*closed, merged]:
        lead.refresh_from_db()
        assert (lead.definition, lead.scored_at) == (None, None)


def test_leads_that_cross_the_threshold_move_and_the_job_counts_them(run, published):
    rep = RepFactory().user
    now = timezone.now()
    rising = LeadFactory(stage=Stage.NURTURE, seniority="vp")
    ActivityFactory(lead=rising, kind=Activity.Kind.WEBINAR)
    falling = LeadFactory(stage=Stage.MQL, score=80)
    released = LeadFactory(stage=Stage.MQL, score=80, owner=rep, assigned_at=now, sla_due_at=now + timedelta(hours=4))
    accepted_mql = LeadFactory(stage=Stage.MQL, score=80, owner=rep, assigned_at=now, accepted_at=now)
    sal = LeadFactory(stage=Stage.SAL, score=80, owner=rep, assigned_at=now, accepted_at=now)

    job = run(rescore_job_start, definition=published, reason=RescoreJob.Reason.PUBLISH)

    job.refresh_from_db()
    assert (job.became_mql, job.fell_below_mql) == (1, 2)
    assert Lead.objects.get(pk=rising.pk).stage == Stage.MQL
    assert Lead.objects.get(pk=falling.pk).stage == Stage.NURTURE
    released.refresh_from_db()
    assert (released.stage, released.owner, released.assigned_at, released.sla_due_at) == (
        Stage.NURTURE,
        None,
        None,
        None,
    )
    reason = f"Score 0 fell below the MQL threshold 60 (definition v{published.version})"
    assert StageChange.objects.get(lead=released).reason == reason
    assert Activity.objects.filter(lead=released, kind=Activity.Kind.SYSTEM).count() == 1
    # A rep's accepted lead is not taken back, whatever its new score.
    for lead, stage in ((accepted_mql, Stage.MQL), (sal, Stage.SAL)):
        lead.refresh_from_db()
        assert (lead.stage, lead.owner, lead.score) == (stage, rep, 0)
        assert not StageChange.objects.filter(lead=lead).exists()


def test_each_chunk_counts_once_however_often_its_task_runs(published):
    leads = [LeadFactory(seniority="vp") for _ in range(4)]
    job = rescore_job_start(definition=published, reason=RescoreJob.Reason.MANUAL)  # on_commit not run: no tasks
    args = {"job_id": job.pk, "number": 0, "first_id": leads[0].pk, "last_id": leads[-1].pk, "planned": 4}

    assert rescore_chunk_run(**args) == 4
    assert rescore_chunk_run(**args) == 0

    job.refresh_from_db()
    assert (job.status, job.leads_done) == (RescoreJob.Status.DONE, 4)
    assert RescoreChunk.objects.get(job=job).leads == 4


def test_the_job_runs_once_its_first_chunk_starts_and_is_done_with_the_last(published):
    leads = [LeadFactory() for _ in range(4)]
    job = rescore_job_start(definition=published, reason=RescoreJob.Reason.MANUAL)
    assert (job.status, job.started_at) == (RescoreJob.Status.PENDING, None)
    plan = rescore_chunks_plan([lead.pk for lead in leads], 2)

    rescore_chunk_run(job_id=job.pk, number=1, first_id=plan[1].first_id, last_id=plan[1].last_id, planned=2)

    job.refresh_from_db()
    assert (job.status, job.leads_done, job.finished_at) == (RescoreJob.Status.RUNNING, 2, None)
    assert job.started_at is not None

    rescore_chunk_run(job_id=job.pk, number=0, first_id=plan[0].first_id, last_id=plan[0].last_id, planned=2)

    job.refresh_from_db()
    assert (job.status, job.leads_done) == (RescoreJob.Status.DONE, 4)
    assert job.finished_at is not None


def test_a_lead_that_left_the_open_stages_meanwhile_is_skipped_and_the_job_still_ends(run, published):
    leads = [LeadFactory() for _ in range(3)]
    job = rescore_job_start(definition=published, reason=RescoreJob.Reason.MANUAL)
    Lead.objects.filter(pk=leads[1].pk).update(stage=Stage.WON)

    done = rescore_chunk_run(job_id=job.pk, number=0, first_id=leads[0].pk, last_id=leads[2].pk, planned=3)

    job.refresh_from_db()
    assert done == 2
    assert (job.status, job.leads_done) == (RescoreJob.Status.DONE, 3)
    assert Lead.objects.get(pk=leads[1].pk).scored_at is None


def test_chunks_are_consecutive_id_ranges_of_the_chunk_size():
    plan = rescore_chunks_plan([2, 3, 5, 8, 13, 21, 34], 3)

    assert [(c.number, c.first_id, c.last_id, c.leads) for c in plan] == [
        (0, 2, 5, 3),
        (1, 8, 21, 3),
        (2, 34, 34, 1),
    ]
    assert rescore_chunks_plan([], 3) == []


def test_with_no_open_leads_the_job_is_done_at_once(run, published):
    LeadFactory(stage=Stage.WON)

    job = run(rescore_job_start, definition=published, reason=RescoreJob.Reason.PUBLISH)

    assert (job.status, job.leads_total, job.leads_done) == (RescoreJob.Status.DONE, 0, 0)
    assert job.finished_at is not None


def test_chunks_are_sent_only_once_the_transaction_commits(published, django_capture_on_commit_callbacks):
    LeadFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = rescore_job_start(definition=published, reason=RescoreJob.Reason.PUBLISH, actor=None)

    assert len(callbacks) == 1
    assert not RescoreChunk.objects.filter(job=job).exists()
    assert Lead.objects.get().scored_at is None


def test_a_chunk_under_a_definition_retired_since_writes_nothing(run, published):
    lead = LeadFactory(seniority="vp")
    job = rescore_job_start(definition=published, reason=RescoreJob.Reason.MANUAL)
    LeadDefinition.objects.filter(pk=published.pk).update(status=LeadDefinition.Status.RETIRED)

    rescore_chunk_run(job_id=job.pk, number=0, first_id=lead.pk, last_id=lead.pk, planned=1)

    job.refresh_from_db()
    assert (job.status, job.leads_done) == (RescoreJob.Status.DONE, 1)
    assert Lead.objects.get(pk=lead.pk).scored_at is None


def test_the_job_records_who_started_it(run, published):
    rep = RepFactory().user
    LeadFactory()

    job = run(rescore_job_start, definition=published, reason=RescoreJob.Reason.MANUAL, actor=rep)

    assert job.created_by == rep
    assert job.reason == RescoreJob.Reason.MANUAL


def test_a_chunk_that_fails_marks_the_job_failed_with_the_reason(published, monkeypatch):
    from scoring.tasks import rescore_chunk_task

    lead = LeadFactory()
    job = rescore_job_start(definition=published, reason=RescoreJob.Reason.PUBLISH)

    def broken(leads, definition):
        raise ValueError("engine exploded")

    monkeypatch.setattr(rescore, "_rescore", broken)

    # As a worker runs it: the error is not raised to the sender, the task's failure handler runs.
    outcome = rescore_chunk_task.apply(args=[job.pk, 0, lead.pk, lead.pk, 1], throw=False)

    assert outcome.failed()
    job.refresh_from_db()
    assert job.status == RescoreJob.Status.FAILED
    assert "engine exploded" in job.error
    assert job.leads_done == 0
    assert not RescoreChunk.objects.filter(job=job).exists()  # rolled back: a later run may try again


def test_a_chunk_takes_a_fixed_number_of_queries_whatever_its_size(published):
    """The job, "running", the ledger, the locked leads, their activities, the score and stage updates,
    the stage changes, routing the new MQLs (leads, reps, overflow), the counters: never one per lead."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(count: int) -> int:
        leads = [LeadFactory(seniority="vp", stage=Stage.NURTURE) for _ in range(count)]
        for lead in leads:
            ActivityFactory(lead=lead, kind=Activity.Kind.WEBINAR)
        job = rescore_job_start(definition=published, reason=RescoreJob.Reason.MANUAL)
        with CaptureQueriesContext(connection) as queries:
            rescore_chunk_run(job_id=job.pk, number=0, first_id=leads[0].pk, last_id=leads[-1].pk, planned=count)
        assert Lead.objects.filter(pk__in=[lead.pk for lead in leads], stage=Stage.MQL).count() == count
        return len(queries)

    small, large = queries_for(5), queries_for(40)
    assert large == small
    assert large <= 30


def test_the_sweeper_sends_again_the_chunks_a_killed_worker_lost(run, published, chunks_of_3, settings):
    leads = [LeadFactory(seniority="vp") for _ in range(7)]
    # The job starts, but its chunk messages never reach a worker (lost with the broker or a killed worker).
    job = rescore_job_start(definition=published, reason=RescoreJob.Reason.PUBLISH)
    assert [chunk[0] for chunk in job.plan] == [0, 1, 2]
    run(rescore_chunk_run, job_id=job.pk, number=1, first_id=job.plan[1][1], last_id=job.plan[1][2], planned=3)
    settings.PIPELINE_STALE_SECONDS = 0

    assert run(rescore.rescore_jobs_redrive_stale) == 2  # chunks 0 and 2; chunk 1 ran already

    job.refresh_from_db()
    assert (job.status, job.leads_done) == (RescoreJob.Status.DONE, 7)
    assert {lead.definition_id for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])} == {published.pk}
    assert run(rescore.rescore_jobs_redrive_stale) == 0

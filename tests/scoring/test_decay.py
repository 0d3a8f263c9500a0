"""Engagement decays with time: the daily beat task rescores the leads that have engagement points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from leads.models import Activity, LeadDefinition, RescoreJob, Stage, StageChange
from scoring.engine import ActivityFact, LeadFacts, score_lead
from scoring.services import lead_score
from scoring.tasks import rescore_decay_task
from tests.factories import ActivityFactory, LeadDefinitionFactory, LeadFactory

PRICING = {"id": "pricing", "activity": "pricing_visit", "label": "Visited pricing page", "points": 20,
           "half_life_days": 14, "max_count": 2}  # fmt: skip
RULES = {"fit": [], "engagement": [PRICING], "thresholds": {"mql": 15}}
NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("age_days", "points"), [(0, 20), (14, 10), (28, 5)])
def test_a_pricing_visit_is_worth_half_as_much_every_half_life(age_days, points):
    facts = LeadFacts(fields={}, activities=[ActivityFact("pricing_visit", NOW - timedelta(days=age_days))])

    result = score_lead(facts, RULES, NOW)

    assert (result.total, result.engagement) == (points, points)
    [line] = result.breakdown()
    assert (line["points"], line["base_points"], line["age_days"]) == (points, 20, age_days)


@pytest.mark.django_db
def test_a_stored_score_decays_when_the_lead_is_rescored_later():
    LeadDefinitionFactory(rules=RULES)
    lead = LeadFactory()
    ActivityFactory(lead=lead, kind=Activity.Kind.PRICING_VISIT, occurred_at=NOW - timedelta(days=14))

    lead_score(lead=lead, at=NOW)
    assert (lead.engagement_score, lead.score) == (10, 10)
    assert lead.score_breakdown[0]["text"] == "+10 Visited pricing page 14 days ago (decayed from 20)"

    lead_score(lead=lead, at=NOW + timedelta(days=14))
    assert (lead.engagement_score, lead.score) == (5, 5)


@pytest.fixture
def run_beat_task(django_capture_on_commit_callbacks):
    """Run the daily task and the chunks it sends on commit, as beat and a worker would."""

    def call():
        with django_capture_on_commit_callbacks(execute=True):
            return rescore_decay_task.apply().get()

    return call


@pytest.mark.django_db
def test_the_daily_task_rescores_the_open_leads_with_engagement_under_the_published_definition(run_beat_task):
    definition = LeadDefinitionFactory(rules=RULES)
    now = timezone.now()
    two_weeks_ago = now - timedelta(days=14)
    fading = LeadFactory()
    ActivityFactory(lead=fading, kind=Activity.Kind.PRICING_VISIT, occurred_at=two_weeks_ago)
    lead_score(lead=fading, at=two_weeks_ago)  # the visit was new then: 20, over the threshold of 15
    assert (fading.engagement_score, fading.stage) == (20, Stage.MQL)
    older = LeadFactory(stage=Stage.NURTURE)
    ActivityFactory(lead=older, kind=Activity.Kind.PRICING_VISIT, occurred_at=now - timedelta(days=28))
    lead_score(lead=older, at=two_weeks_ago)
    assert (older.engagement_score, older.stage) == (10, Stage.NURTURE)
    no_engagement = LeadFactory()
    won = LeadFactory(stage=Stage.WON, engagement_score=20)

    job_id = run_beat_task()

    job = RescoreJob.objects.get(pk=job_id)
    assert (job.reason, job.definition, job.status) == (RescoreJob.Reason.DECAY, definition, RescoreJob.Status.DONE)
    assert (job.leads_total, job.leads_done, job.fell_below_mql) == (2, 2, 1)
    fading.refresh_from_db()
    older.refresh_from_db()
    assert (fading.engagement_score, fading.stage) == (10, Stage.NURTURE)  # 10 is below 15: back to nurture
    assert StageChange.objects.get(lead=fading, to_stage=Stage.NURTURE).reason.startswith(
        "Score 10 fell below the MQL threshold 15"
    )
    assert (older.engagement_score, older.stage) == (5, Stage.NURTURE)
    no_engagement.refresh_from_db()
    won.refresh_from_db()
    assert no_engagement.scored_at is None
    assert (won.scored_at, won.engagement_score) == (None, 20)


@pytest.mark.django_db
def test_without_a_published_definition_the_daily_task_does_nothing(run_beat_task):
    LeadDefinitionFactory(status=LeadDefinition.Status.DRAFT, published_at=None)
    LeadFactory(engagement_score=10)

    assert run_beat_task() is None
    assert not RescoreJob.objects.exists()


@pytest.mark.django_db
def test_a_decay_job_still_going_is_not_started_twice(run_beat_task):
    definition = LeadDefinitionFactory(rules=RULES)
    LeadFactory(engagement_score=10)
    RescoreJob.objects.create(definition=definition, reason=RescoreJob.Reason.DECAY, leads_total=1)

    assert run_beat_task() is None
    assert RescoreJob.objects.count() == 1


def test_beat_runs_the_decay_daily_at_three_utc():
    entry = settings.CELERY_BEAT_SCHEDULE["rescore-decay"]

    assert entry["task"] == "scoring.tasks.rescore_decay_task"
    assert entry["schedule"] == crontab(hour=3, minute=0)
    assert not getattr(settings, "CELERY_TIMEZONE", None)  # Celery's clock is UTC

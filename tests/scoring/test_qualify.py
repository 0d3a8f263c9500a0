"""The stage rules that follow a score: one set, for the pipeline, a single rescore and the background job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Activity, Lead, Stage, StageChange
from leads.pipeline import leads_score
from scoring.qualify import stage_move
from scoring.services import lead_score
from tests.factories import ActivityFactory, LeadDefinitionFactory, LeadFactory, RepFactory

RULES = {"fit": [], "engagement": [], "thresholds": {"mql": 60}}
MUST_BE_US = {"id": "us", "label": "In the US", "field": "country", "op": "eq", "value": "US"}
HOT = {"fit": [{"id": "vp", "label": "Title is VP", "field": "seniority", "op": "eq", "value": "vp", "points": 70}]}


def move(stage: str, score: int, *, owner_id=None, accepted=False, fields=None, rules=RULES):
    return stage_move(
        stage=stage,
        owner_id=owner_id,
        accepted_at=timezone.now() if accepted else None,
        score=score,
        fields=fields or {},
        rules=rules,
        version=3,
    )


# --- The rules, on plain values -----------------------------------------------------------------


@pytest.mark.parametrize("stage", [Stage.NEW, Stage.NURTURE])
def test_a_new_or_nurtured_lead_at_the_threshold_becomes_an_mql(stage):
    verdict = move(stage, 60)

    assert (verdict.from_stage, verdict.to_stage) == (stage, Stage.MQL)
    assert verdict.reason == "Score 60 reached the MQL threshold 60 (definition v3)"
    assert verdict.into_mql
    assert not verdict.release_owner


@pytest.mark.parametrize("stage", [Stage.NEW, Stage.NURTURE])
def test_a_lead_below_the_threshold_stays(stage):
    assert move(stage, 59) is None


def test_must_have_conditions_must_all_hold_to_qualify():
    rules = {
        **RULES,
        "thresholds": {
            "mql": 60,
            "must_have": [MUST_BE_US, {**MUST_BE_US, "field": "email_is_business", "value": True}],
        },
    }

    assert move(Stage.NEW, 90, rules=rules, fields={"country": "US", "email_is_business": True}).into_mql
    assert move(Stage.NEW, 90, rules=rules, fields={"country": "DE", "email_is_business": True}) is None
    assert move(Stage.NEW, 90, rules=rules, fields={"country": "US", "email_is_business": False}) is None
    assert move(Stage.NEW, 90, rules=rules, fields={}) is None


def test_an_unowned_mql_that_falls_below_goes_back_to_nurture():
    verdict = move(Stage.MQL, 41)

    assert (verdict.from_stage, verdict.to_stage) == (Stage.MQL, Stage.NURTURE)
    assert verdict.reason == "Score 41 fell below the MQL threshold 60 (definition v3)"
    assert verdict.out_of_mql
    assert not verdict.release_owner


def test_an_mql_whose_owner_has_not_accepted_it_is_released_when_it_falls_below():
    verdict = move(Stage.MQL, 41, owner_id=7)

    assert verdict.to_stage == Stage.NURTURE
    assert verdict.release_owner


def test_an_mql_a_rep_accepted_is_not_taken_back():
    assert move(Stage.MQL, 5, owner_id=7, accepted=True) is None


@pytest.mark.parametrize("stage", [Stage.SAL, Stage.SQL, Stage.OPPORTUNITY])
def test_accepted_stages_keep_their_stage_whatever_the_score(stage):
    assert move(stage, -50, owner_id=7, accepted=True) is None
    assert move(stage, 500, owner_id=7, accepted=True) is None


@pytest.mark.parametrize("stage", [Stage.JUNK, Stage.WON, Stage.LOST])
def test_closed_stages_are_left_alone(stage):
    assert move(stage, 100) is None
    assert move(stage, 0) is None


def test_an_mql_still_at_the_threshold_stays():
    assert move(Stage.MQL, 60) is None


def test_the_default_threshold_is_60_when_the_rules_name_none():
    assert move(Stage.NEW, 60, rules={}).into_mql
    assert move(Stage.NEW, 59, rules={}) is None


# --- Applied where scores are stored -------------------------------------------------------------


@pytest.mark.django_db
def test_rescoring_one_lead_over_the_threshold_makes_it_an_mql():
    definition = LeadDefinitionFactory(rules=HOT)
    lead = LeadFactory(seniority="vp", stage=Stage.NURTURE)

    lead_score(lead=lead)

    assert lead.stage == Stage.MQL
    [change] = StageChange.objects.filter(lead=lead)
    assert (change.from_stage, change.to_stage, change.actor) == (Stage.NURTURE, Stage.MQL, None)
    assert change.reason == f"Score 70 reached the MQL threshold 60 (definition v{definition.version})"


@pytest.mark.django_db
def test_rescoring_an_assigned_but_unaccepted_mql_below_the_threshold_releases_it():
    definition = LeadDefinitionFactory(rules={"fit": []})
    rep = RepFactory().user
    now = timezone.now()
    lead = LeadFactory(stage=Stage.MQL, owner=rep, assigned_at=now, sla_due_at=now + timedelta(hours=2))

    lead_score(lead=lead)

    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.assigned_at, lead.sla_due_at) == (Stage.NURTURE, None, None, None)
    change = StageChange.objects.get(lead=lead)
    assert change.reason == f"Score 0 fell below the MQL threshold 60 (definition v{definition.version})"
    notice = Activity.objects.get(lead=lead, kind=Activity.Kind.SYSTEM)
    assert notice.subject.startswith("Score 0 fell below the MQL threshold 60")
    assert notice.meta == {"previous_owner": rep.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("stage", [Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY])
def test_rescoring_a_lead_a_rep_accepted_does_not_take_it_back(stage):
    LeadDefinitionFactory(rules={"fit": []})
    rep = RepFactory().user
    now = timezone.now()
    lead = LeadFactory(stage=stage, owner=rep, assigned_at=now, accepted_at=now, score=90)

    lead_score(lead=lead)

    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.score) == (stage, rep, 0)
    assert not StageChange.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_a_lead_still_in_the_pipeline_is_scored_but_its_stage_waits_for_the_scoring_step():
    LeadDefinitionFactory(rules=HOT)
    lead = LeadFactory(seniority="vp", pipeline_state=Lead.PipelineState.MATCHED)

    lead_score(lead=lead)

    assert (lead.score, lead.stage) == (70, Stage.NEW)


@pytest.mark.django_db
def test_the_pipeline_scoring_step_applies_the_must_have_conditions():
    rules = {**HOT, "thresholds": {"mql": 60, "must_have": [MUST_BE_US]}}
    LeadDefinitionFactory(rules=rules)
    in_us = LeadFactory(seniority="vp", country="US", pipeline_state=Lead.PipelineState.SCREENED)
    in_de = LeadFactory(seniority="vp", country="DE", pipeline_state=Lead.PipelineState.SCREENED)

    leads_score(lead_ids=[in_us.pk, in_de.pk])

    in_us.refresh_from_db()
    in_de.refresh_from_db()
    assert (in_us.stage, in_us.score) == (Stage.MQL, 70)
    assert (in_de.stage, in_de.score) == (Stage.NEW, 70)


@pytest.mark.django_db
def test_an_activity_that_lifts_a_lead_over_the_threshold_makes_it_an_mql(django_capture_on_commit_callbacks):
    from leads.activities import activity_record

    LeadDefinitionFactory(
        rules={"engagement": [{"id": "demo", "activity": "webinar", "label": "Webinar", "points": 60}]}
    )
    lead = LeadFactory(stage=Stage.NURTURE)
    ActivityFactory(lead=lead, kind=Activity.Kind.NOTE)

    with django_capture_on_commit_callbacks(execute=True):
        activity_record(lead=lead, kind=Activity.Kind.WEBINAR, subject="Pricing webinar")

    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (60, Stage.MQL)


@pytest.mark.django_db
def test_the_rescore_task_does_nothing_without_a_published_definition_or_a_lead():
    from scoring.tasks import lead_score_task

    lead = LeadFactory(seniority="vp")

    assert lead_score_task.apply(args=[lead.pk]).get() is None
    assert lead_score_task.apply(args=[lead.pk + 1000]).get() is None
    assert Lead.objects.get(pk=lead.pk).scored_at is None

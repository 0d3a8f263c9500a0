"""What publishing a draft would change: computed in the background, in bulk, without touching the leads."""

from __future__ import annotations

import pytest
from django.utils import timezone

from leads.models import Activity, DefinitionPreview, Lead, LeadDefinition, Stage
from scoring import preview as preview_module
from scoring.preview import definition_preview_compute, definition_preview_start, preview_is_current, rules_digest
from tests.factories import (
    ActivityFactory,
    LeadDefinitionFactory,
    LeadFactory,
    RepFactory,
    SourceFactory,
    TerritoryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

#: The published version scores nothing; the draft gives 70 to a VP and 20 to a webinar attendee.
DRAFT_RULES = {
    "fit": [{"id": "vp", "label": "Title is VP", "field": "seniority", "op": "eq", "value": "vp", "points": 70}],
    "engagement": [{"id": "webinar", "activity": "webinar", "label": "Webinar", "points": 20, "half_life_days": 30}],
    "thresholds": {"mql": 60},
}


@pytest.fixture
def draft():
    LeadDefinitionFactory(rules={"fit": []})
    return LeadDefinitionFactory(status=LeadDefinition.Status.DRAFT, published_at=None, rules=DRAFT_RULES)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


def test_the_digest_is_of_the_rules_canonical_json():
    assert rules_digest({"a": 1, "b": [1, 2]}) == rules_digest({"b": [1, 2], "a": 1})
    assert rules_digest({"a": 1}) != rules_digest({"a": 2})
    assert len(rules_digest({})) == 64


def test_a_preview_counts_who_would_move_into_and_out_of_mql_by_source_and_territory(run, draft):
    web, expo = SourceFactory(slug="web"), SourceFactory(slug="expo")
    TerritoryFactory(name="North America", priority=10, countries=["US", "CA"])
    TerritoryFactory(name="Closed", priority=1, countries=["US"], is_active=False)
    rising_us = LeadFactory(
        source=web, seniority="vp", country="US", stage=Stage.NEW, first_name="Ann", last_name="Lee"
    )
    rising_de = LeadFactory(source=expo, seniority="vp", country="DE", stage=Stage.NURTURE)
    falling = LeadFactory(source=web, country="US", stage=Stage.MQL, score=75)
    rep = RepFactory().user
    now = timezone.now()
    LeadFactory(source=web, stage=Stage.MQL, score=75, owner=rep, assigned_at=now, accepted_at=now)  # accepted
    LeadFactory(source=web, stage=Stage.SAL, score=75, owner=rep, assigned_at=now, accepted_at=now)
    LeadFactory(source=web, seniority="vp", stage=Stage.WON)  # closed: not considered
    LeadFactory(source=web, stage=Stage.NEW)  # stays new
    webinar_only = LeadFactory(source=expo, stage=Stage.MQL, score=80, country="CA")
    ActivityFactory(lead=webinar_only, kind=Activity.Kind.WEBINAR)

    preview = run(definition_preview_start, definition=draft, user=UserFactory())

    preview.refresh_from_db()
    assert preview.status == DefinitionPreview.Status.DONE
    assert preview.finished_at is not None
    assert preview.leads_considered == 7
    result = preview.result
    assert (result["into_mql"], result["out_of_mql"]) == (2, 2)
    assert result["by_source"] == {"expo": {"into": 1, "out": 1}, "web": {"into": 1, "out": 1}}
    assert result["by_territory"] == {"North America": {"into": 1, "out": 2}, "No territory": {"into": 1, "out": 0}}
    assert result["sample_into"] == [
        {"id": rising_us.pk, "name": "Ann Lee", "company": rising_us.company, "score_before": 0, "score_after": 70},
        {
            "id": rising_de.pk,
            "name": rising_de.full_name,
            "company": rising_de.company,
            "score_before": 0,
            "score_after": 70,
        },
    ]
    assert [(s["id"], s["score_before"], s["score_after"]) for s in result["sample_out"]] == [
        (falling.pk, 75, 0),
        (webinar_only.pk, 80, 20),
    ]
    # Nothing was written to the leads.
    assert Lead.objects.get(pk=rising_us.pk).stage == Stage.NEW
    assert Lead.objects.get(pk=falling.pk).stage == Stage.MQL
    assert not Lead.objects.filter(scored_at__isnull=False).exists()


def test_the_draft_must_have_conditions_count_too(run, draft):
    draft.rules = {
        **DRAFT_RULES,
        "thresholds": {"mql": 60, "must_have": [{"field": "country", "op": "eq", "value": "US"}]},
    }
    draft.save()
    LeadFactory(seniority="vp", country="US")
    LeadFactory(seniority="vp", country="DE")

    preview = run(definition_preview_start, definition=draft, user=None)

    preview.refresh_from_db()
    assert preview.result["into_mql"] == 1


def test_samples_are_capped_at_ten_each(run, draft):
    for _ in range(12):
        LeadFactory(seniority="vp")

    preview = run(definition_preview_start, definition=draft, user=None)

    preview.refresh_from_db()
    assert preview.result["into_mql"] == 12
    assert len(preview.result["sample_into"]) == 10
    assert preview.result["sample_out"] == []


def test_the_preview_is_computed_only_once_the_transaction_commits(draft, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        preview = definition_preview_start(definition=draft, user=user)

    assert len(callbacks) == 1
    assert (preview.status, preview.created_by, preview.result) == (DefinitionPreview.Status.PENDING, user, {})
    assert preview.rules_digest == rules_digest(DRAFT_RULES)


def test_a_preview_goes_stale_when_the_draft_changes(run, draft):
    preview = run(definition_preview_start, definition=draft, user=None)
    assert preview_is_current(preview)

    draft.rules = {**DRAFT_RULES, "thresholds": {"mql": 50}}
    draft.save()
    preview.refresh_from_db()

    assert not preview_is_current(preview)


def test_the_preview_reads_leads_in_chunks_with_one_activities_query_each(
    draft, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(preview_module, "PREVIEW_CHUNK_SIZE", 10)
    for n in range(35):
        lead = LeadFactory(seniority="vp" if n % 2 else "")
        ActivityFactory(lead=lead, kind=Activity.Kind.WEBINAR)
    preview = DefinitionPreview.objects.create(definition=draft, rules_digest=rules_digest(draft.rules))

    # running, territories, 4 chunks of leads + their activities, the empty 5th page, done, refresh
    with django_assert_max_num_queries(14):
        definition_preview_compute(preview=preview)

    assert preview.leads_considered == 35
    assert preview.result["into_mql"] == 17  # the VPs: 70 + 20 for the webinar; the others have only 20


def test_a_preview_whose_task_fails_says_so(draft, monkeypatch):
    from scoring.tasks import definition_preview_task

    preview = DefinitionPreview.objects.create(definition=draft, rules_digest=rules_digest(draft.rules))
    LeadFactory(seniority="vp")

    def broken(*args, **kwargs):
        raise ValueError("territories unreadable")

    monkeypatch.setattr(preview_module, "territory_for", broken)

    outcome = definition_preview_task.apply(args=[preview.pk], throw=False)

    assert outcome.failed()
    preview.refresh_from_db()
    assert preview.status == DefinitionPreview.Status.FAILED
    assert "territories unreadable" in preview.error

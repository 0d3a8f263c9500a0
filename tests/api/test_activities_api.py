"""Activities over the API: people add them to a lead, tools report engagement by e-mail address.

Engagement rescores the lead once committed (tasks run eagerly here), so a lead can become an MQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Activity, Lead, LeadDefinition, SourceRecord, Stage, StageChange
from tests.factories import LeadDefinitionFactory, LeadFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

#: A webinar is worth 60: one is enough to reach the MQL threshold.
RULES = {
    "fit": [],
    "engagement": [{"id": "webinar", "activity": "webinar", "label": "Attended a webinar", "points": 60}],
    "thresholds": {"mql": 60},
}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def definition() -> LeadDefinition:
    return LeadDefinitionFactory(rules=RULES)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Send a request and run what it queued on commit (the rescoring), as a real commit would."""

    def call(send, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send(*args, **kwargs)

    return call


@pytest.fixture
def tool():
    """A marketing-automation source with its key."""
    source = SourceFactory(slug="automation")
    source.key = source.set_new_api_key()
    source.save()
    return source


def report(tool, data, committed):
    return committed(APIClient().post, "/api/activities/", data, format="json", HTTP_X_SOURCE_KEY=tool.key)


# --- POST /api/leads/{id}/activities/ -------------------------------------------------------------


def test_marketing_adds_an_engagement_activity_and_the_lead_becomes_an_mql(client_as, marketer, definition, committed):
    lead = LeadFactory(stage=Stage.NURTURE)
    at = timezone.now() - timedelta(hours=1)

    response = committed(
        client_as(marketer).post,
        f"/api/leads/{lead.pk}/activities/",
        {"kind": "webinar", "occurred_at": at.isoformat(), "subject": "Q3 product webinar", "meta": {"minutes": 48}},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    activity = Activity.objects.get(pk=body["id"])
    assert (activity.lead, activity.kind, activity.subject, activity.actor) == (
        lead,
        "webinar",
        "Q3 product webinar",
        marketer,
    )
    assert activity.occurred_at == at
    assert body["actor"] == marketer.username
    assert body["meta"] == {"minutes": 48}
    lead.refresh_from_db()
    assert lead.last_activity_at == at
    assert (lead.score, lead.stage, lead.definition) == (60, Stage.MQL, definition)
    assert StageChange.objects.filter(lead=lead, to_stage=Stage.MQL).exists()
    assert lead.score_breakdown[0]["text"] == "+60 Attended a webinar today"


def test_a_note_is_recorded_but_changes_no_score(client_as, marketer, definition, committed):
    lead = LeadFactory(stage=Stage.NEW)

    response = committed(
        client_as(marketer).post, f"/api/leads/{lead.pk}/activities/", {"kind": "note", "body": "Called twice"}
    )

    assert response.status_code == 201, response.content
    lead.refresh_from_db()
    assert (lead.scored_at, lead.stage) == (None, Stage.NEW)
    assert lead.last_activity_at is not None


def test_the_new_activity_shows_on_the_timeline(client_as, rep, committed):
    lead = LeadFactory(owner=rep, stage=Stage.SAL)
    client = client_as(rep)

    committed(client.post, f"/api/leads/{lead.pk}/activities/", {"kind": "call", "subject": "Discovery call"})

    timeline = client.get(f"/api/leads/{lead.pk}/activities/").json()["results"]
    assert [(a["kind"], a["subject"], a["actor"]) for a in timeline] == [("call", "Discovery call", rep.username)]


def test_a_rep_may_log_on_a_claimable_lead_but_gets_404_for_another_reps(client_as, rep, other_rep, committed):
    claimable = LeadFactory(stage=Stage.MQL, owner=None)
    others = LeadFactory(stage=Stage.SAL, owner=other_rep)
    client = client_as(rep)

    ok = committed(client.post, f"/api/leads/{claimable.pk}/activities/", {"kind": "note", "body": "Looks keen"})
    hidden = committed(client.post, f"/api/leads/{others.pk}/activities/", {"kind": "note", "body": "?"})

    assert ok.status_code == 201, ok.content
    assert hidden.status_code == 404
    assert not Activity.objects.filter(lead=others).exists()


def test_adding_an_activity_needs_the_add_activity_permission(client_as, committed):
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_lead", "view_all_leads", "view_activity"])
    )
    lead = LeadFactory()

    response = committed(client_as(viewer).post, f"/api/leads/{lead.pk}/activities/", {"kind": "note", "body": "x"})

    assert response.status_code == 403
    assert client_as(viewer).get(f"/api/leads/{lead.pk}/activities/").status_code == 200


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"kind": "telepathy"}, "kind", "is not a valid choice"),
        ({"kind": "system"}, "kind", "written by LeadFlow itself"),
        ({}, "kind", "required"),
        ({"kind": "webinar", "occurred_at": "yesterday"}, "occurred_at", "Datetime has wrong format"),
        ({"kind": "webinar", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at", "5 minutes in the future"),
        ({"kind": "webinar", "subject": "x" * 301}, "subject", "no more than 300 characters"),
        ({"kind": "webinar", "url": "https://x.example/" + "a" * 500}, "url", "no more than 500 characters"),
        ({"kind": "webinar", "meta": ["not", "an", "object"]}, "meta", "Expected a dictionary"),
        ({"kind": "webinar", "meta": {"blob": "x" * 5000}}, "meta", "at most 4000 bytes"),
    ],
)
def test_a_bad_activity_is_a_400_naming_the_field(client_as, marketer, committed, payload, field, words):
    lead = LeadFactory()

    response = committed(client_as(marketer).post, f"/api/leads/{lead.pk}/activities/", payload, format="json")

    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert not Activity.objects.filter(lead=lead).exists()


def test_a_time_a_few_minutes_ahead_is_accepted_for_clock_drift(client_as, marketer, committed):
    lead = LeadFactory()
    ahead = timezone.now() + timedelta(minutes=2)

    response = committed(
        client_as(marketer).post,
        f"/api/leads/{lead.pk}/activities/",
        {"kind": "email_open", "occurred_at": ahead.isoformat()},
        format="json",
    )

    assert response.status_code == 201, response.content


# --- POST /api/activities/ (tools, by e-mail address) ---------------------------------------------


def test_a_tool_reports_engagement_by_email_and_every_active_lead_with_it_is_rescored(tool, definition, committed):
    first = LeadFactory(source=tool, email="ann@globex.example", stage=Stage.NEW)
    second = LeadFactory(source=tool, email="ann@globex.example", stage=Stage.NURTURE)
    merged = LeadFactory(source=tool, email="ann@globex.example", status=Lead.Status.MERGED, merged_into=first)
    LeadFactory(source=tool, email="bob@globex.example")

    response = report(tool, {"email": "  Ann@Globex.example ", "kind": "webinar", "subject": "Launch"}, committed)

    assert response.status_code == 202, response.content
    body = response.json()
    assert sorted(body["leads"]) == sorted([first.pk, second.pk])
    activities = Activity.objects.filter(pk__in=body["activities"])
    assert {a.lead_id for a in activities} == {first.pk, second.pk}
    assert all(a.meta == {"source": "automation"} and a.actor is None for a in activities)
    for lead in (first, second):
        lead.refresh_from_db()
        assert (lead.score, lead.stage) == (60, Stage.MQL)
    assert not Activity.objects.filter(lead=merged).exists()


def test_an_unknown_email_is_a_404_that_says_so(tool, definition, committed):
    response = report(tool, {"email": "nobody@nowhere.example", "kind": "webinar"}, committed)

    assert response.status_code == 404
    assert "No active lead of this source has the e-mail address 'nobody@nowhere.example'" in response.json()["detail"]
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "webinar"}, "email"),
        ({"email": "not an address", "kind": "webinar"}, "email"),
        ({"email": "ann@globex.example", "kind": "teleport"}, "kind"),
        ({"email": "ann@globex.example", "kind": "webinar", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ],
)
def test_a_bad_report_is_a_400_naming_the_field(tool, committed, payload, field):
    LeadFactory(source=tool, email="ann@globex.example")

    response = report(tool, payload, committed)

    assert response.status_code == 400
    assert field in response.json()


def test_reports_need_an_active_source_key(tool, committed):
    LeadFactory(source=tool, email="ann@globex.example")
    data = {"email": "ann@globex.example", "kind": "webinar"}

    no_key = committed(APIClient().post, "/api/activities/", data, format="json")
    bad_key = committed(APIClient().post, "/api/activities/", data, format="json", HTTP_X_SOURCE_KEY="lf_wrong")
    tool.is_active = False
    tool.save()
    revoked = report(tool, data, committed)

    assert [no_key.status_code, bad_key.status_code, revoked.status_code] == [401, 401, 401]
    assert not Activity.objects.exists()


def test_reports_share_the_sources_rate_limit(tool, committed):
    tool.rate_limit_per_minute = 2
    tool.save()
    LeadFactory(source=tool, email="ann@globex.example")
    data = {"email": "ann@globex.example", "kind": "email_open"}

    codes = [report(tool, data, committed).status_code for _ in range(3)]

    assert codes == [202, 202, 429]
    assert Activity.objects.count() == 2


def test_a_report_for_a_lead_still_in_the_pipeline_is_left_for_its_scoring_step(tool, definition, committed):
    lead = LeadFactory(source=tool, email="ann@globex.example", pipeline_state=Lead.PipelineState.NORMALIZED)

    response = report(tool, {"email": "ann@globex.example", "kind": "webinar"}, committed)

    assert response.status_code == 202
    lead.refresh_from_db()
    assert (lead.scored_at, lead.stage) == (None, Stage.NEW)


def test_a_tool_touches_only_its_own_sources_leads_and_those_it_sent_a_record_into(tool, definition, committed):
    other_source = SourceFactory(slug="partner")
    own = LeadFactory(source=tool, email="ann@globex.example")
    foreign = LeadFactory(source=other_source, email="ann@globex.example")
    # A lead of another source that this tool's submission was merged into (its record moved there).
    fed = LeadFactory(source=other_source, email="ann@globex.example")
    SourceRecord.objects.create(lead=fed, source=tool, external_id="crm-7")
    only_foreign = LeadFactory(source=other_source, email="bob@globex.example")

    response = report(tool, {"email": "ann@globex.example", "kind": "webinar"}, committed)
    refused = report(tool, {"email": "bob@globex.example", "kind": "webinar"}, committed)

    assert response.status_code == 202, response.content
    assert sorted(response.json()["leads"]) == sorted([own.pk, fed.pk])
    assert refused.status_code == 404
    assert "No active lead of this source" in refused.json()["detail"]
    assert not Activity.objects.filter(lead__in=[foreign, only_foreign]).exists()
    foreign.refresh_from_db()
    assert foreign.score != 60

"""/api/leads/: who sees which lead, filters and pages, stage moves, claims, edits and intake."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Activity, AuditEvent, Lead, SourceRecord, Stage, StageChange, Submission
from tests.factories import (
    PASSWORD,
    ActivityFactory,
    CampaignFactory,
    LeadFactory,
    SourceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LEADS = "/api/leads/"


def detail(lead: Lead, suffix: str = "") -> str:
    return f"{LEADS}{lead.pk}/{suffix}"


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


# --- Reading ---------------------------------------------------------------------------------


def test_lead_shows_score_provenance_and_source_records(client_as, marketer, rep, published_definition):
    campaign = CampaignFactory(slug="spring-webinar")
    lead = LeadFactory(
        source=campaign.source,
        campaign=campaign,
        owner=rep,
        stage=Stage.MQL,
        score=72,
        fit_score=50,
        engagement_score=22,
        score_breakdown=[
            {
                "rule": "vp",
                "kind": "fit",
                "label": "VP",
                "points": 50,
                "base_points": 50,
                "age_days": None,
                "text": "+50 VP",
            }
        ],
        definition=published_definition,
    )
    SourceRecord.objects.create(lead=lead, source=campaign.source, external_id="crm-17")

    body = client_as(marketer).get(detail(lead)).json()

    assert body["source"] == campaign.source.slug
    assert body["campaign"] == "spring-webinar"
    assert body["owner"] == "rick"
    assert (body["score"], body["fit_score"], body["engagement_score"]) == (72, 50, 22)
    assert body["score_breakdown"][0]["text"] == "+50 VP"
    assert body["definition_version"] == published_definition.version
    assert body["source_record_ids"] == [{"source": campaign.source.slug, "external_id": "crm-17"}]


def test_marketing_sees_every_lead(client_as, marketer, rep, other_rep):
    leads = [LeadFactory(owner=rep), LeadFactory(owner=other_rep), LeadFactory()]

    response = client_as(marketer).get(LEADS)

    assert response.status_code == 200
    assert ids(response) == {lead.pk for lead in leads}


def test_rep_sees_own_and_claimable_leads_only(client_as, rep, other_rep):
    own = LeadFactory(owner=rep, stage=Stage.SAL)
    claimable = LeadFactory(stage=Stage.MQL)
    LeadFactory(owner=other_rep, stage=Stage.SAL)
    LeadFactory(stage=Stage.NEW)  # unowned but not qualified: not for sales yet

    response = client_as(rep).get(LEADS)

    assert ids(response) == {own.pk, claimable.pk}


def test_rep_gets_404_for_another_reps_lead_on_read_and_write(client_as, rep, other_rep):
    theirs = LeadFactory(owner=other_rep, stage=Stage.MQL, pipeline_state=Lead.PipelineState.ROUTED)
    client = client_as(rep)

    assert client.get(detail(theirs)).status_code == 404
    assert client.patch(detail(theirs), {"title": "CEO"}, format="json").status_code == 404
    assert client.post(detail(theirs, "stage/"), {"stage": "sal"}, format="json").status_code == 404
    assert client.post(detail(theirs, "claim/")).status_code == 404
    assert client.get(detail(theirs, "activities/")).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.owner, theirs.stage, theirs.title) == (other_rep, Stage.MQL, "Head of Operations")


def test_filters_by_stage_and_source(client_as, marketer):
    web = SourceFactory(slug="web")
    mql = LeadFactory(source=web, stage=Stage.MQL)
    sal = LeadFactory(source=web, stage=Stage.SAL)
    LeadFactory(source=web, stage=Stage.NEW)
    other_source_mql = LeadFactory(stage=Stage.MQL)
    client = client_as(marketer)

    assert ids(client.get(LEADS, {"stage": ["mql", "sal"]})) == {mql.pk, sal.pk, other_source_mql.pk}
    assert ids(client.get(LEADS, {"stage": "mql", "source": "web"})) == {mql.pk}


def test_unknown_filter_value_is_a_400_naming_the_filter(client_as, marketer):
    response = client_as(marketer).get(LEADS, {"stage": "hot"})

    assert response.status_code == 400
    assert "stage" in response.json()


def test_search_matches_company_and_email_prefix(client_as, marketer):
    globex = LeadFactory(company="Globex Corporation", email="hank@globex.example")
    LeadFactory(company="Initech", email="peter@initech.example")
    client = client_as(marketer)

    assert ids(client.get(LEADS, {"q": "globex"})) == {globex.pk}
    assert ids(client.get(LEADS, {"q": "HANK@glob"})) == {globex.pk}


def test_pages_follow_the_cursor_without_overlap(client_as, marketer):
    leads = LeadFactory.create_batch(5)
    client = client_as(marketer)

    first = client.get(LEADS, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    pages = [[row["id"] for row in page["results"]] for page in (first, second, third)]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [pk for page in pages for pk in page] == sorted((lead.pk for lead in leads), reverse=True)
    assert third["next"] is None


def test_page_size_is_capped_at_1000(client_as, marketer):
    source = SourceFactory()
    Lead.objects.bulk_create(Lead(source=source, email=f"bulk{i}@example.com") for i in range(1001))

    body = client_as(marketer).get(LEADS, {"page_size": 5000}).json()

    assert len(body["results"]) == 1000
    assert body["next"] is not None


def test_list_costs_the_same_queries_for_many_leads(client_as, marketer, rep, django_assert_max_num_queries):
    for lead in LeadFactory.create_batch(30, owner=rep, campaign=CampaignFactory()):
        SourceRecord.objects.create(lead=lead, source=lead.source, external_id=f"x{lead.pk}")
    client = client_as(marketer)
    client.get(LEADS)  # warm the user's permission cache like any later request would have

    with django_assert_max_num_queries(4):
        response = client.get(LEADS)

    assert len(response.json()["results"]) == 30


# --- Stage changes and claims ------------------------------------------------------------------


def test_stage_change_moves_the_lead_and_records_who_and_why(client_as, marketer):
    lead = LeadFactory(stage=Stage.NEW)

    response = client_as(marketer).post(
        detail(lead, "stage/"), {"stage": "nurture", "reason": "Budget next year"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["stage"] == "nurture"
    history = client_as(marketer).get(detail(lead, "stage-changes/")).json()["results"]
    assert [(h["from_stage"], h["to_stage"], h["actor"], h["reason"]) for h in history] == [
        ("new", "nurture", "mara", "Budget next year")
    ]
    event = AuditEvent.objects.get(action="lead.stage_change")
    assert (event.actor, event.object_id, event.ip_address) == (marketer, str(lead.pk), "127.0.0.1")


def test_transition_the_lifecycle_forbids_is_a_400_naming_stage(client_as, lf_admin):
    lead = LeadFactory(stage=Stage.NEW)

    response = client_as(lf_admin).post(detail(lead, "stage/"), {"stage": "won"}, format="json")

    assert response.status_code == 400
    assert "cannot move to Won" in response.json()["stage"][0]
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW
    assert not StageChange.objects.exists()


def test_junk_without_a_reason_is_a_400_naming_reason_code(client_as, marketer):
    lead = LeadFactory(stage=Stage.NEW)

    response = client_as(marketer).post(detail(lead, "stage/"), {"stage": "junk", "reason": "spam"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["reason_code"]
    assert "disqualified reasons list" in response.json()["reason_code"][0]
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW


def test_unknown_stage_is_a_400_naming_stage(client_as, marketer):
    lead = LeadFactory(stage=Stage.NEW)

    response = client_as(marketer).post(detail(lead, "stage/"), {"stage": "hot"}, format="json")

    assert response.status_code == 400
    assert "stage" in response.json()


def test_rep_moves_own_lead_but_not_one_they_only_may_claim(client_as, rep):
    own = LeadFactory(owner=rep, stage=Stage.MQL)
    claimable = LeadFactory(stage=Stage.MQL)
    client = client_as(rep)

    assert client.post(detail(own, "stage/"), {"stage": "sal"}, format="json").status_code == 200
    assert client.post(detail(claimable, "stage/"), {"stage": "sal"}, format="json").status_code == 403
    own.refresh_from_db()
    claimable.refresh_from_db()
    assert (own.stage, own.accepted_at is not None) == (Stage.SAL, True)
    assert claimable.stage == Stage.MQL


def test_claim_gives_the_lead_to_the_rep_and_a_second_claim_is_a_400(client_as, rep):
    lead = LeadFactory(stage=Stage.MQL)
    client = client_as(rep)

    first = client.post(detail(lead, "claim/"))
    second = client.post(detail(lead, "claim/"))

    assert first.status_code == 200
    assert first.json()["owner"] == "rick"
    assert second.status_code == 400
    assert "no longer free" in second.json()["non_field_errors"][0]
    assert AuditEvent.objects.filter(action="lead.claim").count() == 1


def test_claim_needs_work_lead_permission(client_as, marketer):
    lead = LeadFactory(stage=Stage.MQL)

    response = client_as(marketer).post(detail(lead, "claim/"))

    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner is None


def test_timeline_is_paginated_newest_first(client_as, rep):
    lead = LeadFactory(owner=rep, stage=Stage.SAL)
    now = timezone.now()
    for days in (3, 1, 2):
        ActivityFactory(lead=lead, occurred_at=now - datetime.timedelta(days=days), subject=f"{days} days ago")
    ActivityFactory(subject="another lead's")
    client = client_as(rep)

    first = client.get(detail(lead, "activities/"), {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    subjects = [row["subject"] for row in first["results"] + second["results"]]
    assert subjects == ["1 days ago", "2 days ago", "3 days ago"]
    assert Activity.objects.count() == 4


# --- Editing -----------------------------------------------------------------------------------


def test_patch_cleans_details_like_intake_and_leaves_an_audit_event(client_as, marketer):
    lead = LeadFactory(email="old@acme.example", title="Engineer", country="US")

    response = client_as(marketer).patch(
        detail(lead), {"email": "  Jane@NewCo.Example ", "title": "VP of Sales"}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["email"] == "jane@newco.example"
    assert body["company_domain"] == "newco.example"
    assert body["seniority"] == "vp"
    event = AuditEvent.objects.get(action="lead.update")
    assert event.changes["email"] == ["old@acme.example", "jane@newco.example"]
    assert event.actor == marketer


def test_patch_rescores_a_scored_lead_once_committed(
    client_as, marketer, published_definition, django_capture_on_commit_callbacks
):
    lead = LeadFactory(title="Intern", seniority="", scored_at=timezone.now(), score=0)

    with django_capture_on_commit_callbacks(execute=True):
        client_as(marketer).patch(detail(lead), {"title": "Chief Executive Officer"}, format="json")

    lead.refresh_from_db()
    assert lead.seniority == "c_level"
    assert lead.definition == published_definition
    assert lead.score > 0


def test_patch_refuses_stage_owner_and_score_naming_each(client_as, marketer, rep):
    lead = LeadFactory(stage=Stage.NEW)

    response = client_as(marketer).patch(
        detail(lead), {"stage": "won", "owner": rep.pk, "score": 99, "title": "CEO"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"stage", "owner", "score"}
    assert "/stage/" in errors["stage"][0]
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.score, lead.title) == (Stage.NEW, None, 0, "Head of Operations")


def test_patch_with_an_invalid_email_is_a_400_naming_email(client_as, marketer):
    lead = LeadFactory()

    response = client_as(marketer).patch(detail(lead), {"email": "not an address"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()


def test_rep_edits_own_lead_but_not_a_claimable_one(client_as, rep):
    own = LeadFactory(owner=rep, stage=Stage.SAL)
    claimable = LeadFactory(stage=Stage.MQL)
    client = client_as(rep)

    assert client.patch(detail(own), {"city": "Boston"}, format="json").status_code == 200
    assert client.patch(detail(claimable), {"city": "Boston"}, format="json").status_code == 403


def test_leads_are_never_replaced_or_deleted_over_the_api(client_as, marketer):
    lead = LeadFactory()
    client = client_as(marketer)

    assert client.put(detail(lead), {"title": "CEO"}, format="json").status_code == 405
    assert client.delete(detail(lead)).status_code == 405
    assert Lead.objects.filter(pk=lead.pk).exists()


# --- Sending leads in --------------------------------------------------------------------------


def test_new_lead_goes_through_intake_and_the_pipeline(
    client_as, marketer, published_definition, django_capture_on_commit_callbacks
):
    source = SourceFactory(slug="partner-portal")
    campaign = CampaignFactory(source=source, slug="q3-partners")
    payload = {
        "source": "partner-portal",
        "campaign": "q3-partners",
        "external_id": "pp-42",
        "name": "ADA LOVELACE",
        "email": " Ada@Analytical.Example ",
        "phone": "+1 415 555 0134",
        "title": "VP Engineering",
        "country": "United States",
        "extra": {"utm_source": "newsletter"},
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(marketer).post(LEADS, payload, format="json")

    assert response.status_code == 202, response.json()
    lead = Lead.objects.get(pk=response.json()["lead"]["id"])
    assert Submission.objects.get(pk=response.json()["submission_id"]).lead == lead
    assert (lead.first_name, lead.last_name, lead.email) == ("Ada", "Lovelace", "ada@analytical.example")
    assert (lead.phone, lead.country, lead.seniority) == ("+14155550134", "US", "vp")
    assert lead.campaign == campaign
    assert lead.extra == {"utm_source": "newsletter"}
    assert lead.pipeline_state == Lead.PipelineState.ROUTED
    assert lead.definition == published_definition
    assert list(lead.source_records.values_list("external_id", flat=True)) == ["pp-42"]
    assert AuditEvent.objects.get(action="lead.submit").actor == marketer


def test_a_retried_request_with_the_same_idempotency_key_makes_no_second_lead(client_as, marketer):
    SourceFactory(slug="web")
    client = client_as(marketer)
    payload = {"source": "web", "email": "grace@hopper.example"}

    first = client.post(LEADS, payload, format="json", HTTP_IDEMPOTENCY_KEY="form-7")
    retry = client.post(LEADS, payload, format="json", HTTP_IDEMPOTENCY_KEY="form-7")

    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["submission_id"] == first.json()["submission_id"]
    assert retry.json()["lead"]["id"] == first.json()["lead"]["id"]
    assert Lead.objects.count() == 1


def test_new_lead_without_email_phone_or_name_is_a_400_naming_email(client_as, marketer):
    SourceFactory(slug="web")

    response = client_as(marketer).post(LEADS, {"source": "web", "company": "Acme"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"source": "nope", "email": "a@b.example"}, "source"),
        ({"email": "a@b.example"}, "source"),
        ({"source": "web", "email": "a@b.example", "stage": "mql"}, "stage"),
        ({"source": "web", "email": "a@b.example", "utm_medium": "cpc"}, "utm_medium"),
        ({"source": "web", "email": ["a@b.example"]}, "email"),
    ],
)
def test_bad_new_lead_is_a_400_naming_the_field(client_as, marketer, payload, field):
    SourceFactory(slug="web")

    response = client_as(marketer).post(LEADS, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()


def test_inactive_source_takes_no_new_leads(client_as, marketer):
    SourceFactory(slug="old-form", is_active=False)

    response = client_as(marketer).post(LEADS, {"source": "old-form", "email": "a@b.example"}, format="json")

    assert response.status_code == 400
    assert "inactive" in response.json()["source"][0]


def test_rep_may_not_send_leads_in(client_as, rep):
    SourceFactory(slug="web")

    response = client_as(rep).post(LEADS, {"source": "web", "email": "a@b.example"}, format="json")

    assert response.status_code == 403


# --- Authentication ----------------------------------------------------------------------------


def test_integration_user_gets_a_token_and_reads_leads_with_it(marketer):
    integration = UserFactory(username="zapier", roles=["marketing"])
    lead = LeadFactory()
    client = APIClient()

    token = client.post("/api/auth/token/", {"username": "zapier", "password": PASSWORD}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(LEADS)

    assert token == Token.objects.get(user=integration).key
    assert response.status_code == 200
    assert ids(response) == {lead.pk}


def test_bad_token_and_no_credentials_are_refused():
    LeadFactory()
    client = APIClient()

    anonymous = client.get(LEADS)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    bad_token = client.get(LEADS)

    # 401 with a challenge: token authentication comes first in settings.
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"
    assert "results" not in anonymous.json()
    assert bad_token.status_code == 401
    assert bad_token.json() == {"detail": "Invalid token."}


def test_session_signed_in_user_reads_leads(marketer):
    client = APIClient()
    client.login(username="mara", password=PASSWORD)

    assert client.get(LEADS).status_code == 200


@pytest.mark.parametrize("moment", ["0150-05-23T20:41:46+23:18", "2026-01-01T00:00:00-20:00"])
def test_a_date_filter_with_an_offset_postgresql_refuses_still_answers(client_as, marketer, moment):
    lead = LeadFactory()

    response = client_as(marketer).get(LEADS, {"created_after": moment})

    assert response.status_code == 200
    assert ids(response) == {lead.pk}


def test_a_date_filter_past_year_9999_in_utc_is_refused_naming_the_field(client_as, marketer):
    response = client_as(marketer).get(LEADS, {"created_before": "9999-12-31T23:00:00-05:00"})

    assert response.status_code == 400
    assert "created_before" in response.json()


def test_filtering_by_several_stages_and_sources_lists_each_lead_once_without_distinct(client_as, marketer):
    web, expo = SourceFactory(slug="web"), SourceFactory(slug="expo")
    leads = [LeadFactory(source=web, stage="new"), LeadFactory(source=expo, stage="mql")]
    LeadFactory(source=SourceFactory(slug="other"), stage="new")
    client = client_as(marketer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(LEADS, {"source": ["web", "expo"], "stage": ["new", "mql"]})

    assert [row["id"] for row in response.json()["results"]] == [lead.pk for lead in reversed(leads)]
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"] and "leads_lead" in q["sql"]]

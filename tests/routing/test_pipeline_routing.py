"""Qualified leads reach reps through the pipeline and through rescoring, not only by hand."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leads.activities import activity_record
from leads.models import Activity, Lead, Stage
from routing.models import Assignment
from tests.factories import LeadDefinitionFactory, LeadFactory, RepFactory, SourceFactory, TerritoryMembershipFactory

pytestmark = pytest.mark.django_db

RULES = {
    "fit": [{"id": "vp", "label": "Title is VP or above", "field": "seniority", "op": "in", "value": ["vp"],
             "points": 50}],
    "engagement": [{"id": "webinar", "activity": "webinar", "label": "Attended a webinar", "points": 20,
                    "half_life_days": 30}],
    "thresholds": {"mql": 60},
    "screening": {"b2b_only": True},
}  # fmt: skip


@pytest.fixture
def us_rep():
    LeadDefinitionFactory(rules=RULES)
    membership = TerritoryMembershipFactory(territory__countries=["US"], rep=RepFactory(user__username="rick"))
    return membership.rep


def test_a_web_lead_that_qualifies_is_assigned_to_a_territory_rep(us_rep, django_capture_on_commit_callbacks):
    cache.clear()
    source = SourceFactory(slug="web")
    key = source.set_new_api_key()
    source.save()
    body = {"email": "ann@globex.com", "first_name": "Ann", "title": "VP Sales", "company": "Globex", "country": "US"}
    with django_capture_on_commit_callbacks(execute=True):
        # fit 50 without the webinar's 20: scored, not an MQL (60), so not routed
        APIClient().post("/api/intake/", body, format="json", HTTP_X_SOURCE_KEY=key)
    lead = Lead.objects.get()
    assert (lead.stage, lead.owner, lead.pipeline_state) == (Stage.NEW, None, Lead.PipelineState.ROUTED)

    with django_capture_on_commit_callbacks(execute=True):
        activity_record(lead=lead, kind=Activity.Kind.WEBINAR, subject="Q4 webinar")

    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, us_rep.user)
    assert Assignment.objects.get(lead=lead).rule == "territory_round_robin"
    assert lead.sla_due_at is not None


def test_an_imported_mql_is_routed_in_the_pipeline(us_rep, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from leads.imports import import_job_create

    source = SourceFactory(slug="fair")
    csv = "email,first_name,title,company,country\nkim@initech.com,Kim,VP Marketing,Initech,US\n"
    with django_capture_on_commit_callbacks(execute=True):
        import_job_create(source=source, upload=SimpleUploadedFile("fair.csv", csv.encode()))
    lead = Lead.objects.get(email="kim@initech.com")
    assert lead.score == 50
    assert lead.owner is None  # 50 < 60: not qualified, not routed

    qualified = LeadFactory(seniority="vp", country="US", stage=Stage.NEW, pipeline_state=Lead.PipelineState.SCORED)
    qualified.stage = Stage.MQL
    qualified.save(update_fields=["stage"])
    from leads.pipeline import leads_route

    assert leads_route(lead_ids=[qualified.pk]) == 1
    qualified.refresh_from_db()
    assert (qualified.owner, qualified.pipeline_state) == (us_rep.user, Lead.PipelineState.ROUTED)

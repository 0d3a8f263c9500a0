"""A lead's page: everything about it, who may see it, and moving it between stages."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Activity, AuditEvent, Lead, SourceRecord, Stage, StageChange
from scoring.services import lead_score
from tests.factories import ActivityFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db


def detail_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.pk])


def stage_url(lead: Lead) -> str:
    return reverse("leads:stage", args=[lead.pk])


def test_lead_page_shows_fields_score_breakdown_and_provenance(client, marketer, published_definition):
    source = SourceFactory(name="Website form", slug="web")
    lead = LeadFactory(
        source=source,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@engines.example",
        phone="+442071234567",
        seniority=Lead.Seniority.VP,
        industry="software",
        employees=500,
        country="US",
        city="London",
        extra={"utm_source": "newsletter"},
        invalid_fields={"postal_code": "not a postal code in GB"},
    )
    ActivityFactory(lead=lead, kind=Activity.Kind.PRICING_VISIT, subject="Visited /pricing")
    SourceRecord.objects.create(lead=lead, source=source, external_id="form-4711")
    lead_score(lead=lead, definition=published_definition)
    client.force_login(marketer)

    html = client.get(detail_url(lead)).content.decode()

    for expected in ("Ada Lovelace", "ada@engines.example", "+442071234567", "London", "VP", "Website form"):
        assert expected in html
    assert f">{lead.score}<" in html
    for line in lead.score_breakdown:
        assert line["text"] in html  # e.g. "+20 Title is VP or above"
    assert "+20 Visited pricing page today" in html
    assert "form-4711" in html
    assert '<td><code>utm_source</code></td><td class="break">newsletter</td>' in html
    assert "<td><code>postal_code</code></td><td>not a postal code in GB</td>" in html
    assert f"lead definition v{published_definition.version}" in html


def test_junk_reason_is_shown(client, marketer):
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Competitor domain rivalcrm.com")
    client.force_login(marketer)

    assert "Competitor domain rivalcrm.com" in client.get(detail_url(lead)).content.decode()


def test_timeline_merges_activities_and_stage_changes_newest_first(client, marketer):
    lead = LeadFactory(stage=Stage.MQL)
    now = timezone.now()
    ActivityFactory(lead=lead, subject="Downloaded the whitepaper", occurred_at=now - datetime.timedelta(days=3))
    change = StageChange.objects.create(lead=lead, from_stage=Stage.NEW, to_stage=Stage.MQL, reason="Scored 72")
    StageChange.objects.filter(pk=change.pk).update(created_at=now - datetime.timedelta(days=2))
    ActivityFactory(lead=lead, subject="Called, left a voicemail", kind=Activity.Kind.CALL, occurred_at=now)
    client.force_login(marketer)

    timeline = client.get(detail_url(lead)).context["timeline"]

    assert [(entry.kind, entry.title) for entry in timeline] == [
        ("activity", "Called, left a voicemail"),
        ("stage", "New → MQL"),
        ("activity", "Downloaded the whitepaper"),
    ]
    assert timeline[1].body == "Scored 72"


def test_rep_gets_404_for_another_reps_lead(client, rep, other_rep):
    lead = LeadFactory(stage=Stage.SAL, owner=other_rep)
    client.force_login(rep)

    assert client.get(detail_url(lead)).status_code == 404
    assert client.post(stage_url(lead), {"stage": Stage.SQL}).status_code == 404
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL


def test_rep_sees_own_lead_and_claimable_ones(client, rep):
    own = LeadFactory(stage=Stage.SAL, owner=rep)
    claimable = LeadFactory(stage=Stage.MQL)
    client.force_login(rep)

    assert client.get(detail_url(own)).status_code == 200
    response = client.get(detail_url(claimable))
    assert response.status_code == 200
    assert reverse("routing:claim", args=[claimable.pk]) in response.content.decode()


def test_unknown_lead_is_404(client, marketer):
    client.force_login(marketer)

    assert client.get("/leads/999999/").status_code == 404


def test_stage_change_moves_the_stage_and_records_who_and_why(client, marketer):
    lead = LeadFactory(stage=Stage.NEW)
    client.force_login(marketer)

    response = client.post(stage_url(lead), {"stage": Stage.NURTURE, "reason": "Not ready, revisit in Q3"})

    assert response.status_code == 302
    assert response.url == detail_url(lead)
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.actor, change.reason) == (
        Stage.NEW,
        Stage.NURTURE,
        marketer,
        "Not ready, revisit in Q3",
    )
    assert AuditEvent.objects.filter(action="lead.stage_change", object_id=str(lead.pk)).exists()
    page = client.get(response.url).content.decode()
    assert "Moved to Nurture." in page
    assert "New → Nurture" in page


def test_stage_form_offers_only_the_moves_the_lifecycle_allows(client, marketer):
    lead = LeadFactory(stage=Stage.NEW)
    client.force_login(marketer)

    html = client.get(detail_url(lead)).content.decode()
    form = html[html.index('id="stage-form"') :]
    options = re.findall(r'<option value="(\w+)"', form[: form.index("</select>")])

    assert sorted(options) == sorted([Stage.JUNK, Stage.NURTURE, Stage.MQL])


def test_move_the_lifecycle_forbids_shows_the_error_and_changes_nothing(client, lf_admin):
    lead = LeadFactory(stage=Stage.NEW)
    client.force_login(lf_admin)

    response = client.post(stage_url(lead), {"stage": Stage.WON})

    assert response.status_code == 400
    assert "A lead in stage New cannot move to Won." in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW
    assert not StageChange.objects.filter(lead=lead).exists()


def test_move_that_needs_a_reason_says_so_and_keeps_what_was_typed(client, marketer):
    lead = LeadFactory(stage=Stage.NEW)
    client.force_login(marketer)

    response = client.post(stage_url(lead), {"stage": Stage.JUNK, "reason": "   "})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Moving a lead to Junk needs a reason from the disqualified reasons list." in html
    assert re.search(r'<option value="junk" selected>', html)
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW


def test_unknown_stage_is_refused_by_the_form(client, marketer):
    lead = LeadFactory(stage=Stage.NEW)
    client.force_login(marketer)

    response = client.post(stage_url(lead), {"stage": "promoted"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_rep_moves_own_lead(client, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    client.force_login(rep)

    response = client.post(stage_url(lead), {"stage": Stage.SAL})

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL
    assert lead.accepted_at is not None


def test_rep_may_not_move_a_lead_they_do_not_own(client, rep):
    claimable = LeadFactory(stage=Stage.MQL)
    client.force_login(rep)

    assert 'id="stage-form"' not in client.get(detail_url(claimable)).content.decode()
    assert client.post(stage_url(claimable), {"stage": Stage.SAL}).status_code == 403
    claimable.refresh_from_db()
    assert claimable.stage == Stage.MQL


def test_stage_change_needs_post(client, marketer):
    lead = LeadFactory()
    client.force_login(marketer)

    assert client.get(stage_url(lead)).status_code == 405


def test_final_stage_offers_no_moves(client, marketer):
    lead = LeadFactory(stage=Stage.WON)
    client.force_login(marketer)

    html = client.get(detail_url(lead)).content.decode()

    assert "there are no further moves" in html
    assert 'id="stage-form"' not in html

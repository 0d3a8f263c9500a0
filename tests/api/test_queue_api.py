"""A rep answering routed leads over the API (accept, reject with a reason) and reassigning by hand."""

from __future__ import annotations

import pytest

from leads.models import AuditEvent, Stage
from routing.models import Assignment, Rejection, Rep
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def url(lead, action: str) -> str:
    return f"/api/leads/{lead.pk}/{action}/"


def test_the_owner_accepts(client_as, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)

    response = client_as(rep).post(url(lead, "accept"))

    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "sal"
    lead.refresh_from_db()
    assert lead.accepted_at is not None


def test_accepting_twice_is_a_400_naming_the_stage(client_as, rep):
    lead = LeadFactory(owner=rep, stage=Stage.SAL)

    response = client_as(rep).post(url(lead, "accept"))

    assert response.status_code == 400
    assert "stage" in response.json()


def test_the_owner_rejects_with_a_reason_and_a_note(client_as, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)

    response = client_as(rep).post(url(lead, "reject"), {"reason": "junk", "note": "Test entry"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["stage"], response.json()["owner"]) == ("junk", None)
    rejection = Rejection.objects.get(lead=lead)
    assert (rejection.reason, rejection.note, rejection.source_id) == ("junk", "Test entry", lead.source_id)


@pytest.mark.parametrize("body", [{}, {"reason": "boring"}])
def test_a_missing_or_unknown_reason_is_a_400_naming_reason(client_as, rep, body):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)

    response = client_as(rep).post(url(lead, "reject"), body, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()
    assert not Rejection.objects.exists()


def test_another_reps_lead_cannot_be_answered(client_as, rep, other_rep):
    lead = LeadFactory(owner=other_rep, stage=Stage.MQL)

    assert client_as(rep).post(url(lead, "accept")).status_code == 404
    assert client_as(rep).post(url(lead, "reject"), {"reason": "junk"}, format="json").status_code == 404


def test_marketing_cannot_accept_for_a_rep(client_as, marketer, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)

    assert client_as(marketer).post(url(lead, "accept")).status_code == 403


def test_marketing_reassigns_to_a_rep_with_room(client_as, marketer, rep, other_rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)

    response = client_as(marketer).post(url(lead, "reassign"), {"rep": other_rep.pk, "reason": "Speaks German"})

    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert lead.owner == other_rep
    assignment = Assignment.objects.get(lead=lead)
    assert (assignment.rule, assignment.assigned_by, assignment.reason) == ("manual", marketer, "Speaks German")
    assert AuditEvent.objects.filter(action="lead.reassign", object_id=str(lead.pk)).exists()


def test_reassigning_to_a_full_rep_or_no_rep_is_a_400(client_as, marketer, rep, other_rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    Rep.objects.filter(user=other_rep).update(max_open_leads=0)

    full = client_as(marketer).post(url(lead, "reassign"), {"rep": other_rep.pk})
    nobody = client_as(marketer).post(url(lead, "reassign"), {"rep": marketer.pk})
    missing = client_as(marketer).post(url(lead, "reassign"), {})

    assert full.status_code == 400
    assert "at capacity" in full.json()["rep"][0]
    assert nobody.status_code == 400
    assert "rep" in nobody.json()
    assert missing.status_code == 400
    assert "rep" in missing.json()


def test_a_rep_may_not_reassign(client_as, rep, other_rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)

    assert client_as(rep).post(url(lead, "reassign"), {"rep": other_rep.pk}).status_code == 403

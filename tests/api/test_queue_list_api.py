"""GET /api/queue/: the caller's own open leads, most urgent first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Stage
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_a_rep_gets_their_own_open_leads_most_urgent_first(api_client, rep, other_rep):
    now = timezone.now()
    later = LeadFactory(owner=rep, stage=Stage.MQL, score=90, sla_due_at=now + timedelta(hours=5))
    sooner = LeadFactory(owner=rep, stage=Stage.MQL, score=60, sla_due_at=now + timedelta(hours=1))
    accepted = LeadFactory(owner=rep, stage=Stage.SAL, score=70, sla_due_at=now + timedelta(hours=3), accepted_at=now)
    LeadFactory(owner=other_rep, stage=Stage.MQL)
    LeadFactory(owner=rep, stage=Stage.WON)
    api_client.force_authenticate(rep)

    response = api_client.get("/api/queue/")

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body] == [sooner.pk, accepted.pk, later.pk]
    assert [row["waiting_for_answer"] for row in body] == [True, False, True]
    assert body[0]["score_breakdown"] == sooner.score_breakdown


def test_a_user_without_a_queue_is_refused(api_client, marketer):
    api_client.force_authenticate(marketer)
    assert api_client.get("/api/queue/").status_code == 403


def test_anonymous_is_refused(api_client):
    assert api_client.get("/api/queue/").status_code in (401, 403)


def test_the_queue_gives_the_50_most_urgent_unless_asked_for_more(api_client, rep):
    now = timezone.now()
    leads = [LeadFactory(owner=rep, stage=Stage.SAL, sla_due_at=now + timedelta(minutes=n)) for n in range(53)]
    api_client.force_authenticate(rep)

    default = api_client.get("/api/queue/").json()
    three = api_client.get("/api/queue/", {"limit": 3}).json()
    everything = api_client.get("/api/queue/", {"limit": 500}).json()

    assert [row["id"] for row in default] == [lead.pk for lead in leads[:50]]
    assert [row["id"] for row in three] == [lead.pk for lead in leads[:3]]
    assert len(everything) == 53


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_a_limit_out_of_range_is_a_400(api_client, rep, limit):
    api_client.force_authenticate(rep)
    response = api_client.get("/api/queue/", {"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()

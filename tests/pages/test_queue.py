"""A rep's "My queue": their open leads by urgency, their load, and claiming free leads."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.models import Activity, Stage
from routing.models import Rep
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/queue/"


def claim_url(lead) -> str:
    return reverse("routing:claim", args=[lead.pk])


def test_queue_lists_own_open_leads_by_sla_then_score(client, rep, other_rep):
    now = timezone.now()
    later_hot = LeadFactory(owner=rep, stage=Stage.SAL, score=90, sla_due_at=now + datetime.timedelta(hours=5))
    soon = LeadFactory(owner=rep, stage=Stage.MQL, score=40, sla_due_at=now + datetime.timedelta(hours=1))
    later_cold = LeadFactory(owner=rep, stage=Stage.SQL, score=10, sla_due_at=now + datetime.timedelta(hours=5))
    LeadFactory(owner=rep, stage=Stage.WON)
    LeadFactory(owner=other_rep, stage=Stage.SAL)
    client.force_login(rep)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert [lead.pk for lead in response.context["queue"]] == [soon.pk, later_hot.pk, later_cold.pk]


def test_sla_shows_time_left_and_overdue_in_red(client, rep):
    now = timezone.now()
    LeadFactory(owner=rep, stage=Stage.SAL, sla_due_at=now - datetime.timedelta(hours=3, minutes=5))
    LeadFactory(owner=rep, stage=Stage.SAL, sla_due_at=now + datetime.timedelta(hours=2, minutes=30))
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert '<span class="overdue">Overdue by 3\xa0hours' in html
    assert "2\xa0hours, 29\xa0minutes left" in html or "2\xa0hours, 30\xa0minutes left" in html


def test_score_breakdown_is_one_click_away(client, rep):
    LeadFactory(
        owner=rep,
        stage=Stage.SAL,
        score=20,
        score_breakdown=[{"rule": "vp", "kind": "fit", "points": 20, "text": "+20 Title is VP or above"}],
    )
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert '<details class="score-details">' in html
    assert "+20 Title is VP or above" in html


def test_load_meter_compares_open_leads_with_capacity(client, rep):
    Rep.objects.filter(user=rep).update(max_open_leads=4)
    LeadFactory(owner=rep, stage=Stage.SAL)
    LeadFactory(owner=rep, stage=Stage.SQL)
    LeadFactory(owner=rep, stage=Stage.OPPORTUNITY)  # open work, though not in the queue
    LeadFactory(owner=rep, stage=Stage.WON)
    LeadFactory(owner=rep, stage=Stage.NURTURE)
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert '<strong id="load-count">3</strong> of 4 open leads' in html
    assert 'max="4" value="3"' in html


def test_rep_at_capacity_is_told_so(client, rep):
    Rep.objects.filter(user=rep).update(max_open_leads=1)
    LeadFactory(owner=rep, stage=Stage.SAL)
    client.force_login(rep)

    assert "You are at capacity" in client.get(QUEUE).content.decode()


def test_sales_user_without_rep_profile_still_gets_the_page(client):
    client.force_login(UserFactory(roles=["sales"]))

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert "no rep profile yet" in response.content.decode()


def test_claimable_panel_lists_unowned_mqls_with_a_claim_button(client, rep, other_rep):
    free = LeadFactory(stage=Stage.MQL, email="free@mql.example")
    LeadFactory(stage=Stage.MQL, owner=other_rep, email="taken@mql.example")
    LeadFactory(stage=Stage.NEW, email="new@new.example")
    client.force_login(rep)

    response = client.get(QUEUE)

    assert [lead.pk for lead in response.context["claimable"]] == [free.pk]
    html = response.content.decode()
    assert f'hx-post="{claim_url(free)}"' in html
    assert "taken@mql.example" not in html


def test_claim_makes_the_rep_the_owner(client, rep):
    lead = LeadFactory(stage=Stage.MQL)
    client.force_login(rep)

    response = client.post(claim_url(lead))

    assert response.status_code == 302
    assert response.url == reverse("routing:queue")
    lead.refresh_from_db()
    assert lead.owner == rep
    assert lead.assigned_at is not None
    assert lead.activities.filter(kind=Activity.Kind.SYSTEM, subject="Claimed by rick").exists()
    page = client.get(QUEUE)
    assert [queued.pk for queued in page.context["queue"]] == [lead.pk]
    assert "is yours now" in page.content.decode()


def test_claim_through_htmx_ends_with_the_new_queue_body(client, rep):
    lead = LeadFactory(stage=Stage.MQL, email="claim@me.example")
    client.force_login(rep)

    response = client.post(claim_url(lead), headers={"HX-Request": "true"}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [(QUEUE, 302)]
    assert "<html" not in html
    assert html.count('id="queue-body"') == 1
    assert 'id="messages" class="messages" role="status" aria-live="polite" hx-swap-oob="true"' in html
    assert "is yours now" in html
    assert [queued.pk for queued in response.context["queue"]] == [lead.pk]


def test_claiming_a_lead_someone_else_took_shows_why(client, rep, other_rep):
    lead = LeadFactory(stage=Stage.MQL)
    client.force_login(rep)
    lead.owner = other_rep
    lead.save()

    response = client.post(claim_url(lead), follow=True)

    # Now another rep's lead: it no longer exists for this rep.
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.owner == other_rep


def test_claiming_a_lead_no_longer_claimable_shows_the_services_message(client, rep):
    lead = LeadFactory(stage=Stage.SAL, owner=rep)
    client.force_login(rep)

    response = client.post(claim_url(lead), follow=True)

    assert response.status_code == 200
    assert "This lead is no longer free to claim." in response.content.decode()


def test_claim_needs_post(client, rep):
    lead = LeadFactory(stage=Stage.MQL)
    client.force_login(rep)

    assert client.get(claim_url(lead)).status_code == 405


@pytest.mark.parametrize("role", ["marketing", "admin"])
def test_only_reps_have_a_queue(client, role):
    lead = LeadFactory(stage=Stage.MQL)
    client.force_login(UserFactory(roles=[role]))

    assert client.get(QUEUE).status_code == 403
    assert client.post(claim_url(lead)).status_code == 403
    lead.refresh_from_db()
    assert lead.owner is None


def test_queue_queries_do_not_grow_with_the_rows(client, rep):
    client.force_login(rep)

    def queries_for_queue() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(QUEUE).status_code == 200
        return len(queries)

    LeadFactory(owner=rep, stage=Stage.SAL)
    LeadFactory(stage=Stage.MQL)
    few = queries_for_queue()
    for _ in range(10):
        LeadFactory(owner=rep, stage=Stage.SAL)
        LeadFactory(stage=Stage.MQL)

    assert queries_for_queue() == few

"""A rep's "My queue": their open leads by urgency, their load and appetite, accepting and rejecting what routing
gave them, and claiming from overflow."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.models import Activity, AuditEvent, Stage
from routing.models import Assignment, OverflowEntry, Rejection, Rep
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/queue/"


def claim_url(lead) -> str:
    return reverse("routing:claim", args=[lead.pk])


def in_overflow(**kwargs):
    """An unowned MQL waiting in overflow: what a rep may claim."""
    lead = LeadFactory(stage=Stage.MQL, **kwargs)
    OverflowEntry.objects.create(lead=lead, score=lead.score, reason="Nobody had room.")
    return lead


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


def test_load_meter_compares_unworked_leads_with_capacity(client, rep):
    # The meter shows what routing caps with max_open_leads (routing.selectors.lead_unworked_q): owned
    # MQLs not yet accepted. Accepted work (SAL and beyond) no longer counts against it.
    Rep.objects.filter(user=rep).update(max_open_leads=4, max_new_per_day=6)
    LeadFactory(owner=rep, stage=Stage.MQL)
    LeadFactory(owner=rep, stage=Stage.MQL)
    LeadFactory(owner=rep, stage=Stage.MQL)
    LeadFactory(owner=rep, stage=Stage.SAL)
    LeadFactory(owner=rep, stage=Stage.SQL)
    LeadFactory(owner=rep, stage=Stage.WON)
    Assignment.objects.create(lead=LeadFactory(owner=rep, stage=Stage.MQL), rep=rep.rep, rule="claim")
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert '<strong id="load-count">4</strong> of 4 open leads' in html
    assert 'max="4" value="4"' in html
    assert '<strong id="intake-count">1</strong> of 6 new today' in html
    assert "You are at capacity" in html


def test_rep_at_capacity_is_told_so(client, rep):
    Rep.objects.filter(user=rep).update(max_open_leads=1)
    LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(rep)

    assert "You are at capacity" in client.get(QUEUE).content.decode()


def test_sales_user_without_rep_profile_still_gets_the_page(client):
    client.force_login(UserFactory(roles=["sales"]))

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert "no rep profile yet" in response.content.decode()


def test_claimable_panel_lists_the_overflow_with_a_claim_button(client, rep, other_rep):
    # Reps claim what routing could not place (overflow): an unowned MQL that is not waiting there is
    # in transit through routing, or held for marketing (a rejected duplicate), and not theirs to take.
    free = in_overflow(email="free@mql.example")
    LeadFactory(stage=Stage.MQL, email="held@mql.example")
    LeadFactory(stage=Stage.MQL, owner=other_rep, email="taken@mql.example")
    LeadFactory(stage=Stage.NEW, email="new@new.example")
    client.force_login(rep)

    response = client.get(QUEUE)

    assert [entry.lead_id for entry in response.context["claimable"]] == [free.pk]
    html = response.content.decode()
    assert f'hx-post="{claim_url(free)}"' in html
    assert "taken@mql.example" not in html
    assert "held@mql.example" not in html


def test_claim_makes_the_rep_the_owner(client, rep):
    lead = in_overflow()
    client.force_login(rep)

    response = client.post(claim_url(lead))

    assert response.status_code == 302
    assert response.url == reverse("routing:queue")
    lead.refresh_from_db()
    assert lead.owner == rep
    assert lead.assigned_at is not None
    assert lead.sla_due_at is not None
    assert not OverflowEntry.objects.filter(lead=lead).exists()
    assert Assignment.objects.get(lead=lead).rule == Assignment.Rule.CLAIM
    assert lead.activities.filter(kind=Activity.Kind.SYSTEM, subject__startswith="Claimed from overflow by").exists()
    page = client.get(QUEUE)
    assert [queued.pk for queued in page.context["queue"]] == [lead.pk]
    assert "is yours now" in page.content.decode()


def test_claim_through_htmx_ends_with_the_new_queue_body(client, rep):
    lead = in_overflow(email="claim@me.example")
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


def test_a_full_rep_cannot_claim_and_is_told_why(client, rep):
    Rep.objects.filter(user=rep).update(max_open_leads=0)
    lead = in_overflow()
    client.force_login(rep)

    response = client.post(claim_url(lead), follow=True)

    assert "at capacity" in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner is None


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
    LeadFactory(owner=rep, stage=Stage.MQL)
    in_overflow()
    few = queries_for_queue()
    for _ in range(10):
        LeadFactory(owner=rep, stage=Stage.SAL)
        LeadFactory(owner=rep, stage=Stage.MQL)
        in_overflow()

    assert queries_for_queue() == few


def test_a_long_queue_shows_the_most_urgent_rows_and_counts_the_rest(client, rep, monkeypatch):
    from routing import views as routing_views

    monkeypatch.setattr(routing_views, "QUEUE_PAGE_ROWS", 3)
    now = timezone.now()
    leads = [
        LeadFactory(owner=rep, stage=Stage.SAL, sla_due_at=now + datetime.timedelta(hours=hours))
        for hours in (5, 1, 4, 2, 3)
    ]
    client.force_login(rep)

    response = client.get(QUEUE)

    assert [lead.pk for lead in response.context["queue"]] == [leads[1].pk, leads[3].pk, leads[4].pk]
    page = response.content.decode()
    assert '<span class="count">5</span>' in page
    assert "The 3 most urgent are shown" in page


def test_a_short_queue_has_no_note_and_counts_its_rows(client, rep):
    LeadFactory(owner=rep, stage=Stage.SAL)
    client.force_login(rep)

    page = client.get(QUEUE).content.decode()

    assert '<span class="count">1</span>' in page
    assert "most urgent are shown" not in page


def test_queue_page_queries_are_the_same_at_two_page_sizes(client, rep, monkeypatch):
    """A full page (more rows than it shows, so the total is counted) costs what a page of one row does, plus
    that count."""
    from routing import views as routing_views

    client.force_login(rep)

    def queries_for_queue(rows: int) -> int:
        monkeypatch.setattr(routing_views, "QUEUE_PAGE_ROWS", rows)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(QUEUE).status_code == 200
        return len(queries)

    for _ in range(12):
        LeadFactory(owner=rep, stage=Stage.SAL)

    assert queries_for_queue(2) == queries_for_queue(10)
    assert queries_for_queue(20) == queries_for_queue(10) - 1  # all twelve shown: nothing to count


def accept_url(lead) -> str:
    return reverse("routing:accept", args=[lead.pk])


def reject_url(lead) -> str:
    return reverse("routing:reject", args=[lead.pk])


def test_unaccepted_leads_have_accept_and_reject_with_every_reason(client, rep):
    waiting = LeadFactory(owner=rep, stage=Stage.MQL)
    accepted = LeadFactory(owner=rep, stage=Stage.SAL)
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert f'hx-post="{accept_url(waiting)}"' in html
    assert f'hx-post="{reject_url(waiting)}"' in html
    assert accept_url(accepted) not in html
    for value, label in Rejection.Reason.choices:
        assert f'<option value="{value}">{label}</option>' in html


def test_accepting_through_htmx_moves_the_load_meter(client, rep):
    Rep.objects.filter(user=rep).update(max_open_leads=5)
    lead = LeadFactory(owner=rep, stage=Stage.MQL, first_name="Ann", last_name="Lee")
    LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(rep)
    assert '<strong id="load-count">2</strong>' in client.get(QUEUE).content.decode()

    response = client.post(accept_url(lead), headers={"HX-Request": "true"}, follow=True)

    html = response.content.decode()
    assert "<html" not in html
    assert '<strong id="load-count">1</strong> of 5 open leads' in html
    assert "You accepted Ann Lee." in html
    lead.refresh_from_db()
    assert lead.stage == Stage.SAL


def test_rejecting_with_a_reason_takes_the_lead_out_of_the_queue(client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL, first_name="Ben", last_name="Ray")
    client.force_login(rep)

    response = client.post(reject_url(lead), {"reason": "not_ready", "note": "Next quarter"}, follow=True)

    assert "You rejected Ben Ray: Not ready (nurture)." in response.content.decode()
    assert response.context["queue"] == []
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.NURTURE, None)
    assert Rejection.objects.get(lead=lead).note == "Next quarter"


def test_rejecting_without_a_reason_changes_nothing(client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(rep)

    response = client.post(reject_url(lead), {"reason": ""}, follow=True)

    assert "Pick a reason" in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == rep
    assert not Rejection.objects.exists()


def test_a_rep_cannot_answer_for_another_reps_lead(client, rep, other_rep):
    lead = LeadFactory(owner=other_rep, stage=Stage.MQL)
    client.force_login(rep)

    assert client.post(accept_url(lead)).status_code == 404
    assert client.post(reject_url(lead), {"reason": "junk"}).status_code == 404
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, other_rep)


def test_the_rep_sets_their_own_appetite(client, rep):
    client.force_login(rep)

    response = client.post(reverse("routing:appetite"), {"min_score": "60", "out_of_office_until": ""}, follow=True)

    assert "Your appetite is saved" in response.content.decode()
    profile = Rep.objects.get(user=rep)
    assert (profile.min_score, profile.is_available, profile.out_of_office_until) == (60, False, None)
    assert AuditEvent.objects.filter(action="rep.update", actor=rep).exists()
    assert "You are marked unavailable" in response.content.decode()


def test_an_invalid_appetite_shows_the_form_again(client, rep):
    client.force_login(rep)

    response = client.post(reverse("routing:appetite"), {"min_score": "lots", "is_available": "on"})

    assert response.status_code == 200
    assert response.context["appetite_form"].errors["min_score"]
    assert Rep.objects.get(user=rep).min_score == 0

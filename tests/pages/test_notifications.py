"""Notifications: the unread count in the top bar, the list page, marking one or all read."""

from __future__ import annotations

import pytest

from routing.models import Notification
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

LIST = "/notifications/"
READ = "/notifications/read/"


def notify(user, title: str, **kwargs) -> Notification:
    return Notification.objects.create(user=user, kind=Notification.Kind.SLA_ESCALATED, title=title, **kwargs)


def test_the_top_bar_shows_the_unread_count_on_every_page(client, rep, other_rep):
    notify(rep, "One")
    notify(rep, "Two")
    notify(other_rep, "Not yours")
    client.force_login(rep)

    html = client.get("/queue/").content.decode()

    assert '<span class="badge badge-count" id="unread-count">2</span>' in html
    assert 'aria-label="Notifications: 2 unread"' in html


def test_the_list_shows_my_notifications_newest_first_with_a_link_to_the_lead(client, rep, other_rep):
    lead = LeadFactory(owner=rep)
    notify(rep, "Older")
    notify(rep, "SLA lapsed on a lead", lead=lead, body="Rick did not accept it within 2 working hours.")
    notify(other_rep, "Someone else's")
    client.force_login(rep)

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("SLA lapsed on a lead") < html.index("Older")
    assert f'href="/leads/{lead.pk}/"' in html
    assert "Someone else" not in html
    assert "Mark all 2 read" in html


def test_marking_one_read_then_all_read(client, rep, other_rep):
    first, second = notify(rep, "First"), notify(rep, "Second")
    theirs = notify(other_rep, "Theirs")
    client.force_login(rep)

    assert client.post(READ, {"id": first.pk}).status_code == 302
    assert client.post(READ, {"id": theirs.pk}).status_code == 302  # not mine: nothing happens

    first.refresh_from_db(), second.refresh_from_db(), theirs.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None
    assert theirs.read_at is None
    client.post(READ)
    second.refresh_from_db()
    assert second.read_at is not None
    assert "unread-count" not in client.get(LIST).content.decode()


def test_a_bad_id_is_named(client, rep):
    client.force_login(rep)

    response = client.post(READ, {"id": "abc"}, follow=True)

    assert "id: give a notification number." in response.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get(LIST).status_code == 302
    assert client.post(READ).status_code == 302

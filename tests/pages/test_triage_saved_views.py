"""Saved inbox views: keep the current filters under a name, share them, apply one in a click,
delete my own; a name I already use is a clear form error."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from leads.models import SavedView, Stage
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

CREATE = "/leads/views/"


def delete_url(view: SavedView) -> str:
    return f"/leads/views/{view.pk}/delete/"


@pytest.fixture
def inbox_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def colleague(db):
    return UserFactory(username="mia", first_name="Mia", last_name="Berg", roles=["marketing"])


def test_saving_keeps_the_filters_without_the_page_cursor_and_opens_the_view(inbox_client, marketer):
    response = inbox_client.post(
        CREATE, {"name": "  Junk   this week ", "query": "stage=junk&cursor=17.3&q=&created_after=2025-01-01"}
    )

    view = SavedView.objects.get()
    assert (view.owner, view.name, view.is_shared) == (marketer, "Junk this week", False)
    assert view.query == "created_after=2025-01-01&stage=junk"
    assert response.status_code == 302
    assert response.url == "/leads/?created_after=2025-01-01&stage=junk"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Saved the view “Junk this week”."]


def test_a_shared_view_says_so(inbox_client):
    response = inbox_client.post(CREATE, {"name": "Hot MQLs", "query": "stage=mql&score_min=80", "is_shared": "on"})

    assert SavedView.objects.get().is_shared
    assert "and shared it with the team" in str(next(iter(get_messages(response.wsgi_request))))


def test_the_side_panel_lists_my_views_and_the_teams_shared_ones(inbox_client, marketer, colleague):
    mine = SavedView.objects.create(owner=marketer, name="My junk", query="stage=junk")
    shared = SavedView.objects.create(owner=colleague, name="Team MQLs", query="stage=mql", is_shared=True)
    private = SavedView.objects.create(owner=colleague, name="Mia's own", query="stage=new")

    html = inbox_client.get("/leads/").content.decode()

    my_list = html[html.index('id="my-views"') : html.index('id="shared-views"')]
    shared_list = html[html.index('id="shared-views"') : html.index('id="save-view-form"')]
    assert '<a href="/leads/?stage=junk">My junk</a>' in my_list
    assert delete_url(mine) in my_list
    assert '<a href="/leads/?stage=mql">Team MQLs</a>' in shared_list
    assert "Mia Berg" in shared_list
    assert delete_url(shared) not in html
    assert private.name not in html


def test_applying_a_view_is_opening_its_link_and_the_view_shows_as_current(inbox_client, marketer):
    junk = LeadFactory(stage=Stage.JUNK, junk_reason="Spam")
    LeadFactory(stage=Stage.NEW)
    view = SavedView.objects.create(owner=marketer, name="Junk", query="stage=junk")

    response = inbox_client.get(f"/leads/?{view.query}")

    assert [lead.pk for lead in response.context["page"].leads] == [junk.pk]
    html = response.content.decode()
    assert (
        '<li class="view-item is-current">\n            <a href="/leads/?stage=junk" aria-current="true">Junk</a>'
        in html
    )


def test_the_save_form_carries_the_filters_now_shown_and_htmx_keeps_it_current(inbox_client):
    html = inbox_client.get("/leads/", {"stage": "mql", "cursor": "5.5"}).content.decode()
    assert '<input type="hidden" name="query" value="stage=mql" id="save_view_query">' in html

    partial = inbox_client.get("/leads/", {"stage": "junk"}, headers={"HX-Request": "true"}).content.decode()
    assert '<input type="hidden" name="query" value="stage=junk" id="save_view_query" hx-swap-oob="true">' in partial


def test_a_name_i_already_use_is_a_form_error_and_nothing_is_saved(inbox_client, marketer):
    SavedView.objects.create(owner=marketer, name="Junk this week", query="stage=junk")

    response = inbox_client.post(CREATE, {"name": "junk THIS week", "query": "stage=new"})

    html = response.content.decode()
    assert response.status_code == 400
    assert "You already have a view called “junk THIS week”." in html
    assert '<details class="save-view" open>' in html
    assert 'value="junk THIS week"' in html
    assert SavedView.objects.count() == 1
    assert response.context["page"] is not None  # the list under the form is the one being saved


def test_someone_else_may_use_the_same_name(client, marketer, colleague):
    SavedView.objects.create(owner=marketer, name="Junk", query="stage=junk")
    client.force_login(colleague)

    assert client.post(CREATE, {"name": "Junk", "query": "stage=junk"}).status_code == 302
    assert SavedView.objects.filter(name="Junk").count() == 2


def test_a_view_needs_a_name(inbox_client):
    response = inbox_client.post(CREATE, {"name": " ", "query": "stage=junk"})

    assert response.status_code == 400
    assert not SavedView.objects.exists()


def test_i_can_delete_my_own_view(inbox_client, marketer):
    view = SavedView.objects.create(owner=marketer, name="Old", query="stage=new")

    response = inbox_client.post(delete_url(view))

    assert response.status_code == 302
    assert response.url == reverse("leads:inbox")
    assert not SavedView.objects.exists()
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Deleted the view “Old”."]


def test_i_cannot_delete_someone_elses_view_even_a_shared_one(inbox_client, colleague):
    view = SavedView.objects.create(owner=colleague, name="Team", query="stage=mql", is_shared=True)

    assert inbox_client.post(delete_url(view)).status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_saved_view_routes_take_posts_only(inbox_client, marketer):
    view = SavedView.objects.create(owner=marketer, name="Old", query="")

    assert inbox_client.get(CREATE).status_code == 405
    assert inbox_client.get(delete_url(view)).status_code == 405


def test_a_rep_may_not_save_inbox_views(client, rep):
    client.force_login(rep)

    assert client.post(CREATE, {"name": "Mine", "query": "stage=mql"}).status_code == 403
    assert not SavedView.objects.exists()

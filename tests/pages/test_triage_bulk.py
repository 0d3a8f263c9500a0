"""Bulk actions from the inbox: tick leads, press an action, land back on the same filtered list
with what moved and what was skipped; who may do it; the junk-reason column."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from leads.models import Lead, Reason, Stage, StageChange
from tests.factories import LeadFactory, RepFactory, UserFactory, listed_reason

pytestmark = pytest.mark.django_db

BULK = "/leads/bulk/"


@pytest.fixture
def inbox_client(client, marketer):
    client.force_login(marketer)
    return client


def post_bulk(client, leads, action, query="", **fields):
    data = {"lead": [lead.pk for lead in leads], "action": action, "query": query, **fields}
    return client.post(BULK, data)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def stage_of(lead: Lead) -> str:
    return Lead.objects.values_list("stage", flat=True).get(pk=lead.pk)


def test_qualify_moves_the_ticked_leads_and_returns_to_the_same_filtered_inbox(inbox_client, marketer):
    leads = [LeadFactory(stage=Stage.NEW), LeadFactory(stage=Stage.NEW)]
    untouched = LeadFactory(stage=Stage.NEW)

    response = post_bulk(inbox_client, leads, "qualify", query="stage=new&q=acme&cursor=123.4")

    assert response.status_code == 302
    assert response.url == "/leads/?stage=new&q=acme&cursor=123.4"
    assert [stage_of(lead) for lead in leads] == [Stage.MQL, Stage.MQL]
    assert stage_of(untouched) == Stage.NEW
    assert set(StageChange.objects.values_list("actor", flat=True)) == {marketer.pk}
    assert messages_of(response) == ["2 leads moved to MQL."]


def test_skipped_leads_are_reported_with_why(inbox_client):
    new = LeadFactory(stage=Stage.NEW)
    won = LeadFactory(stage=Stage.WON)

    response = post_bulk(inbox_client, [new, won], "nurture", nurture_reason="Revisit in Q3")

    assert messages_of(response) == ["1 lead moved to Nurture. 1 skipped: a Won lead cannot move to Nurture."]
    page = inbox_client.get(response.url).content.decode()
    assert "message-warning" in page
    assert "a Won lead cannot move to Nurture" in page


def test_disqualify_records_the_picked_reason_and_the_details_as_the_junk_reason(inbox_client):
    leads = [LeadFactory(stage=Stage.NEW), LeadFactory(stage=Stage.MQL)]
    competitor = listed_reason("disqualified", "Competitor")

    post_bulk(inbox_client, leads, "disqualify", disqualify_reason=competitor.pk, disqualify_note="rivalcrm.com")

    assert set(Lead.objects.values_list("stage", "junk_reason")) == {(Stage.JUNK, "Competitor: rivalcrm.com")}
    assert set(StageChange.objects.values_list("reason_code", "reason")) == {(competitor.pk, "rivalcrm.com")}


def test_disqualify_without_details_keeps_the_listed_reason(inbox_client):
    lead = LeadFactory(stage=Stage.NEW)

    post_bulk(inbox_client, [lead], "disqualify", disqualify_reason=listed_reason("disqualified", "Student").pk)

    assert Lead.objects.get(pk=lead.pk).junk_reason == "Student"


def test_disqualify_offers_only_active_disqualified_reasons(inbox_client):
    Reason.objects.filter(kind="disqualified", label="Spam").update(is_active=False)
    Reason.objects.create(kind="disqualified", label="Reseller", position=99)
    LeadFactory(stage=Stage.NEW)

    html = inbox_client.get("/leads/").content.decode()
    menu = html[html.index('name="disqualify_reason"') :]
    menu = menu[: menu.index("</select>")]

    assert ">Reseller</option>" in menu
    assert ">Spam</option>" not in menu
    assert ">Price</option>" not in menu  # a lost reason


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, "Pick why these leads are junk."),
        ({"disqualify_reason": "999999"}, "Select a valid choice"),
    ],
)
def test_disqualify_without_a_reason_shows_the_list_again_with_the_leads_still_ticked(inbox_client, fields, error):
    leads = [LeadFactory(stage=Stage.NEW), LeadFactory(stage=Stage.NEW)]
    other = LeadFactory(stage=Stage.NEW)

    response = post_bulk(inbox_client, leads, "disqualify", query="stage=new", **fields)

    html = response.content.decode()
    assert response.status_code == 400
    assert error in html
    for lead in leads:
        assert re.search(rf'name="lead" value="{lead.pk}" data-bulk-row checked', html)
    assert re.search(rf'name="lead" value="{other.pk}" data-bulk-row\s+aria-label', html)
    assert re.search(r'<details class="bulk-menu" open>\s*<summary class="btn btn-small">Disqualify', html)
    assert {stage_of(lead) for lead in [*leads, other]} == {Stage.NEW}


def test_nurture_needs_a_reason(inbox_client):
    lead = LeadFactory(stage=Stage.NEW)

    response = post_bulk(inbox_client, [lead], "nurture", nurture_reason="  ")

    assert response.status_code == 400
    assert "Say why these leads go to nurture." in response.content.decode()
    assert stage_of(lead) == Stage.NEW


def test_restore_from_junk_makes_junk_new_again_and_clears_the_reason(inbox_client):
    junk = [LeadFactory(stage=Stage.JUNK, junk_reason="Student") for _ in range(2)]

    response = post_bulk(inbox_client, junk, "restore", query="stage=junk")

    assert response.url == "/leads/?stage=junk"
    assert set(Lead.objects.values_list("stage", "junk_reason")) == {(Stage.NEW, "")}
    assert messages_of(response) == ["2 leads moved to New."]


def test_assign_gives_the_leads_to_the_picked_rep(inbox_client, rep):
    leads = [LeadFactory(stage=Stage.MQL), LeadFactory(stage=Stage.NURTURE)]

    response = post_bulk(inbox_client, leads, "assign", owner=rep.pk)

    assert response.status_code == 302
    assert set(Lead.objects.values_list("owner", flat=True)) == {rep.pk}
    assert messages_of(response) == [f"2 leads assigned to {rep.get_full_name()}."]


def test_the_rep_list_offers_only_sales_users_with_a_rep_profile(inbox_client, rep):
    LeadFactory()
    no_profile = UserFactory(username="nora", roles=["sales"])

    html = inbox_client.get("/leads/").content.decode()
    select = html[html.index('name="owner" id="bulk_owner"') :]
    select = select[: select.index("</select>")]

    assert f'value="{rep.pk}"' in select
    assert f'value="{no_profile.pk}"' not in select


def test_assign_to_someone_who_is_not_a_rep_is_refused(inbox_client, marketer):
    lead = LeadFactory(stage=Stage.MQL)

    response = post_bulk(inbox_client, [lead], "assign", owner=marketer.pk)

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_assign_without_a_rep_says_so(inbox_client):
    lead = LeadFactory(stage=Stage.MQL)

    response = post_bulk(inbox_client, [lead], "assign")

    assert response.status_code == 400
    assert "Pick the rep to assign these leads to." in response.content.decode()


@pytest.mark.parametrize("leads_listed", [0, 1])
def test_nothing_ticked_is_an_error_not_a_crash(inbox_client, leads_listed):
    for _ in range(leads_listed):
        LeadFactory()

    response = inbox_client.post(BULK, {"action": "qualify"})

    assert response.status_code == 400
    assert "Select at least one lead." in response.content.decode()


def test_a_rep_may_not_use_bulk_actions(client, rep):
    lead = LeadFactory(stage=Stage.NEW)
    client.force_login(rep)

    response = post_bulk(client, [lead], "qualify")

    assert response.status_code == 403
    assert stage_of(lead) == Stage.NEW


def test_assigning_needs_the_assign_permission_too(client):
    triager = UserFactory(username="tri")
    triager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_lead", "view_all_leads", "triage_lead"])
    )
    rep = RepFactory().user
    lead = LeadFactory(stage=Stage.MQL)
    client.force_login(triager)

    assert post_bulk(client, [lead], "assign", owner=rep.pk).status_code == 403
    assert 'id="bulk_owner"' not in client.get("/leads/").content.decode()
    assert post_bulk(client, [lead], "qualify").status_code == 302
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_bulk_actions_need_post(inbox_client):
    assert inbox_client.get(BULK).status_code == 405


def test_the_way_back_is_always_the_inbox(inbox_client):
    lead = LeadFactory(stage=Stage.NEW)

    response = post_bulk(inbox_client, [lead], "qualify", query="//evil.example/&stage=new")

    assert response.url.startswith("/leads/?")
    assert "evil.example" not in response.url.split("?")[0]


def test_with_htmx_the_results_come_back_with_the_message(inbox_client):
    lead = LeadFactory(stage=Stage.NEW, email="hot@lead.example")

    response = inbox_client.post(
        BULK,
        {"lead": [lead.pk], "action": "qualify", "query": "stage=mql"},
        headers={"HX-Request": "true"},
        follow=True,
    )

    html = response.content.decode()
    assert response.templates[0].name == "leads/_inbox_results.html"
    assert 'id="messages" class="messages" role="status" aria-live="polite" hx-swap-oob="true"' in html
    assert "1 lead moved to MQL." in html
    assert "hot@lead.example" in html


def test_with_htmx_a_refused_action_swaps_in_the_results_with_the_error(inbox_client):
    lead = LeadFactory(stage=Stage.NEW)

    response = inbox_client.post(BULK, {"lead": [lead.pk], "action": "nurture"}, headers={"HX-Request": "true"})

    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert response.templates[0].name == "leads/_inbox_results.html"
    assert "Say why these leads go to nurture." in response.content.decode()


def test_the_inbox_has_a_checkbox_per_row_select_all_and_the_action_bar(inbox_client):
    leads = [LeadFactory(), LeadFactory()]

    html = inbox_client.get("/leads/").content.decode()

    assert f'<form id="bulk-form" class="bulk-form" method="post" action="{reverse("leads:bulk")}"' in html
    assert 'hx-post="/leads/bulk/"' in html
    assert "data-bulk-all" in html
    for lead in leads:
        assert f'name="lead" value="{lead.pk}" data-bulk-row' in html
    for action in ("qualify", "disqualify", "nurture", "restore", "assign"):
        assert f'name="action" value="{action}"' in html
    for reason in ("Not a fit", "Competitor", "Student", "Spam", "Bad data", "Duplicate"):
        assert f">{reason}</option>" in html


def test_the_junk_reason_gets_its_own_column_when_the_list_shows_junk(inbox_client):
    LeadFactory(stage=Stage.JUNK, junk_reason="Competitor domain rivalcrm.com")

    plain = inbox_client.get("/leads/").content.decode()
    junk = inbox_client.get("/leads/", {"stage": "junk"}).content.decode()
    by_reason = inbox_client.get("/leads/", {"junk_reason": "rival"}).content.decode()

    assert ">Junk reason</th>" not in plain
    assert '<div class="sub">Competitor domain rivalcrm.com</div>' in plain
    for html in (junk, by_reason):
        assert ">Junk reason</th>" in html
        assert '<td data-label="Junk reason" class="junk-reason-cell">Competitor domain rivalcrm.com</td>' in html

"""Blocking keys stay true when a lead is edited (API, admin), it is checked for duplicates again, and
merge and undo leave every lead's keys covering its fields."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from dedupe.keys import lead_keys
from dedupe.matching import record_of
from dedupe.models import DuplicateCandidate, MatchKey, Merge
from dedupe.services import lead_merge, match_keys_replace, merge_undo
from leads.models import Lead
from tests.factories import LeadDefinitionFactory, LeadFactory, UserFactory
from tests.test_admin import form_data, url

pytestmark = pytest.mark.django_db


def keys_of(lead: Lead) -> set[tuple[str, str]]:
    return set(MatchKey.objects.filter(lead=lead).values_list("kind", "value"))


def _stored(**fields) -> Lead:
    lead = LeadFactory(**fields)
    match_keys_replace(leads=[lead])
    return lead


@pytest.fixture
def definition():
    return LeadDefinitionFactory()


def test_api_edit_of_the_email_rewrites_the_keys_and_merges_the_duplicate_it_now_is(
    api_client, marketer, definition, django_capture_on_commit_callbacks
):
    older = _stored(first_name="Robert", last_name="Smith", email="rob@acme.com", company="Acme")
    Lead.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=3))
    lead = _stored(first_name="Bob", last_name="Smith", email="bob.typo@gmail.com", company="Acme")
    assert ("email", "bobtypo@gmail.com") in keys_of(lead)
    api_client.force_authenticate(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(f"/api/leads/{lead.pk}/", {"email": "ROB@acme.com"}, format="json")

    assert response.status_code == 200, response.json()
    keys = keys_of(lead)
    assert ("email", "rob@acme.com") in keys
    assert ("email", "bobtypo@gmail.com") not in keys  # the old address finds it no more
    lead.refresh_from_db()
    assert lead.merged_into_id == older.pk  # checked again: the newer lead joined the older
    assert Merge.objects.get().automatic


def test_api_edit_that_makes_a_likely_pair_queues_it_for_review(
    api_client, marketer, definition, django_capture_on_commit_callbacks
):
    ann = _stored(
        first_name="Ann", last_name="Lee", email="ann.lee@globex.com", company="Globex", company_domain="globex.com"
    )
    other = _stored(first_name="Anne", last_name="Lee", email="alee@globex.com", company="Initech")
    api_client.force_authenticate(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(
            f"/api/leads/{other.pk}/", {"company": "Globex", "website": "https://globex.com"}, format="json"
        )

    assert response.status_code == 200, response.json()
    pair = DuplicateCandidate.objects.get()
    assert (pair.lead_a_id, pair.lead_b_id, pair.status) == (ann.pk, other.pk, DuplicateCandidate.Status.OPEN)
    assert any(k == "name_company" and "globex" in v for k, v in keys_of(other))
    assert not any(k == "name_company" and "initech" in v for k, v in keys_of(other))


def test_an_edit_that_changes_no_identifying_field_leaves_keys_and_queue_alone(
    api_client, marketer, definition, django_capture_on_commit_callbacks
):
    lead = _stored(first_name="Kim", last_name="Park", email="kim@initech.com", company="Initech")
    before = keys_of(lead)
    api_client.force_authenticate(marketer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert api_client.patch(f"/api/leads/{lead.pk}/", {"title": "CTO"}, format="json").status_code == 200
    assert keys_of(lead) == before
    assert [c for c in callbacks if "lead_keys_refresh" in c.__qualname__] == []  # no re-check sent


def test_admin_edit_rewrites_the_keys(client, definition, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    lead = _stored(first_name="Kim", last_name="Park", email="kim@initech.com", company="Initech", phone="")
    page = client.get(url(Lead, "change", lead.pk))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(Lead, "change", lead.pk), {**form_data(page), "phone": "+14155550199"})

    assert response.status_code == 302
    assert ("phone", "+14155550199") in keys_of(lead)
    assert ("email", "kim@initech.com") in keys_of(lead)


def test_merge_and_undo_keep_each_lead_s_keys_covering_its_fields(marketer, definition):
    survivor = _stored(first_name="Robert", last_name="Smith", email="rob@acme.com", company="Acme", phone="")
    merged = _stored(first_name="Bob", last_name="Smith", email="bob@acme.com", company="Acme", phone="+14155550101")
    merge = lead_merge(survivor=survivor, merged=merged, actor=marketer)
    survivor.refresh_from_db()
    assert lead_keys(record_of(survivor)) <= keys_of(survivor)  # it gained the keys of what it took
    assert ("phone", "+14155550101") in keys_of(survivor)
    assert ("email", "rob@acme.com") in keys_of(survivor) or survivor.email == "rob@acme.com"

    merge_undo(merge=merge, actor=marketer)
    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert ("phone", "+14155550101") not in keys_of(survivor)  # back to its own
    assert lead_keys(record_of(survivor)) <= keys_of(survivor)
    assert lead_keys(record_of(merged)) <= keys_of(merged)

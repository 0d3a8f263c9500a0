"""The duplicates API: a lead's duplicates, merge, undo, and the review queue."""

import pytest

from dedupe.models import DuplicateCandidate
from dedupe.services import match_keys_replace
from leads.models import Lead, SourceRecord
from tests.factories import LeadDefinitionFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    LeadDefinitionFactory()
    old = LeadFactory(first_name="Robert", last_name="Smith", email="rob@acme.com", company="Acme")
    new = LeadFactory(first_name="Bob", last_name="Smith", email="rob@acme.com", company="Acme", phone="+14155550101")
    match_keys_replace(leads=[old, new])
    return old, new


def test_duplicates_merge_and_undo_through_the_api(api_client, marketer, pair):
    old, new = pair
    api_client.force_authenticate(marketer)
    found = api_client.get(f"/api/leads/{old.pk}/duplicates/").json()
    assert [d["lead"]["id"] for d in found] == [new.pk]
    assert found[0]["automatic"]
    assert found[0]["reasons"]
    response = api_client.post(f"/api/leads/{old.pk}/merge/", {"other": new.pk}, format="json")
    assert response.status_code == 201, response.json()
    merge_id = response.json()["id"]
    lead = api_client.get(f"/api/leads/{old.pk}/").json()
    assert lead["phone"] == "+14155550101"
    assert api_client.get(f"/api/leads/{new.pk}/").json()["status"] == "merged"
    assert api_client.post(f"/api/merges/{merge_id}/undo/").status_code == 200
    assert Lead.objects.get(pk=new.pk).status == Lead.Status.ACTIVE
    assert api_client.post(f"/api/merges/{merge_id}/undo/").status_code == 400


def test_review_queue_merge_with_chosen_fields_and_dismiss(api_client, marketer, pair):
    old, new = pair
    third = LeadFactory()
    pending = DuplicateCandidate.objects.create(lead_a=old, lead_b=new, score=0.8, reasons=["same e-mail"])
    other = DuplicateCandidate.objects.create(lead_a=old, lead_b=third, score=0.76)
    api_client.force_authenticate(marketer)
    queue = api_client.get("/api/duplicates/").json()["results"]
    assert {p["id"] for p in queue} == {pending.pk, other.pk}
    assert api_client.post(f"/api/duplicates/{other.pk}/dismiss/").json()["status"] == "dismissed"
    response = api_client.post(
        f"/api/duplicates/{pending.pk}/merge/", {"survivor": new.pk, "fields": {"first_name": "merged"}}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert Lead.objects.get(pk=new.pk).first_name == "Robert"
    assert api_client.get("/api/duplicates/").json()["results"] == []


def test_a_rep_may_not_merge(api_client, rep, pair):
    old, new = pair
    api_client.force_authenticate(rep)
    assert api_client.post(f"/api/leads/{old.pk}/merge/", {"other": new.pk}, format="json").status_code in (403, 404)
    assert api_client.get("/api/duplicates/").status_code == 403


def test_review_queue_filters_by_status_source_and_lead(api_client, marketer, pair):
    old, new = pair
    fair = SourceFactory(name="Trade fair", slug="fair")
    third = LeadFactory(source=fair)
    fourth = LeadFactory()
    from_fair = DuplicateCandidate.objects.create(lead_a=old, lead_b=third, score=0.8)
    merged = DuplicateCandidate.objects.create(lead_a=old, lead_b=new, score=0.9)
    other = DuplicateCandidate.objects.create(lead_a=new, lead_b=fourth, score=0.77)
    api_client.force_authenticate(marketer)
    response = api_client.post(f"/api/duplicates/{merged.pk}/merge/", {"survivor": old.pk}, format="json")
    assert response.status_code == 201, response.json()

    def ids(**params):
        response = api_client.get("/api/duplicates/", params)
        assert response.status_code == 200, response.json()
        return [p["id"] for p in response.json()["results"]]

    # The pair of the lead merged away is now its survivor's, still open.
    assert sorted(ids()) == sorted([from_fair.pk, other.pk])
    assert ids(status="merged") == [merged.pk]
    assert ids(status="open", source="fair") == [from_fair.pk]
    assert ids(source="web") == []
    assert ids(lead=third.pk) == [from_fair.pk]
    assert ids(lead=fourth.pk) == [other.pk]
    other.refresh_from_db()
    assert (other.lead_a_id, other.lead_b_id) == (old.pk, fourth.pk)
    bad = api_client.get("/api/duplicates/", {"status": "maybe"})
    assert bad.status_code == 400
    assert "status" in bad.json()
    assert api_client.get("/api/duplicates/", {"lead": "x"}).json() == {"lead": ["A lead id (a whole number)."]}


def test_lead_api_lists_every_source_record_merged_into_it_and_undo_takes_them_back(api_client, marketer, pair):
    old, new = pair
    crm = SourceFactory(slug="crm")
    SourceRecord.objects.create(lead=old, source=crm, external_id="crm-1")
    SourceRecord.objects.create(lead=new, source=crm, external_id="crm-2")
    api_client.force_authenticate(marketer)
    merge_id = api_client.post(f"/api/leads/{old.pk}/merge/", {"other": new.pk}, format="json").json()["id"]

    records = api_client.get(f"/api/leads/{old.pk}/").json()["source_record_ids"]
    assert records == [{"source": "crm", "external_id": "crm-1"}, {"source": "crm", "external_id": "crm-2"}]
    listed = api_client.get("/api/leads/", {"page_size": 1000}).json()["results"]
    assert next(lead for lead in listed if lead["id"] == old.pk)["source_record_ids"] == records

    assert api_client.post(f"/api/merges/{merge_id}/undo/").status_code == 200
    assert api_client.get(f"/api/leads/{old.pk}/").json()["source_record_ids"] == [records[0]]
    assert api_client.get(f"/api/leads/{new.pk}/").json()["source_record_ids"] == [records[1]]

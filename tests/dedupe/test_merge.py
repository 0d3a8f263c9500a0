"""Merge and undo: nothing lost, both leads back exactly; "not a duplicate" remembered."""

import pytest

from dedupe.matching import match_batch, record_of
from dedupe.models import DuplicateCandidate, MatchKey, Merge
from dedupe.services import (
    MergeError,
    candidate_dismiss,
    lead_merge,
    lead_snapshot,
    leads_dedupe_saved,
    match_keys_replace,
    merge_undo,
)
from leads.models import Activity, AuditEvent, Lead, SourceRecord, StageChange, Submission
from tests.factories import ActivityFactory, LeadDefinitionFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db


def _with_history(lead, tag):
    ActivityFactory(lead=lead, subject=f"visit {tag}")
    SourceRecord.objects.create(lead=lead, source=lead.source, external_id=f"ext-{tag}")
    Submission.objects.create(source=lead.source, lead=lead, payload={"email": lead.email})
    StageChange.objects.create(lead=lead, from_stage="new", to_stage="mql", reason=tag)
    return lead


def _rows(lead):
    return {
        "activities": set(Activity.objects.filter(lead=lead).values_list("pk", flat=True)),
        "records": set(SourceRecord.objects.filter(lead=lead).values_list("pk", flat=True)),
        "submissions": set(Submission.objects.filter(lead=lead).values_list("pk", flat=True)),
        "stage_changes": set(StageChange.objects.filter(lead=lead).values_list("pk", flat=True)),
    }


def test_merge_then_undo_restores_both_leads_exactly_and_loses_nothing(marketer, rep):
    old = _with_history(LeadFactory(first_name="Robert", phone="", title="", owner=rep), "a")
    new = _with_history(LeadFactory(first_name="Bob", last_name=old.last_name, phone="+14155550101", title="CTO"), "b")
    before = {lead.pk: (lead_snapshot(Lead.objects.get(pk=lead.pk)), _rows(lead)) for lead in (old, new)}

    merge = lead_merge(survivor=old, merged=new, actor=marketer)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.phone, old.title, old.owner) == ("+14155550101", "CTO", rep)
    assert (new.status, new.merged_into, new.owner) == (Lead.Status.MERGED, old, None)
    moved = _rows(old)
    for kind, ids in before[new.pk][1].items():
        assert ids <= moved[kind], kind  # everything the merged lead had is on the survivor
    assert merge.field_sources["phone"] == new.pk
    assert merge.field_sources["email"] == new.pk
    assert AuditEvent.objects.filter(action="lead.merged", object_id=str(old.pk)).exists()

    merge_undo(merge=merge, actor=marketer)
    for lead in (old, new):
        fresh = Lead.objects.get(pk=lead.pk)
        snapshot, rows = before[lead.pk]
        after = lead_snapshot(fresh)
        assert {k: v for k, v in after.items() if k != "updated_at"} == {
            k: v for k, v in snapshot.items() if k != "updated_at"
        }
        assert _rows(fresh) == rows
    assert Merge.objects.get(pk=merge.pk).undone_at is not None
    with pytest.raises(MergeError):
        merge_undo(merge=merge, actor=marketer)


def test_an_undone_merge_is_remembered_and_not_merged_again(marketer):
    LeadDefinitionFactory()
    old = LeadFactory(first_name="Ann", last_name="Lee", email="ann@acme.com")
    new = LeadFactory(first_name="Ann", last_name="Lee", email="ann@acme.com", pipeline_state="normalized")
    MatchKey.objects.create(lead=old, kind="email", value="ann@acme.com")
    merge = lead_merge(survivor=old, merged=new, actor=marketer)
    merge_undo(merge=merge, actor=marketer)
    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.DISMISSED
    assert leads_dedupe_saved(leads=[Lead.objects.get(pk=new.pk)], definition=None) == set()


def test_not_a_duplicate_is_never_proposed_again():
    LeadDefinitionFactory()
    bare = {"email": "", "company_domain": "", "postal_code": "94107", "first_name": "Robert", "last_name": "Smith"}
    a = LeadFactory(company="Acme", **bare)
    b = LeadFactory(company="Globex", **bare)
    match_keys_replace(leads=[a])
    leads_dedupe_saved(leads=[b], definition=None)
    candidate = DuplicateCandidate.objects.get()
    assert candidate.status == DuplicateCandidate.Status.OPEN
    candidate_dismiss(candidate=candidate, actor=None)
    outcomes, _ = match_batch([record_of(b)], rules=None, ids=[b.pk])
    assert outcomes[0].review == []
    assert outcomes[0].merge_into is None
    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.DISMISSED


def test_trust_survivorship_prefers_the_more_trusted_source(settings):
    settings.DEDUPE_SURVIVORSHIP = {"*": "trust"}
    crm = SourceFactory(slug="crm", trust=90)
    form = SourceFactory(slug="form", trust=20)
    old = LeadFactory(source=crm, title="VP Sales")
    new = LeadFactory(source=form, title="Intern", last_name=old.last_name)
    lead_merge(survivor=old, merged=new, actor=None)
    old.refresh_from_db()
    assert old.title == "VP Sales"


def test_chosen_fields_override_the_policy(marketer):
    old = LeadFactory(title="VP Sales")
    new = LeadFactory(title="CTO")
    merge = lead_merge(survivor=old, merged=new, actor=marketer, choices={"title": "survivor", "email": "survivor"})
    old.refresh_from_db()
    assert (old.title, merge.field_sources["title"]) == ("VP Sales", old.pk)


def test_a_lead_cannot_be_merged_twice_or_into_itself(marketer):
    a, b, c = LeadFactory(), LeadFactory(), LeadFactory()
    lead_merge(survivor=a, merged=b, actor=marketer)
    with pytest.raises(MergeError):
        lead_merge(survivor=c, merged=b, actor=marketer)
    with pytest.raises(MergeError):
        lead_merge(survivor=a, merged=a, actor=marketer)

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


def _pair(a, b, score=0.8, status=DuplicateCandidate.Status.OPEN):
    low, high = sorted([a.pk, b.pk])
    return DuplicateCandidate.objects.create(lead_a_id=low, lead_b_id=high, score=score, reasons=["r"], status=status)


def _pairs():
    return set(DuplicateCandidate.objects.values_list("pk", "lead_a_id", "lead_b_id", "status"))


def test_open_pairs_of_a_merged_lead_move_to_its_survivor_and_undo_puts_them_back(marketer):
    survivor, merged, third, fourth, fifth = (LeadFactory() for _ in range(5))
    reviewed = _pair(survivor, merged)
    moves = _pair(merged, third)  # -> (survivor, third)
    repeats = _pair(merged, fourth)  # the survivor has this pair already: dropped
    already = _pair(survivor, fourth, score=0.7)
    dismissed_before = _pair(survivor, fifth, status=DuplicateCandidate.Status.DISMISSED)
    not_again = _pair(merged, fifth)  # "not a duplicate" holds for the survivor: dropped
    before = _pairs()

    merge = lead_merge(survivor=survivor, merged=merged, actor=marketer)

    low, high = sorted([survivor.pk, third.pk])
    moves.refresh_from_db()
    assert (moves.lead_a_id, moves.lead_b_id, moves.status) == (low, high, DuplicateCandidate.Status.OPEN)
    assert not DuplicateCandidate.objects.filter(pk__in=[repeats.pk, not_again.pk]).exists()
    already.refresh_from_db()
    dismissed_before.refresh_from_db()
    assert (already.status, already.score) == (DuplicateCandidate.Status.OPEN, 0.7)
    assert dismissed_before.status == DuplicateCandidate.Status.DISMISSED
    reviewed.refresh_from_db()
    assert reviewed.status == DuplicateCandidate.Status.MERGED
    # The queue shows the re-pointed pair: both its leads are active.
    assert (
        DuplicateCandidate.objects.filter(
            status="open", lead_a__status=Lead.Status.ACTIVE, lead_b__status=Lead.Status.ACTIVE
        ).count()
        == 2
    )

    merge_undo(merge=merge, actor=marketer)

    after = _pairs()
    # Every pair as it was, but the merged pair: undone, it is remembered as not a duplicate.
    assert after - {(reviewed.pk, reviewed.lead_a_id, reviewed.lead_b_id, "dismissed")} == before - {
        (reviewed.pk, reviewed.lead_a_id, reviewed.lead_b_id, "open")
    }
    restored = DuplicateCandidate.objects.get(pk=repeats.pk)
    assert (restored.score, restored.reasons, restored.created_at) == (repeats.score, ["r"], repeats.created_at)


def test_a_pair_decided_after_the_merge_stays_with_the_survivor_on_undo(marketer):
    survivor, merged, third = LeadFactory(), LeadFactory(), LeadFactory()
    moved = _pair(merged, third)
    merge = lead_merge(survivor=survivor, merged=merged, actor=marketer)
    moved.refresh_from_db()
    candidate_dismiss(candidate=moved, actor=marketer)

    merge_undo(merge=merge, actor=marketer)

    moved.refresh_from_db()
    assert (moved.status, {moved.lead_a_id, moved.lead_b_id}) == ("dismissed", {survivor.pk, third.pk})
    assert not DuplicateCandidate.objects.filter(
        lead_a_id=min(merged.pk, third.pk), lead_b_id=max(merged.pk, third.pk)
    ).exists()

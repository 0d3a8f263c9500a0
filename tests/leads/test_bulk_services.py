"""Bulk triage: moving and assigning many leads at once, by the same rules as one lead, in bulk SQL."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from leads.models import Activity, AuditEvent, Lead, Stage, StageChange
from leads.permissions import lead_stage_change_allowed
from leads.services import (
    BulkResult,
    LeadOperationError,
    lead_change_stage,
    leads_bulk_assign,
    leads_bulk_change_stage,
)
from tests.factories import LeadFactory, RepFactory, UserFactory, listed_reason

pytestmark = pytest.mark.django_db


def audit_events(action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(content_type=ContentType.objects.get_for_model(Lead), action=action).order_by(
            "object_id"
        )
    )


def stages(leads: list[Lead]) -> list[str]:
    by_pk = dict(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("pk", "stage"))
    return [by_pk[lead.pk] for lead in leads]


# --- Stage changes ------------------------------------------------------------------------------


def test_bulk_qualify_moves_what_the_lifecycle_allows_and_says_why_the_rest_stayed(marketer):
    new = [LeadFactory(stage=Stage.NEW) for _ in range(3)]
    won = [LeadFactory(stage=Stage.WON) for _ in range(2)]

    result = leads_bulk_change_stage(lead_ids=[lead.pk for lead in new + won], to_stage=Stage.MQL, actor=marketer)

    assert result.done == tuple(sorted(lead.pk for lead in new))
    assert result.skipped == {"a Won lead cannot move to MQL": tuple(sorted(lead.pk for lead in won))}
    assert result.skipped_count == 2
    assert result.summary() == "3 leads moved to MQL. 2 skipped: a Won lead cannot move to MQL."
    assert stages(new + won) == [Stage.MQL] * 3 + [Stage.WON] * 2


def test_bulk_move_writes_a_stage_change_and_an_audit_event_per_moved_lead(marketer):
    leads = [LeadFactory(stage=Stage.NEW), LeadFactory(stage=Stage.MQL)]
    skipped = LeadFactory(stage=Stage.NURTURE)

    leads_bulk_change_stage(
        lead_ids=[lead.pk for lead in [*leads, skipped]],
        to_stage=Stage.NURTURE,
        actor=marketer,
        reason="  Not ready this quarter ",
        ip_address="203.0.113.9",
    )

    changes = list(StageChange.objects.order_by("lead_id"))
    assert [(c.lead_id, c.from_stage, c.to_stage) for c in changes] == [
        (leads[0].pk, Stage.NEW, Stage.NURTURE),
        (leads[1].pk, Stage.MQL, Stage.NURTURE),
    ]
    assert {(c.actor, c.reason) for c in changes} == {(marketer, "Not ready this quarter")}
    events = audit_events("lead.stage_change")
    assert [event.object_id for event in events] == sorted(str(lead.pk) for lead in leads)
    assert events[0].changes == {"stage": ["new", "nurture"], "reason": "Not ready this quarter"}
    assert events[1].changes == {"stage": ["mql", "nurture"], "reason": "Not ready this quarter"}
    assert {(event.actor, event.ip_address) for event in events} == {(marketer, "203.0.113.9")}
    assert events[0].object_repr == str(leads[0])


@pytest.mark.parametrize(
    ("to_stage", "field"), [(Stage.JUNK, "reason_code"), (Stage.NURTURE, "reason"), (Stage.LOST, "reason_code")]
)
def test_a_move_that_needs_a_reason_is_refused_without_one_and_changes_nothing(lf_admin, to_stage, field):
    lead = LeadFactory(stage=Stage.SQL if to_stage == Stage.LOST else Stage.NEW)
    before = lead.stage

    with pytest.raises(LeadOperationError, match="needs a reason") as excinfo:
        leads_bulk_change_stage(lead_ids=[lead.pk], to_stage=to_stage, actor=lf_admin, reason="   ")

    assert excinfo.value.field == field
    assert stages([lead]) == [before]
    assert not StageChange.objects.exists()
    assert not AuditEvent.objects.exists()


def test_disqualifying_records_the_reason_as_the_junk_reason(marketer):
    leads = [LeadFactory(stage=Stage.NEW), LeadFactory(stage=Stage.MQL)]

    competitor = listed_reason("disqualified", "Competitor")
    leads_bulk_change_stage(
        lead_ids=[lead.pk for lead in leads],
        to_stage=Stage.JUNK,
        actor=marketer,
        reason_code=competitor,
        reason="x" * 300,
    )

    reasons = set(Lead.objects.values_list("junk_reason", flat=True))
    assert reasons == {("Competitor: " + "x" * 300)[:200]}
    change = StageChange.objects.first()
    assert (change.reason, change.reason_code) == ("x" * 300, competitor)


def test_restoring_from_junk_clears_the_junk_reason_and_leaves_other_leads_reasons_alone(marketer):
    junk = [LeadFactory(stage=Stage.JUNK, junk_reason="Competitor") for _ in range(2)]
    nurtured_from_junk = LeadFactory(stage=Stage.JUNK, junk_reason="Student")
    new = LeadFactory(stage=Stage.NEW)

    result = leads_bulk_change_stage(lead_ids=[lead.pk for lead in [*junk, new]], to_stage=Stage.NEW, actor=marketer)
    leads_bulk_change_stage(
        lead_ids=[nurtured_from_junk.pk], to_stage=Stage.NURTURE, actor=marketer, reason="Graduates in May"
    )

    assert result.summary() == "2 leads moved to New. 1 skipped: already New."
    for lead in junk:
        lead.refresh_from_db()
        assert (lead.stage, lead.junk_reason) == (Stage.NEW, "")
    nurtured_from_junk.refresh_from_db()
    assert (nurtured_from_junk.stage, nurtured_from_junk.junk_reason) == (Stage.NURTURE, "")
    assert StageChange.objects.filter(from_stage=Stage.JUNK, to_stage=Stage.NEW).count() == 2


def test_accepting_in_bulk_times_only_the_first_acceptance(lf_admin):
    accepted_before = timezone.now() - datetime.timedelta(days=30)
    returning = LeadFactory(stage=Stage.MQL, accepted_at=accepted_before)
    fresh = LeadFactory(stage=Stage.MQL)

    leads_bulk_change_stage(lead_ids=[returning.pk, fresh.pk], to_stage=Stage.SAL, actor=lf_admin)

    returning.refresh_from_db()
    fresh.refresh_from_db()
    assert returning.accepted_at == accepted_before
    assert fresh.accepted_at is not None
    assert fresh.accepted_at > accepted_before


def test_merged_missing_and_already_there_leads_are_reported_by_reason(marketer):
    survivor = LeadFactory(stage=Stage.MQL)
    merged = LeadFactory(stage=Stage.NEW, status=Lead.Status.MERGED, merged_into=survivor)
    already = LeadFactory(stage=Stage.JUNK, junk_reason="Spam")
    won = [LeadFactory(stage=Stage.WON), LeadFactory(stage=Stage.WON)]
    movable = LeadFactory(stage=Stage.NEW)

    result = leads_bulk_change_stage(
        lead_ids=[merged.pk, already.pk, *(lead.pk for lead in won), movable.pk, 987654321],
        to_stage=Stage.JUNK,
        actor=marketer,
        reason_code=listed_reason("disqualified", "Spam"),
    )

    assert result.done == (movable.pk,)
    assert result.skipped == {
        "merged into another lead": (merged.pk,),
        "already Junk": (already.pk,),
        "a Won lead cannot move to Junk": tuple(lead.pk for lead in won),
        "no longer exists": (987654321,),
    }
    assert result.summary() == (
        "1 lead moved to Junk. 5 skipped: merged into another lead (1); already Junk (1); "
        "a Won lead cannot move to Junk (2); no longer exists (1)."
    )
    assert stages([merged]) == [Stage.NEW]


def test_an_article_fits_each_stage_in_the_skip_reasons(marketer):
    leads = [LeadFactory(stage=Stage.MQL), LeadFactory(stage=Stage.OPPORTUNITY), LeadFactory(stage=Stage.LOST)]

    result = leads_bulk_change_stage(lead_ids=[lead.pk for lead in leads], to_stage=Stage.NEW, actor=marketer)

    assert set(result.skipped) == {
        "an MQL lead cannot move to New",
        "an Opportunity lead cannot move to New",
        "a Lost lead cannot move to New",
    }


def test_unknown_stage_is_refused(marketer):
    lead = LeadFactory()

    with pytest.raises(LeadOperationError, match="Unknown stage"):
        leads_bulk_change_stage(lead_ids=[lead.pk], to_stage="hot", actor=marketer)


def test_no_leads_is_nothing_done():
    assert leads_bulk_change_stage(lead_ids=[], to_stage=Stage.MQL, actor=None) == BulkResult(done_text="moved to MQL")


def test_one_lead_and_many_follow_the_same_junk_reason_rules(marketer):
    one, many = LeadFactory(stage=Stage.NEW), LeadFactory(stage=Stage.NEW)

    bad_data = listed_reason("disqualified", "Bad data")
    lead_change_stage(lead=one, to_stage=Stage.JUNK, actor=marketer, reason_code=bad_data, reason=" Test entry ")
    leads_bulk_change_stage(
        lead_ids=[many.pk], to_stage=Stage.JUNK, actor=marketer, reason_code=bad_data, reason=" Test entry "
    )
    assert Lead.objects.get(pk=one.pk).junk_reason == Lead.objects.get(pk=many.pk).junk_reason == "Bad data: Test entry"

    lead_change_stage(lead=one, to_stage=Stage.NEW, actor=marketer)
    leads_bulk_change_stage(lead_ids=[many.pk], to_stage=Stage.NEW, actor=marketer)
    assert Lead.objects.get(pk=one.pk).junk_reason == Lead.objects.get(pk=many.pk).junk_reason == ""


@pytest.mark.parametrize("count", [5, 50])
def test_bulk_move_costs_the_same_few_queries_for_5_or_50_leads(marketer, django_assert_max_num_queries, count):
    ids = [LeadFactory(stage=Stage.NEW).pk for _ in range(count)]
    ContentType.objects.get_for_model(Lead)  # the content-type cache is warm in a running server
    spam = listed_reason("disqualified", "Spam")
    # So is the user's permission and role cache: the page checked them before calling the service.
    lead_stage_change_allowed(user=marketer, lead=Lead(), to_stage=Stage.JUNK)

    with django_assert_max_num_queries(6):
        result = leads_bulk_change_stage(lead_ids=ids, to_stage=Stage.JUNK, actor=marketer, reason_code=spam)

    assert len(result.done) == count
    assert StageChange.objects.count() == count
    assert len(audit_events("lead.stage_change")) == count


# --- Assignment ---------------------------------------------------------------------------------


@pytest.fixture
def rick():
    return RepFactory(user__username="rick", user__first_name="Rick", user__last_name="Santos").user


def test_bulk_assign_gives_the_leads_to_the_rep_with_a_timeline_notice_and_audit_event(marketer, rick, other_rep):
    unowned = LeadFactory(stage=Stage.MQL)
    reassigned = LeadFactory(stage=Stage.NURTURE, owner=other_rep)

    result = leads_bulk_assign(
        lead_ids=[unowned.pk, reassigned.pk], owner=rick, actor=marketer, ip_address="198.51.100.4"
    )

    assert result.summary() == "2 leads assigned to Rick Santos."
    for lead in (unowned, reassigned):
        lead.refresh_from_db()
        assert lead.owner == rick
        assert lead.assigned_at is not None
        [notice] = Activity.objects.filter(lead=lead)
        assert (notice.kind, notice.subject, notice.actor) == (Activity.Kind.SYSTEM, "Assigned to rick", marketer)
    events = audit_events("lead.assign")
    assert [event.changes for event in events] == [{"owner": [None, rick.pk]}, {"owner": [other_rep.pk, rick.pk]}]
    assert {(event.actor, event.ip_address) for event in events} == {(marketer, "198.51.100.4")}


def test_bulk_assign_leaves_junk_merged_and_already_owned_leads_alone_and_says_so(marketer, rick):
    survivor = LeadFactory(stage=Stage.MQL)
    merged = LeadFactory(status=Lead.Status.MERGED, merged_into=survivor)
    junk = LeadFactory(stage=Stage.JUNK, junk_reason="Spam")
    theirs = LeadFactory(stage=Stage.MQL, owner=rick)

    result = leads_bulk_assign(lead_ids=[survivor.pk, merged.pk, junk.pk, theirs.pk], owner=rick, actor=marketer)

    assert result.done == (survivor.pk,)
    assert result.skipped == {
        "merged into another lead": (merged.pk,),
        "junk is not assigned (restore it first)": (junk.pk,),
        "already Rick Santos's": (theirs.pk,),
    }
    assert Lead.objects.get(pk=junk.pk).owner is None
    assert Lead.objects.get(pk=merged.pk).owner is None
    assert not Activity.objects.filter(lead__in=[merged, junk, theirs]).exists()


@pytest.mark.parametrize(
    "make_owner",
    [
        pytest.param(lambda: UserFactory(username="mkt", roles=["marketing"]), id="marketer"),
        pytest.param(lambda: UserFactory(username="noprofile", roles=["sales"]), id="sales-without-rep-profile"),
        pytest.param(lambda: RepFactory(user__roles=["marketing"]).user, id="rep-profile-not-in-sales"),
        pytest.param(lambda: RepFactory(user__is_active=False).user, id="inactive-rep"),
    ],
)
def test_assigning_to_anyone_but_an_active_sales_rep_is_refused(marketer, make_owner):
    lead = LeadFactory(stage=Stage.MQL)
    owner = make_owner()

    with pytest.raises(LeadOperationError, match="not a sales rep") as excinfo:
        leads_bulk_assign(lead_ids=[lead.pk], owner=owner, actor=marketer)

    assert excinfo.value.field == "owner"
    assert Lead.objects.get(pk=lead.pk).owner is None
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("count", [5, 50])
def test_bulk_assign_costs_the_same_few_queries_for_5_or_50_leads(marketer, rick, django_assert_max_num_queries, count):
    ids = [LeadFactory(stage=Stage.MQL).pk for _ in range(count)]
    ContentType.objects.get_for_model(Lead)

    with django_assert_max_num_queries(8):
        result = leads_bulk_assign(lead_ids=ids, owner=rick, actor=marketer)

    assert len(result.done) == count
    assert Activity.objects.count() == count
    assert Lead.objects.filter(owner=rick).count() == count

"""Moving leads through the lifecycle and claiming them, with the history and audit trail they leave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from leads.models import AuditEvent, Lead, Stage, StageChange
from leads.services import LeadOperationError, lead_change_stage
from tests.factories import LeadFactory, listed_reason

pytestmark = pytest.mark.django_db


def _audit_events(lead: Lead, action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(Lead), object_id=str(lead.pk), action=action
        )
    )


def test_stage_change_records_who_moved_the_lead_and_why(marketer):
    lead = LeadFactory(stage=Stage.NEW)

    change = lead_change_stage(lead=lead, to_stage=Stage.NURTURE, actor=marketer, reason="  Not ready this quarter ")

    assert (change.from_stage, change.to_stage) == (Stage.NEW, Stage.NURTURE)
    assert change.actor == marketer
    assert change.reason == "Not ready this quarter"
    assert list(lead.stage_changes.all()) == [change]
    assert lead.stage == Stage.NURTURE  # the caller's object is refreshed
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NURTURE


def test_stage_change_leaves_an_audit_event(marketer):
    lead = LeadFactory(stage=Stage.NEW)

    lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=marketer, ip_address="203.0.113.9")

    [event] = _audit_events(lead, "lead.stage_change")
    assert event.actor == marketer
    assert event.changes == {"stage": ["new", "mql"], "reason": ""}
    assert event.ip_address == "203.0.113.9"
    assert event.object_repr == str(lead)


def test_stage_change_by_the_pipeline_has_no_actor():
    lead = LeadFactory(stage=Stage.NEW)

    change = lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=None)

    assert change.actor is None
    assert _audit_events(lead, "lead.stage_change")[0].actor is None


@pytest.mark.parametrize(
    ("from_stage", "to_stage"), [(Stage.NEW, Stage.WON), (Stage.NEW, Stage.SAL), (Stage.WON, Stage.NURTURE)]
)
def test_illegal_stage_change_is_refused_and_leaves_no_trace(marketer, from_stage, to_stage):
    lead = LeadFactory(stage=from_stage)

    with pytest.raises(LeadOperationError, match="cannot move") as excinfo:
        lead_change_stage(lead=lead, to_stage=to_stage, actor=marketer, reason="because")

    assert excinfo.value.field == "stage"
    assert Lead.objects.get(pk=lead.pk).stage == from_stage
    assert not StageChange.objects.filter(lead=lead).exists()
    assert not _audit_events(lead, "lead.stage_change")


def test_unknown_stage_is_refused(marketer):
    lead = LeadFactory(stage=Stage.NEW)

    with pytest.raises(LeadOperationError, match="Unknown stage"):
        lead_change_stage(lead=lead, to_stage="hot", actor=marketer)


@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [(Stage.NEW, Stage.JUNK), (Stage.NEW, Stage.NURTURE), (Stage.SAL, Stage.LOST), (Stage.MQL, Stage.NURTURE)],
)
@pytest.mark.parametrize("reason", ["", "   "])
def test_junk_nurture_and_lost_need_a_reason(marketer, from_stage, to_stage, reason):
    """Nurture needs words; junk and lost need a reason from the admins' lists (``reason_code``)."""
    lead = LeadFactory(stage=from_stage)

    with pytest.raises(LeadOperationError, match="needs a reason") as excinfo:
        lead_change_stage(lead=lead, to_stage=to_stage, actor=marketer, reason=reason)

    assert excinfo.value.field == ("reason" if to_stage == Stage.NURTURE else "reason_code")
    assert Lead.objects.get(pk=lead.pk).stage == from_stage


def test_moving_to_junk_keeps_the_reason_on_the_lead(marketer):
    lead = LeadFactory(stage=Stage.NEW)

    lead_change_stage(
        lead=lead,
        to_stage=Stage.JUNK,
        actor=marketer,
        reason_code=listed_reason("disqualified", "Duplicate"),
        reason="of lead 12",
    )

    assert (lead.stage, lead.junk_reason) == (Stage.JUNK, "Duplicate: of lead 12")


@pytest.mark.parametrize("to_stage", [Stage.NEW, Stage.NURTURE])
def test_restoring_from_junk_clears_the_junk_reason(marketer, to_stage):
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Student")

    lead_change_stage(lead=lead, to_stage=to_stage, actor=marketer, reason="Works at a customer after all")

    assert lead.stage == to_stage
    assert lead.junk_reason == ""


def test_accepting_a_lead_sets_accepted_at(rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    before = timezone.now()

    lead_change_stage(lead=lead, to_stage=Stage.SAL, actor=rep)

    assert lead.stage == Stage.SAL
    assert before <= lead.accepted_at <= timezone.now()


def test_accepting_again_after_a_recycle_keeps_the_first_acceptance_time(rep):
    first_accepted = timezone.now() - timedelta(days=30)
    lead = LeadFactory(stage=Stage.MQL, owner=rep, accepted_at=first_accepted)

    lead_change_stage(lead=lead, to_stage=Stage.SAL, actor=rep)

    assert lead.accepted_at == first_accepted


def test_other_moves_leave_accepted_at_alone(marketer):
    lead = LeadFactory(stage=Stage.NEW)

    lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=marketer)

    assert lead.accepted_at is None


def test_a_lead_walks_the_funnel_up_to_sql_with_one_history_row_per_move(rep):
    """Opportunity and won come from converting and closing (``tests/leads/test_lifecycle.py``)."""
    lead = LeadFactory(stage=Stage.NEW, owner=rep)
    path = [Stage.MQL, Stage.SAL, Stage.SQL]

    for stage in path:
        lead_change_stage(lead=lead, to_stage=stage, actor=rep, reason=f"to {stage}")

    moves = list(lead.stage_changes.values_list("from_stage", "to_stage"))
    assert moves == list(zip([Stage.NEW, *path[:-1]], path, strict=True))
    assert len(_audit_events(lead, "lead.stage_change")) == len(path)

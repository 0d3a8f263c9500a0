"""The rep's answer to a routed lead (``routing.services.lead_accept`` / ``lead_reject``): owner only, through
the lifecycle, each rejection reason sending the lead where it belongs, audited, on the timeline, and the
rep's load moving."""

from __future__ import annotations

import pytest

from leads.models import Activity, AuditEvent, Lead, Stage, StageChange
from routing.models import Assignment, OverflowEntry, Rejection, Rep
from routing.selectors import lead_unworked_q, rejections_by_source, rep_load
from routing.services import RoutingError, lead_accept, lead_reject, leads_route_batch, overflow_drain
from tests.factories import (
    LeadFactory,
    RepFactory,
    SourceFactory,
    TerritoryFactory,
    TerritoryMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def rep_named(name: str, **kwargs) -> Rep:
    kwargs.setdefault("max_open_leads", 100)
    kwargs.setdefault("max_new_per_day", 100)
    return RepFactory(user=UserFactory(username=name, first_name=name.title(), last_name="", roles=["sales"]), **kwargs)


@pytest.fixture
def emea():
    return TerritoryFactory(name="EMEA", slug="emea", countries=["DE"])


@pytest.fixture
def rick(emea) -> Rep:
    rep = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rep)
    return rep


def routed_to(rep: Rep, **kwargs) -> Lead:
    """An MQL routed to ``rep`` (the only seat with room in its territory, or its account's owner)."""
    kwargs.setdefault("score", 70)
    kwargs.setdefault("country", "DE")
    lead = LeadFactory(stage=Stage.MQL, pipeline_state=Lead.PipelineState.SCORED, **kwargs)
    result = leads_route_batch(lead_ids=[lead.pk])
    assert result.assigned == {lead.pk: rep.pk}
    lead.refresh_from_db()
    return lead


def load(rep: Rep):
    return rep_load(reps=[rep])[rep.pk]


def test_accepting_moves_the_lead_to_sal_and_off_the_unworked_count(rick):
    lead = routed_to(rick)
    assert load(rick).open_leads == 1

    lead_accept(lead=lead, user=rick.user)

    assert lead.stage == Stage.SAL
    assert lead.accepted_at is not None
    assert not Lead.objects.filter(lead_unworked_q(), pk=lead.pk).exists()
    assert load(rick).open_leads == 0
    change = StageChange.objects.get(lead=lead, to_stage=Stage.SAL)
    assert (change.from_stage, change.actor) == (Stage.MQL, rick.user)
    assert AuditEvent.objects.filter(action="lead.accept", object_id=str(lead.pk), actor=rick.user).exists()
    assert lead.activities.filter(kind=Activity.Kind.SYSTEM, subject="Accepted by rick").exists()


def test_only_the_owner_accepts_or_rejects(rick, emea):
    lead = routed_to(rick)
    olga = rep_named("olga")

    with pytest.raises(RoutingError, match="Only the lead's owner"):
        lead_accept(lead=lead, user=olga.user)
    with pytest.raises(RoutingError, match="Only the lead's owner"):
        lead_reject(lead=lead, user=olga.user, reason="junk")

    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, rick.user)
    assert not Rejection.objects.exists()


def test_an_accepted_lead_cannot_be_accepted_or_rejected_again(rick):
    lead = routed_to(rick)
    lead_accept(lead=lead, user=rick.user)

    with pytest.raises(RoutingError) as accepted_twice:
        lead_accept(lead=lead, user=rick.user)
    with pytest.raises(RoutingError):
        lead_reject(lead=lead, user=rick.user, reason="not_a_fit")

    assert accepted_twice.value.field == "stage"


def test_an_unknown_reason_is_refused_naming_the_field(rick):
    lead = routed_to(rick)

    with pytest.raises(RoutingError) as error:
        lead_reject(lead=lead, user=rick.user, reason="boring")

    assert error.value.field == "reason"
    lead.refresh_from_db()
    assert lead.owner == rick.user


def assert_rejected(lead: Lead, rep: Rep, reason: str, note: str = "") -> Rejection:
    rejection = Rejection.objects.get(lead=lead)
    assert (rejection.rep, rejection.reason, rejection.note, rejection.source_id) == (rep, reason, note, lead.source_id)
    event = AuditEvent.objects.get(action="lead.reject", object_id=str(lead.pk))
    assert event.actor == rep.user
    assert event.changes["reason"] == reason
    assert lead.activities.filter(subject__startswith="Rejected by rick", meta__rejection=reason).exists()
    return rejection


def test_not_ready_goes_back_to_nurture_with_the_reason(rick):
    lead = routed_to(rick)

    lead_reject(lead=lead, user=rick.user, reason="not_ready", note="Budget next year")

    assert (lead.stage, lead.owner, lead.sla_due_at) == (Stage.NURTURE, None, None)
    change = StageChange.objects.get(lead=lead, to_stage=Stage.NURTURE)
    assert "Not ready" in change.reason
    assert "Budget next year" in change.reason
    assert_rejected(lead, rick, "not_ready", "Budget next year")
    assert load(rick).open_leads == 0


def test_junk_becomes_junk_with_the_reason(rick):
    lead = routed_to(rick)

    lead_reject(lead=lead, user=rick.user, reason="junk")

    assert (lead.stage, lead.owner) == (Stage.JUNK, None)
    assert "Junk" in lead.junk_reason
    assert_rejected(lead, rick, "junk")


def test_a_duplicate_stays_an_unowned_mql_for_marketing(rick):
    lead = routed_to(rick)

    lead_reject(lead=lead, user=rick.user, reason="duplicate", note="Same as Anna at Acme")

    assert (lead.stage, lead.owner) == (Stage.MQL, None)
    assert not OverflowEntry.objects.filter(lead=lead).exists()
    assert Assignment.objects.filter(lead=lead).count() == 1  # not routed again
    assert_rejected(lead, rick, "duplicate", "Same as Anna at Acme")
    notice = lead.activities.get(meta__rejection="duplicate")
    assert "marketing to review" in notice.subject


@pytest.mark.parametrize("reason", ["wrong_territory", "not_a_fit"])
def test_wrong_territory_or_not_a_fit_routes_again_to_someone_else(rick, emea, reason):
    sara = rep_named("sara")
    TerritoryMembershipFactory(territory=emea, rep=sara, weight=1)
    lead = routed_to(rick)  # round-robin ties go to the lower rep id: rick's

    lead_reject(lead=lead, user=rick.user, reason=reason)

    assert lead.owner == sara.user
    assert lead.stage == Stage.MQL
    assert Assignment.objects.filter(lead=lead).first().rep == sara
    assert_rejected(lead, rick, reason)


def test_a_lead_nobody_else_can_take_waits_in_overflow_not_with_the_rep_who_rejected_it(rick):
    lead = routed_to(rick)

    lead_reject(lead=lead, user=rick.user, reason="wrong_territory")

    assert lead.owner is None
    assert OverflowEntry.objects.filter(lead=lead).exists()
    assert load(rick).open_leads == 0


def test_the_overflow_drain_and_later_routing_never_hand_it_back_to_the_rep_who_rejected_it(rick):
    lead = routed_to(rick)
    lead_reject(lead=lead, user=rick.user, reason="not_a_fit")

    assert overflow_drain() == 0  # Rick has room, but he turned it down
    OverflowEntry.objects.all().delete()
    result = leads_route_batch(lead_ids=[lead.pk])  # e.g. a rescore sends it to routing again

    lead.refresh_from_db()
    assert lead.owner is None
    assert result.overflowed == (lead.pk,)
    assert "Rick rejected it" in OverflowEntry.objects.get(lead=lead).reason


def test_rejections_are_counted_per_source_and_reason(rick):
    web, fair = SourceFactory(slug="web"), SourceFactory(slug="fair")
    for source, reason in [(web, "junk"), (web, "junk"), (web, "not_a_fit"), (fair, "duplicate")]:
        lead_reject(lead=routed_to(rick, source=source), user=rick.user, reason=reason)

    assert rejections_by_source() == {web.pk: {"junk": 2, "not_a_fit": 1}, fair.pk: {"duplicate": 1}}

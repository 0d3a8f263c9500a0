"""Routing MQLs to reps (``routing.services``): each rule with its explanation, fairness, appetite,
out of office, overflow filled and drained, claims and reassignment, and running twice."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from freezegun import freeze_time

from leads.models import Activity, AuditEvent, Lead, Stage
from routing.models import Assignment, OverflowEntry, Rep
from routing.selectors import overflow_list, rep_load
from routing.services import RoutingError, lead_reassign, leads_route_batch, overflow_claim, overflow_drain
from tests.factories import (
    AccountFactory,
    LeadDefinitionFactory,
    LeadFactory,
    RepFactory,
    TerritoryFactory,
    TerritoryMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BIG = 10_000


def rep_named(name: str, **kwargs) -> Rep:
    kwargs.setdefault("max_open_leads", BIG)
    kwargs.setdefault("max_new_per_day", BIG)
    return RepFactory(user=UserFactory(username=name, first_name=name.title(), last_name="", roles=["sales"]), **kwargs)


def mql(**kwargs) -> Lead:
    kwargs.setdefault("score", 70)
    return LeadFactory(stage=Stage.MQL, pipeline_state=Lead.PipelineState.SCORED, **kwargs)


def route(*leads: Lead):
    return leads_route_batch(lead_ids=[lead.pk for lead in leads])


@pytest.fixture
def emea():
    return TerritoryFactory(name="EMEA", slug="emea", countries=["DE", "FR"])


def test_a_lead_goes_to_its_accounts_owner_and_says_why(emea):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rep_named("sara"))
    lead = mql(country="DE", account=AccountFactory(name="Acme", owner=rick.user))

    result = route(lead)

    lead.refresh_from_db()
    assignment = Assignment.objects.get(lead=lead)
    assert result.assigned == {lead.pk: rick.pk}
    assert lead.owner == rick.user
    assert lead.assigned_at is not None
    assert (assignment.rule, assignment.rep, assignment.reason) == ("account_owner", rick, "Rick owns Acme.")
    notice = Activity.objects.get(lead=lead, kind=Activity.Kind.SYSTEM)
    assert notice.subject == "Assigned to Rick as the account owner"


def test_an_out_of_office_owner_hands_over_to_their_backup(emea):
    sara = rep_named("sara")
    until = timezone.now() + datetime.timedelta(days=3)
    rick = rep_named("rick", out_of_office_until=until, backup=sara)
    lead = mql(country="DE", account=AccountFactory(name="Acme", owner=rick.user))

    route(lead)

    assignment = Assignment.objects.get(lead=lead)
    assert (assignment.rule, assignment.rep) == ("backup", sara)
    assert (
        assignment.reason
        == f"Acme's owner Rick is out of office until {until:%Y-%m-%d %H:%M} UTC; their backup Sara has room."
    )


def test_an_away_owner_whose_backup_is_full_falls_through_to_the_territory(emea):
    sara = rep_named("sara", max_open_leads=0)
    rick = rep_named("rick", is_available=False, backup=sara)
    tom = rep_named("tom")
    TerritoryMembershipFactory(territory=emea, rep=tom)
    lead = mql(country="DE", account=AccountFactory(name="Acme", owner=rick.user))

    route(lead)

    assignment = Assignment.objects.get(lead=lead)
    assert (assignment.rule, assignment.rep, assignment.territory) == ("territory_round_robin", tom, emea)
    assert assignment.reason.startswith(
        "Acme's owner Rick is unavailable and their backup Sara is at capacity (0 of 0 open); "
        "territory EMEA round robin: Tom had the smallest share"
    )
    assert Activity.objects.get(lead=lead).subject == "Assigned to Tom by territory round robin (EMEA)"


def test_an_owner_at_capacity_falls_through_to_the_territory(emea):
    rick = rep_named("rick", max_open_leads=1)
    mql(owner=rick.user)
    tom = rep_named("tom")
    TerritoryMembershipFactory(territory=emea, rep=tom)
    lead = mql(country="DE", account=AccountFactory(name="Acme", owner=rick.user))

    route(lead)

    assignment = Assignment.objects.get(lead=lead)
    assert assignment.rep == tom
    assert assignment.reason.startswith("Acme's owner Rick is at capacity (1 of 1 open); territory EMEA")


def test_weighted_round_robin_is_fair_over_many_leads(emea):
    reps = [rep_named(name) for name in ("ann", "bob", "cid")]
    for rep, weight in zip(reps, (1, 2, 3), strict=True):
        TerritoryMembershipFactory(territory=emea, rep=rep, weight=weight)
    first = mql(country="DE")
    more = Lead.objects.bulk_create(
        Lead(source=first.source, country="DE", stage=Stage.MQL, score=60 + n % 40) for n in range(599)
    )
    leads = [first, *more]

    for start in range(0, 600, 97):  # several batches: the counts carry over between transactions
        leads_route_batch(lead_ids=[lead.pk for lead in leads[start : start + 97]])

    counts = [Lead.objects.filter(owner=rep.user).count() for rep in reps]
    for count, share in zip(counts, (100, 200, 300), strict=True):
        assert abs(count - share) <= 1, counts
    assert sum(counts) == 600


def test_a_rep_gets_only_scores_they_have_appetite_for(emea):
    picky = rep_named("ann", min_score=80)
    easy = rep_named("bob")
    TerritoryMembershipFactory(territory=emea, rep=picky)
    TerritoryMembershipFactory(territory=emea, rep=easy)
    warm = [mql(country="DE", score=65) for _ in range(4)]
    hot = mql(country="DE", score=90)

    route(*warm, hot)

    assert set(Lead.objects.filter(owner=picky.user)) == {hot}
    assert Lead.objects.filter(owner=easy.user).count() == 4


def test_out_of_office_and_unavailable_reps_get_nothing_from_the_territory(emea):
    away = rep_named("ann", out_of_office_until=timezone.now() + datetime.timedelta(hours=1))
    off = rep_named("bob", is_available=False)
    back = rep_named("cid", out_of_office_until=timezone.now() - datetime.timedelta(hours=1))
    for rep in (away, off, back):
        TerritoryMembershipFactory(territory=emea, rep=rep)

    route(*[mql(country="DE") for _ in range(3)])

    assert Lead.objects.filter(owner=back.user).count() == 3


def test_a_rep_gets_no_more_new_leads_a_day_than_their_maximum(emea):
    rep = rep_named("ann", max_new_per_day=2)
    TerritoryMembershipFactory(territory=emea, rep=rep)
    leads = [mql(country="DE") for _ in range(3)]

    result = route(*leads)

    assert len(result.assigned) == 2
    assert len(result.overflowed) == 1
    assert "Ann had 2 of 2 new leads today" in OverflowEntry.objects.get().reason


def test_sla_is_set_by_score_band_from_the_lead_definition_in_the_reps_working_hours(emea):
    LeadDefinitionFactory(
        rules={"thresholds": {"mql": 60}, "sla": {"hot_score": 80, "hot_accept_hours": 2, "accept_hours": 24}}
    )
    TerritoryMembershipFactory(territory=emea, rep=rep_named("ann"))  # 9 to 5, Monday to Friday, UTC
    hot, warm = mql(country="DE", score=85), mql(country="DE", score=65)

    with freeze_time("2026-11-24 10:00:00"):  # a Tuesday
        route(hot, warm)

    hot.refresh_from_db()
    warm.refresh_from_db()
    assert hot.sla_due_at == datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC)
    # 24 working hours: 7 on Tuesday, 8 on Wednesday, 8 on Thursday, the last one on Friday morning.
    assert warm.sla_due_at == datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.UTC)


def test_nobody_with_room_puts_the_lead_in_its_territorys_overflow(emea):
    TerritoryMembershipFactory(territory=emea, rep=rep_named("ann", max_open_leads=0))
    lead = mql(country="DE")
    lost = mql(country="BR")

    result = route(lead, lost)

    assert set(result.overflowed) == {lead.pk, lost.pk}
    entry = OverflowEntry.objects.get(lead=lead)
    assert entry.territory == emea
    assert entry.score == 70
    assert entry.reason == "Overflow: nobody in EMEA has room for a score of 70 (Ann at capacity (0 of 0 open))."
    assert OverflowEntry.objects.get(lead=lost).territory is None
    assert OverflowEntry.objects.get(lead=lost).reason == "Overflow: it matches no territory."
    assert Assignment.objects.filter(lead=lead, rule="overflow", rep=None).exists()
    assert Activity.objects.get(lead=lead).subject == "Nobody had room: waiting in the EMEA overflow"
    lead.refresh_from_db()
    assert lead.owner is None


def test_overflow_drains_hottest_first_when_a_rep_frees_up(emea):
    ann = rep_named("ann", max_open_leads=1)
    TerritoryMembershipFactory(territory=emea, rep=ann)
    first = mql(country="DE", score=70)
    route(first)
    waiting = [mql(country="DE", score=score) for score in (65, 95, 75)]
    route(*waiting)
    assert [entry.lead.score for entry in overflow_list(territory=emea)] == [95, 75, 65]
    assert overflow_drain() == 0  # still full

    Lead.objects.filter(pk=first.pk).update(stage=Stage.SAL, accepted_at=timezone.now())  # Ann accepts one
    assigned = overflow_drain(territory=emea)

    assert assigned == 1
    assert Lead.objects.get(owner=ann.user, stage=Stage.MQL).score == 95
    assert [entry.lead.score for entry in overflow_list()] == [75, 65]
    assert Assignment.objects.filter(lead__score=95, rep=ann, rule="territory_round_robin").exists()
    # Draining again while nobody has room adds no new rows.
    before = Assignment.objects.count()
    assert overflow_drain() == 0
    assert Assignment.objects.count() == before


def test_routing_a_batch_twice_assigns_nothing_new(emea):
    TerritoryMembershipFactory(territory=emea, rep=rep_named("ann", max_open_leads=3))
    leads = [mql(country="DE") for _ in range(5)]
    first = route(*leads)
    rows = Assignment.objects.count()

    again = route(*leads)

    assert len(first.assigned) == 3
    assert len(first.overflowed) == 2
    assert again.assigned == {}
    assert again.overflowed == ()
    assert set(again.skipped) == {lead.pk for lead in leads}
    assert Assignment.objects.count() == rows


def test_only_unowned_active_mqls_are_routed(emea):
    TerritoryMembershipFactory(territory=emea, rep=rep_named("ann"))
    nurture = LeadFactory(country="DE", stage=Stage.NURTURE)
    owned = mql(country="DE", owner=rep_named("bob").user)

    result = route(nurture, owned)

    assert result.assigned == {}
    assert set(result.skipped) == {nurture.pk, owned.pk}


def test_a_rep_claims_a_lead_from_overflow(emea):
    lead = mql(country="DE")
    route(lead)  # nobody in EMEA: overflow
    ann = rep_named("ann")

    assignment = overflow_claim(lead=lead, user=ann.user)

    lead.refresh_from_db()
    assert (lead.owner, assignment.rule, assignment.assigned_by) == (ann.user, "claim", ann.user)
    assert not OverflowEntry.objects.exists()
    with pytest.raises(RoutingError, match="no longer free"):
        overflow_claim(lead=lead, user=rep_named("bob").user)


def test_any_unowned_mql_can_be_claimed_with_room_and_says_so_on_the_timeline_and_in_the_audit(emea):
    lead = mql(country="BR")  # never routed: not in overflow, still free
    ann = rep_named("ann")

    overflow_claim(lead=lead, user=ann.user, ip_address="198.51.100.7")

    lead.refresh_from_db()
    assert lead.owner == ann.user
    assert lead.sla_due_at is not None
    assert lead.activities.get().subject == "Claimed from overflow by Ann"
    event = AuditEvent.objects.get(action="lead.claim")
    assert (event.actor, event.changes, event.ip_address) == (ann.user, {"owner": [None, ann.user.pk]}, "198.51.100.7")


@pytest.mark.parametrize(
    "fields",
    [
        {"stage": Stage.NEW},
        {"stage": Stage.NURTURE},
        {"stage": Stage.SAL},
        {"stage": Stage.JUNK, "junk_reason": "Student"},
    ],
)
def test_only_unowned_active_mqls_can_be_claimed(fields):
    lead = LeadFactory(owner=None, **fields)

    with pytest.raises(RoutingError, match="no longer free"):
        overflow_claim(lead=lead, user=rep_named("ann").user)

    assert Lead.objects.get(pk=lead.pk).owner is None
    assert not AuditEvent.objects.exists()


def test_a_full_rep_cannot_claim_from_overflow(emea):
    lead = mql(country="DE")
    route(lead)
    full = rep_named("ann", max_open_leads=0)

    with pytest.raises(RoutingError, match="at capacity"):
        overflow_claim(lead=lead, user=full.user)


def test_a_lead_is_reassigned_by_hand_never_past_capacity(emea, lf_admin):
    ann, bob = rep_named("ann"), rep_named("bob", max_open_leads=1)
    lead = mql(country="DE", owner=ann.user)

    assignment = lead_reassign(lead=lead, rep=bob, actor=lf_admin, reason="Speaks German")

    lead.refresh_from_db()
    assert (lead.owner, assignment.rule, assignment.reason) == (bob.user, "manual", "Speaks German")
    assert rep_load(reps=[bob])[bob.pk].open_leads == 1
    with pytest.raises(RoutingError, match="at capacity"):
        lead_reassign(lead=mql(country="DE"), rep=bob, actor=lf_admin)

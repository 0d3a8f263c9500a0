"""The SLA sweep (``routing.services.sla_sweep``) at known times: lapsed leads reassigned or escalated,
each lapse recorded, told on the timeline and in the app; the touch SLA after accepting; breach counts."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from leads.activities import activity_record
from leads.models import Activity, Lead, Stage
from routing.models import Assignment, Notification, SlaBreach
from routing.selectors import sla_breaches_by_rep, sla_breaches_by_source
from routing.services import lead_accept, lead_reassign, leads_route_batch, sla_sweep
from tests.factories import (
    LeadDefinitionFactory,
    LeadFactory,
    RepFactory,
    SourceFactory,
    TerritoryFactory,
    TerritoryMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SLA = {"hot_score": 80, "hot_accept_hours": 2, "accept_hours": 24, "hot_touch_hours": 4, "touch_hours": 48}
TUESDAY_10 = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
FRIDAY_1630 = datetime.datetime(2026, 11, 27, 16, 30, tzinfo=UTC)


def rep_named(name: str, **kwargs):
    kwargs.setdefault("max_open_leads", 100)
    kwargs.setdefault("max_new_per_day", 100)
    return RepFactory(user=UserFactory(username=name, first_name=name.title(), last_name="", roles=["sales"]), **kwargs)


@pytest.fixture(autouse=True)
def definition():
    return LeadDefinitionFactory(rules={"thresholds": {"mql": 60}, "sla": SLA})


@pytest.fixture
def manager():
    return UserFactory(username="mia", first_name="Mia", last_name="Boss", roles=["sales"])


@pytest.fixture
def emea(manager):
    return TerritoryFactory(name="EMEA", slug="emea", countries=["DE"], manager=manager)


def hot_lead_given_to(rep, *, at: datetime.datetime, **kwargs) -> Lead:
    """A hot MQL routed to ``rep`` (their only seat wins) at ``at``."""
    kwargs.setdefault("source", SourceFactory(name="Webinar", slug="webinar"))
    lead = LeadFactory(stage=Stage.MQL, pipeline_state=Lead.PipelineState.SCORED, country="DE", score=90, **kwargs)
    with freeze_time(at):
        leads_route_batch(lead_ids=[lead.pk])
    lead.refresh_from_db()
    assert lead.owner == rep.user
    return lead


def test_a_lapsed_lead_goes_to_another_rep_with_room_never_back_to_the_one_who_let_it_lapse(emea, manager):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rick, weight=10)  # the round robin would pick him again
    lead = hot_lead_given_to(rick, at=TUESDAY_10)  # due at 12:00
    sara = rep_named("sara")
    TerritoryMembershipFactory(territory=emea, rep=sara, weight=1)

    result = sla_sweep(now=datetime.datetime(2026, 11, 24, 12, 1, tzinfo=UTC))

    lead.refresh_from_db()
    assert result.reassigned == {lead.pk: sara.pk}
    assert lead.owner == sara.user
    assert lead.sla_due_at == datetime.datetime(2026, 11, 24, 14, 1, tzinfo=UTC)  # a fresh 2 working hours
    breach = SlaBreach.objects.get()
    assert (breach.lead, breach.rep, breach.source, breach.territory) == (lead, rick, lead.source, emea)
    assert (breach.stage, breach.kind, breach.action) == (Stage.MQL, "accept", "reassigned")
    assert breach.due_at == datetime.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert breach.breached_at == datetime.datetime(2026, 11, 24, 12, 1, tzinfo=UTC)
    assert breach.reassigned_to == sara
    assignment = Assignment.objects.filter(lead=lead).first()
    assert (assignment.rep, assignment.rule) == (sara, Assignment.Rule.SLA_REASSIGN)
    assert assignment.reason.startswith("Rick did not accept it within 2 working hours (due 2026-11-24 12:00 UTC).")
    assert "passed over: Rick let its SLA lapse" in assignment.reason
    notice = Activity.objects.filter(lead=lead, meta__sla_breach="accept").get()
    assert notice.subject.startswith("SLA lapsed: Rick did not accept it within 2 working hours")
    assert "Reassigned to Sara" in notice.subject
    told = dict(Notification.objects.filter(lead=lead).values_list("user__username", "kind"))
    assert told == {"rick": "sla_reassigned", "sara": "lead_assigned", "mia": "sla_reassigned"}


def test_with_nobody_else_with_room_the_lapse_is_escalated_to_the_territory_manager(emea, manager):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    lead = hot_lead_given_to(rick, at=TUESDAY_10)
    TerritoryMembershipFactory(territory=emea, rep=rep_named("sara", max_open_leads=0))

    result = sla_sweep(now=datetime.datetime(2026, 11, 24, 12, 1, tzinfo=UTC))

    lead.refresh_from_db()
    assert result.escalated == (lead.pk,)
    assert lead.owner == rick.user  # stays with its rep; the manager decides
    assert lead.sla_due_at is None  # the clock stops, so the next sweep does not escalate it again
    breach = SlaBreach.objects.get()
    assert (breach.action, breach.escalated_to, breach.reassigned_to) == ("escalated", manager, None)
    assert "Sara at capacity (0 of 0 open)" in breach.note
    assert "Escalated" in breach.note
    assert "to Mia Boss" in breach.note
    mia = Notification.objects.get(user=manager)
    assert mia.kind == "sla_escalated"
    assert mia.read_at is None
    assert mia.title.startswith(f"SLA lapsed on {lead} (Rick): escalated")
    assert Notification.objects.filter(user=rick.user, kind="sla_escalated").exists()
    assert sla_sweep(now=datetime.datetime(2026, 11, 24, 13, 0, tzinfo=UTC)).escalated == ()
    assert SlaBreach.objects.count() == 1


def test_a_lead_whose_sla_lapsed_once_already_is_escalated_not_passed_on_again(emea, manager):
    rick, sara, tom = rep_named("rick"), rep_named("sara"), rep_named("tom")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    lead = hot_lead_given_to(rick, at=TUESDAY_10)
    TerritoryMembershipFactory(territory=emea, rep=sara)
    sla_sweep(now=datetime.datetime(2026, 11, 24, 12, 1, tzinfo=UTC))
    TerritoryMembershipFactory(territory=emea, rep=tom)

    result = sla_sweep(now=datetime.datetime(2026, 11, 24, 14, 2, tzinfo=UTC))

    lead.refresh_from_db()
    assert result.escalated == (lead.pk,)
    assert lead.owner == sara.user
    assert list(SlaBreach.objects.order_by("id").values_list("rep__user__username", "action")) == [
        ("rick", "reassigned"),
        ("sara", "escalated"),
    ]
    assert "had lapsed once already" in SlaBreach.objects.latest("id").note


def test_friday_evening_hours_lapse_on_monday_morning_not_over_the_weekend(emea):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    lead = hot_lead_given_to(rick, at=FRIDAY_1630)

    assert lead.sla_due_at == datetime.datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    assert sla_sweep(now=datetime.datetime(2026, 11, 30, 10, 29, tzinfo=UTC)).escalated == ()
    assert not SlaBreach.objects.exists()
    assert sla_sweep(now=datetime.datetime(2026, 11, 30, 10, 31, tzinfo=UTC)).escalated == (lead.pk,)


def test_an_escalation_with_no_territory_manager_reaches_the_admins():
    territory = TerritoryFactory(name="DACH", slug="dach", countries=["DE"])
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=territory, rep=rick)
    admin = UserFactory(username="ada", roles=["admin"])
    lead = hot_lead_given_to(rick, at=TUESDAY_10)

    sla_sweep(now=datetime.datetime(2026, 11, 24, 12, 1, tzinfo=UTC))

    assert SlaBreach.objects.get().escalated_to is None
    assert Notification.objects.filter(user=admin, lead=lead, kind="sla_escalated").exists()


def test_accepting_starts_the_first_touch_clock_and_a_call_stops_it(emea):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    lead = hot_lead_given_to(rick, at=TUESDAY_10)

    with freeze_time(datetime.datetime(2026, 11, 24, 11, 0, tzinfo=UTC)):
        lead_accept(lead=lead, user=rick.user)
    lead.refresh_from_db()
    assert lead.sla_due_at == datetime.datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 4 working hours to touch it

    with freeze_time(datetime.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)):
        activity_record(lead=lead, kind=Activity.Kind.CALL, subject="Intro call", actor=rick.user)
    lead.refresh_from_db()
    assert lead.sla_due_at is None
    assert sla_sweep(now=datetime.datetime(2026, 11, 24, 16, 0, tzinfo=UTC)) == sla_sweep(now=TUESDAY_10)
    assert not SlaBreach.objects.exists()


def test_an_accepted_lead_nobody_touched_in_time_is_escalated_and_stays_with_its_rep(emea, manager):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    TerritoryMembershipFactory(territory=emea, rep=rep_named("sara"))
    lead = hot_lead_given_to(rick, at=TUESDAY_10)
    with freeze_time(datetime.datetime(2026, 11, 24, 11, 0, tzinfo=UTC)):
        lead_accept(lead=lead, user=rick.user)
        activity_record(lead=lead, kind=Activity.Kind.EMAIL_OPEN, subject="Opened the welcome mail")

    result = sla_sweep(now=datetime.datetime(2026, 11, 24, 15, 1, tzinfo=UTC))

    lead.refresh_from_db()
    assert result.escalated == (lead.pk,)
    assert (lead.owner, lead.stage, lead.sla_due_at) == (rick.user, Stage.SAL, None)
    breach = SlaBreach.objects.get()
    assert (breach.kind, breach.stage, breach.action, breach.escalated_to) == ("touch", Stage.SAL, "escalated", manager)
    assert breach.note.startswith("SLA lapsed: Rick did not call, meet or note it within 4 working hours")


def test_breaches_are_counted_per_rep_and_per_source(emea):
    rick, sara = rep_named("rick"), rep_named("sara")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    webinar, fair = SourceFactory(name="Webinar", slug="webinar"), SourceFactory(name="Fair", slug="fair")
    hot_lead_given_to(rick, at=TUESDAY_10, source=webinar)
    hot_lead_given_to(rick, at=TUESDAY_10, source=webinar)
    hot_lead_given_to(rick, at=TUESDAY_10, source=fair)
    TerritoryMembershipFactory(territory=emea, rep=sara)

    sla_sweep(now=datetime.datetime(2026, 11, 24, 12, 1, tzinfo=UTC))  # all three go to Sara
    sla_sweep(now=datetime.datetime(2026, 11, 24, 14, 2, tzinfo=UTC))  # and lapse with her: escalated

    assert sla_breaches_by_rep() == {rick.pk: 3, sara.pk: 3}
    assert sla_breaches_by_rep(since=datetime.datetime(2026, 11, 24, 13, 0, tzinfo=UTC)) == {sara.pk: 3}
    assert sla_breaches_by_rep(rep_ids=[rick.pk]) == {rick.pk: 3}
    assert sla_breaches_by_source() == {webinar.pk: 4, fair.pk: 2}


def test_a_sweep_before_anything_is_due_does_nothing(emea):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    lead = hot_lead_given_to(rick, at=TUESDAY_10)

    result = sla_sweep(now=datetime.datetime(2026, 11, 24, 11, 59, tzinfo=UTC))

    assert (result.reassigned, result.escalated, result.met) == ({}, (), ())
    lead.refresh_from_db()
    assert lead.owner == rick.user
    assert not Notification.objects.exists()


def test_the_sweep_goes_through_every_lapsed_lead_in_batches(emea):
    rick = rep_named("rick")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    leads = [hot_lead_given_to(rick, at=TUESDAY_10) for _ in range(5)]

    result = sla_sweep(now=datetime.datetime(2026, 11, 24, 12, 1, tzinfo=UTC), batch_size=2)

    assert sorted(result.escalated) == sorted(lead.pk for lead in leads)
    assert SlaBreach.objects.count() == 5


def test_an_accepted_lead_reassigned_by_hand_gets_a_first_touch_clock_for_its_new_rep(emea, lf_admin):
    rick, sara = rep_named("rick"), rep_named("sara")
    TerritoryMembershipFactory(territory=emea, rep=rick)
    lead = hot_lead_given_to(rick, at=TUESDAY_10)
    with freeze_time(datetime.datetime(2026, 11, 24, 11, 0, tzinfo=UTC)):
        lead_accept(lead=lead, user=rick.user)

    with freeze_time(datetime.datetime(2026, 11, 24, 16, 0, tzinfo=UTC)):
        lead_reassign(lead=lead, rep=sara, actor=lf_admin, reason="Rick is on leave")

    lead.refresh_from_db()
    # 4 working hours from 16:00 on Tuesday: one that day, three on Wednesday.
    assert (lead.owner, lead.sla_due_at) == (sara.user, datetime.datetime(2026, 11, 25, 12, 0, tzinfo=UTC))

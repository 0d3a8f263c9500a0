"""A small data set whose every report figure is worked out by hand in the tests.

T0 is 2 March 2026, 09:00 UTC. Lead by lead (hours after T0):

- L1 web/spring: MQL +2, SAL +6, SQL +30, opportunity +54, won +102 (12,000); rick assigned +2, accepted +6.
- L2 web/spring: MQL +4, SAL +14, SQL +38, opportunity +62, lost +110 (5,000 lost); rick assigned +4,
  accepted +14; one SLA breach.
- L3 web/summer: MQL +1; rejected by olga (not a fit), unowned.
- L4 web/no campaign: new, never moved.
- L5 events/expo: MQL +3, SAL +5, SQL +9, opportunity +21, won +45 (30,000); rejected by rick (wrong
  territory), then olga assigned +3, accepted +5.
- L6 events/expo: junk +1.
- L9 web/summer: MQL +5, olga assigned +5, SLA due +29, not accepted.
- L7 web/spring: created 40 days before T0 (outside March), new.
- L8 web/spring: merged into L1 (never counted).

Territories: East (rick: L1, L2), West (olga: L3, L5, L9). Costs: spring 1,000, summer 500 (web),
expo 3,000 (events); the partner source has no campaigns and no leads.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from leads.models import Campaign, Lead, Opportunity, Source, Stage, StageChange
from routing.models import Assignment, Rejection, Rep, SlaBreach, Territory
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    LeadFactory,
    RepFactory,
    SourceFactory,
    TerritoryFactory,
    TerritoryMembershipFactory,
    UserFactory,
)

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


def at(hours: float) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=hours)


@dataclass
class ReportData:
    web: Source
    events: Source
    partner: Source
    spring: Campaign
    summer: Campaign
    expo: Campaign
    east: Territory
    west: Territory
    rick: Rep
    olga: Rep
    leads: dict[str, Lead]


def _lead(source: Source, campaign: Campaign | None, created: datetime.datetime, **fields) -> Lead:
    lead = LeadFactory(source=source, campaign=campaign, **fields)
    Lead.objects.filter(pk=lead.pk).update(created_at=created, stage_changed_at=created)
    lead.refresh_from_db()
    return lead


def _path(lead: Lead, *moves: tuple[str, float]) -> None:
    """Stage changes at the given hours after T0, then the lead's stage and stage_changed_at as they end."""
    before = Stage.NEW
    for to_stage, hours in moves:
        change = StageChange.objects.create(lead=lead, from_stage=before, to_stage=to_stage)
        StageChange.objects.filter(pk=change.pk).update(created_at=at(hours))
        before = to_stage
    Lead.objects.filter(pk=lead.pk).update(stage=before, stage_changed_at=at(moves[-1][1]))


def _assign(lead: Lead, rep: Rep, territory: Territory, hours: float, *, accepted: float | None = None) -> None:
    Assignment.objects.create(
        lead=lead, rep=rep, territory=territory, rule=Assignment.Rule.TERRITORY_ROUND_ROBIN, created_at=at(hours)
    )
    Lead.objects.filter(pk=lead.pk).update(
        owner=rep.user,
        assigned_at=at(hours),
        accepted_at=at(accepted) if accepted is not None else None,
        sla_due_at=at(hours + 24),
    )


def make_report_data() -> ReportData:
    web = SourceFactory(name="Website form", slug="web")
    events = SourceFactory(name="Events", slug="events")
    partner = SourceFactory(name="Partner referrals", slug="partner")
    spring = CampaignFactory(source=web, name="Spring webinar", slug="spring", cost=Decimal("1000"))
    summer = CampaignFactory(source=web, name="Summer promo", slug="summer", cost=Decimal("500"))
    expo = CampaignFactory(source=events, name="Expo 2026", slug="expo", cost=Decimal("3000"))
    east = TerritoryFactory(name="East", slug="east")
    west = TerritoryFactory(name="West", slug="west")
    rick = RepFactory(user=UserFactory(username="rick", first_name="Rick", last_name="Santos", roles=["sales"]))
    olga = RepFactory(user=UserFactory(username="olga", first_name="Olga", last_name="Berg", roles=["sales"]))
    TerritoryMembershipFactory(territory=east, rep=rick)
    TerritoryMembershipFactory(territory=west, rep=olga)

    leads = {
        "L1": _lead(web, spring, T0),
        "L2": _lead(web, spring, T0),
        "L3": _lead(web, summer, T0),
        "L4": _lead(web, None, T0),
        "L5": _lead(events, expo, T0),
        "L6": _lead(events, expo, T0, junk_reason="Competitor"),
        "L9": _lead(web, summer, T0),
        "L7": _lead(web, spring, T0 - datetime.timedelta(days=40)),
    }
    L = leads
    _path(L["L1"], (Stage.MQL, 2), (Stage.SAL, 6), (Stage.SQL, 30), (Stage.OPPORTUNITY, 54), (Stage.WON, 102))
    _path(L["L2"], (Stage.MQL, 4), (Stage.SAL, 14), (Stage.SQL, 38), (Stage.OPPORTUNITY, 62), (Stage.LOST, 110))
    _path(L["L3"], (Stage.MQL, 1))
    _path(L["L5"], (Stage.MQL, 3), (Stage.SAL, 5), (Stage.SQL, 9), (Stage.OPPORTUNITY, 21), (Stage.WON, 45))
    _path(L["L6"], (Stage.JUNK, 1))
    _path(L["L9"], (Stage.MQL, 5))

    _assign(L["L1"], rick, east, 2, accepted=6)
    _assign(L["L2"], rick, east, 4, accepted=14)
    Assignment.objects.create(lead=L["L3"], rep=olga, territory=west, rule="territory_round_robin", created_at=at(1))
    Rejection.objects.create(lead=L["L3"], rep=olga, source=web, reason=Rejection.Reason.NOT_A_FIT, created_at=at(2))
    Rejection.objects.create(lead=L["L5"], rep=rick, source=events, reason="wrong_territory", created_at=at(2.5))
    _assign(L["L5"], olga, west, 3, accepted=5)
    _assign(L["L9"], olga, west, 5)
    SlaBreach.objects.create(
        lead=L["L2"],
        rep=rick,
        source=web,
        territory=east,
        stage=Stage.MQL,
        kind=SlaBreach.Kind.ACCEPT,
        due_at=at(10),
        breached_at=at(11),
        action=SlaBreach.Action.ESCALATED,
    )

    def deal(lead: Lead, amount: str, stage: str, closed_hours: float) -> None:
        Opportunity.objects.create(
            lead=lead,
            account=AccountFactory(),
            source=lead.source,
            campaign=lead.campaign,
            name=f"Deal {lead.pk}",
            amount=Decimal(amount),
            expected_close_on=at(closed_hours).date(),
            stage=stage,
            closed_on=at(closed_hours).date(),
        )

    deal(L["L1"], "12000", Opportunity.Stage.WON, 102)
    deal(L["L2"], "5000", Opportunity.Stage.LOST, 110)
    deal(L["L5"], "30000", Opportunity.Stage.WON, 45)

    merged = _lead(web, spring, T0)
    Lead.objects.filter(pk=merged.pk).update(status=Lead.Status.MERGED, merged_into=L["L1"])
    for lead in leads.values():
        lead.refresh_from_db()
    return ReportData(web, events, partner, spring, summer, expo, east, west, rick, olga, leads)

""" "Test this lead": where routing would send a lead now, and why the others were passed over.

A dry run: it reads the territories, reps and their load without locking or writing anything, and
asks the same engine (``routing.matching.territory_for`` and ``routing.engine.Roster``) that real
routing asks under its locks. (A real routing a moment later may differ if loads change meanwhile.)
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from leads.models import Lead
from leads.selectors import lead_list_visible
from routing.engine import ACCOUNT_OWNER, BACKUP, OVERFLOW, LeadToRoute, Roster, Seat, TerritorySeats, weighted_order
from routing.matching import territory_for, territory_mismatch
from routing.models import Assignment, Rep, Territory, TerritoryMembership
from routing.selectors import rep_slots, routing_exclusions
from scoring.services import lead_fields


@dataclass(frozen=True, slots=True)
class TerritoryVerdict:
    territory: Territory
    chosen: bool
    why: str


@dataclass(frozen=True, slots=True)
class SeatVerdict:
    rep_id: int
    name: str
    weight: int
    routed_count: int
    chosen: bool
    why: str


@dataclass(frozen=True, slots=True)
class RoutePreview:
    """The decision for one lead, with every territory's and every seat's verdict."""

    lead: Lead
    rule: str
    rule_label: str
    reason: str
    rep: Rep | None
    territory: Territory | None
    territories: list[TerritoryVerdict]
    seats: list[SeatVerdict]


def lead_route_preview(*, lead: Lead, now: datetime.datetime | None = None) -> RoutePreview:
    """Where ``lead`` (saved, or unsaved with just the fields routing reads) would go now; writes nothing."""
    now = now or timezone.now()
    territories = list(Territory.objects.select_related("manager").order_by("priority", "name"))
    fields = lead_fields(lead=lead)
    matched = territory_for(fields, territories)
    verdicts = [_territory_verdict(territory, matched, fields) for territory in territories]

    account = lead.account if lead.account_id else None
    owner_rep = Rep.objects.filter(user_id=account.owner_id).first() if account and account.owner_id else None
    memberships = (
        list(TerritoryMembership.objects.filter(territory=matched).select_related("rep__user")) if matched else []
    )
    rep_ids = {m.rep_id for m in memberships} | (
        {owner_rep.pk, owner_rep.backup_id} - {None} if owner_rep is not None else set()
    )
    reps = {rep.pk: rep for rep in Rep.objects.select_related("user").filter(pk__in=rep_ids)}
    slots = rep_slots(reps=reps.values(), now=now)
    excluded = routing_exclusions(lead_ids=[lead.pk], now=now).get(lead.pk, {}) if lead.pk else {}
    seats = [Seat(rep_id=m.rep_id, weight=m.weight, routed_count=m.routed_count) for m in memberships]

    # Each seat's verdict is read before the decision counts the lead against anyone.
    seat_verdicts: list[tuple[Seat, str | None]] = []
    for seat in weighted_order(seats):
        slot = slots.get(seat.rep_id)
        refusal = excluded.get(seat.rep_id) or (slot.refusal(lead.score, now) if slot else "not found")
        seat_verdicts.append((seat, refusal))

    # The roster counts the decision on its own copies of the seats; the verdicts show the counts as they are.
    copies = [dataclasses.replace(seat) for seat in seats]
    territory_seats = {matched.pk: TerritorySeats(matched.pk, matched.name, copies)} if matched else {}
    roster = Roster(reps=slots, territories=territory_seats, now=now)
    decision = roster.decide(
        LeadToRoute(
            lead_id=lead.pk or 0,
            score=lead.score,
            territory_id=matched.pk if matched else None,
            account_name=account.name if account else "",
            account_owner_user_id=account.owner_id if account else None,
            excluded=excluded,
        )
    )
    return RoutePreview(
        lead=lead,
        rule=decision.rule,
        rule_label=Assignment.Rule(decision.rule).label,
        reason=decision.reason,
        rep=reps.get(decision.rep_id) if decision.rep_id else None,
        territory=matched,
        territories=verdicts,
        seats=_seat_verdicts(
            seat_verdicts,
            decision.rule,
            decision.rep_id,
            reps,
            off_shift={rep_id: slot.off_shift(now) for rep_id, slot in slots.items()},
        ),
    )


def _territory_verdict(territory: Territory, matched: Territory | None, fields: dict) -> TerritoryVerdict:
    if matched is not None and territory.pk == matched.pk:
        return TerritoryVerdict(territory, True, "Matches, and comes first")
    if not territory.is_active:
        return TerritoryVerdict(territory, False, "Does not route leads (inactive)")
    mismatch = territory_mismatch(territory, fields)
    if mismatch is not None:
        return TerritoryVerdict(territory, False, mismatch[:1].upper() + mismatch[1:])
    return TerritoryVerdict(
        territory,
        False,
        f"Matches too, but {matched.name} comes first (priority {matched.priority} before {territory.priority})",
    )


def _seat_verdicts(
    ordered: list[tuple[Seat, str | None]],
    rule: str,
    chosen_rep_id: int | None,
    reps: dict[int, Rep],
    off_shift: dict[int, str | None],
) -> list[SeatVerdict]:
    verdicts: list[SeatVerdict] = []
    # A seat with room ahead of the chosen one in the round robin was passed over for being off shift.
    ahead = []
    for seat, refusal in ordered:
        if seat.rep_id == chosen_rep_id:
            break
        if refusal is None:
            ahead.append(seat.rep_id)
    round_robin = chosen_rep_id is not None and rule not in (ACCOUNT_OWNER, BACKUP, OVERFLOW)
    passed_for_shift = {rep_id: off_shift.get(rep_id) for rep_id in ahead} if round_robin else {}
    for seat, refusal in ordered:
        name = str(reps[seat.rep_id]) if seat.rep_id in reps else str(seat.rep_id)
        chosen = rule not in (ACCOUNT_OWNER, BACKUP, OVERFLOW) and seat.rep_id == chosen_rep_id
        if chosen:
            why = f"Gets it: the smallest share used ({seat.routed_count} routed, weight {seat.weight})"
        elif refusal is not None:
            why = f"Passed over: {refusal}"
        elif passed_for_shift.get(seat.rep_id):
            why = f"Passed over: {passed_for_shift[seat.rep_id]}"
        elif rule in (ACCOUNT_OWNER, BACKUP):
            why = "Not needed: the account's owner rule decided"
        else:
            why = f"Would be next: larger share used ({seat.routed_count} routed, weight {seat.weight})"
        verdicts.append(SeatVerdict(seat.rep_id, name, seat.weight, seat.routed_count, chosen, why))
    return verdicts


def route_test_lead(*, user: AbstractBaseUser, data: Mapping[str, Any]) -> Lead | None:
    """The lead a "Test this lead" request names: an existing one ``user`` may see (``None`` if not), or
    an unsaved one made of the given fields (``country``, ``state``, ``postal_code``, ``industry``,
    ``employees``, ``company``, ``company_domain``, ``score``)."""
    if data.get("lead"):
        visible = lead_list_visible(user=user).select_related("account", "source")
        return visible.filter(pk=data["lead"]).first()
    fields = {name: data.get(name) for name in LEAD_FIELDS_ROUTED}
    fields = {name: value for name, value in fields.items() if value not in (None, "")}
    return Lead(score=data.get("score") if data.get("score") is not None else 0, **fields)


#: The lead fields routing reads (``routing.matching``), the ones a dry run may be given.
LEAD_FIELDS_ROUTED = ("country", "state", "postal_code", "industry", "employees", "company", "company_domain")

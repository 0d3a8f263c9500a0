"""Who gets a lead: the routing rules as pure functions over plain data (no ORM here).

The caller (``routing.services``) locks the reps it may give leads to, loads their load and seats
into a ``Roster``, and asks it for a ``Decision`` per lead, hottest first. Each decision that
gives a lead to a rep counts it against that rep (open leads, today's intake) and, for the round
robin, against their seat, so the next decision in the same batch already sees it:

1. the account's owner, if they have a rep profile, are available, have room and take this score;
   an owner who is away (unavailable or out of office) hands over to their backup, on the same terms;
2. else the lead's territory, by weighted round robin among the seated reps with room and appetite:
   the seat whose share used, ``(routed_count + 1) / weight``, is smallest (ties to the lower rep id);
3. else overflow, for that territory (or the one for leads in no territory), saying who was passed over and why.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from routing.working_hours import WorkWeek

#: The rules, as stored on ``routing.models.Assignment.rule``.
ACCOUNT_OWNER = "account_owner"
BACKUP = "backup"
TERRITORY_ROUND_ROBIN = "territory_round_robin"
OVERFLOW = "overflow"


@dataclass(slots=True)
class RepSlot:
    """One rep as routing sees them, with their load counted under the row lock."""

    rep_id: int
    user_id: int
    name: str
    open_leads: int
    max_open_leads: int
    today: int
    max_new_per_day: int
    min_score: int = 0
    is_available: bool = True
    out_of_office_until: datetime.datetime | None = None
    backup_id: int | None = None
    out_of_office_from: datetime.datetime | None = None
    #: When the rep works, for the SLA clock of what they are given (``None``: wall-clock hours).
    week: WorkWeek | None = None

    def out_of_office(self, now: datetime.datetime) -> bool:
        until = self.out_of_office_until
        return until is not None and until > now and (self.out_of_office_from is None or self.out_of_office_from <= now)

    def away(self, now: datetime.datetime) -> bool:
        return not self.is_available or self.out_of_office(now)

    def refusal(self, score: int, now: datetime.datetime) -> str | None:
        """Why this rep cannot take a lead of ``score`` now, or ``None`` if they can."""
        if not self.is_available:
            return "unavailable"
        if self.out_of_office(now):
            return f"out of office until {self.out_of_office_until:%Y-%m-%d %H:%M} UTC"
        if self.open_leads >= self.max_open_leads:
            return f"at capacity ({self.open_leads} of {self.max_open_leads} open)"
        if self.today >= self.max_new_per_day:
            return f"had {self.today} of {self.max_new_per_day} new leads today"
        if score < self.min_score:
            return f"takes scores of {self.min_score} and up"
        return None

    def off_shift(self, now: datetime.datetime) -> str | None:
        """Why the rep is not at work now ("off shift (works 09:00-17:00 Europe/Berlin)"), or ``None``."""
        if self.week is None or self.week.working_at(now):
            return None
        return f"off shift ({self.week.hours_text()})"

    def take(self) -> None:
        self.open_leads += 1
        self.today += 1


@dataclass(slots=True)
class Seat:
    """A rep's seat in a territory, with the round-robin count so far."""

    rep_id: int
    weight: int
    routed_count: int = 0


@dataclass(slots=True)
class TerritorySeats:
    territory_id: int
    name: str
    seats: list[Seat] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LeadToRoute:
    lead_id: int
    score: int
    territory_id: int | None = None
    account_name: str = ""
    account_owner_user_id: int | None = None
    #: Reps who must not get it (rep id -> why, e.g. "rejected it"): passed over by every rule.
    excluded: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    rule: str
    rep_id: int | None
    territory_id: int | None
    reason: str


def weighted_order(seats: Iterable[Seat]) -> list[Seat]:
    """Seats by share used, smallest first: ``a`` before ``b`` when (a.count+1)/a.weight < (b.count+1)/b.weight."""

    def compare(a: Seat, b: Seat) -> int:
        left, right = (a.routed_count + 1) * b.weight, (b.routed_count + 1) * a.weight
        if left != right:
            return -1 if left < right else 1
        return -1 if a.rep_id < b.rep_id else (1 if a.rep_id > b.rep_id else 0)

    return sorted(seats, key=functools.cmp_to_key(compare))


@dataclass
class Roster:
    """The reps and territories of one routing transaction; ``decide`` applies the rules lead by lead."""

    reps: Mapping[int, RepSlot]
    territories: Mapping[int, TerritorySeats]
    now: datetime.datetime
    reps_by_user: dict[int, RepSlot] = field(init=False)
    off_shift: dict[int, str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.reps_by_user = {slot.user_id: slot for slot in self.reps.values()}
        # ``now`` is fixed for the roster: each rep's shift is worked out once, not once per lead.
        self.off_shift = {slot.rep_id: slot.off_shift(self.now) for slot in self.reps.values()}

    def decide(self, lead: LeadToRoute) -> Decision:
        """The decision for ``lead``, already counted against the rep (and seat) it names."""
        notes: list[str] = []
        owner = self.reps_by_user.get(lead.account_owner_user_id) if lead.account_owner_user_id else None
        if owner is not None and owner.rep_id in lead.excluded:
            notes.append(f"{lead.account_name or 'the account'}'s owner {owner.name} {lead.excluded[owner.rep_id]}")
            owner = None
        if owner is not None:
            decision = self._account_owner(lead, owner, notes)
            if decision is not None:
                return decision
        territory = self.territories.get(lead.territory_id) if lead.territory_id else None
        if territory is None:
            notes.append("it matches no territory")
            return Decision(OVERFLOW, None, None, _sentence("Overflow: " + "; ".join(notes)))
        ordered = weighted_order(territory.seats)
        passed: list[str] = []
        # Reps at work now come first, so a lead is not left with someone gone home while a colleague is
        # in; when nobody with room is at work, the round robin runs over everyone with room.
        refusals: dict[int, str | None] = {}
        for seat in ordered:
            rep = self.reps.get(seat.rep_id)
            if seat.rep_id in lead.excluded:
                refusals[seat.rep_id] = lead.excluded[seat.rep_id]
            else:
                refusals[seat.rep_id] = "not found" if rep is None else rep.refusal(lead.score, self.now)
        anyone_at_work = any(refusals[seat.rep_id] is None and self.off_shift[seat.rep_id] is None for seat in ordered)
        for seat in ordered:
            rep = self.reps.get(seat.rep_id)
            refusal = refusals[seat.rep_id]
            if refusal is None and anyone_at_work:
                refusal = self.off_shift[seat.rep_id]
            if refusal is None:
                rep.take()
                seat.routed_count += 1
                notes.append(
                    f"territory {territory.name} round robin: {rep.name} had the smallest share "
                    f"({seat.routed_count - 1} routed, weight {seat.weight})"
                )
                if passed:
                    notes.append(f"passed over: {', '.join(passed)}")
                return Decision(TERRITORY_ROUND_ROBIN, rep.rep_id, territory.territory_id, _sentence("; ".join(notes)))
            passed.append(f"{rep.name if rep else seat.rep_id} {refusal}")
        if not ordered:
            passed.append("it has no reps")
        notes.append(f"nobody in {territory.name} has room for a score of {lead.score} ({', '.join(passed)})")
        return Decision(OVERFLOW, None, territory.territory_id, _sentence("Overflow: " + "; ".join(notes)))

    def _account_owner(self, lead: LeadToRoute, owner: RepSlot, notes: list[str]) -> Decision | None:
        account = lead.account_name or "the account"
        if owner.away(self.now):
            backup = self.reps.get(owner.backup_id) if owner.backup_id else None
            away = owner.refusal(lead.score, self.now)
            if backup is not None and backup.rep_id in lead.excluded:
                why = lead.excluded[backup.rep_id]
                notes.append(f"{account}'s owner {owner.name} is {away}; their backup {backup.name} {why}")
                return None
            if backup is None:
                notes.append(f"{account}'s owner {owner.name} is {away} with no backup")
                return None
            refusal = backup.refusal(lead.score, self.now)
            if refusal is None:
                backup.take()
                return Decision(
                    BACKUP,
                    backup.rep_id,
                    lead.territory_id,
                    _sentence(f"{account}'s owner {owner.name} is {away}; their backup {backup.name} has room"),
                )
            notes.append(f"{account}'s owner {owner.name} is {away} and their backup {backup.name} is {refusal}")
            return None
        refusal = owner.refusal(lead.score, self.now)
        if refusal is None:
            owner.take()
            return Decision(ACCOUNT_OWNER, owner.rep_id, lead.territory_id, _sentence(f"{owner.name} owns {account}"))
        notes.append(f"{account}'s owner {owner.name} is {refusal}")
        return None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."

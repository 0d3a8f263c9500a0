"""The routing rules as pure functions (``routing.engine``): no database."""

from __future__ import annotations

import datetime
from collections import Counter

from routing.engine import LeadToRoute, RepSlot, Roster, Seat, TerritorySeats

NOW = datetime.datetime(2025, 3, 3, 10, tzinfo=datetime.UTC)


def slot(rep_id: int, **kwargs) -> RepSlot:
    values = {"user_id": rep_id * 10, "name": f"Rep{rep_id}", "open_leads": 0, "max_open_leads": 1000, "today": 0,
              "max_new_per_day": 1000} | kwargs  # fmt: skip
    return RepSlot(rep_id=rep_id, **values)


def roster(reps: list[RepSlot], weights: dict[int, int]) -> Roster:
    seats = [Seat(rep_id=rep_id, weight=weight) for rep_id, weight in weights.items()]
    return Roster(reps={r.rep_id: r for r in reps}, territories={1: TerritorySeats(1, "EMEA", seats)}, now=NOW)


def test_weights_share_the_leads_exactly_in_proportion():
    r = roster([slot(1), slot(2), slot(3)], {1: 1, 2: 2, 3: 3})

    counts = Counter(r.decide(LeadToRoute(lead_id=n, score=70, territory_id=1)).rep_id for n in range(600))

    assert counts == {1: 100, 2: 200, 3: 300}


def test_a_full_rep_is_skipped_and_the_decision_counts_against_the_rep():
    full = slot(1, open_leads=5, max_open_leads=5)
    other = slot(2)
    r = roster([full, other], {1: 1, 2: 1})

    decision = r.decide(LeadToRoute(lead_id=1, score=70, territory_id=1))

    assert decision.rep_id == 2
    assert (other.open_leads, other.today) == (1, 1)


def test_nobody_with_room_overflows_naming_who_was_passed_over_and_why():
    r = roster([slot(1, min_score=80), slot(2, is_available=False)], {1: 1, 2: 1})

    decision = r.decide(LeadToRoute(lead_id=1, score=70, territory_id=1))

    assert (decision.rule, decision.rep_id, decision.territory_id) == ("overflow", None, 1)
    assert decision.reason == (
        "Overflow: nobody in EMEA has room for a score of 70 (Rep1 takes scores of 80 and up, Rep2 unavailable)."
    )


def test_account_owner_comes_before_the_territory():
    r = roster([slot(1), slot(2)], {1: 1})

    decision = r.decide(LeadToRoute(lead_id=1, score=70, territory_id=1, account_name="Acme", account_owner_user_id=20))

    assert (decision.rule, decision.rep_id, decision.reason) == ("account_owner", 2, "Rep2 owns Acme.")

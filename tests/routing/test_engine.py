"""The routing rules as pure functions (``routing.engine``): no database."""

from __future__ import annotations

import datetime
from collections import Counter
from zoneinfo import ZoneInfo

from routing.engine import LeadToRoute, RepSlot, Roster, Seat, TerritorySeats
from routing.working_hours import WorkWeek

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


BERLIN_WEEK = WorkWeek(zone=ZoneInfo("Europe/Berlin"))  # 9 to 5, Monday to Friday
NEW_YORK_WEEK = WorkWeek(zone=ZoneInfo("America/New_York"))


def test_reps_at_work_come_first_and_the_others_are_named_as_off_shift():
    # 10:00 UTC on a Monday: 11:00 in Berlin (at work), 05:00 in New York (not yet).
    r = roster([slot(1, week=NEW_YORK_WEEK), slot(2, week=BERLIN_WEEK)], {1: 5, 2: 1})

    decision = r.decide(LeadToRoute(lead_id=1, score=70, territory_id=1))

    assert decision.rep_id == 2
    assert "passed over: Rep1 off shift (works 09:00-17:00 America/New_York)" in decision.reason


def test_with_nobody_at_work_the_round_robin_runs_over_everyone_with_room():
    night = datetime.datetime(2025, 3, 3, 2, tzinfo=datetime.UTC)  # 03:00 in Berlin, 21:00 in New York
    reps = {1: slot(1, week=NEW_YORK_WEEK), 2: slot(2, week=BERLIN_WEEK)}
    seats = [Seat(rep_id=1, weight=5), Seat(rep_id=2, weight=1)]
    r = Roster(reps=reps, territories={1: TerritorySeats(1, "EMEA", seats)}, now=night)

    counts = Counter(r.decide(LeadToRoute(lead_id=n, score=70, territory_id=1)).rep_id for n in range(60))

    assert counts == {1: 50, 2: 10}


def test_an_excluded_rep_is_passed_over_by_every_rule():
    r = roster([slot(1), slot(2)], {1: 9, 2: 1})

    decision = r.decide(
        LeadToRoute(lead_id=1, score=70, territory_id=1, account_owner_user_id=10, excluded={1: "rejected it"})
    )

    assert decision.rep_id == 2
    assert decision.reason.startswith("The account's owner Rep1 rejected it; territory EMEA round robin")
    assert decision.reason.endswith("passed over: Rep1 rejected it.")


def test_an_absence_that_has_not_started_yet_does_not_keep_a_rep_from_leads():
    later = {
        "out_of_office_from": NOW + datetime.timedelta(days=1),
        "out_of_office_until": NOW + datetime.timedelta(days=5),
    }
    now_away = {"out_of_office_until": NOW + datetime.timedelta(days=5)}

    assert roster([slot(1, **later)], {1: 1}).decide(LeadToRoute(lead_id=1, score=70, territory_id=1)).rep_id == 1
    decision = roster([slot(1, **now_away)], {1: 1}).decide(LeadToRoute(lead_id=1, score=70, territory_id=1))
    assert decision.rep_id is None
    assert "Rep1 out of office until 2025-03-08 10:00 UTC" in decision.reason

"""SLA clocks in a rep's working time (``routing.working_hours``): pure, no database."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from routing.working_hours import WorkWeek, working_deadline

UTC = datetime.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int, zone: datetime.tzinfo = UTC) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=zone)


def test_two_working_hours_on_a_friday_evening_end_on_monday_morning():
    week = WorkWeek(zone=BERLIN)  # 9 to 5, Monday to Friday

    due = working_deadline(start=at(2026, 11, 27, 16, 30, zone=BERLIN), hours=2, week=week)

    assert due == at(2026, 11, 30, 10, 30, zone=BERLIN)  # half an hour on Friday, an hour and a half on Monday


def test_the_clock_starts_when_the_working_day_does():
    assert working_deadline(start=at(2026, 11, 24, 6, 0), hours=2, week=WorkWeek()) == at(2026, 11, 24, 11, 0)
    # Given on a Saturday: from Monday at nine.
    assert working_deadline(start=at(2026, 11, 28, 12, 0), hours=2, week=WorkWeek()) == at(2026, 11, 30, 11, 0)


def test_many_hours_run_over_several_days_and_only_working_days():
    week = WorkWeek(days=frozenset({1, 3}))  # Mondays and Wednesdays

    due = working_deadline(start=at(2026, 11, 23, 9, 0), hours=20, week=week)

    assert due == at(2026, 11, 30, 13, 0)  # 8 on Monday, 8 on Wednesday, 4 the next Monday


def test_an_absence_stops_the_clock():
    week = WorkWeek(away_from=at(2026, 11, 30, 0, 0), away_until=at(2026, 12, 2, 12, 0))

    due = working_deadline(start=at(2026, 11, 27, 16, 30), hours=2, week=week)

    assert due == at(2026, 12, 2, 13, 30)  # back on Wednesday at noon


def test_an_absence_with_no_start_has_already_begun():
    week = WorkWeek(away_until=at(2026, 11, 25, 9, 0))

    assert working_deadline(start=at(2026, 11, 24, 10, 0), hours=1, week=week) == at(2026, 11, 25, 10, 0)


def test_a_working_day_across_the_change_to_summer_time_is_as_long_as_the_clock_says():
    week = WorkWeek(zone=BERLIN)

    # Friday 16:00 CET (UTC+1): one hour that day, one on Monday 30 March at 09:00 CEST (UTC+2).
    due = working_deadline(start=at(2026, 3, 27, 16, 0, zone=BERLIN), hours=2, week=week)

    assert due == at(2026, 3, 30, 10, 0, zone=BERLIN)
    assert due.utcoffset() == datetime.timedelta(0)
    assert due == at(2026, 3, 30, 8, 0)


def test_hours_in_new_york_time():
    week = WorkWeek(zone=ZoneInfo("America/New_York"), start=datetime.time(8), end=datetime.time(12))

    due = working_deadline(start=at(2026, 11, 24, 16, 0), hours=3, week=week)  # 11:00 in New York

    assert due == at(2026, 11, 25, 15, 0)  # one hour on Tuesday, two on Wednesday from 08:00 EST


@pytest.mark.parametrize("week", [WorkWeek(days=frozenset()), WorkWeek(away_until=at(2028, 1, 1, 0, 0))])
def test_no_working_time_at_all_falls_back_to_the_wall_clock(week):
    assert working_deadline(start=at(2026, 11, 24, 10, 0), hours=5, week=week) == at(2026, 11, 24, 15, 0)


def test_working_at_respects_days_hours_zone_and_absence():
    week = WorkWeek(zone=BERLIN, away_from=at(2026, 11, 26, 0, 0), away_until=at(2026, 11, 27, 0, 0))

    assert week.working_at(at(2026, 11, 24, 8, 30))  # 09:30 in Berlin, a Tuesday
    assert not week.working_at(at(2026, 11, 24, 7, 30))  # 08:30 in Berlin
    assert not week.working_at(at(2026, 11, 24, 16, 0))  # 17:00 in Berlin: the day is over
    assert not week.working_at(at(2026, 11, 28, 10, 0))  # a Saturday
    assert not week.working_at(at(2026, 11, 26, 10, 0))  # away that Thursday

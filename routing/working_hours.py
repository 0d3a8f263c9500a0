"""SLA clocks in a rep's working time: pure functions over plain data (no ORM here).

"2 working hours" given at 16:30 on a Friday to a rep who works 9 to 5, Monday to Friday, in
Berlin ends at 10:30 Berlin time on Monday; an out-of-office period stops the clock too. The
windows are built day by day in the rep's time zone (so daylight-saving days are as long as the
wall clock says) and the arithmetic is done in UTC.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = datetime.UTC
#: Past this many days without a working minute (e.g. a year of absence), the clock falls back to wall-clock time.
SEARCH_DAYS = 400


@dataclass(frozen=True, slots=True)
class WorkWeek:
    """When a rep works: daily hours on some ISO weekdays in a time zone, minus one absence."""

    zone: datetime.tzinfo = UTC
    start: datetime.time = datetime.time(9, 0)
    end: datetime.time = datetime.time(17, 0)
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    away_from: datetime.datetime | None = None
    away_until: datetime.datetime | None = None

    @classmethod
    def of(cls, rep: object) -> WorkWeek:
        """The week of a ``routing.models.Rep`` (an unknown time zone counts as UTC)."""
        try:
            zone: datetime.tzinfo = ZoneInfo(rep.timezone)
        except (KeyError, ValueError):
            zone = UTC
        days = frozenset(day for day in (rep.work_days or ()) if isinstance(day, int) and 1 <= day <= 7)
        return cls(
            zone=zone,
            start=rep.work_start,
            end=rep.work_end,
            days=days,
            away_from=rep.out_of_office_from,
            away_until=rep.out_of_office_until,
        )

    def working_at(self, now: datetime.datetime) -> bool:
        """Whether ``now`` falls in the rep's working hours (and not in their absence)."""
        local = now.astimezone(self.zone)
        if local.isoweekday() not in self.days or not self.start <= local.time() < self.end:
            return False
        away_from = self.away_from or datetime.datetime.min.replace(tzinfo=UTC)
        return self.away_until is None or not away_from <= now < self.away_until

    def hours_text(self) -> str:
        """E.g. "works 09:00-17:00 Europe/Berlin"."""
        return f"works {self.start:%H:%M}-{self.end:%H:%M} {self.zone}"

    def windows(self, since: datetime.datetime) -> Iterator[tuple[datetime.datetime, datetime.datetime]]:
        """Working intervals (UTC) from ``since`` on, day by day, for at most ``SEARCH_DAYS`` days."""
        since = since.astimezone(UTC)
        day = since.astimezone(self.zone).date()
        for _ in range(SEARCH_DAYS):
            if day.isoweekday() in self.days and self.end > self.start:
                begin = datetime.datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC)
                end = datetime.datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC)
                begin = max(begin, since)
                for piece in self._minus_absence(begin, end):
                    if piece[1] > piece[0]:
                        yield piece
            day += datetime.timedelta(days=1)

    def _minus_absence(
        self, begin: datetime.datetime, end: datetime.datetime
    ) -> list[tuple[datetime.datetime, datetime.datetime]]:
        if self.away_until is None:
            return [(begin, end)]
        away_from = self.away_from or datetime.datetime.min.replace(tzinfo=UTC)
        if self.away_until <= begin or away_from >= end:
            return [(begin, end)]
        return [(begin, min(end, away_from)), (max(begin, self.away_until), end)]


@functools.lru_cache(maxsize=4096)  # a routing batch asks the same (start, hours, week) for many leads
def working_deadline(*, start: datetime.datetime, hours: float, week: WorkWeek) -> datetime.datetime:
    """``hours`` of the rep's working time after ``start``, as a UTC instant.

    A rep with no working day at all (or away for longer than ``SEARCH_DAYS``) gets wall-clock hours,
    so a lead is never left without a deadline.
    """
    remaining = datetime.timedelta(hours=hours)
    for begin, end in week.windows(start):
        if remaining <= end - begin:
            return begin + remaining
        remaining -= end - begin
    return start.astimezone(UTC) + datetime.timedelta(hours=hours)

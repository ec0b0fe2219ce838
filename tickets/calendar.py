"""Thai business calendar: Asia/Bangkok office hours with a lunch break, weekends, Thai public and
government holidays (with substitution days, from the `holidays` package) and office-declared extra days.

All functions take and return timezone-aware datetimes; internally they work in Bangkok local time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

BANGKOK = ZoneInfo("Asia/Bangkok")
HOLIDAY_CATEGORIES = ("public", "government")


def _parse_time(value: str | time) -> time:
    if isinstance(value, time):
        return value
    hours, minutes = value.strip().split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class OfficeHours:
    start: time = time(8, 30)
    end: time = time(16, 30)
    lunch_start: time | None = time(12, 0)
    lunch_end: time | None = time(13, 0)
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday..Friday

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("office hours: start must be before end")
        if (self.lunch_start is None) != (self.lunch_end is None):
            raise ValueError("office hours: give both ends of the lunch break or neither")
        if self.lunch_start and self.lunch_end and not (self.start <= self.lunch_start < self.lunch_end <= self.end):
            raise ValueError("office hours: the lunch break must lie inside the working day")

    @classmethod
    def from_settings(cls, raw: dict[str, Any] | None) -> OfficeHours:
        raw = raw or {}
        lunch = raw.get("lunch", ["12:00", "13:00"])
        return cls(
            start=_parse_time(raw.get("start", "08:30")),
            end=_parse_time(raw.get("end", "16:30")),
            lunch_start=_parse_time(lunch[0]) if lunch else None,
            lunch_end=_parse_time(lunch[1]) if lunch else None,
            workdays=frozenset(raw.get("workdays", [0, 1, 2, 3, 4])),
        )

    def intervals(self) -> list[tuple[time, time]]:
        if self.lunch_start and self.lunch_end:
            return [(self.start, self.lunch_start), (self.lunch_end, self.end)]
        return [(self.start, self.end)]

    @property
    def seconds_per_day(self) -> int:
        total = 0
        for a, b in self.intervals():
            total += (datetime.combine(date.min, b) - datetime.combine(date.min, a)).seconds
        return total


@lru_cache(maxsize=64)
def _thai_holidays(year: int) -> dict[date, str]:
    th = holidays.Thailand(years=year, categories=HOLIDAY_CATEGORIES, language="th")
    return dict(th.items())


@dataclass(frozen=True)
class BusinessCalendar:
    hours: OfficeHours = field(default_factory=OfficeHours)
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()  # e.g. a Saturday the office declares a working day

    @classmethod
    def from_office_settings(cls, settings: dict[str, Any] | None) -> BusinessCalendar:
        settings = settings or {}
        extra = frozenset(date.fromisoformat(str(d["date"] if isinstance(d, dict) else d))
                          for d in settings.get("extra_holidays", []))
        work = frozenset(date.fromisoformat(str(d)) for d in settings.get("extra_workdays", []))
        return cls(OfficeHours.from_settings(settings.get("hours")), extra, work)

    # -- days -----------------------------------------------------------------------------------
    def holiday_name(self, day: date) -> str | None:
        if day in self.extra_holidays:
            return "วันหยุดที่สำนักงานกำหนด"
        return _thai_holidays(day.year).get(day)

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day.weekday() not in self.hours.workdays:
            return False
        return self.holiday_name(day) is None

    def business_days(self, start: date) -> Iterator[date]:
        day = start
        for _ in range(3700):  # ten years: no calendar is that closed
            if self.is_business_day(day):
                yield day
            day += timedelta(days=1)

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_business_day(day):
            return []
        return [
            (datetime.combine(day, a, BANGKOK), datetime.combine(day, b, BANGKOK)) for a, b in self.hours.intervals()
        ]

    def _intervals_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        local = start.astimezone(BANGKOK)
        for day in self.business_days(local.date()):
            for a, b in self._day_intervals(day):
                if b <= local:
                    continue
                yield max(a, local), b

    # -- instants --------------------------------------------------------------------------------
    def is_open(self, when: datetime) -> bool:
        local = when.astimezone(BANGKOK)
        return any(a <= local < b for a, b in self._day_intervals(local.date()))

    def next_open(self, when: datetime) -> datetime:
        """`when` itself if the office is open then, otherwise the next opening instant."""
        for a, _b in self._intervals_from(when):
            return a.astimezone(UTC)
        raise ValueError("no business time ahead")  # pragma: no cover

    def add_business_seconds(self, when: datetime, seconds: float) -> datetime:
        """The instant when `seconds` of office time have passed after `when`."""
        if seconds <= 0:
            return self.next_open(when)
        remaining = timedelta(seconds=seconds)
        for a, b in self._intervals_from(when):
            span = b - a
            if remaining <= span:
                return (a + remaining).astimezone(UTC)
            remaining -= span
        raise ValueError("no business time ahead")  # pragma: no cover

    def add_business_hours(self, when: datetime, hours: float) -> datetime:
        return self.add_business_seconds(when, hours * 3600)

    def add_business_days(self, when: datetime, days: int) -> datetime:
        """The same office time of day `days` business days later (from the next opening if closed now).

        Friday 15:00 + 1 business day = Monday 15:00 (or the next working day after a holiday).
        """
        start = self.next_open(when).astimezone(BANGKOK)
        if days <= 0:
            return start.astimezone(UTC)
        later = self.business_days(start.date() + timedelta(days=1))
        target = start.date()
        for _ in range(days):
            target = next(later)
        return datetime.combine(target, start.timetz().replace(tzinfo=None), BANGKOK).astimezone(UTC)

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Office time between two instants (negative when `end` is before `start`)."""
        if end < start:
            return -self.business_seconds_between(end, start)
        total = 0.0
        end_local = end.astimezone(BANGKOK)
        for a, b in self._intervals_from(start):
            if a >= end_local:
                break
            total += (min(b, end_local) - a).total_seconds()
        return total

    def month_end_plus_business_days(self, year: int, month: int, days: int) -> datetime:
        """End of the office day `days` business days after the month ends (the director's summary)."""
        first_next = date(year + (month == 12), month % 12 + 1, 1)
        later = self.business_days(first_next)
        target = first_next
        for _ in range(days):
            target = next(later)
        return datetime.combine(target, self.hours.end, BANGKOK).astimezone(UTC)


def holidays_between(start: date, end: date, calendar: BusinessCalendar | None = None) -> Iterable[tuple[date, str]]:
    cal = calendar or BusinessCalendar()
    day = start
    while day <= end:
        name = cal.holiday_name(day)
        if name:
            yield day, name
        day += timedelta(days=1)

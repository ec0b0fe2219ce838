"""Business time with fixed clocks across Songkran, New Year, a substitution day and a weekend."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tickets.calendar import BANGKOK, BusinessCalendar, OfficeHours

CAL = BusinessCalendar()


def bkk(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BANGKOK)


def local(dt: datetime) -> tuple[int, int, int, int, int]:
    t = dt.astimezone(BANGKOK)
    return (t.year, t.month, t.day, t.hour, t.minute)


def test_holidays_and_weekends() -> None:
    assert not CAL.is_business_day(date(2026, 4, 13))  # Songkran
    assert not CAL.is_business_day(date(2026, 4, 15))
    assert CAL.is_business_day(date(2026, 4, 16))
    assert not CAL.is_business_day(date(2026, 12, 7))  # substitution for 5 Dec (Saturday)
    assert not CAL.is_business_day(date(2026, 11, 28))  # Saturday
    assert CAL.is_business_day(date(2026, 11, 23))
    assert CAL.holiday_name(date(2026, 4, 14)) == "วันสงกรานต์"


def test_add_business_days_over_songkran() -> None:
    # Resolved Friday 10 April 2026 at 10:00; Mon 13 - Wed 15 are Songkran.
    assert local(CAL.add_business_days(bkk(2026, 4, 10, 10), 1)) == (2026, 4, 16, 10, 0)
    assert local(CAL.add_business_days(bkk(2026, 4, 10, 10), 3)) == (2026, 4, 20, 10, 0)


def test_add_business_days_over_new_year() -> None:
    # Wed 30 Dec 2026 14:00 -> 31 Dec (holiday), 1 Jan 2027 (holiday), weekend -> Mon 4 Jan 2027.
    assert local(CAL.add_business_days(bkk(2026, 12, 30, 14), 1)) == (2027, 1, 4, 14, 0)


def test_add_business_days_over_substitution_day_and_weekend() -> None:
    # Fri 4 Dec 2026 16:00 -> Sat 5, Sun 6, Mon 7 (substitution) -> Tue 8 Dec.
    assert local(CAL.add_business_days(bkk(2026, 12, 4, 16), 1)) == (2026, 12, 8, 16, 0)


def test_out_of_hours_start_counts_from_next_opening() -> None:
    # Saturday evening message: the clock starts Monday 08:30.
    assert local(CAL.next_open(bkk(2026, 11, 28, 19))) == (2026, 11, 30, 8, 30)
    assert local(CAL.add_business_days(bkk(2026, 11, 28, 19), 1)) == (2026, 12, 1, 8, 30)


def test_business_hours_skip_lunch_and_nights() -> None:
    # 11:30 + 1 business hour: 30 minutes before lunch, 30 after -> 13:30.
    assert local(CAL.add_business_hours(bkk(2026, 11, 23, 11, 30), 1)) == (2026, 11, 23, 13, 30)
    # 16:00 + 1 hour -> next morning 09:00.
    assert local(CAL.add_business_hours(bkk(2026, 11, 23, 16), 1)) == (2026, 11, 24, 9, 0)
    # Thursday 9 April 16:00 + 2 hours: Fri 10 April 08:30-10:00 -> 10:00 (Songkran next week unaffected)
    assert local(CAL.add_business_hours(bkk(2026, 4, 9, 16), 2)) == (2026, 4, 10, 10, 0)
    # Friday 10 April 16:00 + 1 hour crosses the weekend and Songkran -> Thursday 16 April 09:00.
    assert local(CAL.add_business_hours(bkk(2026, 4, 10, 16), 1)) == (2026, 4, 16, 9, 0)


def test_business_seconds_between() -> None:
    full_day = OfficeHours().seconds_per_day
    assert full_day == 7 * 3600
    assert CAL.business_seconds_between(bkk(2026, 11, 23, 8, 30), bkk(2026, 11, 23, 16, 30)) == full_day
    # Friday 4 Dec 12:30 -> Tuesday 8 Dec 09:30: 3.5 h on Friday (13:00-16:30) + 1 h Tuesday.
    assert CAL.business_seconds_between(bkk(2026, 12, 4, 12, 30), bkk(2026, 12, 8, 9, 30)) == 4.5 * 3600
    assert CAL.business_seconds_between(bkk(2026, 12, 8, 9, 30), bkk(2026, 12, 4, 12, 30)) == -4.5 * 3600
    round_trip = CAL.add_business_seconds(bkk(2026, 4, 9, 10), 20 * 3600)
    assert CAL.business_seconds_between(bkk(2026, 4, 9, 10), round_trip) == pytest.approx(20 * 3600)


def test_office_settings_extra_holiday_and_hours() -> None:
    cal = BusinessCalendar.from_office_settings({
        "hours": {"start": "08:00", "end": "16:00", "lunch": ["12:00", "13:00"]},
        "extra_holidays": [{"date": "2026-11-24", "name": "วันหยุดจังหวัด"}],
    })
    assert not cal.is_business_day(date(2026, 11, 24))
    assert local(cal.add_business_days(bkk(2026, 11, 23, 9), 1)) == (2026, 11, 25, 9, 0)
    assert local(cal.next_open(bkk(2026, 11, 23, 7))) == (2026, 11, 23, 8, 0)


def test_monthly_summary_due_three_business_days_after_month_end() -> None:
    # November 2026 ends on Monday 30 Nov; 1-3 Dec are business days -> Thursday 3 Dec 16:30.
    assert local(CAL.month_end_plus_business_days(2026, 11, 3)) == (2026, 12, 3, 16, 30)
    # December 2026: 1 Jan 2027 holiday, weekend -> 4, 5, 6 Jan 2027.
    assert local(CAL.month_end_plus_business_days(2026, 12, 3)) == (2027, 1, 6, 16, 30)


def test_utc_in_utc_out() -> None:
    out = CAL.add_business_hours(datetime(2026, 11, 23, 2, 0, tzinfo=UTC), 1)  # 09:00 Bangkok
    assert out.tzinfo == UTC and out == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

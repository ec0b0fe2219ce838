"""Dates as Thai users read them: Asia/Bangkok time, Buddhist Era years, fiscal year from 1 October."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
MONTHS_FULL = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)


def to_local(when: datetime) -> datetime:
    return when.astimezone(BANGKOK)


def be_year(when: date | datetime) -> int:
    if isinstance(when, datetime):
        when = to_local(when)
    return when.year + 543


def format_date(when: date | datetime, full_month: bool = False) -> str:
    """23 พ.ย. 2569 (or 23 พฤศจิกายน 2569)."""
    if isinstance(when, datetime):
        when = to_local(when)
    months = MONTHS_FULL if full_month else MONTHS_SHORT
    return f"{when.day} {months[when.month - 1]} {when.year + 543}"


def format_datetime(when: datetime) -> str:
    """23 พ.ย. 2569 09:05 น."""
    local = to_local(when)
    return f"{format_date(local)} {local:%H:%M} น."


def fiscal_year_be(when: date | datetime) -> int:
    """Thai government fiscal year (ปีงบประมาณ), 1 October to 30 September, in BE."""
    if isinstance(when, datetime):
        when = to_local(when)
    return when.year + 543 + (1 if when.month >= 10 else 0)

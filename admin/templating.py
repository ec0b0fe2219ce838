"""Jinja filters for the admin templates: Thai labels, Buddhist-Era dates, numbers and durations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask

from admin import labels as L
from helpdesk.thaidate import format_date, format_datetime, to_local


def thai_datetime(value: datetime | None) -> str:
    return format_datetime(value) if value is not None else L.NOT_SET


def thai_date(value: date | datetime | None, full: bool = False) -> str:
    return format_date(value, full_month=full) if value is not None else L.NOT_SET


def be_short(value: datetime | None) -> str:
    """23/11/2569 09:05 (compact, for tables on a phone)."""
    if value is None:
        return L.NOT_SET
    local = to_local(value)
    return f"{local.day}/{local.month}/{local.year + 543} {local:%H:%M}"


def be_sortable(value: datetime | None) -> str:
    """2569-11-23 09:05: Buddhist Era, sorts correctly as text (exports)."""
    if value is None:
        return ""
    local = to_local(value)
    return f"{local.year + 543:04d}-{local:%m-%d %H:%M}"


def duration_th(seconds: float | None) -> str:
    if seconds is None:
        return L.NOT_SET
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} วัน")
    if hours:
        parts.append(f"{hours} ชม.")
    if minutes and not days:
        parts.append(f"{minutes} นาที")
    return " ".join(parts) or "น้อยกว่า 1 นาที"


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return L.NOT_SET
    return f"{value * 100:.{digits}f}%"


def number(value: Any) -> str:
    if value is None:
        return L.NOT_SET
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{int(value):,}"


def label(value: str | None, table: str) -> str:
    tables: dict[str, dict[str, str]] = {
        "category": L.CATEGORY_TH,
        "intent": L.INTENT_TH,
        "urgency": L.URGENCY_TH,
        "channel": L.CHANNEL_TH,
        "status": L.STATUS_TH,
        "role": L.ROLE_TH,
        "delivery": L.DELIVERY_TH,
        "author": L.AUTHOR_TH,
        "sla_target": L.SLA_TARGET_TH,
        "sla_state": L.SLA_STATE_TH,
        "action": L.AUDIT_ACTION_TH,
        "kind": L.KIND_TH,
        "field": L.FIELD_TH,
    }
    if value is None or value == "":
        return L.NO_CATEGORY if table == "category" else L.NOT_SET
    return tables[table].get(value, value)


def register_filters(app: Flask) -> None:
    env = app.jinja_env
    env.filters.setdefault("thai_datetime", thai_datetime)
    env.filters.setdefault("thai_date", thai_date)
    env.filters.setdefault("be_short", be_short)
    env.filters.setdefault("duration_th", duration_th)
    env.filters.setdefault("percent", percent)
    env.filters.setdefault("number", number)
    env.filters.setdefault("label", label)

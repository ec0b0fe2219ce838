"""SLA due times kept on tickets, across holidays, and breach records."""

from __future__ import annotations

from datetime import datetime

import pytest

from helpdesk.db import write_session
from tickets import registry
from tickets.calendar import BANGKOK, BusinessCalendar
from tickets.directory import ensure_office
from tickets.models import TicketStatus
from tickets.sla import SlaPolicy, describe_lateness, evaluate


def bkk(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BANGKOK)


def local(dt: datetime | None) -> tuple[int, int, int, int, int] | None:
    if dt is None:
        return None
    t = dt.astimezone(BANGKOK)
    return (t.year, t.month, t.day, t.hour, t.minute)


def test_dues_are_stored_and_follow_the_calendar(services) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        office = ensure_office(s, "sla", "สพป.ทดสอบ")
        # A LINE message on Friday 10 April 2026 at 16:10 (Songkran Mon-Wed next week).
        urgent = registry.open_ticket(
            s, office_id=office.id, channel="line", actor="bot", received_at=bkk(2026, 4, 10, 16, 10),
            classification=registry.Classification("network_internet", "incident", "urgent"))
        normal = registry.open_ticket(
            s, office_id=office.id, channel="line", actor="bot", received_at=bkk(2026, 4, 10, 16, 10),
            classification=registry.Classification("hardware_repair", "incident", "normal"))
        s.flush()
        # registration: 30 office minutes -> 20 left on Friday, 10 more on Thursday 16 April
        assert local(urgent.registration_due_at) == (2026, 4, 16, 8, 40)
        # urgent first response: 1 office hour -> 20 min Friday + 40 min Thursday
        assert local(urgent.first_response_due_at) == (2026, 4, 16, 9, 10)
        # normal first response: the same office time one business day later
        assert local(normal.first_response_due_at) == (2026, 4, 16, 16, 10)
        # resolution: network 2 days halved for urgent -> 1 business day; repair 5 business days
        assert local(urgent.resolution_due_at) == (2026, 4, 16, 16, 10)
        assert local(normal.resolution_due_at) == (2026, 4, 22, 16, 10)
        assert normal.followup_due_at is None
        # recomputed on change: made urgent -> dues move
        registry.reclassify(s, normal, actor="staff:1", urgency="urgent")
        s.flush()
        assert local(normal.first_response_due_at) == (2026, 4, 16, 9, 10)


def test_followup_due_after_resolution(services) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        office = ensure_office(s, "sla", "สพป.ทดสอบ")
        t = registry.open_ticket(s, office_id=office.id, channel="email", actor="bot",
                                 received_at=bkk(2026, 12, 1, 10, 0),
                                 classification=registry.Classification("account_access", "request"))
        registry.change_status(s, t, TicketStatus.RESOLVED, actor="staff:1")
        t.resolved_at = bkk(2026, 12, 4, 15, 0)  # Friday before the 5-7 Dec long weekend
        s.flush()
        # 3 business days: Tue 8, Wed 9, Fri 11 (Mon 7 substitutes for 5 Dec; Thu 10 is Constitution Day)
        assert local(t.followup_due_at) == (2026, 12, 11, 15, 0)


def test_breaches_are_recorded_with_lateness(services) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        office = ensure_office(s, "sla", "สพป.ทดสอบ")
        t = registry.open_ticket(s, office_id=office.id, channel="line", actor="bot",
                                 received_at=bkk(2026, 11, 23, 9, 0),
                                 classification=registry.Classification("network_internet", "incident", "urgent"))
        t.first_response_at = bkk(2026, 11, 23, 13, 30)  # due 10:00; late 2 h (10-12) + 30 min after lunch
        s.flush()
        assert t.sla["first_response"]["late_seconds"] == 2.5 * 3600
        assert t.sla["first_response"]["done"] is True
    cal, policy = BusinessCalendar(), SlaPolicy()
    states = {st.target: st for st in evaluate(t, bkk(2026, 11, 24, 9, 0), cal, policy)}
    assert states["first_response"].state == "breached"
    assert states["resolution"].state == "at_risk"  # due 23 Nov 16:00 +1 business day -> 24 Nov 09:00
    assert describe_lateness(2.5 * 3600, cal) == "เกินกำหนด 2 ชั่วโมง 30 นาที"
    assert describe_lateness(7 * 3600 + 60, cal) == "เกินกำหนด 1 วันทำการ 1 นาที"


def test_policy_from_office_settings() -> None:
    policy = SlaPolicy.from_office_settings({"sla": {"first_response_urgent_hours": 2,
                                                     "resolution_days": {"hardware_repair": 7}}})
    assert policy.first_response_urgent_hours == 2 and policy.resolution_days["hardware_repair"] == 7
    with pytest.raises(ValueError, match="unknown SLA settings"):
        SlaPolicy.from_office_settings({"sla": {"nonsense": 1}})

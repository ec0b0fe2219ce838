"""Service levels from the manual of สพม.สุราษฎร์ธานี ชุมพร (001:L317-327): register a consultation within
30 minutes, follow up 1–3 business days after advising, summarise for the director within 3 business
days. First-response and resolution targets are this product's defaults, configurable per office
(Office.settings["sla"]) and per category.

Due times are stored on the ticket and recomputed whenever the ticket changes; `evaluate` says which
targets are breached, since when and by how much office time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import event, inspect, or_, select, update
from sqlalchemy.orm import Session

from tickets.calendar import BusinessCalendar
from tickets.models import Office, Ticket, TicketStatus, utcnow

# Business days to resolve, by category (product defaults; an office can override each).
DEFAULT_RESOLUTION_DAYS: dict[str, int] = {
    "hardware_repair": 5,
    "network_internet": 2,
    "account_access": 1,
    "security_data_protection": 1,
    "student_data_dmc": 2,
    "edu_info_systems": 3,
    "saraban_amss": 2,
    "dltv_satellite": 5,
    "dlit_media_lms": 3,
    "digital_comms_web": 3,
    "equipment_borrow": 3,
    "procurement_spec": 5,
    "training_request": 10,
    "general_consult": 3,  # the manual's three one-day steps: study, choose the channel, analyse (001:L320-322)
    "out_of_scope": 1,
}
TARGETS = ("registration", "first_response", "resolution", "followup")


@dataclass(frozen=True)
class SlaPolicy:
    registration_minutes: int = 30  # 001:L324
    first_response_urgent_hours: float = 1.0
    first_response_normal_days: int = 1
    resolution_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RESOLUTION_DAYS))
    first_response_days_by_category: dict[str, int] = field(default_factory=dict)
    followup_after_days: int = 1  # ask the requester this many business days after resolution...
    followup_within_days: int = 3  # ...and at the latest this many (001:L325: ๑ - ๓ วันทำการ)
    followup_close_after_days: int = 3  # no answer within this many business days: close the ticket
    summary_days: int = 3  # 001:L326
    warn_before_seconds: int = 3600  # "about to breach" warning window (office time)

    @classmethod
    def from_office_settings(cls, settings: dict[str, Any] | None) -> SlaPolicy:
        raw = dict((settings or {}).get("sla") or {})
        resolution = dict(DEFAULT_RESOLUTION_DAYS)
        resolution.update({str(k): int(v) for k, v in (raw.pop("resolution_days", {}) or {}).items()})
        by_cat = {str(k): int(v) for k, v in (raw.pop("first_response_days_by_category", {}) or {}).items()}
        known = {f for f in cls.__dataclass_fields__ if f not in ("resolution_days", "first_response_days_by_category")}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown SLA settings: {', '.join(sorted(unknown))}")
        policy = cls(resolution_days=resolution, first_response_days_by_category=by_cat, **raw)
        if not 1 <= policy.followup_after_days <= policy.followup_within_days:
            raise ValueError("SLA: follow-up must be 1 <= followup_after_days <= followup_within_days")
        return policy


@dataclass(frozen=True)
class Dues:
    registration: datetime | None
    first_response: datetime | None
    resolution: datetime | None
    followup: datetime | None


def compute_dues(ticket: Ticket, policy: SlaPolicy, cal: BusinessCalendar) -> Dues:
    received = ticket.received_at
    registration = cal.add_business_seconds(received, policy.registration_minutes * 60)
    first_response = resolution = followup = None
    needs_person = ticket.handoff or not ticket.self_served
    if needs_person:
        days_by_cat = policy.first_response_days_by_category.get(ticket.category or "")
        if ticket.urgency == "urgent":
            first_response = cal.add_business_hours(received, policy.first_response_urgent_hours)
        else:
            first_response = cal.add_business_days(received, days_by_cat or policy.first_response_normal_days)
        days = policy.resolution_days.get(ticket.category or "", DEFAULT_RESOLUTION_DAYS["general_consult"])
        if ticket.urgency == "urgent":
            days = max(1, (days + 1) // 2)
        resolution = cal.add_business_days(received, days)
    if ticket.resolved_at is not None and ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        followup = cal.add_business_days(ticket.resolved_at, policy.followup_within_days)
    return Dues(registration, first_response, resolution, followup)


def apply_dues(ticket: Ticket, policy: SlaPolicy, cal: BusinessCalendar) -> Dues:
    dues = compute_dues(ticket, policy, cal)
    ticket.registration_due_at = dues.registration
    ticket.first_response_due_at = dues.first_response
    ticket.resolution_due_at = dues.resolution
    ticket.followup_due_at = dues.followup
    return dues


def followup_send_at(resolved_at: datetime, policy: SlaPolicy, cal: BusinessCalendar) -> datetime:
    return cal.add_business_days(resolved_at, policy.followup_after_days)


@dataclass(frozen=True)
class TargetState:
    target: str
    due: datetime
    done_at: datetime | None
    state: str  # "met" | "breached" | "at_risk" | "running"
    late_seconds: float  # office time past the due time (0 unless breached)


def evaluate(
    ticket: Ticket,
    now: datetime,
    cal: BusinessCalendar,
    policy: SlaPolicy,
    followup_done_at: datetime | None = None,
    *,
    risk_until: datetime | None = None,
    lateness: bool = True,
) -> list[TargetState]:
    """The state of each target. `risk_until` (now + the warning window in office time) may be passed
    in when evaluating many tickets; `lateness=False` skips computing how late running breaches are."""
    if risk_until is None:
        risk_until = cal.add_business_seconds(now, policy.warn_before_seconds)
    done = {
        "registration": ticket.created_at,
        "first_response": ticket.first_response_at,
        "resolution": ticket.resolved_at,
        "followup": followup_done_at,
    }
    due = {
        "registration": ticket.registration_due_at,
        "first_response": ticket.first_response_due_at,
        "resolution": ticket.resolution_due_at,
        "followup": ticket.followup_due_at,
    }
    out: list[TargetState] = []
    for target in TARGETS:
        due_at = due[target]
        if due_at is None:
            continue
        done_at = done[target]
        point = done_at or now
        if point > due_at:
            late = max(0.0, cal.business_seconds_between(due_at, point)) if lateness or done_at else 0.0
            out.append(TargetState(target, due_at, done_at, "breached", late))
        elif done_at is not None:
            out.append(TargetState(target, due_at, done_at, "met", 0.0))
        elif due_at <= risk_until:
            out.append(TargetState(target, due_at, None, "at_risk", 0.0))
        else:
            out.append(TargetState(target, due_at, None, "running", 0.0))
    return out


def breach_record(states: list[TargetState]) -> dict[str, Any]:
    """The JSON kept on Ticket.sla: every breached target with its due time; how late it was is stored
    once the target is done (a running breach's lateness grows, so it is computed when shown)."""
    out: dict[str, Any] = {}
    for s in states:
        if s.state != "breached":
            continue
        entry: dict[str, Any] = {"due": s.due.isoformat(), "done": s.done_at is not None}
        if s.done_at is not None:
            entry["late_seconds"] = round(s.late_seconds)
        out[s.target] = entry
    return out


def describe_lateness(seconds: float, cal: BusinessCalendar) -> str:
    """Thai: "เกินกำหนด 1 วันทำการ 2 ชั่วโมง 5 นาที"."""
    per_day = cal.hours.seconds_per_day
    days, rest = divmod(int(seconds), per_day)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} วันทำการ")
    if hours:
        parts.append(f"{hours} ชั่วโมง")
    if minutes or not parts:
        parts.append(f"{minutes} นาที")
    return "เกินกำหนด " + " ".join(parts)


# -- keeping due times current -----------------------------------------------------------------------
# Every flush that creates or changes a ticket recomputes its due times and breach record, so no code
# path (bot, admin, CLI, jobs) can forget to. Office settings are read once per flush.

_HOOK_INSTALLED = False


def office_rules(settings: dict[str, Any] | None) -> tuple[BusinessCalendar, SlaPolicy]:
    key = json.dumps(settings or {}, sort_keys=True, default=str)
    return _rules_cached(key)


@lru_cache(maxsize=32)
def _rules_cached(key: str) -> tuple[BusinessCalendar, SlaPolicy]:
    settings = json.loads(key)
    return BusinessCalendar.from_office_settings(settings), SlaPolicy.from_office_settings(settings)


_DUE_INPUTS = ("received_at", "urgency", "category", "handoff", "self_served", "status", "resolved_at",
               "first_response_at")


def office_of(session: Session, office_id: int) -> Office | None:
    """The office whose settings decide due times, read once per session.

    Kept for the session's life: the identity map holds objects weakly, and one transaction often
    flushes several times (ticket, messages, commit). A caller that is about to take a lock may read it
    first, so that the first ticket's flush does not query while holding it."""
    offices: dict[int, Office | None] = session.info.setdefault("sla_offices", {})
    if office_id not in offices:
        with session.no_autoflush:
            offices[office_id] = session.get(Office, office_id)
    return offices[office_id]


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    touched = [obj for obj in list(session.new) + list(session.dirty) if isinstance(obj, Ticket)]
    if not touched:
        return
    now = utcnow()
    for ticket in touched:
        if ticket in session.dirty and not any(
            inspect(ticket).attrs[name].history.has_changes() for name in _DUE_INPUTS
        ):
            continue
        office = office_of(session, ticket.office_id)
        cal, policy = office_rules(office.settings if office else None)
        if ticket.received_at is None:
            ticket.received_at = now
        if ticket.created_at is None:
            ticket.created_at = now
        apply_dues(ticket, policy, cal)
        record = breach_record(evaluate(ticket, now, cal, policy))
        alerts = (ticket.sla or {}).get("alerts", {})
        ticket.sla = {**record, "alerts": alerts} if alerts else record


def install_hook() -> None:
    global _HOOK_INSTALLED
    if not _HOOK_INSTALLED:
        event.listen(Session, "before_flush", _before_flush)
        _HOOK_INSTALLED = True


# -- the periodic sweep ------------------------------------------------------------------------------


def sweep(session: Session, now: datetime, max_alerts: int = 20) -> dict[str, int]:
    """Refresh breach records of open work and alert staff once per ticket per state: a new urgent
    ticket, a target about to breach, a breach.

    Reads only the columns it needs for the check; loads a ticket row only when something changes.
    """
    from tickets import alerts  # late: alerts depends on the outbox, which depends on the registry

    cols = (Ticket.id, Ticket.office_id, Ticket.status, Ticket.urgency, Ticket.created_at, Ticket.first_response_at,
            Ticket.resolved_at, Ticket.registration_due_at, Ticket.first_response_due_at, Ticket.resolution_due_at,
            Ticket.followup_due_at, Ticket.sla)
    open_statuses = (TicketStatus.NEW.value, TicketStatus.OPEN.value, TicketStatus.WAITING.value)
    horizon = now + timedelta(days=7)
    rows = session.execute(
        select(*cols).where(
            Ticket.status.in_(open_statuses),
            or_(Ticket.first_response_due_at <= horizon, Ticket.resolution_due_at <= horizon),
        )
    ).all()
    offices = {o.id: o for o in session.scalars(select(Office))}
    counts = {"checked": len(rows), "updated": 0, "alerts": 0, "alerts_summarised": 0}
    pending_alerts: list[tuple[int, str, str | None, datetime | None]] = []
    changes: list[dict[str, Any]] = []
    risk_cache: dict[int, datetime] = {}
    for row in rows:
        office = offices.get(row.office_id)
        cal, policy = office_rules(office.settings if office else None)
        key = row.office_id
        if key not in risk_cache:
            risk_cache[key] = cal.add_business_seconds(now, policy.warn_before_seconds)
        # a Row has the attributes evaluate() reads
        states = evaluate(row, now, cal, policy, risk_until=risk_cache[key], lateness=False)  # type: ignore[arg-type]
        record = breach_record(states)
        old = dict(row.sla or {})
        sent_alerts = dict(old.get("alerts") or {})
        new_alerts = dict(sent_alerts)
        announced = False
        if row.status == TicketStatus.NEW.value and row.urgency == "urgent" and "urgent_new" not in new_alerts:
            new_alerts["urgent_new"] = now.isoformat()
            pending_alerts.append((row.id, "urgent_new", None, None))
            announced = True
        for st in states:
            if st.state in ("at_risk", "breached") and st.done_at is None:
                key = f"{st.target}:{st.state}"
                if key not in new_alerts:
                    new_alerts[key] = now.isoformat()
                    if not (announced and st.state == "at_risk"):  # the urgent alert already says "now"
                        pending_alerts.append((row.id, st.state, st.target, st.due))
        new = {**record, "alerts": new_alerts} if new_alerts else record
        if new != old:
            changes.append({"id": row.id, "sla": new})
    if changes:
        session.execute(update(Ticket), changes)  # one executemany by primary key
        counts["updated"] = len(changes)
    counts["alerts_summarised"] = max(0, len(pending_alerts) - max_alerts)
    for ticket_id, state, target, due in pending_alerts[:max_alerts]:
        ticket = session.get(Ticket, ticket_id)
        office = offices.get(ticket.office_id) if ticket else None
        if ticket is None or office is None:
            continue
        cal, _ = office_rules(office.settings)
        counts["alerts"] += alerts.ticket_alert(session, office, ticket, state, now=now, cal=cal,
                                                target=target, due=due)
    if counts["alerts_summarised"]:
        for office in offices.values():
            cal, _ = office_rules(office.settings)
            alerts.queue(session, office, key=f"summary:{now.isoformat(timespec='minutes')}",
                         text=alerts.TEMPLATES["summary"].format(count=counts["alerts_summarised"]),
                         subject="แจ้งเตือน SLA", urgent=False, now=now, cal=cal)
    return counts

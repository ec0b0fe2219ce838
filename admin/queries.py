"""The queue's filters as SQL: parsed from the query string, shared by the queue page and the exports."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, literal, or_, select, true, union
from sqlalchemy.orm import aliased
from werkzeug.datastructures import MultiDict

from admin import labels as L
from helpdesk.thaidate import BANGKOK
from tickets.models import Message, Requester, School, StaffUser, Ticket, TicketStatus
from tickets.registry import OPEN_STATUSES, find_ticket_numbers

PAGE_SIZE = 50
SEARCH_COUNT_CAP = 1000
STATUSES = tuple(s.value for s in TicketStatus)
SLA_STATES = ("breached", "at_risk", "running", "met")
SORTS = ("newest", "oldest", "updated", "due", "urgent")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_DATE_DMY = re.compile(r"^\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})\s*$")
_DATE_YMD = re.compile(r"^\s*(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*$")


def normalise_text(value: str) -> str:
    """Thai digits to Arabic, NFC, no zero-width characters, sara am composed, single spaces."""
    value = unicodedata.normalize("NFC", value.translate(_THAI_DIGITS).translate(_ZERO_WIDTH))
    value = value.replace("\u0e4d\u0e32", "\u0e33")  # nikhahit + sara aa -> sara am
    return " ".join(value.split())


def parse_be_date(raw: str | None) -> date | None:
    """A date typed in the Buddhist Era: 23/11/2569, 23-11-2569 or 2569-11-23 (Thai digits allowed).

    Raises ValueError for text that is not such a date; empty input gives None.
    """
    if raw is None or not raw.strip():
        return None
    text = raw.translate(_THAI_DIGITS)
    m = _DATE_DMY.match(text)
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _DATE_YMD.match(text)
        if not m:
            raise ValueError(raw)
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if year < 2400:  # a Christian-era year typed by habit
        raise ValueError(raw)
    return date(year - 543, month, day)


def format_be_input(value: date | None) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year + 543}" if value else ""


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BANGKOK)


@dataclass
class QueueFilter:
    statuses: list[str] = field(default_factory=lambda: list(OPEN_STATUSES))
    category: str | None = None
    intent: str | None = None
    channel: str | None = None
    urgency: str | None = None
    school_id: int | None = None  # 0: no school
    assignee: str | None = None  # "me", "none" or a staff id
    sla: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = "newest"
    page: int = 1
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> QueueFilter:
        f = cls()
        statuses = [s for s in args.getlist("status") if s]
        if statuses == ["all"] or "all" in statuses:
            f.statuses = []
        elif statuses:
            f.statuses = [s for s in statuses if s in STATUSES] or list(OPEN_STATUSES)
        f.category = args.get("category") or None
        f.intent = args.get("intent") or None
        f.channel = args.get("channel") or None
        f.urgency = args.get("urgency") if args.get("urgency") in ("urgent", "normal") else None
        school = args.get("school") or ""
        f.school_id = int(school) if school.isdigit() else None
        assignee = args.get("assignee") or ""
        f.assignee = assignee if assignee in ("me", "none") or assignee.isdigit() else None
        f.sla = args.get("sla") if args.get("sla") in SLA_STATES else None
        for name in ("date_from", "date_to"):
            try:
                setattr(f, name, parse_be_date(args.get(name)))
            except ValueError:
                f.errors.append(L.DATE_INVALID)
        f.q = normalise_text(args.get("q") or "")[:200]
        f.sort = args.get("sort") if args.get("sort") in SORTS else "newest"
        page = args.get("page") or "1"
        f.page = max(1, min(int(page), 100_000)) if page.isdigit() else 1
        return f

    def to_args(self, **overrides: Any) -> list[tuple[str, str]]:
        """The filter as query-string pairs (for pagination, sorting and export links)."""
        f = replace(self, **overrides) if overrides else self
        out: list[tuple[str, str]] = []
        if not f.statuses:
            out.append(("status", "all"))
        elif sorted(f.statuses) != sorted(OPEN_STATUSES):
            out += [("status", s) for s in f.statuses]
        for name in ("category", "intent", "channel", "urgency", "assignee", "sla"):
            value = getattr(f, name)
            if value:
                out.append((name, str(value)))
        if f.school_id is not None:
            out.append(("school", str(f.school_id)))
        if f.date_from:
            out.append(("date_from", format_be_input(f.date_from)))
        if f.date_to:
            out.append(("date_to", format_be_input(f.date_to)))
        if f.q:
            out.append(("q", f.q))
        if f.sort != "newest":
            out.append(("sort", f.sort))
        if f.page != 1:
            out.append(("page", str(f.page)))
        return out


# -- SLA conditions (the same rules as tickets/sla.evaluate, in SQL) --------------------------------------

def sla_outcome(done: Any, due: Any, now: datetime) -> Any:
    """SQL: 'met' | 'breached' | 'pending' | NULL (no target) for one SLA target."""
    return case(
        (due.is_(None), None),
        (and_(done.is_not(None), done <= due), "met"),
        (done.is_not(None), "breached"),
        (due < now, "breached"),
        else_="pending",
    )


def sla_breached(now: datetime) -> ColumnElement[bool]:
    t = Ticket
    return or_(
        and_(t.first_response_due_at.is_not(None), t.first_response_at.is_(None), t.first_response_due_at < now),
        t.first_response_at > t.first_response_due_at,
        and_(t.resolution_due_at.is_not(None), t.resolved_at.is_(None), t.resolution_due_at < now),
        t.resolved_at > t.resolution_due_at,
    )


def sla_at_risk(now: datetime, risk_until: datetime) -> ColumnElement[bool]:
    t = Ticket
    return and_(
        t.status.in_(OPEN_STATUSES),
        ~sla_breached(now),
        or_(
            and_(t.first_response_at.is_(None), t.first_response_due_at <= risk_until),
            and_(t.resolved_at.is_(None), t.resolution_due_at <= risk_until),
        ),
    )


def sla_condition(state: str, now: datetime, risk_until: datetime) -> ColumnElement[bool]:
    t = Ticket
    if state == "breached":
        return sla_breached(now)
    if state == "at_risk":
        return sla_at_risk(now, risk_until)
    if state == "running":
        return and_(t.status.in_(OPEN_STATUSES), ~sla_breached(now), ~sla_at_risk(now, risk_until))
    if state == "met":
        return and_(t.status.in_((TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)), ~sla_breached(now))
    return true()


def _like(column: Any, word: str) -> ColumnElement[bool]:
    # Thai has no letter case: plain LIKE is enough and cheaper; Latin words match in any case.
    if word.lower() == word.upper():
        return column.contains(word, autoescape=True)
    return column.icontains(word, autoescape=True)


# Written into the SQL rather than bound, so PostgreSQL can use the partial trigram index on inbound
# messages (migration 0007) in a prepared statement's generic plan too.
_INBOUND = Message.direction == literal("in", literal_execute=True)


def search_condition(q: str, office_id: int) -> ColumnElement[bool]:
    """Every word must appear in the number, subject, requester, school or one of the requester's messages.

    Each word becomes one set of ticket ids (a UNION of small index-friendly selects: trigram indexes on
    PostgreSQL, see migration 0004_admin), so the planner never has to scan tickets joined to everything.
    """
    conds: list[ColumnElement[bool]] = []
    numbers = find_ticket_numbers(q)
    rest = q
    for number in numbers:
        conds.append(Ticket.number == number)
    if numbers:
        rest = re.sub(r"(?i)\bICT\s*[-–—]?\s*\d{4}\s*[-–—/]?\s*\d{1,6}\b", " ", q.translate(_THAI_DIGITS))
    for word in rest.split()[:6]:
        parts = [
            select(Ticket.id).where(Ticket.office_id == office_id, _like(Ticket.subject, word)),
            select(Message.ticket_id).where(Message.office_id == office_id, _INBOUND,
                                            Message.ticket_id.is_not(None), _like(Message.text, word)),
            select(Ticket.id).join(Requester, Requester.id == Ticket.requester_id).where(
                Requester.office_id == office_id,
                or_(_like(Requester.display_name, word), _like(Requester.email, word))),
            select(Ticket.id).join(Requester, Requester.id == Ticket.requester_id)
            .join(School, School.id == Requester.school_id).where(School.office_id == office_id,
                                                                  _like(School.name, word)),
        ]
        if any(ch.isdigit() for ch in word):
            parts.append(select(Ticket.id).where(Ticket.office_id == office_id, _like(Ticket.number, word)))
        conds.append(Ticket.id.in_(union(*parts)))
    return and_(*conds) if conds else true()


def filtered(stmt: Select[Any], f: QueueFilter, office_id: int, staff_id: int | None, now: datetime,
             risk_until: datetime) -> Select[Any]:
    """Apply the filter to a statement that selects from Ticket outer-joined to Requester and School."""
    t = Ticket
    stmt = stmt.where(t.office_id == office_id, t.merged_into_id.is_(None))
    if f.statuses:
        stmt = stmt.where(t.status.in_(f.statuses))
    for name in ("category", "intent", "channel", "urgency"):
        value = getattr(f, name)
        if value:
            stmt = stmt.where(getattr(t, name) == value)
    if f.school_id is not None:
        stmt = stmt.where(Requester.school_id.is_(None) if f.school_id == 0 else Requester.school_id == f.school_id)
    if f.assignee == "me":
        stmt = stmt.where(t.assignee_id == staff_id) if staff_id else stmt.where(false())
    elif f.assignee == "none":
        stmt = stmt.where(t.assignee_id.is_(None))
    elif f.assignee:
        stmt = stmt.where(t.assignee_id == int(f.assignee))
    if f.sla:
        stmt = stmt.where(sla_condition(f.sla, now, risk_until))
    if f.date_from:
        stmt = stmt.where(t.received_at >= local_midnight(f.date_from))
    if f.date_to:
        stmt = stmt.where(t.received_at < local_midnight(f.date_to + timedelta(days=1)))
    if f.q:
        stmt = stmt.where(search_condition(f.q, office_id))
    return stmt


def base_select(*columns: Any) -> Select[Any]:
    return (select(*columns).select_from(Ticket)
            .outerjoin(Requester, Requester.id == Ticket.requester_id)
            .outerjoin(School, School.id == Requester.school_id))


def ordering(sort: str) -> list[Any]:
    t = Ticket
    if sort == "oldest":
        return [t.received_at.asc(), t.id.asc()]
    if sort == "updated":
        return [t.updated_at.desc(), t.id.desc()]
    if sort == "due":
        nxt = case((t.first_response_at.is_(None), t.first_response_due_at), else_=t.resolution_due_at)
        return [case((nxt.is_(None), 1), else_=0), nxt.asc(), t.id.asc()]
    if sort == "urgent":
        return [case((t.urgency == "urgent", 0), else_=1), t.received_at.desc(), t.id.desc()]
    return [t.received_at.desc(), t.id.desc()]


def page_query(f: QueueFilter, office_id: int, staff_id: int | None, now: datetime,
               risk_until: datetime) -> tuple[Select[Any], Select[Any]]:
    """(rows of one page, total count) for the queue page.

    The page is chosen on narrow rows (ids in the requested order), then only those 50 tickets are loaded
    with their requester, school and assignee. With a search word the count stops at SEARCH_COUNT_CAP + 1
    ("more than 1,000"), so a common word never costs a full count.
    """
    order = ordering(f.sort)
    ids = (filtered(base_select(Ticket.id), f, office_id, staff_id, now, risk_until)
           .order_by(*order).limit(PAGE_SIZE).offset((f.page - 1) * PAGE_SIZE).subquery())
    assignee = aliased(StaffUser)
    rows = (
        select(Ticket, Requester, School.name, assignee.display_name)
        .select_from(Ticket)
        .outerjoin(Requester, Requester.id == Ticket.requester_id)
        .outerjoin(School, School.id == Requester.school_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .where(Ticket.id.in_(select(ids.c.id)))
        .order_by(*order)
    )
    matching = filtered(base_select(Ticket.id), f, office_id, staff_id, now, risk_until)
    if f.q:
        matching = matching.limit(SEARCH_COUNT_CAP + 1)
    count = select(func.count()).select_from(matching.subquery())
    return rows, count

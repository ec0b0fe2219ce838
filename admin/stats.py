"""Statistics of the consultation register, all aggregated in SQL (portable: SQLite and PostgreSQL).

A ticket counts in the period its request arrived in (received_at, Bangkok time); merged duplicates are
left out. Months and fiscal years (1 October – 30 September) are computed by the database in Bangkok
time and shown in the Buddhist Era. Medians use window functions (row_number / count over), which both
engines have, so no rows are pulled into Python to sort.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from admin import labels as L
from admin.queries import local_midnight, sla_outcome
from admin.sqlfn import local_day, seconds_between
from helpdesk.thaidate import MONTHS_FULL, MONTHS_SHORT, format_date, to_local
from tickets.models import Rating, Requester, School, Ticket, TicketStatus, utcnow
from tickets.registry import OPEN_STATUSES

DONE_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


# -- periods ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    kind: str  # "month" | "fiscal_year" | "range"
    start: date  # first local day
    end: date  # the day after the last local day
    key: str  # "2569-11", "2569" or "2569-10-01_2569-10-31"

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.start)

    @property
    def end_utc(self) -> datetime:
        return local_midnight(self.end)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return L.REPORT_PERIOD_MONTH.format(month=MONTHS_FULL[self.start.month - 1], year=self.start.year + 543)
        if self.kind == "fiscal_year":
            fy = int(self.key)
            return L.REPORT_PERIOD_FY.format(year=fy, start=fy - 1)
        last = self.end - timedelta(days=1)
        return L.REPORT_PERIOD_RANGE.format(start=format_date(self.start, True), end=format_date(last, True))

    @property
    def short_label(self) -> str:
        if self.kind == "month":
            return f"{MONTHS_FULL[self.start.month - 1]} {self.start.year + 543}"
        if self.kind == "fiscal_year":
            return f"ปีงบประมาณ {self.key}"
        return f"{format_date(self.start)} – {format_date(self.end - timedelta(days=1))}"

    def previous(self) -> Period:
        if self.kind == "month":
            prev_end = self.start
            prev_start = (prev_end - timedelta(days=1)).replace(day=1)
            return month_period(prev_start.year + 543, prev_start.month)
        if self.kind == "fiscal_year":
            return fiscal_year_period(int(self.key) - 1)
        span = self.end - self.start
        return range_period(self.start - span, self.start - timedelta(days=1))


def month_period(year_be: int, month: int) -> Period:
    if not 1 <= month <= 12 or not 2400 <= year_be <= 2800:
        raise ValueError("month")
    start = date(year_be - 543, month, 1)
    end = date(start.year + (month == 12), month % 12 + 1, 1)
    return Period("month", start, end, f"{year_be}-{month:02d}")


def fiscal_year_period(fy_be: int) -> Period:
    if not 2400 <= fy_be <= 2800:
        raise ValueError("fiscal year")
    year = fy_be - 543
    return Period("fiscal_year", date(year - 1, 10, 1), date(year, 10, 1), str(fy_be))


def range_period(first: date, last: date) -> Period:
    if last < first or (last - first).days > 3 * 366:
        raise ValueError("range")
    return Period("range", first, last + timedelta(days=1),
                  f"{first.year + 543}-{first:%m-%d}_{last.year + 543}-{last:%m-%d}")


def parse_month(raw: str) -> Period:
    """'2569-11' (Buddhist Era year, month; Thai digits allowed) -> the month."""
    m = re.fullmatch(r"\s*(\d{4})\s*[-/]\s*(\d{1,2})\s*", raw.translate(_THAI_DIGITS))
    if not m:
        raise ValueError(raw)
    return month_period(int(m.group(1)), int(m.group(2)))


def parse_fiscal_year(raw: str) -> Period:
    m = re.fullmatch(r"\s*(\d{4})\s*", raw.translate(_THAI_DIGITS))
    if not m:
        raise ValueError(raw)
    return fiscal_year_period(int(m.group(1)))


def current_fiscal_year(now: datetime | None = None) -> int:
    local = to_local(now or utcnow())
    return local.year + 543 + (1 if local.month >= 10 else 0)


def month_label(key: str, full: bool = False) -> str:
    """'2026-11' (as the database groups) -> 'พ.ย. 2569'."""
    year, month = int(key[:4]), int(key[5:7])
    months = MONTHS_FULL if full else MONTHS_SHORT
    return f"{months[month - 1]} {year + 543}"


# -- the statistics --------------------------------------------------------------------------------------

@dataclass
class Stats:
    period: Period
    total: int = 0
    self_served: int = 0
    handoff: int = 0
    urgent: int = 0
    open_now: int = 0
    done: int = 0
    sla: dict[str, dict[str, int]] = field(default_factory=dict)
    median_first_response_s: float | None = None
    median_resolution_s: float | None = None
    ratings: dict[str, Any] = field(default_factory=dict)
    by_category: list[dict[str, Any]] = field(default_factory=list)
    by_intent: list[tuple[str, int]] = field(default_factory=list)
    by_channel: list[tuple[str, int]] = field(default_factory=list)
    by_urgency: list[tuple[str, int]] = field(default_factory=list)
    by_status: list[tuple[str, int]] = field(default_factory=list)
    by_school: list[tuple[str, int]] = field(default_factory=list)
    by_month: list[tuple[str, int]] = field(default_factory=list)
    by_day: list[tuple[str, int]] = field(default_factory=list)
    by_fiscal_year: list[tuple[int, int]] = field(default_factory=list)
    top_articles: list[tuple[str, int]] = field(default_factory=list)
    unanswered_by_category: list[tuple[str, int]] = field(default_factory=list)

    @staticmethod
    def rate(part: int | None, whole: int | None) -> float | None:
        return (part or 0) / whole if whole else None

    @property
    def self_service_rate(self) -> float | None:
        return self.rate(self.self_served, self.total)

    def sla_rate(self, target: str) -> float | None:
        s = self.sla.get(target) or {}
        decided = s.get("met", 0) + s.get("breached", 0)
        return self.rate(s.get("met", 0), decided)

    @property
    def understanding_rate(self) -> float | None:
        return self.rate(self.ratings.get("understood_yes"), self.ratings.get("understood_n"))

    @property
    def satisfaction_rate(self) -> float | None:
        return self.rate(self.ratings.get("satisfied"), self.ratings.get("score_n"))

    @property
    def solved_rate(self) -> float | None:
        return self.rate(self.ratings.get("solved_yes"), self.ratings.get("solved_n"))


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def period_conditions(office_id: int, period: Period) -> list[ColumnElement[bool]]:
    return [
        Ticket.office_id == office_id,
        Ticket.merged_into_id.is_(None),
        Ticket.received_at >= period.start_utc,
        Ticket.received_at < period.end_utc,
    ]


def median(session: Session, value: ColumnElement[Any], conds: list[ColumnElement[bool]]) -> float | None:
    """The median of `value` over the rows matching `conds`, computed by the database: percentile_cont on
    PostgreSQL, the middle row(s) by row_number() over a window on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        result = session.scalar(select(func.percentile_cont(0.5).within_group(value)).where(*conds,
                                                                                           value.is_not(None)))
        return float(result) if result is not None else None
    inner = (
        select(
            value.label("v"),
            func.row_number().over(order_by=value).label("rn"),
            func.count().over().label("n"),
        )
        .where(*conds, value.is_not(None))
        .subquery()
    )
    result = session.scalar(
        select(func.avg(inner.c.v)).where(or_(inner.c.rn == (inner.c.n + 1) // 2, inner.c.rn == (inner.c.n + 2) // 2))
    )
    return float(result) if result is not None else None


def bucket_counts(session: Session, conds: list[ColumnElement[bool]],
                  buckets: list[tuple[Any, datetime, datetime]]) -> list[tuple[Any, int]]:
    """Tickets per time bucket [start, end) in one scan: a conditional count per bucket, comparing stored
    instants only (no time-zone function per row)."""
    if not buckets:
        return []
    t = Ticket
    row = session.execute(
        select(*[_count_if(and_(t.received_at >= start, t.received_at < end)) for _, start, end in buckets])
        .where(*conds)
    ).one()
    return [(key, int(n)) for (key, _, _), n in zip(buckets, row, strict=True)]


def month_buckets(period: Period) -> list[tuple[str, datetime, datetime]]:
    out = []
    for key in months_of(period):
        first = date(int(key[:4]), int(key[5:7]), 1)
        nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        out.append((key, local_midnight(max(first, period.start)), local_midnight(min(nxt, period.end))))
    return out


def compute(session: Session, office_id: int, period: Period, *, now: datetime | None = None,
            top_schools: int = 15, with_days: bool | None = None) -> Stats:
    now = now or utcnow()
    t = Ticket
    conds = period_conditions(office_id, period)
    st = Stats(period=period)

    fr = sla_outcome(t.first_response_at, t.first_response_due_at, now)
    res = sla_outcome(t.resolved_at, t.resolution_due_at, now)
    reg = sla_outcome(t.created_at, t.registration_due_at, now)
    row = session.execute(
        select(
            func.count(t.id),
            _count_if(t.self_served.is_(True)),
            _count_if(t.handoff.is_(True)),
            _count_if(t.urgency == "urgent"),
            _count_if(t.status.in_(OPEN_STATUSES)),
            _count_if(t.status.in_(DONE_STATUSES)),
            _count_if(reg == "met"), _count_if(reg == "breached"), _count_if(reg == "pending"),
            _count_if(fr == "met"), _count_if(fr == "breached"), _count_if(fr == "pending"),
            _count_if(res == "met"), _count_if(res == "breached"), _count_if(res == "pending"),
        ).where(*conds)
    ).one()
    (st.total, st.self_served, st.handoff, st.urgent, st.open_now, st.done) = (int(x) for x in row[:6])
    vals = [int(x) for x in row[6:]]
    for i, target in enumerate(("registration", "first_response", "resolution")):
        st.sla[target] = {"met": vals[3 * i], "breached": vals[3 * i + 1], "pending": vals[3 * i + 2]}

    st.median_first_response_s = median(session, seconds_between(t.first_response_at, t.received_at), conds)
    st.median_resolution_s = median(
        session, seconds_between(t.resolved_at, t.received_at), [*conds, t.handoff.is_(True)])

    r = Rating
    rrow = session.execute(
        select(
            func.count(r.id),
            _count_if(r.understood.is_(True)), func.count(r.understood),
            func.avg(r.score), func.count(r.score), _count_if(r.score >= 4),
            _count_if(r.solved.is_(True)), func.count(r.solved),
        ).select_from(r).join(t, t.id == r.ticket_id).where(*conds)
    ).one()
    st.ratings = {
        "n": int(rrow[0]), "understood_yes": int(rrow[1]), "understood_n": int(rrow[2]),
        "score_avg": float(rrow[3]) if rrow[3] is not None else None, "score_n": int(rrow[4]),
        "satisfied": int(rrow[5]), "solved_yes": int(rrow[6]), "solved_n": int(rrow[7]),
    }

    cat = func.coalesce(t.category, "")
    unanswered: list[tuple[str, int]] = []
    for key, n, self_served, handoff, done, breached, no_article in session.execute(
        select(cat, func.count(t.id), _count_if(t.self_served.is_(True)), _count_if(t.handoff.is_(True)),
               _count_if(t.status.in_(DONE_STATUSES)), _count_if(or_(fr == "breached", res == "breached")),
               _count_if(and_(t.handoff.is_(True), t.article_id.is_(None))))
        .where(*conds).group_by(cat).order_by(func.count(t.id).desc(), cat)
    ):
        st.by_category.append({"key": key, "n": int(n), "self_served": int(self_served), "handoff": int(handoff),
                               "done": int(done), "breached": int(breached)})
        if no_article:
            unanswered.append((key, int(no_article)))
    st.unanswered_by_category = sorted(unanswered, key=lambda kv: (-kv[1], kv[0]))[:10]

    # Intent, channel, urgency and status counted by the database in one pass (at most a few hundred
    # combinations), then rolled up per dimension.
    intent = func.coalesce(t.intent, "")
    dims: list[dict[str, int]] = [{}, {}, {}, {}]
    for *keys, n in session.execute(
        select(intent, t.channel, t.urgency, t.status, func.count(t.id)).where(*conds)
        .group_by(intent, t.channel, t.urgency, t.status)
    ):
        for d, key in zip(dims, keys, strict=True):
            d[key] = d.get(key, 0) + int(n)
    st.by_intent, st.by_channel, st.by_urgency, st.by_status = (
        sorted(d.items(), key=lambda kv: (-kv[1], kv[0])) for d in dims)
    st.top_articles = [(k, int(n)) for k, n in session.execute(
        select(t.article_id, func.count(t.id)).where(*conds, t.article_id.is_not(None)).group_by(t.article_id)
        .order_by(func.count(t.id).desc(), t.article_id).limit(10))]

    school = func.coalesce(School.name, "")
    st.by_school = [
        (k, int(n)) for k, n in session.execute(
            select(school, func.count(t.id)).select_from(t)
            .outerjoin(Requester, Requester.id == t.requester_id)
            .outerjoin(School, School.id == Requester.school_id)
            .where(*conds).group_by(school).order_by(func.count(t.id).desc(), school).limit(top_schools)
        )
    ]

    st.by_month = bucket_counts(session, conds, month_buckets(period))
    if with_days if with_days is not None else period.kind != "fiscal_year":
        day = local_day(t.received_at)
        st.by_day = [(k, int(n)) for k, n in session.execute(
            select(day, func.count(t.id)).where(*conds).group_by(day).order_by(day))]

    all_time = [t.office_id == office_id, t.merged_into_id.is_(None)]
    first, last = session.execute(select(func.min(t.received_at), func.max(t.received_at)).where(*all_time)).one()
    if first is not None:
        years = range(current_fiscal_year(first), current_fiscal_year(last) + 1)
        st.by_fiscal_year = [(fy, n) for fy, n in bucket_counts(session, all_time, [
            (fy, fiscal_year_period(fy).start_utc, fiscal_year_period(fy).end_utc) for fy in years]) if n]
    return st


def months_of(period: Period) -> list[str]:
    """Every 'YYYY-MM' key of the period (so empty months still show on charts)."""
    out = []
    cur = period.start.replace(day=1)
    while cur < period.end:
        out.append(f"{cur:%Y-%m}")
        cur = date(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
    return out


def days_of(period: Period) -> list[str]:
    out = []
    cur = period.start
    while cur < period.end and len(out) < 400:
        out.append(cur.isoformat())
        cur += timedelta(days=1)
    return out


def fill(series: list[tuple[str, int]], keys: list[str]) -> list[int]:
    found = dict(series)
    return [found.get(k, 0) for k in keys]


def open_backlog(session: Session, office_id: int, now: datetime, limit: int = 10) -> list[Any]:
    """The oldest tickets still open (for the report's issues summary)."""
    from admin.queries import sla_breached

    return list(session.execute(
        select(Ticket.number, Ticket.received_at, Ticket.category, Ticket.urgency, sla_breached(now))
        .where(Ticket.office_id == office_id, Ticket.merged_into_id.is_(None), Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.received_at.asc(), Ticket.id.asc()).limit(limit)
    ))


def low_ratings(session: Session, office_id: int, period: Period) -> dict[str, int]:
    r = Rating
    row = session.execute(
        select(_count_if(r.score <= 2), _count_if(r.understood.is_(False)), _count_if(r.solved.is_(False)))
        .select_from(r).join(Ticket, Ticket.id == r.ticket_id).where(*period_conditions(office_id, period))
    ).one()
    return {"low_score": int(row[0]), "not_understood": int(row[1]), "not_solved": int(row[2])}


def total_in(session: Session, office_id: int, period: Period) -> int:
    return int(session.scalar(select(func.count(Ticket.id)).where(*period_conditions(office_id, period))) or 0)


def open_overdue(session: Session, office_id: int, now: datetime) -> tuple[int, int]:
    from admin.queries import sla_breached

    row = session.execute(
        select(func.count(Ticket.id), _count_if(sla_breached(now)))
        .where(Ticket.office_id == office_id, Ticket.merged_into_id.is_(None), Ticket.status.in_(OPEN_STATUSES))
    ).one()
    return int(row[0]), int(row[1])


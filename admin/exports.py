"""CSV and XLSX exports of the filtered queue: one row per ticket with its times, SLA outcome,
understanding and satisfaction. Rows stream from a server-side cursor; the XLSX is written by openpyxl
in write-only mode (inline strings, rows flushed to disk), so memory stays flat however many rows.

No requester contact data is exported (PDPA data minimisation): the school is enough for statistics.
Cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, send_file, stream_with_context
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from admin import labels as L
from admin.queries import QueueFilter, base_select, filtered, ordering, sla_outcome
from admin.templating import be_sortable
from helpdesk.db import session_scope
from helpdesk.services import Services
from helpdesk.thaidate import to_local
from tickets.models import Office, Rating, School, StaffUser, Ticket, utcnow
from tickets.sla import office_rules

HEADERS = (
    "เลขที่", "วันเวลารับเรื่อง", "ลงทะเบียน", "ตอบกลับครั้งแรก", "แก้ไขเสร็จ", "ช่องทาง", "หมวด", "ประเภท",
    "ความเร่งด่วน", "สถานะ", "โรงเรียน", "เรื่อง", "ผู้รับผิดชอบ", "ตอบโดยระบบอัตโนมัติ",
    "SLA ตอบกลับครั้งแรก", "SLA แก้ไขเสร็จ", "ความเข้าใจ", "ความพึงพอใจ (1-5)",
)
SLA_OUTCOME_TH = {"met": "ทันกำหนด", "breached": "เกินกำหนด", "pending": "ยังไม่ครบกำหนด"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000


def export_statement(f: QueueFilter, office_id: int, staff_id: int | None, now: datetime,
                     risk_until: datetime) -> Select[Any]:
    latest = (select(Rating.ticket_id, func.max(Rating.id).label("rid"))
              .where(Rating.office_id == office_id).group_by(Rating.ticket_id).subquery())
    rating = aliased(Rating)
    assignee = aliased(StaffUser)
    t = Ticket
    stmt = (
        base_select(
            t.number, t.received_at, t.created_at, t.first_response_at, t.resolved_at, t.channel, t.category,
            t.intent, t.urgency, t.status, School.name, t.subject, assignee.display_name, t.self_served,
            sla_outcome(t.first_response_at, t.first_response_due_at, now),
            sla_outcome(t.resolved_at, t.resolution_due_at, now),
            rating.understood, rating.score,
        )
        .outerjoin(assignee, assignee.id == t.assignee_id)
        .outerjoin(latest, latest.c.ticket_id == t.id)
        .outerjoin(rating, rating.id == latest.c.rid)
    )
    return filtered(stmt, f, office_id, staff_id, now, risk_until).order_by(*ordering(f.sort))


def _clean(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)


def row_values(row: Any) -> list[Any]:
    (number, received, created, first, resolved, channel, category, intent, urgency, status, school, subject,
     assignee, self_served, sla_first, sla_resolution, understood, score) = row
    return [
        number,
        be_sortable(received),
        be_sortable(created),
        be_sortable(first),
        be_sortable(resolved),
        L.CHANNEL_TH.get(channel, channel),
        L.CATEGORY_TH.get(category or "", category or ""),
        L.INTENT_TH.get(intent or "", intent or ""),
        L.URGENCY_TH.get(urgency, urgency),
        L.STATUS_TH.get(status, status),
        school or "",
        subject or "",
        assignee or "",
        "ใช่" if self_served else "ไม่ใช่",
        SLA_OUTCOME_TH.get(sla_first or "", ""),
        SLA_OUTCOME_TH.get(sla_resolution or "", ""),
        {True: "เข้าใจ", False: "ไม่เข้าใจ"}.get(understood, ""),
        score if score is not None else "",
    ]


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _clock(session: Session, office_id: int) -> tuple[datetime, datetime]:
    office = session.get(Office, office_id)
    cal, policy = office_rules(office.settings if office else None)
    now = utcnow()
    return now, cal.add_business_seconds(now, policy.warn_before_seconds)


def stream_rows(services: Services, f: QueueFilter, staff_id: int | None) -> Iterator[list[Any]]:
    """Export rows, read from the database in batches (server-side cursor on PostgreSQL)."""
    with session_scope(services.session_factory) as session:
        now, risk_until = _clock(session, services.office_id)
        stmt = export_statement(f, services.office_id, staff_id, now, risk_until)
        result = session.execute(stmt.execution_options(yield_per=BATCH))
        for row in result:
            yield row_values(row)


def csv_chunks(rows: Iterator[list[Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # Excel opens UTF-8 Thai correctly with a BOM
    writer.writerow(HEADERS)
    for i, row in enumerate(rows, 1):
        writer.writerow([csv_safe(v) for v in row])
        if i % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def file_stamp() -> str:
    local = to_local(utcnow())
    return f"{local.year + 543}{local:%m%d-%H%M}"


def csv_response(services: Services, f: QueueFilter, staff_id: int | None) -> Response:
    body = stream_with_context(csv_chunks(stream_rows(services, f, staff_id)))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="tickets-{file_stamp()}.csv"'
    return response


FREE_TEXT = (10, 11, 12)  # school, subject, assignee: text that may come from outside


def write_xlsx(rows: Iterator[list[Any]], path: str, title: str = "ทะเบียนเรื่อง") -> int:
    """Write rows to an XLSX file in write-only mode; returns the number of data rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    widths = (18, 17, 17, 17, 17, 10, 30, 14, 10, 16, 28, 50, 18, 10, 14, 14, 10, 10)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for text in HEADERS:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    n = append_ticket_rows(ws, rows)
    wb.save(path)
    return n


def append_ticket_rows(ws: Any, rows: Iterator[list[Any]]) -> int:
    """Append export rows to a write-only sheet (empty cells left out: openpyxl then writes nothing)."""
    n = 0
    append = ws.append
    for row in rows:
        for i in FREE_TEXT:
            row[i] = xlsx_value(ws, row[i])
        append([v if v != "" else None for v in row])
        n += 1
    return n


def xlsx_value(ws: Any, value: Any) -> Any:
    """A cell value that stays text: control characters dropped, a leading '=' never becomes a formula."""
    if not isinstance(value, str) or not value:
        return value
    value = _clean(value)
    if value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def xlsx_response(services: Services, f: QueueFilter, staff_id: int | None) -> Response:
    fd, path = tempfile.mkstemp(prefix="helpdesk-export-", suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(stream_rows(services, f, staff_id), path)
        fh = open(path, "rb")  # noqa: SIM115 - closed by the response
    finally:
        os.unlink(path)  # the open handle keeps the data until the response is sent
    return send_file(fh, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=f"tickets-{file_stamp()}.xlsx")

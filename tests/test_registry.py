"""The consultation register on both engines: numbering, threading, status changes, audit trail."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

from helpdesk import migrate
from helpdesk.db import make_engine, make_session_factory, session_scope, write_session
from tickets import registry
from tickets.directory import create_staff_user, ensure_office, requester_for_line
from tickets.models import AuditLog, Direction, Ticket, TicketStatus


@pytest.fixture
def db(services):  # type: ignore[no-untyped-def]
    return services


def _office(session):  # type: ignore[no-untyped-def]
    return ensure_office(session, "t1", "สพป.ทดสอบ เขต 1")


def test_numbers_follow_buddhist_year_and_office(db) -> None:  # type: ignore[no-untyped-def]
    with write_session(db.engine) as s:
        a = _office(s)
        b = ensure_office(s, "t2", "สพม.ทดสอบ")
        t1 = registry.open_ticket(s, office_id=a.id, channel="line", actor="bot",
                                  received_at=datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
        t2 = registry.open_ticket(s, office_id=a.id, channel="email", actor="bot",
                                  received_at=datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
        t3 = registry.open_ticket(s, office_id=b.id, channel="line", actor="bot",
                                  received_at=datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
        # 31 Dec 2026 18:00 UTC is already 1 Jan 2027 in Bangkok: Buddhist year 2570.
        t4 = registry.open_ticket(s, office_id=a.id, channel="line", actor="bot",
                                  received_at=datetime(2026, 12, 31, 18, 0, tzinfo=UTC))
    assert [t1.number, t2.number, t3.number, t4.number] == [
        "ICT-2569-000001", "ICT-2569-000002", "ICT-2569-000001", "ICT-2570-000001"]


def test_find_ticket_numbers_tolerates_user_spellings() -> None:
    text = "ติดตามเรื่อง ict-๒๕๖๙-๐๐๐๑๒๓ กับ ICT 2569 45 และ ICT-2569-000123 ซ้ำ"
    assert registry.find_ticket_numbers(text) == ["ICT-2569-000123", "ICT-2569-000045"]
    assert registry.find_ticket_numbers("โทร 0812345678") == []


def test_lifecycle_and_audit_trail(db) -> None:  # type: ignore[no-untyped-def]
    with write_session(db.engine) as s:
        office = _office(s)
        requester = requester_for_line(s, office.id, "U" + "a" * 32)
        staff = create_staff_user(s, office, "somchai", "a-long-password", "agent")
        t = registry.open_ticket(s, office_id=office.id, channel="line", actor="bot", requester_id=requester.id,
                                 classification=registry.Classification("network_internet", "incident", "urgent"))
        registry.add_message(s, t, office_id=office.id, direction=Direction.INBOUND, channel="line",
                             author="requester", text="เน็ตล่มทั้งโรงเรียน", actor="requester")
        registry.assign(s, t, staff, actor="staff:1")
        assert t.status == TicketStatus.OPEN
        registry.add_message(s, t, office_id=office.id, direction=Direction.OUTBOUND, channel="line",
                             author="staff", staff_id=staff.id, text="กำลังตรวจสอบค่ะ", actor="staff:1")
        assert t.first_response_at is not None
        registry.change_status(s, t, TicketStatus.WAITING, actor="staff:1")
        registry.change_status(s, t, TicketStatus.RESOLVED, actor="staff:1")
        assert t.resolved_at is not None
        with pytest.raises(registry.InvalidTransition):
            registry.change_status(s, t, TicketStatus.WAITING, actor="staff:1")
        registry.reopen(s, t, actor="requester", reason="ยังใช้ไม่ได้")
        assert t.status == TicketStatus.OPEN and t.resolved_at is None
        registry.change_status(s, t, TicketStatus.CLOSED, actor="staff:1")
        with pytest.raises(registry.InvalidTransition):
            registry.reopen(s, t, actor="x") if t.status != TicketStatus.CLOSED else registry.change_status(
                s, t, TicketStatus.WAITING, actor="x")
        ticket_id = t.id
    with session_scope(db.session_factory) as s:
        actions = s.scalars(select(AuditLog.action).where(AuditLog.ticket_id == ticket_id).order_by(AuditLog.id)).all()
    assert actions == ["created", "message_in", "status", "assigned", "message_out", "status", "status",
                       "reopened", "status"]


def test_audit_lines_wait_for_the_commit_yet_a_query_of_the_trail_sees_them(db) -> None:  # type: ignore[no-untyped-def]
    """A transaction's audit lines go to the database as one statement when it commits (a group of LINE
    events writes several per event); a query of the audit trail in the same session writes them first."""
    inserts: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with write_session(db.engine) as s:
            office = _office(s)
            a = registry.open_ticket(s, office_id=office.id, channel="line", actor="bot",
                                     status=TicketStatus.RESOLVED, note="answered by the bot")
            b = registry.open_ticket(s, office_id=office.id, channel="email", actor="bot")
            registry.add_message(s, b, office_id=office.id, direction=Direction.INBOUND, channel="email",
                                 author="requester", text="ขอรหัสผ่าน DMC ใหม่", actor="requester")
            assert inserts == []  # tickets and messages were flushed, the lines wait
            trail = s.scalars(select(AuditLog.action).where(AuditLog.ticket_id.in_([a.id, b.id]))
                              .order_by(AuditLog.id)).all()
            assert trail == ["created", "status", "created", "message_in"] and len(inserts) == 1
            registry.change_status(s, b, TicketStatus.OPEN, actor="staff:1")
        assert len(inserts) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    with session_scope(db.session_factory) as s:
        assert s.scalars(select(AuditLog.action).where(AuditLog.ticket_id == b.id).order_by(AuditLog.id)).all() == [
            "created", "message_in", "status"]


def test_assign_refuses_staff_of_another_office(db) -> None:  # type: ignore[no-untyped-def]
    with write_session(db.engine) as s:
        a = _office(s)
        b = ensure_office(s, "t2", "สพม.ทดสอบ")
        other = create_staff_user(s, b, "other", "a-long-password", "agent")
        t = registry.open_ticket(s, office_id=a.id, channel="line", actor="bot")
        with pytest.raises(registry.TicketError):
            registry.assign(s, t, other, actor="staff:x")


def _create_many(url: str, office_id: int, count: int) -> list[str]:
    engine = make_engine(url, pool_size=1)
    numbers = []
    for _ in range(count):
        with write_session(engine) as s:
            numbers.append(registry.open_ticket(s, office_id=office_id, channel="line", actor="bench").number)
    engine.dispose()
    return numbers


def _concurrent_numbers(url: str, processes: int, per_process: int) -> list[str]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with write_session(engine) as s:
        office_id = _office(s).id
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        results = pool.starmap(_create_many, [(url, office_id, per_process)] * processes)
    with session_scope(make_session_factory(engine)) as s:
        stored = s.scalar(select(func.count()).select_from(Ticket))
    engine.dispose()
    assert stored == processes * per_process
    return [n for chunk in results for n in chunk]


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_numbering_postgresql(pg_url: str) -> None:
    numbers = _concurrent_numbers(pg_url, processes=8, per_process=200)
    assert len(numbers) == 1600
    assert len(set(numbers)) == 1600
    year = registry.buddhist_year(datetime.now(UTC))
    assert sorted(numbers) == [registry.format_number(year, i) for i in range(1, 1601)]


@pytest.mark.slow
def test_concurrent_numbering_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    numbers = _concurrent_numbers(f"sqlite:///{tmp_path / 'c.db'}", processes=4, per_process=50)
    assert len(set(numbers)) == 200


def test_json_columns_store_thai_as_compact_utf8(db) -> None:  # type: ignore[no-untyped-def]
    """JSON columns hold Thai as itself (three bytes a character in UTF-8) rather than six-character
    \\u escapes, without spaces: a LINE answer's outbox payload is written for every message."""
    from sqlalchemy import String, cast

    from tickets.models import Message

    with write_session(db.engine) as s:
        office = _office(s)
        ticket = registry.open_ticket(s, office_id=office.id, channel="line", actor="bot")
        message = registry.add_message(s, ticket, office_id=office.id, direction=Direction.OUTBOUND, channel="line",
                                       author="bot", text="ตอบแล้ว", actor="bot",
                                       meta={"kind": "answer", "title": "ลืมรหัสผ่าน DMC", "alternatives": [1, 2]})
        message_id = message.id
    with session_scope(db.session_factory) as s:
        stored = s.scalar(select(cast(Message.meta, String)).where(Message.id == message_id))
        assert stored == '{"kind":"answer","title":"ลืมรหัสผ่าน DMC","alternatives":[1,2]}'
        assert s.get(Message, message_id).meta["title"] == "ลืมรหัสผ่าน DMC"

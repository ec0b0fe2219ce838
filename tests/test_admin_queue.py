"""The queue page: filters, Thai search, sorting, pagination, bulk actions, and escaping of requester text."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from helpdesk.db import write_session
from helpdesk.thaidate import BANGKOK
from tests.test_admin_support import make_ticket, ticket_by_number
from tickets import registry
from tickets.models import Attachment, Direction, Message, StaffUser, utcnow

pytest_plugins = ("tests.test_admin_support",)


def numbers_in(html: str) -> list[str]:
    return re.findall(r'class="number">(ICT-\d{4}-\d{6})<', html)


def test_filters_search_and_sorting(admin_app, staff, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    nov = datetime(2025, 11, 10, 9, 0, tzinfo=BANGKOK)
    printer = make_ticket(services, text="ปริ้นเตอร์ห้องวิชาการพิมพ์ไม่ออกค่ะ", school="โรงเรียนบ้านหนองบัว",
                          received_at=nov)
    dmc = make_ticket(services, text="เข้าระบบ DMC ไม่ได้ครับ", category="student_data_dmc", channel="email",
                      urgency="urgent", intent="question", received_at=nov + timedelta(days=5))
    wifi = make_ticket(services, text="อินเทอร์เน็ตโรงเรียนล่มทั้งโรงเรียน", category="network_internet",
                       channel="web", received_at=datetime(2025, 10, 2, 10, 0, tzinfo=BANGKOK))
    done = make_ticket(services, text="สอบถามรอบการส่งข้อมูลนักเรียน", category="student_data_dmc",
                       handoff=False, self_served=True, status="resolved", intent="question")
    fresh = make_ticket(services, text="ขอยืมเครื่องฉายโปรเจคเตอร์", category="equipment_borrow",
                        intent="request", received_at=utcnow())
    with write_session(services.engine) as s:  # a detail only in a later message, and an assignment
        t = registry.get_by_number(s, services.office_id, printer)
        registry.add_message(s, t, office_id=t.office_id, direction=Direction.INBOUND, channel="line",
                             author="requester", text="รุ่น Canon G2010 ไฟกะพริบสีส้ม", actor="test")
        registry.assign(s, t, s.get(StaffUser, staff["agent"].id), actor="test")

    client, _ = signed_in("agent")

    def listed(query: str = "") -> list[str]:
        response = client.get("/admin/queue" + query)
        assert response.status_code == 200, query
        return numbers_in(response.get_data(as_text=True))

    default = listed()
    assert set(default) == {printer, dmc, wifi, fresh}  # open work only by default
    assert default[0] == fresh  # newest first
    assert done in listed("?status=all") and listed("?status=resolved") == [done]
    assert listed("?category=student_data_dmc") == [dmc]
    assert listed("?channel=web") == [wifi]
    assert listed("?urgency=urgent") == [dmc]
    assert listed("?intent=request") == [fresh]
    assert listed("?assignee=me") == [printer]
    assert printer not in listed("?assignee=none")
    school_id = re.search(r'<option value="(\d+)"[^>]*>โรงเรียนบ้านหนองบัว<', client.get("/admin/queue")
                          .get_data(as_text=True)).group(1)
    assert listed(f"?school={school_id}") == [printer]
    # dates in the Buddhist Era, Thai digits accepted
    assert set(listed("?date_from=1/11/2568&date_to=30/11/2568")) == {printer, dmc}
    assert listed("?date_from=๑/๑๐/๒๕๖๘&date_to=๓๑/๑๐/๒๕๖๘") == [wifi]
    bad = client.get("/admin/queue?date_from=2026-11-01")
    assert "รูปแบบวันที่ไม่ถูกต้อง" in bad.get_data(as_text=True)
    # Thai search: subject, later messages, school, ticket number with Thai digits
    assert listed("?q=ปริ้นเตอร์") == [printer]
    assert listed("?q=ไฟกะพริบ") == [printer]
    assert listed("?q=หนองบัว") == [printer]
    assert listed("?q=dmc&status=all") == [dmc]
    thai_number = dmc.lower().translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    assert listed(f"?q={thai_number}") == [dmc]
    assert listed("?q=ไม่มีคำนี้แน่นอน") == []
    # SLA: the October ticket is long overdue; the fresh one is not
    breached = listed("?sla=breached")
    assert wifi in breached and fresh not in breached
    # sorting
    assert listed("?sort=urgent")[0] == dmc
    assert listed("?sort=oldest")[0] == wifi


def test_pagination(admin_app, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    base = utcnow() - timedelta(hours=3)
    numbers = [make_ticket(services, text=f"เรื่องทดสอบที่ {i}", received_at=base + timedelta(minutes=i))
               for i in range(53)]
    client, _ = signed_in("viewer")
    first = client.get("/admin/queue").get_data(as_text=True)
    assert "หน้า 1 / 2" in first and len(numbers_in(first)) == 50
    second = client.get("/admin/queue?page=2").get_data(as_text=True)
    assert numbers_in(second) == list(reversed(numbers[:3]))
    assert "หน้า 2 / 2" in second


def test_bulk_assign_and_status(admin_app, staff, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    a = make_ticket(services, text="เรื่อง ก")
    b = make_ticket(services, text="เรื่อง ข")
    c = make_ticket(services, text="เรื่อง ค", status="closed")
    ids = [ticket_by_number(services, n).id for n in (a, b, c)]
    client, token = signed_in("agent")
    response = client.post("/admin/queue/bulk", data={"csrf_token": token, "action": "assign",
                                                      "assignee": str(staff["admin"].id), "ticket": ids[:2]})
    assert response.status_code == 303
    assert "ดำเนินการแล้ว 2 เรื่อง" in client.get("/admin/queue").get_data(as_text=True)
    assert all(ticket_by_number(services, n).assignee_id == staff["admin"].id for n in (a, b))
    assert ticket_by_number(services, a).status == "open"  # assignment starts the work
    response = client.post("/admin/queue/bulk", data={"csrf_token": token, "action": "status", "status": "waiting",
                                                      "ticket": ids})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "ดำเนินการแล้ว 2 เรื่อง" in page and "ข้ามไป 1 เรื่อง" in page  # closed -> waiting is not allowed
    assert [ticket_by_number(services, n).status for n in (a, b, c)] == ["waiting", "waiting", "closed"]
    viewer, vtoken = signed_in("viewer")
    assert viewer.post("/admin/queue/bulk", data={"csrf_token": vtoken, "action": "status", "status": "open",
                                                  "ticket": ids}).status_code == 403


PAYLOADS = (
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
)


def test_script_payloads_are_escaped_everywhere(admin_app, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    evil = " ".join(PAYLOADS)
    number = make_ticket(services, text=f"ช่วยด้วย {evil}", display_name=PAYLOADS[0], school=PAYLOADS[1],
                         handoff=True, confidence=0.2, channel="email", who="x" + PAYLOADS[2][:5].replace("<", ""))
    with write_session(services.engine) as s:
        t = registry.get_by_number(s, services.office_id, number)
        msg = s.query(Message).filter_by(ticket_id=t.id).first()
        s.add(Attachment(office_id=t.office_id, message_id=msg.id, filename=PAYLOADS[1] + ".png",
                         content_type="image/png", size=4, data=b"\x89PNG"))
        s.add(Attachment(office_id=t.office_id, message_id=msg.id, filename="x.svg", content_type="image/svg+xml",
                         size=30, data=b"<svg onload=alert(1)></svg>"))
        registry.add_message(s, t, office_id=t.office_id, direction=Direction.INBOUND, channel="email",
                             author="requester", text=PAYLOADS[3], actor="test")
    client, _ = signed_in("admin")
    pages = {
        "queue": client.get("/admin/queue?q=ช่วยด้วย"),
        "ticket": client.get(f"/admin/tickets/{number}"),
        "dashboard": client.get("/admin/stats"),
        "unanswered": client.get("/admin/kb/unanswered"),
        "pdpa": client.get("/admin/pdpa?q=" + number),
    }
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200, name
        for raw in ("<script>alert", "<img src=x", "<svg/onload", "onerror=alert(1)>"):
            assert raw not in html, (name, raw)
    ticket_html = pages["ticket"].get_data(as_text=True)
    assert "&lt;script&gt;alert(" in ticket_html
    assert 'href="javascript:' not in ticket_html
    # an SVG attachment is never served inline (it could run script)
    svg_id = re.search(r'/admin/attachments/(\d+)">x\.svg<', ticket_html).group(1)
    svg = client.get(f"/admin/attachments/{svg_id}")
    assert svg.headers["Content-Type"] == "application/octet-stream"
    assert svg.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in svg.headers["Content-Security-Policy"]


def test_message_search_index_is_partial_on_inbound_and_the_search_can_use_it(pg_url) -> None:  # type: ignore[no-untyped-def]
    """Migration 0007 narrows the trigram index to what requesters wrote. A bound `direction` parameter
    would keep a prepared statement's generic plan off a partial index (PostgreSQL cannot prove the
    index's condition for every value), so the search writes 'in' into the SQL."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.dialects import postgresql

    from admin.queries import search_condition
    from helpdesk import migrate
    from tickets.models import Ticket

    engine = create_engine(pg_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            indexdef = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_message_text_trgm'").scalar()
        assert indexdef is not None and "gin_trgm_ops" in indexdef
        assert re.search(r"WHERE \(+\(?direction\)?::text = 'in'::text\)+$", indexdef), indexdef
    finally:
        engine.dispose()
    sql = str(select(Ticket.id).where(search_condition("ปริ้นเตอร์", 1)).compile(
        dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True}))
    assert "message.direction = 'in'" in sql, sql

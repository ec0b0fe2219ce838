"""The ticket page: conversation with attachments, replies through the outbox with their delivery state,
internal notes, status / assignee / classification changes, merging duplicates, the audit trail, SLA."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.outbox import Transport, TransportError, deliver_due
from helpdesk.db import write_session
from tests.test_admin_support import make_ticket, ticket_by_number
from tickets import registry
from tickets.models import Attachment, Direction, Message, OutboxMessage, utcnow

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

pytest_plugins = ("tests.test_admin_support",)


class Recorder(Transport):
    def __init__(self, channel: str, fail: bool = False) -> None:
        self.channel = channel
        self.fail = fail
        self.sent: list[OutboxMessage] = []

    def send(self, item: OutboxMessage) -> dict[str, str]:
        if self.fail:
            raise TransportError("400 invalid user", permanent=True)
        self.sent.append(item)
        return {"channel_message_id": f"m-{item.id}"}


def _outbox(services, ticket_id: int) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)
                              .order_by(OutboxMessage.id)))
        for r in rows:
            s.expunge(r)
        return rows


def test_conversation_and_replies_through_the_outbox(admin_app, staff, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    number = make_ticket(services, text="เครื่องพิมพ์ไฟกะพริบค่ะ ดูรูปนะคะ", who="line-user-0001",
                         display_name="ครูสมใจ", received_at=utcnow() - timedelta(minutes=20))
    with write_session(services.engine) as s:
        t = registry.get_by_number(s, services.office_id, number)
        first = s.scalar(select(Message).where(Message.ticket_id == t.id))
        s.add(Attachment(office_id=t.office_id, message_id=first.id, filename="printer.png",
                         content_type="image/png", size=len(PNG), data=PNG))
        registry.add_message(s, t, office_id=t.office_id, direction=Direction.OUTBOUND, channel="line",
                             author="bot", text="รับเรื่องไว้แล้ว เจ้าหน้าที่จะติดต่อกลับ", actor="bot",
                             delivery_state="sent")
    client, token = signed_in("agent")
    page = client.get(f"/admin/tickets/{number}").get_data(as_text=True)
    assert "เครื่องพิมพ์ไฟกะพริบค่ะ" in page and "รับเรื่องไว้แล้ว" in page and "ระบบตอบอัตโนมัติ" in page
    assert "นาฬิกา SLA" in page and "ตอบกลับครั้งแรก" in page
    img = page.split('<img src="')[1].split('"')[0]
    image = client.get(img)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png" and image.data == PNG

    assert client.post(f"/admin/tickets/{number}/reply", data={"csrf_token": token, "text": "  "}).status_code == 303
    response = client.post(f"/admin/tickets/{number}/reply", data={
        "csrf_token": token, "channel": "line", "after": "waiting",
        "text": "รบกวนถ่ายรูปไฟที่กะพริบให้ดูอีกครั้งค่ะ"})
    assert response.status_code == 303
    t = ticket_by_number(services, number)
    assert t.status == "waiting" and t.assignee_id == staff["agent"].id and t.first_response_at is not None
    (item,) = _outbox(services, t.id)
    assert item.channel == "line" and item.recipient == "Uline-user-0001"
    assert item.dedupe_key == f"staff-reply:{item.message_id}"
    assert item.payload["to"] == "Uline-user-0001"
    assert item.payload["messages"][0]["text"].startswith("รบกวนถ่ายรูปไฟ")
    assert number in item.payload["text"]
    page = client.get(f"/admin/tickets/{number}").get_data(as_text=True)
    assert "ส่งเข้าคิวส่งทางLINEแล้ว" in page and "รอส่ง" in page

    line = Recorder("line")
    assert deliver_due(services.engine, {"line": line}).sent == 1
    page = client.get(f"/admin/tickets/{number}").get_data(as_text=True)
    assert "ส่งแล้ว" in page and "รอส่ง" not in page

    client.post(f"/admin/tickets/{number}/reply", data={"csrf_token": token, "channel": "line", "text": "ข้อความที่สอง"})
    assert deliver_due(services.engine, {"line": Recorder("line", fail=True)}).failed == 1
    page = client.get(f"/admin/tickets/{number}").get_data(as_text=True)
    assert "ส่งไม่สำเร็จ" in page and "400 invalid user" in page

    note = client.post(f"/admin/tickets/{number}/note", data={"csrf_token": token, "text": "โทรคุยกับครูแล้ว"})
    assert note.status_code == 303
    assert len(_outbox(services, t.id)) == 2  # notes never leave
    page = client.get(f"/admin/tickets/{number}").get_data(as_text=True)
    assert "บันทึกภายใน" in page and "โทรคุยกับครูแล้ว" in page

    viewer, _ = signed_in("viewer")
    assert "ตอบกลับผู้แจ้ง" not in viewer.get(f"/admin/tickets/{number}").get_data(as_text=True)


def test_email_and_web_replies(admin_app, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    mail = make_ticket(services, text="ขอทราบวิธีตั้งค่าอีเมลโรงเรียน", channel="email", who="clerk")
    web = make_ticket(services, text="เว็บไซต์โรงเรียนเข้าไม่ได้", channel="web", who="webuser1")
    client, token = signed_in("agent")
    client.post(f"/admin/tickets/{mail}/reply", data={"csrf_token": token, "text": "ส่งคู่มือให้แล้วค่ะ",
                                                      "after": "resolved"})
    t = ticket_by_number(services, mail)
    (item,) = _outbox(services, t.id)
    assert item.channel == "email" and item.recipient == "clerk@school.example.ac.th"
    assert item.payload["subject"].startswith(f"Re: [{mail}]")
    assert t.status == "resolved"
    client.post(f"/admin/tickets/{web}/reply", data={"csrf_token": token, "text": "ลองเข้าใหม่อีกครั้งได้เลยค่ะ"})
    w = ticket_by_number(services, web)
    assert _outbox(services, w.id) == []  # the web chat reads replies from the database
    with write_session(services.engine) as s:
        reply = s.scalar(select(Message).where(Message.ticket_id == w.id, Message.author == "staff"))
        assert reply.delivery_state == "sent" and reply.internal is False


def test_status_assign_classify_merge_and_audit(admin_app, staff, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    main = make_ticket(services, text="โปรเจคเตอร์ห้องประชุมไม่ติด", who="teacher-a")
    dup = make_ticket(services, text="โปรเจคเตอร์ห้องประชุมเปิดไม่ติดอีกแล้ว", who="teacher-b")
    client, token = signed_in("agent")
    client.post(f"/admin/tickets/{main}/assign", data={"csrf_token": token, "assignee": str(staff["admin"].id)})
    client.post(f"/admin/tickets/{main}/classify", data={"csrf_token": token, "category": "equipment_borrow",
                                                         "intent": "request", "urgency": "urgent"})
    t = ticket_by_number(services, main)
    assert (t.assignee_id, t.category, t.intent, t.urgency, t.status) == (
        staff["admin"].id, "equipment_borrow", "request", "urgent", "open")
    client.post(f"/admin/tickets/{main}/status", data={"csrf_token": token, "status": "closed"})
    bad = client.post(f"/admin/tickets/{main}/status", data={"csrf_token": token, "status": "waiting"})
    assert "เปลี่ยนสถานะจาก “ปิดเรื่อง” เป็น “รอข้อมูลจากผู้แจ้ง” ไม่ได้" in client.get(
        bad.headers["Location"]).get_data(as_text=True)
    client.post(f"/admin/tickets/{main}/status", data={"csrf_token": token, "status": "open"})

    merged = client.post(f"/admin/tickets/{dup}/merge", data={"csrf_token": token, "target": main.lower()})
    assert merged.headers["Location"].endswith(f"/admin/tickets/{main}")
    d = ticket_by_number(services, dup)
    assert d.merged_into_id == t.id and d.status == "closed"
    page = client.get(f"/admin/tickets/{main}").get_data(as_text=True)
    assert "เปิดไม่ติดอีกแล้ว" in page and "จากเรื่องซ้ำ" in page
    for text in ("มอบหมายผู้รับผิดชอบ", "แก้ไขการจัดประเภท", "เปิดเรื่องอีกครั้ง", "รับรวมเรื่องซ้ำ",
                 "เจ้าหน้าที่ admin"):
        assert text in page, text
    self_merge = client.post(f"/admin/tickets/{main}/merge", data={"csrf_token": token, "target": dup})
    assert "รวมเรื่องเข้ากับตัวเองไม่ได้" in client.get(self_merge.headers["Location"]).get_data(as_text=True)
    missing = client.post(f"/admin/tickets/{main}/merge", data={"csrf_token": token, "target": "ICT-2569-999999"})
    assert "ไม่พบเรื่องเลขที่" in client.get(missing.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/admin/tickets/{dup}").status_code == 200  # the duplicate still opens, with a pointer
    assert client.get("/admin/tickets/ICT-2569-999999").status_code == 404

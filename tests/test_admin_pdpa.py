"""PDPA: export everything held about one requester, and erase it while the statistics stay."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import func, inspect, select, text

from admin import stats as S
from bot.inbox import store_event
from bot.outbox import enqueue
from helpdesk.db import write_session
from tests.test_admin_support import make_ticket
from tickets.models import (
    Attachment,
    AuditLog,
    InboundEvent,
    Message,
    OutboxMessage,
    Rating,
    Requester,
    Ticket,
    utcnow,
)

pytest_plugins = ("tests.test_admin_support",)


def test_export_and_erase_one_requester(admin_app, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    when = utcnow() - timedelta(days=2)
    first = make_ticket(services, text="ครูสมใจ โทร 081-234-5678 คอมเปิดไม่ติด", who="pdpa-user-01",
                        display_name="ครูสมใจ ใจดี", school="โรงเรียนบ้านหนองบัว", received_at=when)
    second = make_ticket(services, text="เครื่องพิมพ์ก็เสียค่ะ", who="pdpa-user-01", category="network_internet",
                         received_at=when + timedelta(hours=1))
    other = make_ticket(services, text="ของคนอื่น ไม่เกี่ยวข้อง", who="someone-else", display_name="ครูอีกคน")
    line_id = "Updpa-user-01"
    with write_session(services.engine) as s:
        t1 = s.scalar(select(Ticket).where(Ticket.number == first))
        msg = s.scalar(select(Message).where(Message.ticket_id == t1.id))
        s.add(Attachment(office_id=t1.office_id, message_id=msg.id, filename="รูปหน้าจอ.jpg",
                         content_type="image/jpeg", size=4, data=b"\xff\xd8ok"))
        s.add(Rating(office_id=t1.office_id, ticket_id=t1.id, understood=True, score=5, solved=True,
                     channel="line", comment="ขอบคุณครูสมใจมาก"))
        enqueue(s, office_id=t1.office_id, channel="line", recipient=line_id,
                payload={"to": line_id, "messages": [{"type": "text", "text": "สวัสดีครูสมใจ"}]},
                dedupe_key="t-pdpa-1", ticket_id=t1.id)
        stored = store_event(s, office_id=t1.office_id, source="line", source_id="evt-follow-1",
                             payload=json.dumps({"type": "follow", "source": {"userId": line_id}}).encode())
        msg.inbound_event_id = stored.id
        store_event(s, office_id=t1.office_id, source="line", source_id="evt-follow-2",
                    payload=json.dumps({"type": "unfollow", "source": {"userId": line_id}}).encode())
        tables = set(inspect(s.connection()).get_table_names())
        if "email_participant" in tables:  # the e-mail channel's per-ticket addresses
            s.execute(text("INSERT INTO email_participant (office_id, ticket_id, address, role, created_at) "
                           "VALUES (:o, :t, 'clerk@school.example.ac.th', 'cc', :n)"),
                      {"o": t1.office_id, "t": t1.id, "n": utcnow()})
        if "line_conversation" in tables:
            s.execute(text("INSERT INTO line_conversation (office_id, requester_id, flow, step, data, started_at, "
                           "updated_at, expires_at) VALUES (:o, :r, 'repair', 'symptom', '{}', :n, :n, :n)"),
                      {"o": t1.office_id, "r": t1.requester_id, "n": utcnow()})
        requester_id = t1.requester_id
    period = S.range_period((when - timedelta(days=1)).date(), (utcnow() + timedelta(days=1)).date())
    with write_session(services.engine) as s:
        before = S.compute(s, services.office_id, period)

    client, token = signed_in("admin")
    found = client.get("/admin/pdpa", query_string={"q": second}).get_data(as_text=True)
    assert "ครูสมใจ ใจดี" in found and f"/admin/pdpa/{requester_id}" in found
    assert "ครูสมใจ ใจดี" in client.get("/admin/pdpa", query_string={"q": line_id}).get_data(as_text=True)
    assert "ครูสมใจ" in client.get("/admin/pdpa", query_string={"q": "สมใจ"}).get_data(as_text=True)

    export = client.post(f"/admin/pdpa/{requester_id}/export", data={"csrf_token": token})
    assert export.status_code == 200 and export.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(export.data))
    data = json.loads(archive.read("data.json"))
    assert data["requester"]["line_user_id"] == line_id and data["requester"]["school"] == "โรงเรียนบ้านหนองบัว"
    assert sorted(t["number"] for t in data["tickets"]) == sorted([first, second])
    assert any("081-234-5678" in m["text"] for m in data["messages"])
    assert data["ratings"][0]["comment"] == "ขอบคุณครูสมใจมาก"
    (att,) = [a for m in data["messages"] for a in m["attachments"]]
    assert archive.read(att["file"]) == b"\xff\xd8ok"
    assert "ของคนอื่น" not in json.dumps(data, ensure_ascii=False)

    wrong = client.post(f"/admin/pdpa/{requester_id}/erase", data={"csrf_token": token, "confirm": "ok"})
    assert "กรุณาพิมพ์คำว่า" in client.get(wrong.headers["Location"]).get_data(as_text=True)
    with write_session(services.engine) as s:
        assert s.get(Requester, requester_id).line_user_id == line_id

    erased = client.post(f"/admin/pdpa/{requester_id}/erase", data={"csrf_token": token, "confirm": "ลบข้อมูล"})
    assert "ลบข้อมูลส่วนบุคคลของผู้แจ้งแล้ว (2 เรื่อง" in client.get(erased.headers["Location"]).get_data(as_text=True)
    with write_session(services.engine) as s:
        r = s.get(Requester, requester_id)
        assert (r.line_user_id, r.email, r.web_id, r.display_name) == (None, None, None, None)
        assert r.erased_at is not None and r.school_id is not None  # the school stays for statistics
        texts = list(s.scalars(select(Message.text).join(Ticket, Ticket.id == Message.ticket_id)
                               .where(Ticket.requester_id == requester_id)))
        assert texts and all("สมใจ" not in x and "081" not in x for x in texts)
        assert all("สมใจ" not in (x or "") for x in s.scalars(select(Ticket.subject)
                                                                .where(Ticket.requester_id == requester_id)))
        assert s.scalar(select(Attachment.data).where(Attachment.filename == "erased")) is None
        assert s.scalar(select(func.count()).select_from(Attachment).where(Attachment.data.is_not(None))) == 0
        payloads = list(s.scalars(select(InboundEvent.payload)))
        assert payloads and all(line_id.encode() not in p for p in payloads)
        out = s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "t-pdpa-1"))
        assert out.recipient == "erased" and out.payload == {}
        rating = s.scalar(select(Rating))
        assert rating.comment is None and rating.score == 5  # the statistics keep the score
        for table in {"line_conversation", "email_participant"} & set(inspect(s.connection()).get_table_names()):
            assert s.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "pdpa_export")) == 1
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "pdpa_erase",
                                                                         AuditLog.ticket_id.is_(None))) == 1
        after = S.compute(s, services.office_id, period)
        untouched = s.scalar(select(Requester).where(Requester.display_name == "ครูอีกคน"))
        assert untouched.web_id is None and untouched.line_user_id == "Usomeone-else"
    assert (after.total, after.by_category, after.by_school, after.by_channel, after.ratings) == (
        before.total, before.by_category, before.by_school, before.by_channel, before.ratings)
    page = client.get(f"/admin/tickets/{first}").get_data(as_text=True)
    assert "(ลบข้อมูลแล้ว)" in page and "ไม่มีช่องทางติดต่อผู้แจ้ง" in page
    assert "ของคนอื่น" in client.get(f"/admin/tickets/{other}").get_data(as_text=True)
    again = client.post(f"/admin/pdpa/{requester_id}/erase", data={"csrf_token": token, "confirm": "ลบข้อมูล"})
    assert "ถูกลบไปแล้ว" in client.get(again.headers["Location"]).get_data(as_text=True)

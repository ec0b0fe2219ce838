"""The one pipeline, through the /try chat (the same path LINE and e-mail use): understand, answer,
record, reply — store first, idempotent, threading of follow-on messages, and failure handling."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from bot.inbox import store_event
from bot.pipeline import Inquiry, handle_inquiry
from helpdesk.db import session_scope, write_session
from helpdesk.worker import process_inbound
from tickets.directory import requester_for_web
from tickets.models import EventStatus, InboundEvent, Message, Ticket, TicketStatus


def say(client, text: str, msg_id: str | None = None):  # type: ignore[no-untyped-def]
    """Send one message; return the bot's replies to it (not the earlier history)."""
    history = client.get("/try/api/messages").get_json()["messages"]
    after = max((m["id"] for m in history), default=0)
    response = client.post("/try/api/messages", json={"text": text, "id": msg_id or uuid.uuid4().hex, "after": after})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [m for m in response.get_json()["messages"] if m["from"] != "me"]


def tickets(services) -> list[Ticket]:  # type: ignore[no-untyped-def]
    with session_scope(services.session_factory) as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def test_try_page_is_thai_and_sets_a_chat_id(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/try")
    assert page.status_code == 200
    assert "ทดลองคุยกับบอท".encode() in page.data
    assert client.get("/").status_code == 302


def test_a_question_is_answered_with_its_citation_and_registered(client, services) -> None:  # type: ignore[no-untyped-def]
    replies = say(client, "ระบบ DMC ต้องส่งข้อมูลนักเรียนรอบไหนบ้างคะ")
    assert len(replies) == 1
    reply = replies[0]
    assert "10 มิถุนายน" in reply["text"] and "ที่มา" in reply["text"]
    assert reply["ticket"] and reply["ticket"].startswith("ICT-25")
    [ticket] = tickets(services)
    assert ticket.category == "student_data_dmc" and ticket.status == TicketStatus.RESOLVED and ticket.self_served
    assert ticket.article_id and ticket.registration_due_at is not None


def test_an_incident_is_handed_off_and_follow_on_messages_thread(client, services) -> None:  # type: ignore[no-untyped-def]
    [first] = say(client, "คอมพิวเตอร์ห้องธุรการเปิดไม่ติดเลยค่ะ ด่วนมาก ต้องส่งงานวันนี้")
    [ticket] = tickets(services)
    assert ticket.status == TicketStatus.NEW and ticket.handoff and ticket.urgency == "urgent"
    assert ticket.category == "hardware_repair"
    assert ticket.number in first["text"]
    say(client, "เครื่องมีไฟเข้าแต่จอไม่ขึ้นค่ะ")
    assert len(tickets(services)) == 1  # the same report, split over two messages
    with session_scope(services.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.ticket_id == ticket.id)) == 4


def test_greetings_and_thanks_do_not_open_tickets(client, services) -> None:  # type: ignore[no-untyped-def]
    [hello] = say(client, "สวัสดีค่ะ")
    assert hello["text"] and hello["ticket"] is None
    say(client, "ขอบคุณมากค่ะ 🙏")
    assert tickets(services) == []


def test_status_follow_up_only_shows_the_requesters_own_ticket(app, client, services) -> None:  # type: ignore[no-untyped-def]
    say(client, "เน็ตโรงเรียนใช้ไม่ได้ทั้งโรงเรียนค่ะ")
    [ticket] = tickets(services)
    [status] = say(client, f"ติดตามเรื่อง {ticket.number.lower()} ถึงไหนแล้วคะ")
    assert ticket.number in status["text"] and "รับเรื่องแล้ว" in status["text"]
    stranger = app.test_client()
    [other] = say(stranger, f"ติดตามเรื่อง {ticket.number} ถึงไหนแล้วคะ")
    assert "ไม่พบเรื่องเลขที่" in other["text"]
    assert "เน็ต" not in other["text"]


def test_a_resent_message_is_processed_once(client, services) -> None:  # type: ignore[no-untyped-def]
    say(client, "ขอยืมโปรเจคเตอร์ไปใช้อบรมครูค่ะ", msg_id="same-id")
    say(client, "ขอยืมโปรเจคเตอร์ไปใช้อบรมครูค่ะ", msg_id="same-id")
    assert len(tickets(services)) == 1
    with session_scope(services.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 1
        assert s.scalar(select(func.count()).select_from(Message)) == 2


def test_stored_events_survive_a_crash_and_the_worker_finishes_them(services) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        event = store_event(s, office_id=services.office_id, source="web", source_id="crash-1",
                            payload=json.dumps({"web_id": "w1", "text": "DLTV จานดาวเทียมไม่มีสัญญาณค่ะ"}).encode())
        again = store_event(s, office_id=services.office_id, source="web", source_id="crash-1", payload=b"{}")
        bad = store_event(s, office_id=services.office_id, source="web", source_id="crash-2", payload=b"not json")
    assert event.created and not again.created and again.id == event.id
    # ... the web process died here; the worker picks the events up:
    assert process_inbound(services) == {"done": 1, "failed": 1}
    assert process_inbound(services) == {}
    with session_scope(services.session_factory) as s:
        stored = s.get(InboundEvent, event.id)
        assert stored.status == EventStatus.DONE and stored.attempts == 1
        broken = s.get(InboundEvent, bad.id)
        assert broken.status == EventStatus.FAILED and "malformed" in broken.last_error
    [ticket] = tickets(services)
    assert ticket.category == "dltv_satellite"


class BrokenEngine:
    def answer(self, text: str, subject: str | None = None):  # type: ignore[no-untyped-def]
        raise RuntimeError("model file unreadable")


def test_a_failing_engine_never_loses_the_inquiry(services) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        requester = requester_for_web(s, services.office_id, "w-broken")
        reply = handle_inquiry(s, Inquiry(office_id=services.office_id, channel="web", requester_id=requester.id,
                                          text="ปริ้นเตอร์กระดาษติดค่ะ"), BrokenEngine())
        assert reply.handoff and reply.new_ticket and reply.ticket is not None
        assert "ขัดข้องชั่วคราว" in reply.text and reply.ticket.number in reply.text


def test_bad_chat_input_gets_a_clear_error(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/try/api/messages", json={"text": "   "}).status_code == 400
    assert client.post("/try/api/messages", json={"text": "ก" * 5001}).status_code == 413
    assert client.post("/try/api/messages", data="text=x").status_code == 415
    too_big = client.post("/try/api/messages", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                          content_type="application/json")
    assert too_big.status_code == 413


def test_chat_history_is_per_browser(app, client) -> None:  # type: ignore[no-untyped-def]
    say(client, "<script>alert(1)</script> EMIS คืออะไร")
    mine = client.get("/try/api/messages").get_json()["messages"]
    assert mine[0]["text"].startswith("<script>")  # stored as text; the page renders it with textContent
    assert app.test_client().get("/try/api/messages").get_json()["messages"] == []

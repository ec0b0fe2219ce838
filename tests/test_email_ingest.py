"""E-mail intake end to end on SQLite and PostgreSQL: store first, thread, classify with the real knowledge
engine, loops and noise, bounces, attachments, the automatic reply in the outbox, `helpdesk email ingest`."""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.email import email_group, register_handler
from bot.email.config import email_config
from bot.email.handler import claim_auto_reply, store_raw
from bot.email.models import EmailParticipant
from bot.email.threading import make_message_id, ticket_id_from_reference
from helpdesk.db import session_scope, write_session
from helpdesk.worker import process_inbound
from tickets.models import (
    Attachment,
    AuditLog,
    InboundEvent,
    Message,
    OutboxMessage,
    Ticket,
    utcnow,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "email_corpus"
OUR = "ict@helpdesk.example.go.th"
TEACHER = "teacher@school.example.ac.th"
PRINTER = "เครื่องพิมพ์ห้องธุรการพิมพ์ไม่ออก ไฟกระพริบสีส้ม ลองปิดเปิดแล้วยังเหมือนเดิม ช่วยส่งช่างมาดูด้วยค่ะ"
WIFI = "อินเทอร์เน็ตไวไฟในอาคารเรียนใช้งานไม่ได้ทั้งอาคารตั้งแต่เช้า ช่วยตรวจสอบด้วยครับ"


@pytest.fixture(scope="session")
def knowledge_engine():  # type: ignore[no-untyped-def]
    """The real knowledge engine, loaded once for the session (shared by every test's Services)."""
    os.environ.setdefault("HELPDESK_CACHE_DIR", str(ROOT / "instance" / "cache"))
    engine_module = pytest.importorskip("knowledge.engine")
    return engine_module.KnowledgeEngine.load(office_name="สำนักงานเขตพื้นที่การศึกษาประถมศึกษาทดสอบ เขต 1")


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "MAIL_FROM": OUR, "HELPDESK_OFFICE_EMAIL": OUR, "EMAIL_MAX_ATTACHMENT_MB": "0.05"}


@pytest.fixture
def svc(services, knowledge_engine):  # type: ignore[no-untyped-def]
    services._knowledge = knowledge_engine
    register_handler()
    return services


def mail(
    body: str,
    *,
    subject: str = "แจ้งปัญหา",
    sender: str = f"ครูทดสอบ <{TEACHER}>",
    msgid: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = OUR
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = format_datetime(utcnow())
    m["Message-ID"] = f"<{msgid or os.urandom(8).hex()}@school.example.ac.th>"
    if in_reply_to:
        m["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        m["References"] = " ".join(f"<{r}>" for r in references)
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    for name, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes()


def ingest(services, raw: bytes) -> int:  # type: ignore[no-untyped-def]
    stored = store_raw(services, raw)
    counts = process_inbound(services, ids=[stored.id])
    assert counts.get("failed", 0) == 0, counts
    return stored.id


def tickets_of(services) -> list[Ticket]:  # type: ignore[no-untyped-def]
    with session_scope(services.session_factory) as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def outbox_items(services) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with session_scope(services.session_factory) as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id)))


def test_new_mail_registers_a_ticket_and_queues_a_thai_acknowledgement(svc) -> None:  # type: ignore[no-untyped-def]
    event_id = ingest(svc, mail(PRINTER, subject="เครื่องพิมพ์เสีย", msgid="first"))
    (ticket,) = tickets_of(svc)
    assert ticket.channel == "email" and ticket.subject == "เครื่องพิมพ์เสีย"
    (item,) = outbox_items(svc)
    p = item.payload
    assert item.recipient == TEACHER and item.ticket_id == ticket.id
    assert p["subject"] == f"Re: เครื่องพิมพ์เสีย [{ticket.number}]"
    assert p["automatic"] is True and p["in_reply_to"] == "first@school.example.ac.th"
    assert p["text"].startswith("เรียน คุณครูทดสอบ") and ticket.number in p["text"]
    assert "ตอบกลับข้อความนี้" in p["text"] and "แชต" not in p["text"]  # a mail, not a chat
    assert "<p>" in p["html"]
    cfg = email_config(svc.settings)
    assert ticket_id_from_reference(cfg.thread_key, cfg.office_code, p["message_id"]) == ticket.id
    with session_scope(svc.session_factory) as s:
        inbound, outbound = s.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id))
        assert inbound.direction == "in" and inbound.text == PRINTER
        assert inbound.channel_message_id == "first@school.example.ac.th" and inbound.inbound_event_id == event_id
        assert inbound.meta["from"] == f"ครูทดสอบ <{TEACHER}>"
        assert outbound.channel_message_id == p["message_id"] and outbound.delivery_state == "pending"
        assert s.get(InboundEvent, event_id).status == "done"


def test_same_message_twice_is_stored_and_processed_once(svc) -> None:  # type: ignore[no-untyped-def]
    raw = mail(PRINTER, msgid="twice")
    a = store_raw(svc, raw)
    b = store_raw(svc, raw)
    assert a.id == b.id and a.created and not b.created
    process_inbound(svc, ids=[a.id])
    process_inbound(svc, ids=[a.id])
    assert len(tickets_of(svc)) == 1 and len(outbox_items(svc)) == 1
    no_id = (CORPUS / "no_message_id.eml").read_bytes()
    assert store_raw(svc, no_id).id == store_raw(svc, no_id).id


def test_reply_threads_by_signed_reference_whatever_the_subject(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, msgid="root"))
    (ack,) = outbox_items(svc)
    ours = ack.payload["message_id"]
    ingest(svc, mail("ลองเปลี่ยนหมึกแล้วก็ยังไม่ได้ค่ะ", subject="เปลี่ยนหัวข้อใหม่หมด", in_reply_to=ours,
                     references=["root@school.example.ac.th", ours]))
    # A colleague the requester forwarded our reply to answers it: threads, and becomes a participant.
    ingest(svc, mail("เครื่องนี้อยู่ห้องผมครับ", sender="colleague@school.example.ac.th", in_reply_to=ours))
    (ticket,) = tickets_of(svc)
    with session_scope(svc.session_factory) as s:
        texts = [m.text for m in s.scalars(select(Message).where(Message.ticket_id == ticket.id,
                                                                 Message.direction == "in").order_by(Message.id))]
        participants = set(s.scalars(select(EmailParticipant.address).where(EmailParticipant.ticket_id == ticket.id)))
    assert texts == [PRINTER, "ลองเปลี่ยนหมึกแล้วก็ยังไม่ได้ค่ะ", "เครื่องนี้อยู่ห้องผมครับ"]
    assert "colleague@school.example.ac.th" in participants


def test_forged_or_foreign_references_do_not_thread(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, msgid="victim"))
    (ticket,) = tickets_of(svc)
    cfg = email_config(svc.settings)
    real = make_message_id(cfg.thread_key, cfg.office_code, ticket.id, cfg.domain)
    forged = real[: real.index("@") - 1] + ("0" if real[real.index("@") - 1] != "0" else "1") + real[real.index("@"):]
    other_office = make_message_id(cfg.thread_key, "another-office", ticket.id, cfg.domain)
    ingest(svc, mail(WIFI, sender="stranger@example.com", in_reply_to=forged))
    ingest(svc, mail(WIFI, sender="stranger2@example.com", in_reply_to=other_office))
    # Knowing the requester's own Message-ID is not enough for a stranger either.
    ingest(svc, mail(WIFI, sender="stranger3@example.com", in_reply_to="victim@school.example.ac.th"))
    assert len(tickets_of(svc)) == 4


def test_subject_number_threads_only_for_requester_and_participants(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, msgid="cc-root", cc="ผอ. <director@school.example.ac.th>"))
    (ticket,) = tickets_of(svc)
    ingest(svc, mail("ขอทราบความคืบหน้าด้วยค่ะ เครื่องพิมพ์ยังใช้ไม่ได้", subject=f"Re: [{ticket.number}] เครื่องพิมพ์"))
    ingest(svc, mail("ฝากติดตามเรื่องเครื่องพิมพ์ให้ด้วยครับ ยังเสียอยู่", subject=f"{ticket.number} เครื่องพิมพ์",
                     sender="director@school.example.ac.th"))
    ingest(svc, mail(WIFI, subject=f"Re: [{ticket.number}]", sender="stranger@example.com"))
    tickets = tickets_of(svc)
    assert len(tickets) == 2
    stranger_ticket = tickets[1]
    with session_scope(svc.session_factory) as s:
        on_first = s.scalar(select(func.count()).select_from(Message).where(
            Message.ticket_id == ticket.id, Message.direction == "in"))
        links = s.scalars(select(AuditLog).where(AuditLog.action == "linked").order_by(AuditLog.id)).all()
    assert on_first == 3
    assert {(a.ticket_id, a.details["ticket"]) for a in links} == {
        (stranger_ticket.id, ticket.number), (ticket.id, stranger_ticket.number)}
    stranger_ack = [i for i in outbox_items(svc) if i.recipient == "stranger@example.com"]
    assert stranger_ack and ticket.number in stranger_ack[0].payload["text"]
    assert stranger_ticket.number in stranger_ack[0].payload["subject"]


def test_reply_to_own_earlier_message_threads_by_stored_reference(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, msgid="mine"))
    ingest(svc, mail("ลืมแจ้งว่าเป็นยี่ห้อ Brother ค่ะ", subject="Re: แจ้งปัญหา", in_reply_to="mine@school.example.ac.th"))
    assert len(tickets_of(svc)) == 1


def test_auto_replies_lists_daemons_and_own_address_get_no_reply(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, msgid="ooo-root"))
    (ack,) = outbox_items(svc)
    (ticket,) = tickets_of(svc)
    status_before = ticket.status
    ooo = mail("ขณะนี้ไม่อยู่ที่สำนักงาน", subject="ตอบกลับอัตโนมัติ: เครื่องพิมพ์", in_reply_to=ack.payload["message_id"],
               headers={"Auto-Submitted": "auto-replied"})
    ingest(svc, ooo)
    for name in ("list_bulk", "noreply_notification", "auto_reply_ooo"):
        ingest(svc, (CORPUS / f"{name}.eml").read_bytes())
    ingest(svc, mail("loop", sender=OUR))
    ingest(svc, mail(WIFI, headers={"X-Helpdesk-Loop": "test-office"}, sender="relay@example.com"))
    assert len(tickets_of(svc)) == 1 and len(outbox_items(svc)) == 1
    with session_scope(svc.session_factory) as s:
        t = s.get(Ticket, ticket.id)
        assert t.status == status_before
        ooo_msg = s.scalar(select(Message).where(Message.ticket_id == ticket.id, Message.meta["noise"].as_string()
                                                 == "auto_reply"))
        assert ooo_msg is not None
        unattached = s.scalar(select(func.count()).select_from(Message).where(Message.ticket_id.is_(None)))
        assert unattached == 4  # the corpus out-of-office names this ticket: it threads


def test_suppress_header_registers_but_does_not_answer(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(WIFI, headers={"X-Auto-Response-Suppress": "All"}))
    ingest(svc, mail(PRINTER, sender="Cloud <no-reply@example.com>"))
    assert len(tickets_of(svc)) == 1
    assert outbox_items(svc) == []
    with session_scope(svc.session_factory) as s:
        out = s.scalar(select(Message).where(Message.direction == "out"))
        assert out.delivery_state == "suppressed" and "x-auto-response-suppress" in out.meta["suppressed"]


def test_one_automatic_reply_per_sender_per_ticket_per_day(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, msgid="rate"))
    (ack,) = outbox_items(svc)
    for i in range(3):
        ingest(svc, mail(f"ข้อมูลเพิ่มเติมครั้งที่ {i + 1} เครื่องพิมพ์ยังเสีย", in_reply_to=ack.payload["message_id"]))
    assert len(outbox_items(svc)) == 1
    ingest(svc, mail(WIFI, subject="ไวไฟเสีย"))  # another ticket: its own acknowledgement
    assert len(outbox_items(svc)) == 2
    with write_session(svc.engine) as s:
        assert claim_auto_reply(s, svc.office_id, None, "x@example.com")
        assert not claim_auto_reply(s, svc.office_id, None, "x@example.com")


def test_bounce_marks_the_outbound_mail_undelivered(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, sender="former.teacher@school.example.ac.th"))
    (ack,) = outbox_items(svc)
    (ticket,) = tickets_of(svc)
    ours = ack.payload["message_id"]
    dsn = (CORPUS / "bounce_dsn.eml").read_bytes().replace(
        b"ict.test-office.1.0a1b2c3d.00000000000000000000@helpdesk.example.go.th", ours.encode())
    ingest(svc, dsn)
    assert len(tickets_of(svc)) == 1 and len(outbox_items(svc)) == 1
    with session_scope(svc.session_factory) as s:
        out = s.get(Message, ack.message_id)
        assert out.delivery_state == "failed" and out.meta["bounce"]["status"] == "5.1.1"
        note = s.scalar(select(Message).where(Message.ticket_id == ticket.id, Message.author == "system"))
        assert note is not None and "nobody@school.example.ac.th" in note.text and "5.1.1" in note.text
        assert s.scalar(select(AuditLog).where(AuditLog.ticket_id == ticket.id,
                                               AuditLog.action == "delivery_failed")) is not None
        assert "bounced" in s.get(OutboxMessage, ack.id).last_error


def test_plain_text_bounce_is_recognised(svc) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, sender="old.teacher@school.example.ac.th"))
    (ack,) = outbox_items(svc)
    raw = (CORPUS / "bounce_plain.eml").read_bytes().replace(
        b"ict.test-office.1.0a1b2c3d.00000000000000000000@helpdesk.example.go.th", ack.payload["message_id"].encode())
    ingest(svc, raw)
    with session_scope(svc.session_factory) as s:
        assert s.get(Message, ack.message_id).delivery_state == "failed"
    assert len(tickets_of(svc)) == 1


def test_attachments_kept_skipped_and_flagged(svc) -> None:  # type: ignore[no-untyped-def]
    raw = mail(PRINTER, attachments=[("รูปเครื่อง.jpg", "image/jpeg", b"\xff\xd8" + b"a" * 2000),
                                     ("วิดีโอ.mp4", "video/mp4", b"b" * 80_000),
                                     ("setup.exe", "application/octet-stream", b"MZ" + b"c" * 100)])
    ingest(svc, raw)
    with session_scope(svc.session_factory) as s:
        rows = {a.filename: a for a in s.scalars(select(Attachment))}
        assert rows["รูปเครื่อง.jpg"].data.startswith(b"\xff\xd8") and rows["รูปเครื่อง.jpg"].sha256
        assert rows["วิดีโอ.mp4"].data is None and "0.05 MB" in rows["วิดีโอ.mp4"].skipped_reason
        assert rows["setup.exe"].dangerous
        assert all(a.message.ticket_id is not None for a in rows.values())
    (ack,) = outbox_items(svc)
    assert "วิดีโอ.mp4" in ack.payload["text"] and "setup.exe" in ack.payload["text"]


@pytest.mark.parametrize("name", ["tis620", "html_only", "forwarded_rfc822", "outlook_reply", "rfc2231_filenames",
                                  "malformed_headers", "related_html_with_plain"])
def test_corpus_messages_go_through_the_pipeline(svc, name: str) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, (CORPUS / f"{name}.eml").read_bytes())
    with session_scope(svc.session_factory) as s:
        event = s.scalar(select(InboundEvent))
        assert event.status == "done", event.last_error
        inbound = s.scalar(select(Message).where(Message.direction == "in"))
        assert inbound is not None and inbound.text


def test_cli_ingest_files_and_stdin(svc, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = tmp_path / "a.eml"
    a.write_bytes(mail(PRINTER, msgid="cli-a"))
    b = tmp_path / "b.eml"
    b.write_bytes(mail(WIFI, msgid="cli-b", sender="other@school.example.ac.th"))
    from helpdesk.cli import Context

    ctx = Context()
    ctx._services = svc  # the command's services, with the session's engine already loaded
    result = runner.invoke(email_group, ["ingest", str(a), str(b), "-", str(a)], obj=ctx,
                           input=mail(WIFI, msgid="cli-c", sender="third@school.example.ac.th"))
    assert result.exit_code == 0, result.output
    assert result.output.count("stored as event") == 3 and "duplicate of event 1" in result.output
    assert "processed: done 3" in result.output
    missing = runner.invoke(email_group, ["ingest", str(tmp_path / "missing.eml")], obj=ctx)
    assert missing.exit_code == 1
    with session_scope(svc.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 3
        assert s.scalar(select(func.count()).select_from(Ticket)) == 3


def test_huge_line_and_deep_nesting_through_the_pipeline(svc) -> None:  # type: ignore[no-untyped-def]
    from tests.test_email_parse import _nested

    line = (PRINTER + " ") * (200_000 // len(PRINTER) + 1)
    ingest(svc, mail(line[:200_000], msgid="long-line"))
    ingest(svc, _nested(3000).replace(b"From: a@example.com", f"From: {TEACHER}".encode()))
    with session_scope(svc.session_factory) as s:
        assert set(s.scalars(select(InboundEvent.status))) == {"done"}
        texts = [m.text for m in s.scalars(select(Message).where(Message.direction == "in").order_by(Message.id))]
    assert len(texts[0]) == 20_000 and texts[1] == "ข้อความลึกสุด"


def test_confident_answer_is_mailed_with_its_source(svc, knowledge_engine) -> None:  # type: ignore[no-untyped-def]
    for article in knowledge_engine.articles[:80]:
        question = article.questions[0] if article.questions else article.title
        answer = knowledge_engine.answer(question, subject=article.title)
        if answer.kind == "answer" and not answer.handoff and answer.article is not None:
            break
    else:
        pytest.skip("the knowledge base answers none of its own first questions outright")
    ingest(svc, mail(question, subject=article.title))
    (item,) = outbox_items(svc)
    text = item.payload["text"]
    assert answer.article.citation_th() in text
    assert answer.article.answer.strip()[:40] in text

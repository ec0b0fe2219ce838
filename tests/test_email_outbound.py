"""Outbound e-mail through the outbox and aiosmtplib, against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from bot import outbox
from bot.email import init_worker
from bot.email.parse import parse_message
from bot.email.transport import SmtpTransport, smtp_transport_factory
from helpdesk.db import session_scope, write_session
from helpdesk.worker import build_transports
from tests.pgserver import free_port
from tests.test_email_ingest import (  # noqa: F401  (knowledge_engine: the session-wide engine fixture)
    OUR,
    PRINTER,
    TEACHER,
    ingest,
    knowledge_engine,
    mail,
    outbox_items,
    tickets_of,
)
from tickets import registry
from tickets.models import AuditLog, Direction, Message, OutboxMessage, Ticket, utcnow

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class Recorder:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.defer = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address.startswith("reject"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("later") and self.defer:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued"


def _auth(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"helpdesk" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), authenticator=_auth,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.fixture
def env(env: dict[str, str], smtp_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    controller, _ = smtp_server
    return {**env, "MAIL_FROM": OUR, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port),
            "SMTP_USER": "helpdesk", "SMTP_PASSWORD": "s3cret", "HELPDESK_OFFICE_EMAIL": OUR}


@pytest.fixture
def svc(services, knowledge_engine):  # type: ignore[no-untyped-def]  # noqa: F811
    from bot.email import register_handler

    services._knowledge = knowledge_engine
    register_handler()
    return services


def deliver(svc) -> outbox.DeliveryReport:  # type: ignore[no-untyped-def]
    with write_session(svc.engine) as s:  # make every pending item due now
        s.execute(update(OutboxMessage).where(OutboxMessage.status == "pending").values(next_attempt_at=utcnow()))
    return outbox.deliver_due(svc.engine, {"email": SmtpTransport(svc.settings, svc.engine)})


def test_acknowledgement_is_delivered_and_threads_back(svc, smtp_server) -> None:  # type: ignore[no-untyped-def]
    _, recorder = smtp_server
    ingest(svc, mail(PRINTER, subject="เครื่องพิมพ์เสีย", msgid="smtp-root"))
    report = deliver(svc)
    assert report.sent == 1
    ((mail_from, rcpts, raw),) = recorder.received
    assert mail_from == OUR and rcpts == [TEACHER]
    sent = parse_message(raw)
    (ticket,) = tickets_of(svc)
    (item,) = outbox_items(svc)
    assert sent.subject == f"Re: เครื่องพิมพ์เสีย [{ticket.number}]"
    assert sent.message_id == item.payload["message_id"]
    assert sent.in_reply_to == ["smtp-root@school.example.ac.th"] and sent.references == sent.in_reply_to
    assert sent.header("auto-submitted") == "auto-replied" and sent.header("x-auto-response-suppress") == "All"
    assert sent.sender is not None and sent.sender.addr == OUR and "กลุ่ม ICT" in sent.sender.name
    assert sent.to[0].name == "ครูทดสอบ"
    assert ticket.number in sent.new_text and not sent.html_only
    assert b"Content-Type: text/html" in raw and b"charset=\"utf-8\"" in raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    with session_scope(svc.session_factory) as s:
        out = s.get(Message, item.message_id)
        assert out.delivery_state == "sent" and out.channel_message_id == sent.message_id
    # The requester answers from any client, with any subject: it lands on the same ticket.
    reply = mail("ยังพิมพ์ไม่ออกค่ะ", subject="ตอบ", in_reply_to=sent.message_id, references=[*sent.references, sent.message_id])
    ingest(svc, reply)
    assert len(tickets_of(svc)) == 1


def test_transient_refusal_is_retried_then_sent(svc, smtp_server) -> None:  # type: ignore[no-untyped-def]
    _, recorder = smtp_server
    ingest(svc, mail(PRINTER, sender="later@school.example.ac.th"))
    first = deliver(svc)
    assert first.retried == 1 and first.sent == 0
    (item,) = outbox_items(svc)
    assert item.status == "pending" and item.attempts == 1 and "451" in item.last_error
    assert item.next_attempt_at > utcnow()
    recorder.defer = False
    assert deliver(svc).sent == 1
    assert len(recorder.received) == 1
    assert outbox_items(svc)[0].status == "sent"


def test_permanent_refusal_is_recorded_on_the_ticket(svc, smtp_server) -> None:  # type: ignore[no-untyped-def]
    ingest(svc, mail(PRINTER, sender="reject@school.example.ac.th"))
    assert deliver(svc).failed == 1
    (item,) = outbox_items(svc)
    assert item.status == "failed" and "550" in item.last_error
    with session_scope(svc.session_factory) as s:
        assert s.get(Message, item.message_id).delivery_state == "failed"
        assert s.scalar(select(AuditLog).where(AuditLog.ticket_id == item.ticket_id,
                                               AuditLog.action == "delivery_failed")) is not None


def test_server_down_is_transient(svc, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    _, recorder = smtp_server
    ingest(svc, mail(PRINTER))
    down = SmtpTransport(replace(svc.settings, smtp_port=free_port()))  # nothing listens there
    assert outbox.deliver_due(svc.engine, {"email": down}).retried == 1
    assert outbox_items(svc)[0].status == "pending"
    assert deliver(svc).sent == 1 and len(recorder.received) == 1


def test_wrong_password_is_retried_not_dropped(svc, smtp_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    ingest(svc, mail(PRINTER))
    monkeypatch.setenv("SMTP_TIMEOUT_SECONDS", "2")  # aiosmtpd does not answer a failed AUTH: keep it short
    bad = SmtpTransport(replace(svc.settings, smtp_password="wrong"))
    assert outbox.deliver_due(svc.engine, {"email": bad}).retried == 1
    assert outbox_items(svc)[0].status == "pending"


def test_staff_reply_queued_by_the_admin_app_is_threaded(svc, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """The admin app queues {"type": "text", "text", "subject"}; the transport completes it."""
    _, recorder = smtp_server
    ingest(svc, mail(PRINTER, subject="เครื่องพิมพ์เสีย", msgid="staff-root"))
    deliver(svc)
    (ticket,) = tickets_of(svc)
    body = f"ช่างจะเข้าไปตรวจเครื่องพิมพ์ในวันพรุ่งนี้ค่ะ\n\n— เจ้าหน้าที่กลุ่ม ICT (เรื่องเลขที่ {ticket.number})"
    with write_session(svc.engine) as s:
        t = s.get(Ticket, ticket.id)
        message = registry.add_message(s, t, office_id=t.office_id, direction=Direction.OUTBOUND, channel="email",
                                       author="staff", text=body, actor="staff:1", delivery_state="pending")
        outbox.enqueue(s, office_id=t.office_id, channel="email", recipient=TEACHER,
                       payload={"type": "text", "text": body, "to": TEACHER, "ticket_number": t.number,
                                "subject": f"Re: [{t.number}] {t.subject}"},
                       dedupe_key=f"staff-reply:{message.id}", ticket_id=t.id, message_id=message.id)
        message_id = message.id
    assert deliver(svc).sent == 1
    staff_mail = parse_message(recorder.received[-1][2])
    assert staff_mail.subject == f"Re: [{ticket.number}] เครื่องพิมพ์เสีย"
    assert staff_mail.in_reply_to == ["staff-root@school.example.ac.th"]
    assert staff_mail.header("auto-submitted") == "" and "ช่างจะเข้าไปตรวจ" in staff_mail.text
    assert staff_mail.to[0].name == "ครูทดสอบ"
    with session_scope(svc.session_factory) as s:
        assert s.get(Message, message_id).channel_message_id == staff_mail.message_id
    # The requester's answer to the staff mail threads by its signed Message-ID.
    ingest(svc, mail("ได้ค่ะ รอช่างพรุ่งนี้", subject="ok", in_reply_to=staff_mail.message_id))
    assert len(tickets_of(svc)) == 1
    # A follow-up question is an automatic message: Auto-Submitted: auto-generated.
    with write_session(svc.engine) as s:
        outbox.enqueue(s, office_id=ticket.office_id, channel="email", recipient=TEACHER,
                       payload={"type": "followup", "subject": f"[{ticket.number}] สอบถามผล", "text": "ผลเป็นอย่างไร"},
                       dedupe_key="followup:test", ticket_id=ticket.id)
    deliver(svc)
    assert parse_message(recorder.received[-1][2]).header("auto-submitted") == "auto-generated"


def test_worker_hooks(svc) -> None:  # type: ignore[no-untyped-def]
    from helpdesk import scheduler, worker

    init_worker()
    init_worker()  # idempotent
    assert worker.TRANSPORT_FACTORIES.count(smtp_transport_factory) == 1
    assert "email-imap" in scheduler.JOBS
    assert isinstance(build_transports(svc)["email"], SmtpTransport)
    result = scheduler.run_job(svc, "email-imap", force=True)
    assert result is not None and result["skipped"] == "imap not configured"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_starttls_with_a_private_ca(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=True)
    controller.start()
    try:
        settings = replace(app.extensions["helpdesk"].settings, smtp_host="127.0.0.1", smtp_port=controller.port,
                           smtp_user=None, smtp_password=None, smtp_starttls=True)
        monkeypatch.setenv("SMTP_CA_FILE", str(cert))
        transport = SmtpTransport(settings)
        item = OutboxMessage(id=1, recipient=TEACHER, payload={
            "to": TEACHER, "from": OUR, "subject": "ทดสอบ TLS", "text": "สวัสดี", "message_id": "tls-test@example.go.th"})
        assert transport.send(item) == {"channel_message_id": "tls-test@example.go.th"}
        assert parse_message(recorder.received[0][2]).subject == "ทดสอบ TLS"
    finally:
        controller.stop()

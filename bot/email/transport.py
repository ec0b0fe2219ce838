"""SMTP delivery for the outbox (aiosmtplib): one message per outbox row, errors sorted into retry / give up.

Two kinds of rows arrive on the "email" channel:

- complete payloads built by this package (automatic replies: Message-ID, threading headers, HTML);
- plain ones queued elsewhere ({"type": "text" | "followup", "text", "subject", ...}: staff replies from the
  admin app, follow-up questions, staff alerts). They are completed here: a Message-ID signed with the
  ticket (derived from the row's retry key, so every retry carries the same one), In-Reply-To and
  References pointing at the requester's latest mail on the ticket, an HTML part, and
  `Auto-Submitted: auto-generated` for follow-ups and alerts.

A 4xx reply, a refused or dropped connection or a timeout is transient (the outbox retries with
backoff); a 5xx reply to the sender, the recipient or the data is permanent and recorded on the ticket.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiosmtplib
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.email import compose
from bot.email import messages_th as M
from bot.email.config import email_config
from bot.email.threading import make_message_id
from bot.outbox import Transport, TransportError
from helpdesk.config import Settings
from helpdesk.services import Services
from tickets.models import Channel, Direction, Message, OutboxMessage, Requester

log = logging.getLogger(__name__)


def _run(coro: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:  # called from async code: use a loop of our own
        return pool.submit(asyncio.run, coro).result()


def _permanent(code: int | None) -> bool:
    return code is not None and 500 <= code < 600


class SmtpTransport(Transport):
    channel = Channel.EMAIL.value

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        cfg = email_config(settings)
        self.settings = settings
        self.engine = engine
        self.cfg = cfg
        self.tls_context: ssl.SSLContext | None = None
        if settings.smtp_tls or settings.smtp_starttls:
            self.tls_context = ssl.create_default_context(cafile=cfg.smtp_ca_file)

    # ------------------------------------------------------------------------------ payloads
    def complete(self, item: OutboxMessage) -> dict[str, Any]:
        """The full payload for a row: as queued when built here, otherwise completed (see the module doc)."""
        p = dict(item.payload or {})
        if p.get("message_id") and p.get("from"):
            return p
        cfg = self.cfg
        nonce = hashlib.sha256((item.retry_key or str(item.id)).encode()).hexdigest()[:12]
        p["to"] = item.recipient
        p["from"] = cfg.mail_from
        p["from_name"] = M.FROM_NAME.format(office=cfg.office_name)
        p["message_id"] = make_message_id(cfg.thread_key, cfg.office_code, item.ticket_id, cfg.domain, nonce=nonce)
        p["text"] = str(p.get("text") or "")
        p["subject"] = str(p.get("subject") or M.SUBJECT_FALLBACK)
        p.setdefault("html", compose.text_to_html(p["text"]))
        p["automatic"] = False
        if p.get("type") == "followup" or p.get("alert"):
            p["auto_submitted"] = "auto-generated"
        p["loop"] = cfg.office_code
        if item.ticket_id and self.engine is not None:
            with Session(self.engine) as session:
                self._thread_headers(session, item, p)
        return p

    def _thread_headers(self, session: Session, item: OutboxMessage, p: dict[str, Any]) -> None:
        last_in = session.scalar(
            select(Message).where(Message.ticket_id == item.ticket_id, Message.direction == Direction.INBOUND.value,
                                  Message.channel == Channel.EMAIL.value, Message.author == "requester",
                                  Message.channel_message_id.is_not(None))
            .order_by(Message.id.desc()).limit(1))
        if last_in is not None and not p.get("alert"):
            p["in_reply_to"] = last_in.channel_message_id
            p["references"] = compose.references_for(last_in.channel_message_id,
                                                     list((last_in.meta or {}).get("references") or []))
        if not p.get("to_name"):
            name = session.scalar(select(Requester.display_name).where(Requester.email == item.recipient,
                                                                       Requester.office_id == item.office_id))
            p["to_name"] = name or ""

    # ------------------------------------------------------------------------------ sending
    def send(self, item: OutboxMessage) -> dict[str, Any] | None:
        try:
            payload = self.complete(item)
            raw = compose.render_bytes(payload)
        except Exception as exc:  # a payload we cannot render will never render
            raise TransportError(f"cannot build the message: {type(exc).__name__}: {exc}", permanent=True) from None
        try:
            _run(self._send(raw, payload["from"], item.recipient))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise TransportError(f"recipient refused: {exc}", permanent=all(_permanent(c) for c in codes)) from None
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc.code} {exc.message}",
                                 permanent=_permanent(exc.code)) from None
        except aiosmtplib.SMTPAuthenticationError as exc:  # a configuration problem: retry until fixed or expired
            raise TransportError(f"SMTP authentication failed: {exc.code}") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise TransportError(f"{type(exc).__name__}: {exc.code} {exc.message}",
                                 permanent=_permanent(exc.code)) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return {"channel_message_id": payload["message_id"]}

    async def _send(self, raw: bytes, sender: str, recipient: str) -> None:
        s = self.settings
        await aiosmtplib.send(
            raw,
            sender=sender,
            recipients=[recipient],
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_tls,
            start_tls=bool(s.smtp_starttls),
            tls_context=self.tls_context,
            timeout=self.cfg.smtp_timeout,
        )


def smtp_transport_factory(services: Services) -> SmtpTransport | None:
    """For helpdesk.worker.TRANSPORT_FACTORIES: the SMTP transport when SMTP_HOST is set."""
    if not services.settings.smtp_enabled:
        log.info("e-mail replies disabled (SMTP_HOST not set)")
        return None
    return SmtpTransport(services.settings, services.engine)

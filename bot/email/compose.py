"""Outbound mail: the Thai text and HTML of our replies, their headers, and the MIME bytes.

An outbox row holds a JSON payload (recipient, subject, text, html, Message-ID, In-Reply-To,
References, automatic or not); `render()` turns it into the message the SMTP transport sends, the
same bytes on every retry apart from the Date. Rendering uses the email package's compat32 MIME
classes on purpose: the default policy RFC 2047-encodes long References headers, which breaks
threading in mail clients.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from email.charset import BASE64, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any

from bot.email import messages_th as M
from bot.email.config import LOOP_HEADER, EmailConfig
from bot.email.parse import ParsedAttachment
from bot.email.quotes import clean_subject
from bot.messages_th import size_th
from helpdesk.thaidate import BANGKOK
from helpdesk.thaidate import format_datetime as thai_datetime
from tickets.models import utcnow

MAX_REFERENCES = 12
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = BASE64
_URL = re.compile(r"https?://[^\s<>\"']{3,500}")
_NUMBER_IN_SUBJECT = re.compile(r"\[?\bICT\s*[-–—]?\s*\d{4}\s*[-–—/]?\s*\d{1,6}\b\]?", re.IGNORECASE)


def subject_without_number(subject: str | None) -> str:
    """The subject as the requester meant it: no Re:/Fwd: prefixes, no ticket number."""
    return " ".join(_NUMBER_IN_SUBJECT.sub(" ", clean_subject(subject or "")).split()).strip(" -:")


def reply_subject(original: str | None, number: str | None) -> str:
    """"Re: <original subject> [ICT-2569-000123]" (the number once, prefixes not stacked)."""
    base = subject_without_number(original) or M.SUBJECT_FALLBACK
    if len(base) > 150:
        base = base[:149] + "…"
    if number:
        return M.SUBJECT_REPLY.format(subject=base, number=number)
    return M.SUBJECT_NO_TICKET.format(subject=base)


def references_for(inbound_message_id: str | None, inbound_references: list[str]) -> list[str]:
    refs = [r for r in inbound_references if r]
    if inbound_message_id:
        refs.append(inbound_message_id)
    refs = list(dict.fromkeys(refs))
    if len(refs) > MAX_REFERENCES:  # keep the thread root and the most recent ones (RFC 5322 3.6.4)
        refs = [refs[0], *refs[-(MAX_REFERENCES - 1):]]
    return refs


def text_to_html(text: str, lang: str = "th") -> str:
    """A simple, safe HTML rendering of our plain text: escaped, paragraphs, clickable links."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out = []
    for p in paragraphs:
        escaped = html.escape(p)
        escaped = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        out.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>\n'
            '<body style="font-family: Sarabun, Tahoma, \'Noto Sans Thai\', sans-serif; font-size: 15px; '
            'line-height: 1.6; color: #222">\n' + "\n".join(out) + "\n</body></html>\n")


def _attachment_notes(attachments: list[ParsedAttachment], limit_mb: float) -> list[str]:
    lines: list[str] = []
    skipped = [a for a in attachments if a.skipped_reason]
    if skipped:
        lines.append(M.SKIPPED_HEADER.format(limit=f"{limit_mb:g}"))
        lines += [M.SKIPPED_ITEM.format(name=a.filename, size=size_th(a.size, mb_decimals=1)) for a in skipped]
        lines.append(M.SKIPPED_HINT)
    dangerous = [a for a in attachments if a.dangerous]
    if dangerous:
        if lines:
            lines.append("")
        lines.append(M.DANGEROUS_HEADER)
        lines += [M.SKIPPED_ITEM.format(name=a.filename, size=size_th(a.size, mb_decimals=1)) for a in dangerous]
        lines.append(M.DANGEROUS_HINT)
    return lines


def reply_body(
    *,
    cfg: EmailConfig,
    body: str,
    number: str | None,
    requester_name: str | None,
    received_at: datetime | None = None,
    citation: str | None = None,
    attachments: list[ParsedAttachment] | None = None,
    linked_number: str | None = None,
    automatic: bool = True,
) -> str:
    """The plain-text body of a reply: greeting, the answer, notes, how to continue, signature."""
    name = (requester_name or "").strip()
    parts = [M.GREETING_NAMED.format(name=name) if name else M.GREETING]
    if received_at is not None and automatic:
        parts.append(M.RECEIVED_AT.format(when=thai_datetime(received_at)))
    parts.append(body.strip())
    if citation and citation not in body:
        parts.append(M.SOURCE_LINE.format(citation=citation))
    if linked_number:
        parts.append(M.LINKED_NOTE.format(linked=linked_number))
    notes = _attachment_notes(attachments or [], cfg.max_attachment_mb)
    if notes:
        parts.append("\n".join(notes))
    hint = M.REPLY_HINT
    if number:
        hint += "\n" + M.REPLY_HINT_NUMBER.format(number=number)
    parts.append(hint)
    footer = ["-- ", M.SIGNATURE_GROUP, cfg.office_name]
    if automatic:
        footer.append(M.AUTOMATIC_NOTICE)
    parts.append("\n".join(footer))
    return "\n\n".join(p for p in parts if p)


def build_payload(
    *,
    cfg: EmailConfig,
    to: str,
    to_name: str | None,
    subject: str,
    text: str,
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    automatic: bool,
    kind: str,
) -> dict[str, Any]:
    return {
        "to": to,
        "to_name": to_name or "",
        "from": cfg.mail_from,
        "from_name": M.FROM_NAME.format(office=cfg.office_name),
        "subject": subject,
        "text": text,
        "html": text_to_html(text),
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references,
        "automatic": automatic,
        "kind": kind,
        "loop": cfg.office_code,
    }


def _address(name: str, addr: str) -> str | Header:
    """A mailbox header with a Thai display name split into proper encoded words (<= 75 chars each)."""
    if not name:
        return addr
    if name.isascii():
        return formataddr((name, addr))
    header = Header(name, "utf-8")
    header.append(f"<{addr}>", "us-ascii")
    return header


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


def render(payload: dict[str, Any], now: datetime | None = None) -> MIMEMultipart:
    """The MIME message for an outbox payload (UTF-8 text plus a simple HTML part)."""
    msg = MIMEMultipart("alternative")
    msg["From"] = _address(payload.get("from_name") or "", payload["from"])
    msg["To"] = _address(payload.get("to_name") or "", payload["to"])
    msg["Subject"] = _header(payload["subject"])
    msg["Date"] = format_datetime((now or utcnow()).astimezone(BANGKOK))
    msg["Message-ID"] = f"<{payload['message_id']}>"
    if payload.get("in_reply_to"):
        msg["In-Reply-To"] = f"<{payload['in_reply_to']}>"
    if payload.get("references"):
        msg["References"] = " ".join(f"<{r}>" for r in payload["references"])
    auto = "auto-replied" if payload.get("automatic") else payload.get("auto_submitted")
    if auto:
        msg["Auto-Submitted"] = auto
        msg["X-Auto-Response-Suppress"] = "All"
    if payload.get("loop"):
        msg[LOOP_HEADER] = payload["loop"]
    msg["Content-Language"] = "th"
    msg.attach(MIMEText(payload["text"], "plain", _UTF8))
    if payload.get("html"):
        msg.attach(MIMEText(payload["html"], "html", _UTF8))
    return msg


def render_bytes(payload: dict[str, Any], now: datetime | None = None) -> bytes:
    return render(payload, now).as_bytes()

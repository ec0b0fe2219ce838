"""Images, videos, audio and files sent on LINE: recorded at once, content fetched from the data API later.

The handler (inside the event's transaction) records the message and an Attachment with no data yet plus
a line_content_job row; the download happens outside any transaction (right away in the web process, or
by the worker's periodic job), size-limited and retried, so a slow download never holds a database lock.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update

from bot import leasing
from bot.line import messages_th as T
from bot.line.client import LineApiError
from bot.line.events import MEDIA_TYPES
from bot.line.models import LineContentJob
from helpdesk.db import write_session
from tickets.models import Attachment, Message, Ticket, utcnow

if TYPE_CHECKING:
    from bot.line.context import Ctx
    from bot.line.runtime import LineRuntime

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 6
DEFAULT_NAMES = {"image": "image.jpg", "video": "video.mp4", "audio": "audio.m4a", "file": "file.bin"}
DEFAULT_TYPES = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/x-m4a",
                 "file": "application/octet-stream"}


def attach(ctx: Ctx, ticket: Ticket | None, kind: str, line_message_id: str, *, file_name: str | None = None,
           file_size: int | None = None, external_url: str | None = None) -> tuple[Message, Attachment, bool]:
    """Record the media message (on `ticket`, or unattached) and its pending attachment.

    Returns (message, attachment, too_large)."""
    label = T.MEDIA_LABEL.get(kind, kind)
    text = f"[{label}]" + (f" {file_name}" if file_name else "")
    message = ctx.record_inbound(text, ticket=ticket, kind=kind, channel_message_id=line_message_id)
    if ticket is None:
        ctx.requester.loose_media_at = utcnow()  # adopt_recent looks for it then
    name = file_name or f"line-{line_message_id}-{DEFAULT_NAMES.get(kind, 'file.bin')}"
    content_type = mimetypes.guess_type(name)[0] or DEFAULT_TYPES.get(kind, "application/octet-stream")
    limit = ctx.rt.options.max_attachment_bytes
    too_large = file_size is not None and file_size > limit
    attachment = Attachment(office_id=ctx.office_id, message_id=message.id, filename=name[:255],
                            content_type=content_type[:120], size=file_size or 0, data=None, created_at=utcnow())
    if too_large:
        attachment.skipped_reason = T.ATTACHMENT_TOO_LARGE.format(limit=T.size_th(limit))
    elif external_url:
        attachment.skipped_reason = T.ATTACHMENT_EXTERNAL.format(url=external_url)[:200]
    else:
        attachment.skipped_reason = T.ATTACHMENT_PENDING
    ctx.session.add(attachment)
    ctx.session.flush()
    if not too_large and not external_url:
        job = LineContentJob(office_id=ctx.office_id, attachment_id=attachment.id, line_message_id=line_message_id,
                             status="pending", attempts=0, next_attempt_at=utcnow(), created_at=utcnow())
        ctx.session.add(job)
        ctx.session.flush()
        ctx.rt.note_content_job(job.id)
    return message, attachment, too_large


ADOPT_WINDOW = timedelta(minutes=30)
MEDIA_KINDS = tuple(MEDIA_TYPES.values())

# Media a requester sent on LINE that no ticket holds yet (greetings and the like are left out).
_LOOSE_MEDIA = (Message.ticket_id.is_(None), Message.direction == "in", Message.channel == "line",
                Message.meta["kind"].as_string().in_(MEDIA_KINDS))
_LOOSE_MESSAGES = select(Message).where(  # built once: asked for every new ticket
    Message.requester_id == bindparam("requester_id"), Message.created_at >= bindparam("since"), *_LOOSE_MEDIA)


def adopt_recent(ctx: Ctx, ticket: Ticket, window: timedelta = ADOPT_WINDOW) -> int:
    """Media sent just before the first text of a new ticket belongs to that ticket."""
    moved = 0
    since = utcnow() - window
    seen = ctx.requester.loose_media_at
    if seen is None or seen < since:
        return 0  # nothing loose lately: no query
    for m in ctx.session.scalars(_LOOSE_MESSAGES, {"requester_id": ctx.requester.id, "since": since}):
        m.ticket_id = ticket.id
        moved += 1
    return moved


def cancel_for_messages(session: Any, message_ids: list[int]) -> None:
    if not message_ids:
        return
    attachment_ids = list(session.scalars(select(Attachment.id).where(Attachment.message_id.in_(message_ids))))
    if attachment_ids:
        session.execute(update(LineContentJob)
                        .where(LineContentJob.attachment_id.in_(attachment_ids), LineContentJob.status == "pending")
                        .values(status="skipped", last_error="the sender unsent the message"))


# ---------------------------------------------------------------------------------------------- fetching


def _claim(rt: LineRuntime, job_ids: list[int] | None, limit: int) -> list[int]:
    return leasing.claim_due(rt.services.engine, LineContentJob, lease=LEASE, limit=limit, ids=job_ids)


def fetch_due(rt: LineRuntime, job_ids: list[int] | None = None, limit: int = 10) -> dict[str, int]:
    counts: dict[str, int] = {}
    if rt.client is None:
        return counts
    for job_id in _claim(rt, job_ids, limit):
        status = _fetch_one(rt, job_id)
        counts[status] = counts.get(status, 0) + 1
    return counts


def _fetch_one(rt: LineRuntime, job_id: int) -> str:
    engine = rt.services.engine
    with write_session(engine) as session:
        job = session.get(LineContentJob, job_id)
        if job is None or job.status != "pending":
            return "missing"
        line_message_id, attempts = job.line_message_id, job.attempts
    limit = rt.options.max_attachment_bytes
    error: LineApiError | None = None
    result: tuple[bytes | None, str, int] | None = None
    try:
        assert rt.client is not None
        result = rt.client.fetch_content(line_message_id, limit)
    except LineApiError as exc:
        error = exc
    with write_session(engine) as session:
        job = session.get(LineContentJob, job_id)
        if job is None:
            return "missing"
        attachment = session.get(Attachment, job.attachment_id)
        job.attempts = attempts + 1
        job.locked_until = None
        if result is not None and attachment is not None:
            data, content_type, size = result
            attachment.size = size
            if data is None:
                attachment.skipped_reason = T.ATTACHMENT_TOO_LARGE.format(limit=T.size_th(limit))
                job.status = "skipped"
            else:
                attachment.data = data
                attachment.sha256 = hashlib.sha256(data).hexdigest()
                attachment.skipped_reason = None
                if content_type and content_type != "application/octet-stream":
                    attachment.content_type = content_type[:120]
                    ext = mimetypes.guess_extension(content_type) or ""
                    if attachment.filename.startswith("line-") and ext and not attachment.filename.endswith(ext):
                        attachment.filename = attachment.filename.rsplit(".", 1)[0] + ext
                job.status = "done"
            job.last_error = None
            return job.status
        assert error is not None
        job.last_error = str(error)[:2000]
        if error.status == 404 or error.permanent or job.attempts >= MAX_ATTEMPTS:
            job.status = "failed"
            if attachment is not None:
                attachment.skipped_reason = T.ATTACHMENT_GONE if error.status == 404 else T.ATTACHMENT_FAILED
            log.warning("LINE content %s not fetched: %s", line_message_id, error)
        else:
            delay = error.retry_after if error.retry_after is not None else min(600.0, 5.0 * 2 ** job.attempts)
            job.next_attempt_at = utcnow() + timedelta(seconds=delay)
        return job.status

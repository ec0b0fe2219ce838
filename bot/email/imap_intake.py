"""The IMAP poller: new mail from one mailbox into the inbox, nothing read twice, nothing skipped.

Per message, one transaction stores the raw bytes (deduped by Message-ID or hash) and advances the
mailbox's last UID, so a crash or a dropped connection at any point leaves either both done or
neither. Only after that commit is the message flagged ($HelpdeskDone) or moved on the server; a
poll first finishes that step for anything stored earlier but not yet flagged or moved. A new
UIDVALIDITY (the mailbox was rebuilt) makes the poller read the mailbox again from the start, which
the inbox's dedupe turns into no duplicates. Connection failures back off exponentially (1 s .. 5 min).
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import random
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.email.config import PROCESSED_FLAG, EmailConfig, email_config
from bot.email.handler import store_in
from bot.email.models import EmailMailboxState
from helpdesk.db import write_session
from helpdesk.services import Services
from tickets.models import utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
POLL_TIME_BUDGET = 20.0  # seconds of fetching per poll, so the worker loop stays responsive
HEADER_ONLY_NOTE = "message larger than IMAP_MAX_MESSAGE_MB: headers only"
_UID = re.compile(rb"\bUID\s+(\d+)", re.IGNORECASE)
_SIZE = re.compile(rb"\bRFC822\.SIZE\s+(\d+)", re.IGNORECASE)
_INTERNALDATE = re.compile(rb'\bINTERNALDATE\s+"([^"]+)"', re.IGNORECASE)
_NETWORK_ERRORS = (imaplib.IMAP4.error, OSError, EOFError, ssl.SSLError, socket.timeout, ValueError)


class ImapError(Exception):
    pass


def imap_utf7(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3), quoted for the command line."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            data = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    encoded = "".join(out)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(typ: str, data: Any, what: str) -> Any:
    if typ != "OK":
        raise ImapError(f"{what}: {typ} {data!r}"[:300])
    return data


def _internaldate(meta: bytes) -> str | None:
    m = _INTERNALDATE.search(meta)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1).decode(), "%d-%b-%Y %H:%M:%S %z").isoformat()
    except ValueError:
        return None


@dataclass
class PollResult:
    stored: int = 0
    duplicates: int = 0
    marked: int = 0
    seen: int = 0
    uidvalidity_reset: bool = False
    more: bool = False
    error: str | None = None
    retry_in: float | None = None
    skipped: str | None = None
    event_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, False, 0, []) and k != "event_ids"}


class ImapPoller:
    """Polls one mailbox. Keeps its connection between polls; reconnects with backoff after failures."""

    def __init__(self, services: Services, cfg: EmailConfig | None = None) -> None:
        s = services.settings
        if not s.imap_enabled:
            raise ImapError("IMAP is not configured (IMAP_HOST and IMAP_USER)")
        self.services = services
        self.settings = s
        self.cfg = cfg or email_config(s)
        self.mailbox = s.imap_mailbox
        self.mailbox_key = f"{s.imap_user}@{s.imap_host}:{s.imap_port}/{s.imap_mailbox}"[:300]
        self.conn: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()
        self.failures = 0
        self.next_attempt = 0.0
        self._processed_box_ready = False
        self.can_flag = True

    # -------------------------------------------------------------------------- connection
    def _connect(self) -> imaplib.IMAP4:
        if self.conn is not None:
            try:
                _ok(*self.conn.noop(), "NOOP")
                return self.conn
            except _NETWORK_ERRORS:
                self.close()
        s = self.settings
        ctx = ssl.create_default_context(cafile=self.cfg.imap_ca_file) if (s.imap_tls or s.imap_starttls) else None
        host = s.imap_host or ""
        if s.imap_tls:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, s.imap_port, ssl_context=ctx, timeout=self.cfg.imap_timeout)
        else:
            conn = imaplib.IMAP4(host, s.imap_port, timeout=self.cfg.imap_timeout)
            if s.imap_starttls:
                conn.starttls(ssl_context=ctx)
        user, password = s.imap_user or "", s.imap_password or ""
        if password.isascii() and user.isascii():
            conn.login(user, password)
        else:
            conn.authenticate("PLAIN", lambda _challenge: f"\0{user}\0{password}".encode())
        self.capabilities = {c.upper() for c in conn.capabilities}
        self.conn = conn
        self._processed_box_ready = False
        return conn

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.logout()
        except Exception:  # the connection may already be gone
            with contextlib.suppress(Exception):
                conn.shutdown()

    # -------------------------------------------------------------------------- state
    def _state_row(self, session: Any, lock: bool = False) -> EmailMailboxState:
        office_id = self.services.office_id
        stmt = select(EmailMailboxState).where(EmailMailboxState.office_id == office_id,
                                               EmailMailboxState.mailbox_key == self.mailbox_key)
        if lock and session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = session.scalar(stmt)
        if row is None:
            row = EmailMailboxState(office_id=office_id, mailbox_key=self.mailbox_key, uidvalidity=None, last_uid=0,
                                    messages_stored=0, updated_at=utcnow())
            session.add(row)
            session.flush()
        return row

    def _record(self, error: str | None) -> None:
        try:
            with write_session(self.services.engine) as session:
                row = self._state_row(session)
                row.last_poll_at = utcnow()
                row.last_error = error[:2000] if error else None
        except Exception:  # never let bookkeeping hide the real problem
            log.exception("could not record the IMAP poll state")

    # -------------------------------------------------------------------------- polling
    def poll(self, *, max_messages: int | None = None, time_budget: float = POLL_TIME_BUDGET) -> PollResult:
        """One polling pass (respecting the backoff after failures)."""
        now = time.monotonic()
        if now < self.next_attempt:
            return PollResult(skipped="backoff", retry_in=round(self.next_attempt - now, 1))
        try:
            result = self._poll(max_messages, time_budget)
        except (*_NETWORK_ERRORS, ImapError) as exc:
            self.close()
            self.failures += 1
            delay = min(MAX_BACKOFF, 2.0 ** min(self.failures - 1, 10)) * random.uniform(0.8, 1.2)
            self.next_attempt = time.monotonic() + delay
            message = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("IMAP %s: %s (retry in %.0f s)", self.mailbox_key, message, delay)
            self._record(message)
            return PollResult(error=message, retry_in=round(delay, 1))
        self.failures = 0
        self.next_attempt = 0.0
        self._record(None)
        return result

    def _select(self, conn: imaplib.IMAP4) -> int:
        _ok(*conn.select(imap_utf7(self.mailbox)), f"SELECT {self.mailbox}")
        _typ, perm = conn.response("PERMANENTFLAGS")
        flags = b" ".join(p for p in perm if isinstance(p, bytes)) if perm else b""
        # A server that keeps no keywords: rely on the stored last UID alone (and say so once).
        can_flag = not flags or b"\\*" in flags or PROCESSED_FLAG.encode() in flags
        if not can_flag and self.can_flag and not self.cfg.processed_mailbox:
            log.warning("IMAP %s keeps no keywords: processed mail is not flagged", self.mailbox_key)
        self.can_flag = can_flag
        _typ, data = conn.response("UIDVALIDITY")
        if not data or data[0] is None:
            raise ImapError("the server sent no UIDVALIDITY")
        return int(data[0])

    @property
    def _flag_mode(self) -> bool:
        return not self.cfg.processed_mailbox and self.can_flag

    def _search(self, conn: imaplib.IMAP4, *criteria: str) -> list[int]:
        data = _ok(*conn.uid("SEARCH", *criteria), "UID SEARCH")
        uids: list[int] = []
        for chunk in data:
            if chunk:
                uids.extend(int(x) for x in chunk.split())
        return sorted(set(uids))

    def _poll(self, max_messages: int | None, time_budget: float) -> PollResult:
        started = time.monotonic()
        result = PollResult()
        conn = self._connect()
        uidvalidity = self._select(conn)

        with write_session(self.services.engine) as session:
            row = self._state_row(session, lock=True)
            if row.uidvalidity != uidvalidity:
                if row.uidvalidity is not None:
                    log.warning("IMAP %s: UIDVALIDITY changed %s -> %s; reading the mailbox again",
                                self.mailbox_key, row.uidvalidity, uidvalidity)
                    result.uidvalidity_reset = True
                row.uidvalidity = uidvalidity
                row.last_uid = 0
            last_uid = int(row.last_uid or 0)

        # Finish the flag/move step for mail stored by an earlier poll that died before doing it.
        marking = self._flag_mode or bool(self.cfg.processed_mailbox)
        if last_uid > 0 and marking:
            unmarked = ("UNKEYWORD", PROCESSED_FLAG) if self._flag_mode else ()
            pending = [u for u in self._search(conn, "UID", f"1:{last_uid}", *unmarked) if u <= last_uid]
            if pending:
                self._mark(conn, pending)
                result.marked += len(pending)

        criteria = ["UID", f"{last_uid + 1}:*"]
        if self._flag_mode:
            criteria += ["UNKEYWORD", PROCESSED_FLAG]
        new = [u for u in self._search(conn, *criteria) if u > last_uid]
        result.seen = len(new)
        limit = max_messages if max_messages is not None else len(new)
        for i, uid in enumerate(new):
            if i >= limit or time.monotonic() - started > time_budget:
                result.more = True
                break
            raw, meta = self._fetch(conn, uid)
            meta.update({"via": "imap", "mailbox": self.mailbox, "uid": uid, "uidvalidity": uidvalidity})
            with write_session(self.services.engine) as session:
                stored = store_in(session, self.services.office_id, raw, meta)
                row = self._state_row(session, lock=True)
                if row.uidvalidity == uidvalidity and uid > int(row.last_uid or 0):
                    row.last_uid = uid
                if stored.created:
                    row.messages_stored = int(row.messages_stored or 0) + 1
            del raw
            if stored.created:
                result.stored += 1
                result.event_ids.append(stored.id)
            else:
                result.duplicates += 1
            if marking:
                self._mark(conn, [uid])
                result.marked += 1
        return result

    def _fetch(self, conn: imaplib.IMAP4, uid: int) -> tuple[bytes, dict[str, Any]]:
        data = _ok(*conn.uid("FETCH", str(uid), "(RFC822.SIZE INTERNALDATE)"), "UID FETCH size")
        head = b" ".join(d if isinstance(d, bytes) else d[0] for d in data if d)
        size_m = _SIZE.search(head)
        size = int(size_m.group(1)) if size_m else 0
        meta: dict[str, Any] = {"imap_size": size}
        internal = _internaldate(head)
        if internal:
            meta["internaldate"] = internal
        part = "BODY.PEEK[]"
        if size > self.cfg.max_message_bytes:
            part = "BODY.PEEK[HEADER]"
            meta["truncated"] = HEADER_ONLY_NOTE
        data = _ok(*conn.uid("FETCH", str(uid), f"({part})"), "UID FETCH body")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                m = _UID.search(item[0])
                if m is None or int(m.group(1)) == uid:
                    raw = item[1]
                    if size and part == "BODY.PEEK[]" and len(raw) != size:
                        log.debug("IMAP UID %s: RFC822.SIZE %s, body %s bytes", uid, size, len(raw))
                    return raw, meta
        raise ImapError(f"UID {uid}: no message body in the FETCH response")

    def _mark(self, conn: imaplib.IMAP4, uids: list[int]) -> None:
        for start in range(0, len(uids), 200):
            chunk = uids[start:start + 200]
            uid_set = ",".join(str(u) for u in chunk)
            if self.cfg.processed_mailbox:
                target = imap_utf7(self.cfg.processed_mailbox)
                if not self._processed_box_ready:
                    conn.create(target)  # "already exists" answers NO: fine
                    self._processed_box_ready = True
                if "MOVE" in self.capabilities:
                    _ok(*conn.uid("MOVE", uid_set, target), "UID MOVE")
                else:
                    _ok(*conn.uid("COPY", uid_set, target), "UID COPY")
                    _ok(*conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
                    if "UIDPLUS" in self.capabilities:
                        _ok(*conn.uid("EXPUNGE", uid_set), "UID EXPUNGE")
                    else:
                        _ok(*conn.expunge(), "EXPUNGE")
            else:
                _ok(*conn.uid("STORE", uid_set, "+FLAGS.SILENT", f"({PROCESSED_FLAG})"), "UID STORE")


_POLLER: ImapPoller | None = None


def imap_job(services: Services) -> dict[str, Any]:
    """One poll of the configured mailbox with this process's poller (kept between polls)."""
    global _POLLER
    if not services.settings.imap_enabled:
        return {"skipped": "imap not configured"}
    if _POLLER is None or _POLLER.services is not services or _POLLER.settings is not services.settings:
        if _POLLER is not None:
            _POLLER.close()
        _POLLER = ImapPoller(services)
    result = _POLLER.poll()
    if result.stored or result.error:
        log.info("IMAP poll: %s", result.as_dict())
    return result.as_dict()


def imap_scheduled_job(services: Services, now: datetime) -> dict[str, Any]:
    """For helpdesk.scheduler: the lease makes sure only one worker polls the mailbox at a time."""
    return imap_job(services)

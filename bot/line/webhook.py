"""POST /line/webhook: verify, store, enqueue, answer 200 (LINE expects the answer within 2 seconds).

Nothing is parsed or stored before the SDK has checked X-Line-Signature over the exact bytes received.
Each event is stored under its webhookEventId (unique), so a redelivered or duplicated event is never
processed twice; understanding, ticketing and replying happen afterwards in the background lanes
(or in `helpdesk worker` when this process cannot).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from sqlalchemy import Connection, Engine

from bot.inbox import store_event
from bot.line.events import UnparsableEvent, chat_of_raw, parse_event
from bot.line.runtime import LaneItem, LineRuntime
from helpdesk.db import json_dumps, write_gate
from tickets.models import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("line", __name__)

MAX_BODY = 1024 * 1024
SOURCE = "line"


@contextmanager
def store_transaction(engine: Engine) -> Iterator[Connection]:
    """The webhook's short write transaction, queued at the SQLite file's write gate as an urgent writer
    (LINE waits for the answer; the lanes' batches can wait for it). A Core connection: an ORM session
    would cost its own bookkeeping while the write lock is held, for one INSERT per event.

    Nor does this commit run a WAL checkpoint (a pass over the log): the background writers' commits
    do that, and the answer to LINE need not wait for it."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    # The connection and its settings are made ready before the gate, so the write lock is held only for
    # BEGIN IMMEDIATE, the INSERTs and COMMIT.
    conn = engine.connect().execution_options(sqlite_immediate=True)
    try:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            with write_gate(engine, urgent=True), conn.begin():
                yield conn
        finally:
            raw.execute("PRAGMA wal_autocheckpoint = 1000")
    finally:
        conn.close()


def _runtime() -> LineRuntime:
    return current_app.extensions["line"]


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="text/plain")


@bp.post("/line/webhook")
def webhook() -> Response:
    rt = _runtime()
    if not rt.enabled:
        return _plain(404, "LINE is not configured")
    if (request.content_length or 0) > MAX_BODY:
        return _plain(413, "payload too large")
    signature = request.headers.get("X-Line-Signature", "")
    if not signature:
        log.warning("LINE webhook without X-Line-Signature from %s", request.remote_addr)
        return _plain(400, "missing signature")
    body_bytes = request.get_data(cache=False)  # Flask answers 413 itself beyond MAX_CONTENT_LENGTH
    if len(body_bytes) > MAX_BODY:
        return _plain(413, "payload too large")
    try:
        body = body_bytes.decode("utf-8")
    except UnicodeDecodeError:
        log.warning("LINE webhook body is not UTF-8")
        return _plain(400, "bad body")
    if not rt.verify(body, signature):
        log.warning("LINE webhook with a wrong signature from %s", request.remote_addr)
        return _plain(400, "bad signature")
    try:
        data = json.loads(body)
    except ValueError as exc:
        log.warning("LINE webhook with a valid signature but malformed JSON: %s", exc)
        return _plain(400, "malformed JSON")
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        log.warning("LINE webhook without an events list")
        return _plain(400, "no events")
    if not events:
        return _plain(200, "OK")  # the console's verification request

    destination = data.get("destination")
    accepted = []
    for raw in events:
        try:
            event = parse_event(raw)
        except UnparsableEvent as exc:
            kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
            log.warning("LINE webhook: skipped one %r event: %s", kind, exc)
            continue
        accepted.append((raw, event))
    if not accepted:
        return _plain(200, "OK")

    services = rt.services
    office_id = services.office_id
    items: list[LaneItem] = []
    now = utcnow()
    # This process takes the events it stores (the background lanes); the worker steps in only if the
    # lease runs out (this process died or is overloaded).
    lease = now + timedelta(seconds=rt.options.lane_lease) if rt.background else None
    rows = []
    for raw, event in accepted:  # everything but the INSERTs before the write lock is taken
        delivery = raw.get("deliveryContext") or {}
        meta = {"type": raw.get("type"), "redelivery": bool(delivery.get("isRedelivery")),
                "destination": destination}
        payload = json_dumps(raw).encode("utf-8")
        rows.append((raw, event, meta, payload))
    with store_transaction(services.engine) as conn:
        for raw, event, meta, payload in rows:
            stored = store_event(conn, office_id=office_id, source=SOURCE, source_id=raw["webhookEventId"],
                                 payload=payload, meta=meta, locked_until=lease)
            if not stored.created:
                log.info("LINE event %s already stored (redelivery=%s)", raw["webhookEventId"], meta["redelivery"])
                continue
            src = raw.get("source") or {}
            loading = (raw.get("type") == "message" and src.get("type") == "user" and bool(src.get("userId")))
            items.append(LaneItem(stored.id, raw, chat_of_raw(raw), loading, event))
    if items and rt.background:
        rt.submit(items)
    return _plain(200, "OK")

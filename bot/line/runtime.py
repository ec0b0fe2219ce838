"""The LINE channel of one process: options, the SDK client, the outbox transport, and the background
lanes that process stored webhook events right after the webhook answered.

Lanes: a few threads per web process; the events of one chat always go to the same lane, in order.
Each event is stored with a short lease (LINE_LANE_LEASE_SECONDS) that keeps `helpdesk worker` away from
it while this process works on it; if the process dies, the lease runs out and the worker processes the
event instead. Replies leave at once through the outbox (the worker retries what fails).
"""

from __future__ import annotations

import heapq
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from linebot.v3.webhook import WebhookParser
from sqlalchemy import bindparam, update

from bot import inbox, outbox
from bot.line.client import LineApiError, LineClient
from bot.line.context import OutboxSnapshot, Prepared, start_collecting, stop_collecting
from bot.line.options import LineOptions, load_options
from bot.line.transport import CHANNEL, LineTransport
from bot.outbox import TransportError
from helpdesk.db import write_connection
from helpdesk.services import Services
from tickets.models import Message, OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)

_runtime_lock = threading.Lock()
_said_disabled = False


# The first attempt's bookkeeping (deliver_fresh_many), built once: one short write per batch sent.
_PENDING_ITEM = (OutboxMessage.id == bindparam("item_id"), OutboxMessage.status == OutboxStatus.PENDING.value)
_MARK_SENT = update(OutboxMessage).where(*_PENDING_ITEM).values(
    status=OutboxStatus.SENT.value, attempts=OutboxMessage.attempts + 1, sent_at=bindparam("now"),
    last_error=None, locked_until=None)
_RELEASE = update(OutboxMessage).where(*_PENDING_ITEM).values(
    locked_until=None, last_error=bindparam("error"), next_attempt_at=bindparam("next"))
_MESSAGE_SENT = update(Message).where(Message.id == bindparam("message_id")).values(delivery_state="sent")
_MESSAGE_SENT_ID = _MESSAGE_SENT.values(channel_message_id=bindparam("cmid"))


@dataclass
class LaneItem:
    event_id: int
    raw: dict[str, Any]
    chat_id: str
    loading: bool = False
    event: Any = None  # the SDK model the webhook parsed already
    queued: float = field(default_factory=time.monotonic)


class LoadingWatch:
    """Shows LINE's loading animation in a one-to-one chat whose answer is late (one thread per process)."""

    def __init__(self, rt: LineRuntime) -> None:
        self.rt = rt
        self._heap: list[tuple[float, int, str]] = []
        self._pending: dict[int, str] = {}
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="line-loading", daemon=True)
        self._thread.start()

    def expect(self, event_id: int, chat_id: str) -> None:
        due = time.monotonic() + self.rt.options.loading_after
        with self._cond:
            self._pending[event_id] = chat_id
            # Due times only grow, so the thread needs waking only when it waits for nothing: a wake-up
            # per event would cost a GIL hand-over per event in a busy process.
            if not self._heap or due < self._heap[0][0]:
                self._cond.notify()
            heapq.heappush(self._heap, (due, event_id, chat_id))

    def done(self, event_id: int) -> None:
        with self._cond:
            self._pending.pop(event_id, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, event_id, chat_id = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                if self._pending.pop(event_id, None) is None:
                    continue
            if self.rt.backlog() >= self.rt.options.loading_shed:
                continue  # overloaded: the answers matter more than the animation
            client = self.rt.client
            if client is not None:
                try:
                    client.show_loading(chat_id)
                except LineApiError as exc:
                    log.debug("loading animation not shown: %s", exc)


class Lanes:
    def __init__(self, rt: LineRuntime, n: int) -> None:
        self.rt = rt
        self.queues: list[queue.Queue[list[LaneItem] | None]] = [queue.Queue() for _ in range(n)]
        self.threads = [threading.Thread(target=self._run, args=(q,), name=f"line-lane-{i}", daemon=True)
                        for i, q in enumerate(self.queues)]
        for t in self.threads:
            t.start()

    def submit(self, items: list[LaneItem]) -> None:
        by_lane: dict[int, list[LaneItem]] = {}
        for item in items:
            by_lane.setdefault(hash(item.chat_id) % len(self.queues), []).append(item)
        for lane, batch in by_lane.items():
            self.queues[lane].put(batch)

    def _run(self, q: queue.Queue[list[LaneItem] | None]) -> None:
        limit = max(1, self.rt.options.lane_batch)
        while True:
            batch = q.get()
            if batch is None:
                return
            # Whatever else has queued up meanwhile goes into the same transaction (group commit): the
            # busier the lane, the fewer commits per event. A quiet lane still takes events one by one.
            stop = False
            while len(batch) < limit:
                try:
                    more = q.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            for start in range(0, len(batch), limit):
                chunk = batch[start: start + limit]
                try:
                    self.rt.process_batch(chunk)
                except Exception:  # the events stay stored; the worker takes them when the lease ends
                    log.exception("LINE events %s: background processing failed", [i.event_id for i in chunk])
            if stop:
                return


@dataclass
class LineRuntime:
    services: Services
    options: LineOptions
    client: LineClient | None = None
    transport: LineTransport | None = None
    knowledge_override: Any = None
    _lanes: Lanes | None = None
    _loading: LoadingWatch | None = None
    _pid: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)
    _validator: Any = None

    @classmethod
    def create(cls, services: Services, options: LineOptions | None = None) -> LineRuntime:
        options = options or load_options(services.settings)
        rt = cls(services=services, options=options)
        if options.enabled:
            rt.client = LineClient(options)
            rt.transport = LineTransport(rt.client, options, services.engine)
            rt._validator = WebhookParser(options.channel_secret).signature_validator
        return rt

    @property
    def enabled(self) -> bool:
        return self.client is not None

    def verify(self, body: str, signature: str) -> bool:
        """The SDK's signature check over the exact body received."""
        return bool(self._validator is not None and self._validator.validate(body, signature))

    def knowledge(self) -> Any:
        if self.knowledge_override is not None:
            return self.knowledge_override
        return self.services.knowledge()

    # ---- per-thread hand-over between the lane and the handler
    def take_prepared(self, event_id: int) -> Prepared | None:
        prepared: dict[int, Prepared] | None = getattr(self._local, "prepared", None)
        return prepared.pop(event_id, None) if prepared else None

    def waiting_prepared(self) -> list[Prepared]:
        """The prepared events handed over to this thread and not taken yet (the rest of its group)."""
        prepared: dict[int, Prepared] | None = getattr(self._local, "prepared", None)
        return list(prepared.values()) if prepared else []

    @contextmanager
    def handing_over(self, prepared: dict[int, Prepared]) -> Iterator[None]:
        """Make these prepared events available to the handlers this thread runs meanwhile."""
        self._local.prepared = dict(prepared)
        try:
            yield
        finally:
            self._local.prepared = {}

    def note_content_job(self, job_id: int) -> None:
        jobs = getattr(self._local, "content_jobs", None)
        if jobs is not None:
            jobs.append(job_id)

    # ---- background
    def _ensure_threads(self) -> None:
        pid = os.getpid()
        if self._pid == pid and (self._lanes is not None or self.options.lanes == 0):
            return
        with self._lock:
            if self._pid != pid:
                if self.options.lanes > 0 and self.options.gil_switch_ms > 0:
                    # Background lanes share the interpreter with the request threads: hand the GIL over
                    # more often so that a webhook answer never waits 5 ms for each step.
                    sys.setswitchinterval(min(sys.getswitchinterval(), self.options.gil_switch_ms / 1000))
                self._lanes = Lanes(self, self.options.lanes) if self.options.lanes > 0 else None
                self._loading = LoadingWatch(self) if self.enabled else None
                self._pid = pid

    @property
    def background(self) -> bool:
        return self.options.lanes > 0

    def backlog(self) -> int:
        """Webhook deliveries queued in this process's lanes, not yet taken up."""
        lanes = self._lanes
        return sum(q.qsize() for q in lanes.queues) if lanes is not None else 0

    def submit(self, items: list[LaneItem]) -> None:
        self._ensure_threads()
        if self._loading is not None:
            for item in items:
                if item.loading:
                    self._loading.expect(item.event_id, item.chat_id)
        if self._lanes is not None:
            self._lanes.submit(items)

    def process_now(self, item: LaneItem) -> str:
        """Process one stored event in this thread, then deliver its answer and fetch its media at once."""
        return self.process_batch([item])[item.event_id]

    def process_batch(self, items: list[LaneItem]) -> dict[int, str]:
        """Process stored events in this thread, in one transaction when there are several (falling back
        to one transaction each if one of them fails), then deliver their answers and fetch their media."""
        from bot.line.handlers import prepare

        # An event that waited in the queue about as long as its lease is the worker's now (it may have
        # claimed it already): left to the worker rather than understood twice, which under overload
        # would spend the CPU the backlog needs.
        late = time.monotonic() - self.options.lane_lease * 0.9
        left = [item.event_id for item in items if item.queued < late]
        if left:
            log.warning("LINE events %s waited longer than the lane lease; left to the worker", left)
            items = [item for item in items if item.queued >= late]
            if not items:
                return {event_id: "pending" for event_id in left}
        prepared: dict[int, Prepared] = {}
        for item in items:  # the knowledge engine's work, outside any transaction
            p = prepare(self, item.raw, item.event)
            if p is not None:
                prepared[item.event_id] = p
        statuses: dict[int, str] = {}
        fresh: list[OutboxSnapshot] = []
        jobs: list[int] = []
        todo = [item.event_id for item in items]
        engine = self.services.engine
        # On SQLite a group stops early for a waiting webhook; the rest go on in the next transaction.
        yield_after = self.options.lane_hold_ms / 1000 if self.options.lane_hold_ms > 0 else None
        lease = timedelta(seconds=self.options.lane_lease)
        while len(todo) > 1:
            done, f, j = self._run_handlers(prepared, lambda handler, ids=todo: inbox.process_events(
                engine, ids, handler, yield_after=yield_after, lease=lease))
            if done is None:
                break  # one of them failed: the rest one by one
            statuses.update(done)
            fresh.extend(f)
            jobs.extend(j)
            todo = [event_id for event_id in todo if event_id not in done]
        for event_id in todo:
            status, f, j = self._run_handlers(prepared, lambda handler, event_id=event_id: inbox.process_event(
                engine, event_id, handler))
            statuses[event_id] = status
            if status == "done":
                fresh.extend(f)
                jobs.extend(j)
        if self._loading is not None:
            for item in items:
                self._loading.done(item.event_id)  # the answer leaves now: no loading animation after it
        if fresh:
            self.deliver_fresh_many(fresh)
        if jobs:
            from bot.line.media import fetch_due

            fetch_due(self, jobs)
        return statuses

    def _run_handlers(self, prepared: dict[int, Prepared], run: Any) -> tuple[Any, list[OutboxSnapshot], list[int]]:
        """Run `run(handler)` with this thread's hand-over set up: the prepared answers in, and the outbox
        items and media jobs the handlers created out (discarded by the caller unless committed)."""
        from bot.line.handlers import handle_line_event

        self._local.content_jobs = []
        fresh = start_collecting()
        try:
            with self.handing_over(prepared):
                result = run(lambda s, e: handle_line_event(self.services, s, e))
        finally:
            stop_collecting()
        jobs, self._local.content_jobs = self._local.content_jobs, None
        return result, fresh, jobs

    def deliver_fresh_many(self, items: list[OutboxSnapshot]) -> list[str]:
        """First attempt at items this thread just enqueued (and holds leased): send each, then record all
        outcomes in one short write.

        Success is recorded as bot.outbox.deliver_one records it. On failure the lease is released with
        the retry time; the worker's next attempt (bot.outbox.deliver_one) counts attempts and records a
        permanent failure on the ticket.
        """
        assert self.transport is not None
        sent: list[dict[str, Any]] = []
        marked: list[dict[str, Any]] = []
        marked_id: list[dict[str, Any]] = []
        released: list[dict[str, Any]] = []
        statuses: list[str] = []
        for item in items:
            error: TransportError | None = None
            result: dict[str, Any] = {}
            try:
                result = self.transport.send(item) or {}  # type: ignore[arg-type]
            except TransportError as exc:
                error = exc
            except Exception as exc:
                log.exception("outbox %s: transport crashed", item.id)
                error = TransportError(f"{type(exc).__name__}: {exc}")
            now = utcnow()
            if error is None:
                sent.append({"item_id": item.id, "now": now})
                if item.message_id is not None:
                    cmid = result.get("channel_message_id")
                    if cmid:
                        marked_id.append({"message_id": item.message_id, "cmid": str(cmid)[:255]})
                    else:
                        marked.append({"message_id": item.message_id})
                statuses.append(OutboxStatus.SENT.value)
            else:
                delay = 0.0 if error.permanent or error.retry_after is None else error.retry_after
                released.append({"item_id": item.id, "error": str(error)[:2000],
                                 "next": now + timedelta(seconds=delay)})
                statuses.append(OutboxStatus.PENDING.value)
        with write_connection(self.services.engine) as conn:
            for stmt, params in ((_MARK_SENT, sent), (_MESSAGE_SENT_ID, marked_id), (_MESSAGE_SENT, marked),
                                 (_RELEASE, released)):
                if params:
                    conn.execute(stmt, params)
        return statuses

    def deliver(self, outbox_ids: list[int]) -> None:
        """Claim and send these outbox items now (bot.outbox's own claim and bookkeeping)."""
        if not outbox_ids or self.transport is None:
            return
        for item_id in outbox.claim_due(self.services.engine, [CHANNEL], ids=outbox_ids):
            outbox.deliver_one(self.services.engine, item_id, self.transport)

    def close(self) -> None:
        """Stop this process's lanes (after the events already queued) and close the HTTP pools."""
        if self._lanes is not None and self._pid == os.getpid():
            for q in self._lanes.queues:
                q.put(None)
            for t in self._lanes.threads:
                t.join(timeout=10)
            self._lanes = None
        if self.client is not None:
            self.client.close()


def runtime_for(services: Services) -> LineRuntime:
    """The process's LINE runtime for these services (created on first use)."""
    rt = getattr(services, "_line_runtime", None)
    if rt is None:
        with _runtime_lock:
            rt = getattr(services, "_line_runtime", None)
            if rt is None:
                rt = LineRuntime.create(services)
                services._line_runtime = rt  # type: ignore[attr-defined]
                global _said_disabled
                if not rt.enabled and not _said_disabled:
                    _said_disabled = True
                    log.info("LINE disabled: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN to enable it")
    return rt


def set_runtime(services: Services, rt: LineRuntime) -> LineRuntime:
    services._line_runtime = rt  # type: ignore[attr-defined]
    return rt

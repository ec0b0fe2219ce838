"""`helpdesk worker`: drains the inbound event store and the outbox, and runs scheduled jobs.

State lives in the database only (events, outbox rows, job leases), so any number of workers can run
and a killed worker's leased items are picked up by another when their lease expires.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import select

from admin import kbsync
from bot import inbox, outbox
from bot.handlers import HANDLERS, PREPARERS
from helpdesk import jobs  # noqa: F401  (registers the scheduled jobs)
from helpdesk.db import session_scope
from helpdesk.scheduler import run_due_jobs
from helpdesk.services import Services
from tickets.models import InboundEvent

log = logging.getLogger(__name__)

TransportFactory = Callable[[Services], "outbox.Transport | None"]
TRANSPORT_FACTORIES: list[TransportFactory] = []


GROUP = 8  # claimed events of one source run in one transaction, this many at a time (group commit)


def process_inbound(services: Services, *, ids: list[int] | None = None, limit: int = 50) -> dict[str, int]:
    counts: dict[str, int] = {}
    claimed = inbox.claim_batch(services.engine, limit=limit, ids=ids)
    if not claimed:
        return counts
    with session_scope(services.session_factory) as session:
        sources = dict(session.execute(
            select(InboundEvent.id, InboundEvent.source).where(InboundEvent.id.in_(claimed))).all())
    for start in range(0, len(claimed), GROUP):
        chunk = claimed[start: start + GROUP]
        by_source: dict[str, list[int]] = {}
        for event_id in chunk:  # in claim (id) order within each source
            by_source.setdefault(sources.get(event_id, ""), []).append(event_id)
        for source, event_ids in by_source.items():
            handler = HANDLERS.get(source)
            run = _unknown_source if handler is None else (lambda s, e, h=handler: h(services, s, e))
            preparer = PREPARERS.get(source)
            # The source's own work before the transaction (LINE: the knowledge engine's answers), so
            # that on SQLite the write lock is not held while it runs.
            with preparer(services, event_ids) if preparer is not None else nullcontext():
                for status in inbox.process_group(services.engine, event_ids, run).values():
                    counts[status] = counts.get(status, 0) + 1
    return counts


def _unknown_source(_session, event):  # type: ignore[no-untyped-def]
    raise inbox.PermanentEventError(f"no handler for source {event.source!r}")


def build_transports(services: Services) -> dict[str, outbox.Transport]:
    transports: dict[str, outbox.Transport] = {}
    for factory in TRANSPORT_FACTORIES:
        transport = factory(services)
        if transport is not None:
            transports[transport.channel] = transport
    return transports


@dataclass
class Worker:
    services: Services
    stop: threading.Event

    def run(self, once: bool = False) -> None:
        init_channels()
        transports = build_transports(self.services)
        log.info("worker started (channels: %s)", ", ".join(sorted(transports)) or "none")
        while not self.stop.is_set():
            busy = False
            try:
                counts = process_inbound(self.services)
                busy |= bool(counts)
                report = outbox.deliver_due(self.services.engine, transports)
                busy |= bool(report.sent or report.retried or report.failed)
                run_due_jobs(self.services)
                kbsync.refresh_if_stale(self.services)  # article edits made in the admin app
            except Exception:  # keep the loop alive; the database may be restarting
                log.exception("worker loop failed; retrying")
                self.stop.wait(min(30.0, self.services.settings.worker_poll_seconds * 5))
            if once:
                break
            if not busy:
                self.stop.wait(self.services.settings.worker_poll_seconds)
        log.info("worker stopped")


def init_channels() -> None:
    """Register the channels' inbox handlers, outbox transports and scheduled jobs (idempotent)."""
    import bot.email
    import bot.line

    bot.email.init_worker()
    bot.line.init_worker()


def run_forever(services: Services) -> None:
    stop = threading.Event()

    def _stop(signum, _frame):  # type: ignore[no-untyped-def]
        log.info("signal %s: finishing the current item and stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    Worker(services, stop).run()

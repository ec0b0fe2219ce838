"""Benchmark: one scheduler sweep (SLA + follow-ups) over 10,000 open tickets, on SQLite and PostgreSQL.

    .venv/bin/python scripts/bench_workflow.py [--tickets 10000] [--postgres URL]

Without --postgres the script starts a throw-away PostgreSQL (Debian's binaries) on loopback.
Prints seconds per sweep; the target is <= 2 s per sweep on this 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpdesk import migrate
from helpdesk.db import make_engine, write_session
from tests.pgserver import PgServer, find_bindir
from tickets import followup, registry, sla
from tickets.directory import ensure_office, requester_for_line
from tickets.models import TicketStatus, utcnow

CATEGORIES = list(sla.DEFAULT_RESOLUTION_DAYS)


def seed(url: str, n_open: int, n_resolved: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(7)
    now = utcnow()
    with write_session(engine) as s:
        office = ensure_office(s, "bench", "สพป.ทดสอบ เขต 1")
        office.settings = {"alerts": {"email_to": ["ict@example.go.th"]}}
        requesters = [requester_for_line(s, office.id, f"U{i:032x}") for i in range(500)]
        for i in range(n_open + n_resolved):
            t = registry.open_ticket(
                s, office_id=office.id, channel="line", actor="bench", requester_id=rng.choice(requesters).id,
                subject=f"เรื่องทดสอบ {i}", received_at=now - timedelta(hours=rng.uniform(0, 240)),
                classification=registry.Classification(rng.choice(CATEGORIES), "incident",
                                                       "urgent" if rng.random() < 0.15 else "normal"),
            )
            t.handoff = True
            if i >= n_open:
                registry.change_status(s, t, TicketStatus.RESOLVED, actor="bench")
                t.resolved_at = now - timedelta(days=rng.uniform(1, 6))
            if i % 2000 == 0:
                s.flush()
    engine.dispose()


def sweep_once(url: str) -> tuple[float, dict[str, object]]:
    engine = make_engine(url)
    t0 = time.perf_counter()
    with write_session(engine) as s:
        now = utcnow()
        out: dict[str, object] = {"sla": sla.sweep(s, now)}
        out["followups"] = followup.sweep(s, now, "b" * 32, "http://127.0.0.1:8000").as_dict()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--resolved", type=int, default=2_000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()

    server = None
    pg_admin = args.postgres
    if pg_admin is None and find_bindir() is not None:
        server = PgServer(find_bindir()).start()  # type: ignore[arg-type]
        pg_admin = server.url
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            targets = [("SQLite", f"sqlite:///{tmp}/bench.db")]
            if pg_admin:
                admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
                with admin.connect() as c:
                    c.execute(text("DROP DATABASE IF EXISTS bench_workflow"))
                    c.execute(text("CREATE DATABASE bench_workflow"))
                admin.dispose()
                targets.append(("PostgreSQL", make_url(pg_admin).set(database="bench_workflow")
                                .render_as_string(hide_password=False)))
            for name, url in targets:
                t0 = time.perf_counter()
                seed(url, args.tickets, args.resolved)
                seeded = time.perf_counter() - t0
                first, out = sweep_once(url)  # the first sweep writes every breach record and queues alerts
                steady = [sweep_once(url)[0] for _ in range(3)]
                results.append((name, seeded, first, min(steady), max(steady), out))
    finally:
        if server is not None:
            server.stop()
    print(f"sweep over {args.tickets:,} open + {args.resolved:,} resolved tickets (target <= 2 s)")
    print(f"{'engine':<11} {'seed s':>7} {'first sweep s':>14} {'steady min s':>13} {'steady max s':>13}")
    for name, seeded, first, lo, hi, out in results:
        print(f"{name:<11} {seeded:7.1f} {first:14.2f} {lo:13.2f} {hi:13.2f}   {out}")


if __name__ == "__main__":
    main()

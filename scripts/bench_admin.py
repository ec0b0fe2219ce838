"""Benchmark of the admin app on a large register (default: 200,000 tickets on PostgreSQL).

    .venv/bin/python scripts/bench_admin.py [--url DATABASE_URL] [--tickets 200000] [--repeat 15]

Without --url the script starts a throw-away PostgreSQL (Debian's binaries) on loopback and fills it with
scripts/seed_admin_bench.py. Requests run through the whole Flask app (routing, login check, SQL,
templates) in-process. Targets: queue page <= 300 ms, dashboard <= 1 s, monthly PDF <= 5 s,
XLSX of 50,000 rows <= 10 s with bounded memory (peak RSS growth of the export measured in a fresh
process for 10,000 and 50,000 rows, sampling the resident set during the request: it should not grow
with the row count).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

OFFICE = "bench"


def app_for(url: str) -> Any:
    import admin
    from helpdesk.app import create_app

    instance = tempfile.mkdtemp(prefix="bench-admin-")
    os.environ.update({
        "DATABASE_URL": url, "HELPDESK_OFFICE_CODE": OFFICE, "HELPDESK_ENV": "test",
        "HELPDESK_OFFICE_NAME": "สพป.ทดสอบประสิทธิภาพ เขต 1", "SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "HELPDESK_INSTANCE_DIR": instance, "HELPDESK_DOTENV": os.path.join(instance, "none.env"),
        "HELPDESK_LOG_LEVEL": "WARNING",
    })
    app = create_app({"TESTING": True})
    admin.init_app(app)
    return app


def signed_in_client(app: Any) -> Any:
    from werkzeug.security import generate_password_hash

    from admin.security import CSRF_KEY, SESSION_KEY, password_fingerprint
    from helpdesk.db import write_session
    from tickets.models import StaffUser, utcnow

    services = app.extensions["helpdesk"]
    with write_session(services.engine) as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == "bench-admin"))
        if user is None:
            user = StaffUser(office_id=services.office_id, username="bench-admin", display_name="ผู้ทดสอบ",
                             role="admin", password_hash=generate_password_hash("bench-password-1"),
                             created_at=utcnow())
            s.add(user)
    client = app.test_client()
    with app.test_request_context():
        fp = password_fingerprint(user)
    with client.session_transaction() as sess:
        stamp = time.time()
        sess[SESSION_KEY] = {"uid": user.id, "fp": fp, "at": stamp, "seen": stamp}
        sess[CSRF_KEY] = "bench"
    return client


def timed(client: Any, url: str, n: int) -> dict[str, Any]:
    times = []
    size = 0
    status = 0
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append(time.perf_counter() - t0)
        size, status = len(body), response.status_code
        response.close()
    times.sort()
    return {"median": statistics.median(times), "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
            "max": times[-1], "status": status, "bytes": size}


def fifty_thousand_from(url: str, rows: int) -> tuple[str, int]:
    """A BE start date whose filtered export (all statuses, received on or after it) holds about `rows` rows."""
    from helpdesk.db import make_engine
    from helpdesk.thaidate import to_local
    from tickets.models import Ticket

    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count(Ticket.id)))
        edge = conn.scalar(select(Ticket.received_at).order_by(Ticket.received_at.desc())
                           .offset(max(0, min(rows, total) - 1)).limit(1))
    engine.dispose()
    local = to_local(edge) + timedelta(days=1)
    return f"{local.day}/{local.month}/{local.year + 543}", total


def rss_mb() -> float:
    """The current resident set size (not the lifetime peak) of this process."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def xlsx_child(url: str, date_from: str) -> None:
    """Run in a fresh process: one XLSX export, its time and how much the resident memory rose meanwhile
    (sampled every 10 ms during the request)."""
    import threading

    app = app_for(url)
    client = signed_in_client(app)
    warm = client.get("/admin/queue/export.xlsx?status=all&date_from=31/12/2599")  # empty: warms every import
    warm.close()
    base = rss_mb()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    response = client.get(f"/admin/queue/export.xlsx?status=all&date_from={date_from}", buffered=False)
    size = 0
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as out:
        for chunk in response.response:  # stream the download to disk, as a browser would
            out.write(chunk)
            size += len(chunk)
        response.close()
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        out.flush()
        from openpyxl import load_workbook

        ws = load_workbook(out.name, read_only=True).worksheets[0]
        rows = sum(1 for _ in ws.iter_rows(values_only=True)) - 1
    print(json.dumps({"seconds": seconds, "rows": rows, "bytes": size, "rss_growth_mb": peak[0] - base,
                      "rss_base_mb": base}))


def run_xlsx(url: str, rows: int) -> dict[str, Any]:
    date_from, _ = fifty_thousand_from(url, rows)
    out = subprocess.run([sys.executable, __file__, "--xlsx-child", date_from, "--url", url],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="a seeded database (otherwise a throw-away PostgreSQL)")
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--xlsx-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.xlsx_child:
        xlsx_child(args.url, args.xlsx_child)
        return

    server = None
    url = args.url
    if url is None:
        from scripts.seed_admin_bench import seed
        from tests.pgserver import PgServer, find_bindir

        bindir = find_bindir()
        if bindir is None:
            sys.exit("no PostgreSQL binaries: pass --url or install postgresql")
        server = PgServer(bindir).start()
        admin_engine = create_engine(server.url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text('CREATE DATABASE "admin_bench"'))
        admin_engine.dispose()
        url = make_url(server.url).set(database="admin_bench", drivername="postgresql+psycopg").render_as_string(
            hide_password=False)
        print(f"seeding {args.tickets:,} tickets into a throw-away PostgreSQL ...", flush=True)
        seed(url, args.tickets)
    try:
        from helpdesk.config import normalise_database_url
        from helpdesk.thaidate import to_local
        from tickets.models import utcnow

        url = normalise_database_url(url)
        app = app_for(url)
        client = signed_in_client(app)
        local = to_local(utcnow())
        last_month = (local.replace(day=1) - timedelta(days=1))
        month = f"{last_month.year + 543}-{last_month.month:02d}"
        from admin import stats as S

        full_fy = S.current_fiscal_year() - 1  # the last complete fiscal year: about half the register
        cases = [
            ("queue (open work, page 1)", "/admin/queue", 0.300),
            ("queue (all statuses, page 1)", "/admin/queue?status=all", 0.300),
            ("queue (all statuses, page 200)", "/admin/queue?status=all&page=200", 0.300),
            ("queue (SLA breached, urgent first)", "/admin/queue?status=all&sla=breached&sort=urgent", 0.300),
            ("queue (search ปริ้นเตอร์)", "/admin/queue?status=all&q=ปริ้นเตอร์", None),
            ("ticket page", None, 0.300),
            ("dashboard (current fiscal year)", "/admin/stats", 1.0),
            (f"dashboard (fiscal year {full_fy})", f"/admin/stats?period=fy&fy={full_fy}", 1.0),
            (f"dashboard (month {month})", f"/admin/stats?period=month&month={month}", 1.0),
            (f"monthly PDF report ({month})", f"/admin/reports/download?kind=month&month={month}&format=pdf", 5.0),
        ]
        from helpdesk.db import session_scope
        from tickets.models import Ticket

        with session_scope(app.extensions["helpdesk"].session_factory) as s:
            number = s.scalar(select(Ticket.number).order_by(Ticket.id.desc()).limit(1))
            total = s.scalar(select(func.count(Ticket.id)))
            fy = S.total_in(s, app.extensions["helpdesk"].office_id, S.fiscal_year_period(full_fy))
        print(f"\n{total:,} tickets ({'PostgreSQL' if 'postgresql' in url else 'SQLite'}); "
              f"fiscal year {full_fy}: {fy:,} tickets\n")
        print(f"{'case':<42}{'median':>9}{'p95':>9}{'max':>9}  target   ok")
        results: dict[str, Any] = {}
        for label, path, target in cases:
            path = path or f"/admin/tickets/{number}"
            client.get(path).close()  # warm-up (imports, caches)
            n = 3 if "PDF" in label else (5 if "dashboard" in label else args.repeat)
            r = timed(client, path, n)
            assert r["status"] == 200, (label, r)
            ok = "-" if target is None else ("yes" if r["median"] <= target else "NO")
            tgt = "-" if target is None else f"{target:.1f} s" if target >= 1 else f"{target * 1000:.0f} ms"
            print(f"{label:<42}{r['median'] * 1000:>7.0f}ms{r['p95'] * 1000:>7.0f}ms{r['max'] * 1000:>7.0f}ms"
                  f"  {tgt:<8} {ok}", flush=True)
            results[label] = r
        for rows in (10_000, 50_000):
            x = run_xlsx(url, rows)
            ok = "yes" if rows < 50_000 or x["seconds"] <= 10 else "NO"
            print(f"XLSX export {x['rows']:,} rows: {x['seconds']:.1f} s, {x['bytes'] / 1e6:.1f} MB file, "
                  f"peak RSS growth {x['rss_growth_mb']:.0f} MB (process {x['rss_base_mb']:.0f} MB before)"
                  + (f"  target 10 s {ok}" if rows == 50_000 else ""), flush=True)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()

"""Benchmark of the LINE channel against the local fake LINE API, on SQLite and on PostgreSQL.

    .venv/bin/python scripts/bench_line.py [--rate 200] [--duration 60] [--db sqlite,postgresql]
                                           [--burst 3000] [--outage 60] [--postgres URL]

For each database: `helpdesk init`, gunicorn with 2 workers (4 threads) serving the app with the LINE
channel on, and `helpdesk worker`. Then
  1. steady load: signed webhook requests (one text event each) at --rate events/s for --duration s;
     webhook ack latency (p50/p95/p99) and end-to-end latency from the webhook to the reply request
     arriving at the fake LINE API (p50/p95/p99);
  2. throughput: --burst events sent as fast as 16 connections allow; events answered per second, and
     the CPU time per answer of the web processes and the worker (not the database server's), and of
     the load client (this process) and the fake LINE API;
  3. the SDK's minimal echo bot (WebhookHandler + MessagingApi.reply_message, its README example) under
     the same gunicorn settings and the same burst: our throughput as a ratio of its throughput, and its
     CPU time per answer beside ours;
  4. (SQLite run) the fake LINE API down for --outage s under load: every answer delivered afterwards,
     none twice.
Targets: ack p99 <= 50 ms, end-to-end p95 <= 300 ms, throughput ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
# As the Procfile runs it (one connection per request), for our service and the echo bot alike.
GUNICORN = [PY, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--keep-alive", "0", "--preload",
            "--log-level", "warning",
            "--pythonpath", str(ROOT / "scripts")]


# ---------------------------------------------------------------------------------------------- app entries


def log_gc_pauses() -> None:
    """Write every garbage-collector pass of 20 ms or more to stderr (the process's log in the work dir):
    such a pass holds the GIL, and a webhook in that process waits for it."""
    import gc

    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif (took := time.perf_counter() - started[0]) >= 0.02:
            print(f"gc pause: {time.time():.3f} pid {os.getpid()} generation {info['generation']} {took * 1000:.0f} ms",
                  file=sys.stderr, flush=True)

    gc.callbacks.append(on_gc)


def gc_pauses(log: Path, since: float) -> list[float]:
    """The pauses (ms) log_gc_pauses wrote to this log since this time.time()."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    fields = [line.split() for line in lines if line.startswith("gc pause:")]
    return [float(f[-2]) for f in fields if float(f[2]) >= since]


def make_app():  # type: ignore[no-untyped-def]
    """gunicorn entry: the service with the LINE channel on (create_app + bot.line.init_app), warmed."""
    from bot.line import init_app
    from helpdesk.app import create_app

    log_gc_pauses()

    app = create_app()
    init_app(app)
    services = app.extensions["helpdesk"]
    services.knowledge()
    _ = services.office_id
    services.engine.dispose()  # no pooled connection crosses gunicorn's fork
    return app


def make_echo_app():  # type: ignore[no-untyped-def]
    """gunicorn entry: the SDK's minimal echo bot, as in line-bot-sdk-python's README (Flask example)."""
    from flask import Flask, abort, request
    from linebot.v3 import WebhookHandler
    from linebot.v3.exceptions import InvalidSignatureError
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, ReplyMessageRequest, TextMessage
    from linebot.v3.webhooks import MessageEvent, TextMessageContent

    configuration = Configuration(host=os.environ["LINE_API_BASE_URL"],
                                  access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"])
    handler = WebhookHandler(os.environ["LINE_CHANNEL_SECRET"])
    app = Flask(__name__)

    @app.route("/line/webhook", methods=["POST"])
    def callback():  # type: ignore[no-untyped-def]
        signature = request.headers["X-Line-Signature"]
        body = request.get_data(as_text=True)
        try:
            handler.handle(body, signature)
        except InvalidSignatureError:
            abort(400)
        return "OK"

    @handler.add(MessageEvent, message=TextMessageContent)
    def handle_message(event):  # type: ignore[no-untyped-def]
        with ApiClient(configuration) as api_client:
            MessagingApi(api_client).reply_message_with_http_info(
                ReplyMessageRequest(reply_token=event.reply_token, messages=[TextMessage(text=event.message.text)]))

    return app


def run_worker() -> None:
    """`helpdesk worker` with the LINE channel plugged in (bot.line.init_worker)."""
    from bot.line import init_worker
    from helpdesk.config import load_settings
    from helpdesk.logs import setup_logging
    from helpdesk.services import Services
    from helpdesk.worker import run_forever

    settings = load_settings()
    setup_logging("WARNING")
    log_gc_pauses()
    services = Services.from_settings(settings)
    services.knowledge()
    init_worker()
    run_forever(services)


# ---------------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    from tests.pgserver import free_port as fp

    return fp()


def wait_http(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def admin(port: int, path: str, data: dict[str, Any] | None = None) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST" if data is not None else "GET",
                                 data=json.dumps(data).encode() if data is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def texts() -> list[str]:
    out = []
    for path in sorted((ROOT / "knowledge" / "data").glob("train_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                text = json.loads(line).get("text")
            except ValueError:
                continue
            if text and len(text) < 400:
                out.append(text)
    return out or ["ปริ้นเตอร์พิมพ์ไม่ออกค่ะ", "เน็ตโรงเรียนใช้ไม่ได้", "ลืมรหัสผ่าน DMC"]


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], name: str, log_dir: Path) -> None:
        self.name = name
        self.log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115
        self.p = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True)

    def cpu_seconds(self) -> float:
        """CPU time of the process and its children (gunicorn workers) so far."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        pids = [self.p.pid]
        try:
            children = Path(f"/proc/{self.p.pid}/task/{self.p.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return total

    def stop(self) -> None:
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------- load


async def _post(session: Any, url: str, body: bytes, headers: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            status = resp.status
    except Exception:
        status = 0
    return time.perf_counter() - t0, status


def _event(text: str, uid: str) -> tuple[dict[str, Any], str]:
    from tests.fake_line_api import text_event

    event = text_event(text, uid)
    return event, event["replyToken"]


async def open_loop(url: str, rate: float, duration: float, users: list[str], corpus: list[str],
                    seed: int = 1) -> list[dict[str, Any]]:
    """Events at a fixed rate (open loop: a slow answer does not slow the sender)."""
    import aiohttp

    from tests.fake_line_api import signed_headers, webhook_body

    rng = random.Random(seed)
    sent: list[dict[str, Any]] = []
    tasks = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = int(rate * duration)
        for i in range(n):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            uid = users[i % len(users)]
            event, token = _event(rng.choice(corpus), uid)
            body = webhook_body([event])
            record = {"token": token, "to": uid, "t": time.time()}
            sent.append(record)
            tasks.append((record, asyncio.create_task(_post(session, url, body, signed_headers(body)))))
        for record, task in tasks:
            record["ack"], record["status"] = await task
    return sent


async def burst(url: str, n: int, users: list[str], corpus: list[str], concurrency: int = 16
                ) -> tuple[list[dict[str, Any]], float]:
    """n events as fast as `concurrency` connections can send them (closed loop)."""
    import aiohttp

    from tests.fake_line_api import signed_headers, webhook_body

    rng = random.Random(2)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    sent: list[dict[str, Any]] = []

    async def sender(session: Any) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            uid = users[i % len(users)]
            event, token = _event(rng.choice(corpus), uid)
            body = webhook_body([event])
            record = {"token": token, "to": uid, "t": time.time()}
            record["ack"], record["status"] = await _post(session, url, body, signed_headers(body))
            sent.append(record)

    start = time.time()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(sender(session) for _ in range(concurrency)))
    return sent, start


def collect(admin_port: int, since: int) -> list[dict[str, Any]]:
    return admin(admin_port, f"/requests?since={since}&compact=1")["requests"]


def wait_delivered(admin_port: int, since: int, expected: int, timeout: float) -> list[dict[str, Any]]:
    """Poll the fake's record (only the new part each time) until `expected` answers arrived."""
    deadline = time.monotonic() + timeout
    records: list[dict[str, Any]] = []
    count = 0
    while time.monotonic() < deadline:
        new = collect(admin_port, since + len(records))
        records.extend(new)
        count += len(delivered(new))
        if count >= expected:
            break
        time.sleep(1.0)
    return records


def delivered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["path"] in ("/v2/bot/message/reply", "/v2/bot/message/push")
            and 200 <= r["status"] < 300]


def match(sent: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Pair each event with what reached LINE: its reply (by token) or a push (by user, in order)."""
    by_token: dict[str, list[dict[str, Any]]] = {}
    pushes: dict[str, list[dict[str, Any]]] = {}
    for r in delivered(records):
        body = r.get("json") or {}
        if r["path"].endswith("/reply"):
            by_token.setdefault(body.get("replyToken", ""), []).append(r)
        else:
            pushes.setdefault(body.get("to", ""), []).append(r)
    e2e, replies, pushed, missing, twice = [], 0, 0, 0, 0
    for s in sent:
        got = by_token.get(s["token"], [])
        if got:
            replies += 1
            twice += len(got) - 1
            e2e.append(got[0]["t"] - s["t"])
        elif pushes.get(s["to"]):
            pushed += 1
            e2e.append(pushes[s["to"]].pop(0)["t"] - s["t"])
        else:
            missing += 1
    twice += sum(len(v) for v in pushes.values())  # pushes nobody was waiting for
    return {"e2e": e2e, "replies": replies, "pushes": pushed, "missing": missing, "duplicates": twice}


# ---------------------------------------------------------------------------------------------- runs


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def service_env(db_url: str, instance: Path, fake_url: str) -> dict[str, str]:
    from tests.fake_line_api import TEST_ACCESS_TOKEN, TEST_CHANNEL_SECRET

    return {**os.environ, "HELPDESK_ENV": "production", "DATABASE_URL": db_url, "HELPDESK_INSTANCE_DIR": str(instance),
            "HELPDESK_CACHE_DIR": str(ROOT / "instance" / "cache"), "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "HELPDESK_DOTENV": str(instance / "none.env"), "HELPDESK_LOG_LEVEL": "WARNING",
            "HELPDESK_OFFICE_CODE": "bench", "LINE_CHANNEL_SECRET": TEST_CHANNEL_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TEST_ACCESS_TOKEN, "LINE_API_BASE_URL": fake_url,
            "LINE_DATA_API_BASE_URL": fake_url, "WORKER_POLL_SECONDS": "0.2", "PYTHONPATH": str(ROOT)}


def run_service(name: str, db_url: str, args: argparse.Namespace, fake: Proc, fake_url: str, admin_port: int,
                corpus: list[str], work: Path) -> dict[str, Any]:
    instance = work / name
    instance.mkdir(parents=True, exist_ok=True)
    env = service_env(db_url, instance, fake_url)
    init = subprocess.run([PY, "-m", "helpdesk.cli", "init"], env=env, cwd=ROOT, capture_output=True, text=True)
    if init.returncode != 0:
        raise SystemExit(f"helpdesk init failed: {init.stderr}")
    port = free_port()
    web = Proc([*GUNICORN, "--bind", f"127.0.0.1:{port}", "bench_line:make_app()"], env, f"{name}-web", work)
    worker = Proc([PY, str(Path(__file__).resolve()), "worker"], env, f"{name}-worker", work)
    url = f"http://127.0.0.1:{port}/line/webhook"
    result: dict[str, Any] = {"db": name}
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        time.sleep(2.0)  # the worker loads too
        users = [f"U{uuid.uuid5(uuid.NAMESPACE_OID, f'{name}{i}').hex}" for i in range(400)]
        # warm-up
        since = admin(admin_port, "/requests?since=0")["total"]
        sent = asyncio.run(open_loop(url, 20, 3, users, corpus, seed=9))
        wait_delivered(admin_port, since, len(sent), 30)

        since = admin(admin_port, "/requests?since=0")["total"]
        t0, wall0 = time.monotonic(), time.time()
        cpu0 = (web.cpu_seconds(), worker.cpu_seconds())
        sent = asyncio.run(open_loop(url, args.rate, args.duration, users, corpus))
        load_s = time.monotonic() - t0
        records = wait_delivered(admin_port, since, len(sent), 120 + len(sent) / 30)
        cpu = (web.cpu_seconds() - cpu0[0], worker.cpu_seconds() - cpu0[1])
        result.update(cpu_ms_web=cpu[0] * 1000 / len(sent), cpu_ms_worker=cpu[1] * 1000 / len(sent))
        print(f"  [{name}] CPU per event: web {result['cpu_ms_web']:.1f} ms, worker {result['cpu_ms_worker']:.1f} ms "
              f"(drained {time.monotonic() - t0:.0f}s after start)", flush=True)
        m = match(sent, records)
        acks = [s["ack"] for s in sent]
        pauses = gc_pauses(work / f"{name}-web.log", wall0)
        result.update(gc_pauses=len(pauses), gc_pause_max=max(pauses, default=0.0))
        print(f"  [{name}] garbage-collector pauses >= 20 ms in the web processes under load: {len(pauses)}"
              f"{f', longest {max(pauses):.0f} ms' if pauses else ''}", flush=True)
        result.update(events=len(sent), load_s=load_s, errors=sum(1 for s in sent if s["status"] != 200),
                      ack_p50=pct(acks, 50), ack_p95=pct(acks, 95), ack_p99=pct(acks, 99), ack_max=max(acks),
                      e2e_p50=pct(m["e2e"], 50), e2e_p95=pct(m["e2e"], 95), e2e_p99=pct(m["e2e"], 99),
                      replies=m["replies"], pushes=m["pushes"], missing=m["missing"], duplicates=m["duplicates"])
        print(f"  [{name}] steady {args.rate}/s x {args.duration}s: ack p99 {ms(result['ack_p99'])} ms, "
              f"e2e p95 {ms(result['e2e_p95'])} ms, missing {m['missing']}", flush=True)

        if args.calm:
            since = admin(admin_port, "/requests?since=0")["total"]
            calm = asyncio.run(open_loop(url, args.calm, min(args.duration, 30), users, corpus, seed=3))
            cm = match(calm, wait_delivered(admin_port, since, len(calm), 120))
            cacks = [s["ack"] for s in calm]
            result.update(calm_rate=args.calm, calm_ack_p99=pct(cacks, 99), calm_e2e_p50=pct(cm["e2e"], 50),
                          calm_e2e_p95=pct(cm["e2e"], 95), calm_missing=cm["missing"])
            print(f"  [{name}] steady {args.calm}/s: ack p99 {ms(result['calm_ack_p99'])} ms, "
                  f"e2e p95 {ms(result['calm_e2e_p95'])} ms", flush=True)

        if args.burst:
            result.update(measured_burst(url, args.burst, users, corpus, admin_port, [web, worker], fake,
                                         120 + args.burst / 30))
            print(f"  [{name}] burst {result['burst']}: {result['throughput']:.0f} events/s answered, CPU "
                  f"{result['burst_cpu_ms']:.1f} ms per answer (web processes and worker; the load client and "
                  f"fake LINE API {result['burst_load_cpu_ms']:.2f} ms)", flush=True)

        if args.outage and name == "sqlite":
            result.update(outage_run(url, admin_port, args, corpus, name))
    finally:
        web.stop()
        worker.stop()
    return result


def measured_burst(url: str, n: int, users: list[str], corpus: list[str], admin_port: int, ours: list[Proc],
                   fake: Proc, timeout: float) -> dict[str, Any]:
    """n events sent as fast as the load client allows: answers per second, and the CPU time per answer of
    `ours` (the service's or the echo bot's processes) and of the load (this process and the fake LINE API)."""
    since = admin(admin_port, "/requests?since=0")["total"]
    cpu0 = sum(p.cpu_seconds() for p in ours)
    load0 = fake.cpu_seconds() + time.process_time()
    bsent, start = asyncio.run(burst(url, n, users, corpus))
    records = wait_delivered(admin_port, since, len(bsent), timeout)
    cpu = sum(p.cpu_seconds() for p in ours) - cpu0
    load_cpu = fake.cpu_seconds() + time.process_time() - load0
    got = delivered(records)
    last = max((r["t"] for r in got), default=start)
    return {"burst": len(bsent), "burst_delivered": len(got), "throughput": len(got) / max(1e-9, last - start),
            "burst_ack_rate": len(bsent) / max(1e-9, max(s["t"] + s["ack"] for s in bsent) - start),
            "burst_ack_p99": pct([s["ack"] for s in bsent], 99),
            "burst_cpu_ms": cpu * 1000 / max(1, len(got)), "burst_load_cpu_ms": load_cpu * 1000 / max(1, len(got))}


def outage_run(url: str, admin_port: int, args: argparse.Namespace, corpus: list[str], name: str) -> dict[str, Any]:
    """The fake LINE API refuses connections for --outage s while events keep coming."""
    users = [f"U{uuid.uuid5(uuid.NAMESPACE_OID, f'outage{name}{i}').hex}" for i in range(int(args.outage * 5))]
    since = admin(admin_port, "/requests?since=0")["total"]
    admin(admin_port, "/down", {"seconds": args.outage})
    t0 = time.monotonic()
    sent = asyncio.run(open_loop(url, 5, args.outage * 0.9, users, corpus, seed=5))  # one event per user
    records = wait_delivered(admin_port, since, len(sent), args.outage + 240)
    m = match(sent, records)
    took = time.monotonic() - t0
    print(f"  [{name}] outage {args.outage}s: {len(sent)} events, delivered {m['replies'] + m['pushes']} "
          f"({m['pushes']} by push), missing {m['missing']}, duplicates {m['duplicates']}, "
          f"all delivered after {took:.0f}s", flush=True)
    return {"outage_events": len(sent), "outage_replies": m["replies"], "outage_pushes": m["pushes"],
            "outage_missing": m["missing"], "outage_duplicates": m["duplicates"], "outage_done_s": took}


def run_echo(args: argparse.Namespace, fake: Proc, fake_url: str, admin_port: int, corpus: list[str], work: Path
             ) -> dict[str, Any]:
    env = service_env("sqlite:///unused", work, fake_url)
    port = free_port()
    web = Proc([*GUNICORN, "--bind", f"127.0.0.1:{port}", "bench_line:make_echo_app()"], env, "echo-web", work)
    url = f"http://127.0.0.1:{port}/line/webhook"
    try:
        wait_http(f"http://127.0.0.1:{port}/line/webhook")
        users = [f"U{uuid.uuid5(uuid.NAMESPACE_OID, f'echo{i}').hex}" for i in range(400)]
        out = measured_burst(url, args.burst, users, corpus, admin_port, [web], fake, 120)
        print(f"  [echo] burst {out['burst']}: {out['throughput']:.0f} events/s answered, CPU "
              f"{out['burst_cpu_ms']:.2f} ms per answer (the load client and fake LINE API "
              f"{out['burst_load_cpu_ms']:.2f} ms)", flush=True)
        return out
    finally:
        web.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        run_worker()
        return
    parser = argparse.ArgumentParser(description="LINE channel benchmark")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--calm", type=float, default=30,
                        help="a second, lighter steady load (events/s) for latencies below saturation (0: skip)")
    parser.add_argument("--outage", type=float, default=60, help="seconds the fake API is down (0: skip)")
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"),
                        help="an admin URL of a PostgreSQL server (default: start a throw-away one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.pgserver import PgServer, find_bindir

    work = Path(tempfile.mkdtemp(prefix="bench-line-"))
    fake_port, admin_port = free_port(), free_port()
    fake = Proc([PY, str(ROOT / "tests" / "fake_line_api.py"), "--port", str(fake_port), "--admin-port",
                 str(admin_port)], {**os.environ, "PYTHONPATH": str(ROOT)}, "fake-line-api", work)
    fake_url = f"http://127.0.0.1:{fake_port}"
    pg_server = None
    results: list[dict[str, Any]] = []
    corpus = texts()
    print(f"LINE benchmark: {os.cpu_count()} cores, logs in {work}", flush=True)
    try:
        wait_http(f"http://127.0.0.1:{admin_port}/requests")
        echo = run_echo(args, fake, fake_url, admin_port, corpus, work) if args.burst else {}
        for name in [d.strip() for d in args.db.split(",") if d.strip()]:
            if name == "sqlite":
                db_url = f"sqlite:///{work / 'bench.db'}"
            else:
                admin_url = args.postgres
                if admin_url is None:
                    bindir = find_bindir()
                    if bindir is None:
                        print("  [postgresql] skipped: no PostgreSQL server binaries", flush=True)
                        continue
                    pg_server = PgServer(bindir).start()
                    admin_url = pg_server.url
                dbname = f"bench_line_{uuid.uuid4().hex[:8]}"
                eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
                with eng.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{dbname}"'))
                eng.dispose()
                db_url = make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)
            admin(admin_port, "/reset", {})
            results.append(run_service(name, db_url, args, fake, fake_url, admin_port, corpus, work))
    finally:
        fake.stop()
        if pg_server is not None:
            pg_server.stop()

    print()
    print(f"{'database':<11} {'events':>7} {'ack p50':>8} {'ack p99':>8} {'e2e p50':>8} {'e2e p95':>8} "
          f"{'e2e p99':>8} {'burst/s':>8} {'ratio':>6}")
    for r in results:
        ratio = r.get("throughput", 0) / echo["throughput"] if echo.get("throughput") else float("nan")
        r["ratio_to_echo"] = ratio
        print(f"{r['db']:<11} {r['events']:>7} {ms(r['ack_p50']):>8} {ms(r['ack_p99']):>8} {ms(r['e2e_p50']):>8} "
              f"{ms(r['e2e_p95']):>8} {ms(r['e2e_p99']):>8} {r.get('throughput', 0):>8.0f} {ratio:>6.2f}")
    if echo:
        print(f"{'SDK echo':<11} {echo['burst']:>7} {'':>8} {ms(echo['burst_ack_p99']):>8} {'':>8} {'':>8} {'':>8} "
              f"{echo['throughput']:>8.0f} {1.0:>6.2f}")
    print("(times in ms; ack = webhook answered; e2e = webhook sent -> reply request at the fake LINE API)")
    for r in results:
        if "calm_rate" in r:
            print(f"{r['db']} at {r['calm_rate']:.0f} events/s: ack p99 {ms(r['calm_ack_p99'])} ms, e2e p50 "
                  f"{ms(r['calm_e2e_p50'])} ms, e2e p95 {ms(r['calm_e2e_p95'])} ms")
        if "cpu_ms_web" in r:
            print(f"{r['db']}: CPU per event {r['cpu_ms_web']:.1f} ms in the web processes + "
                  f"{r['cpu_ms_worker']:.1f} ms in the worker")
        if "burst_cpu_ms" in r and echo.get("burst_cpu_ms"):
            print(f"{r['db']}: CPU per answer during the burst {r['burst_cpu_ms']:.1f} ms, the echo bot's "
                  f"{echo['burst_cpu_ms']:.2f} ms (ratio {echo['burst_cpu_ms'] / r['burst_cpu_ms']:.2f}); the load "
                  f"client and fake LINE API {r['burst_load_cpu_ms']:.2f} and {echo['burst_load_cpu_ms']:.2f} ms")
    for r in results:
        if "outage_events" in r:
            print(f"outage {args.outage:.0f}s ({r['db']}): {r['outage_events']} events, "
                  f"{r['outage_replies'] + r['outage_pushes']} delivered ({r['outage_pushes']} by push), "
                  f"{r['outage_missing']} missing, {r['outage_duplicates']} twice")
        print(f"{r['db']}: {r['errors']} webhook errors, {r['missing']} unanswered, {r['duplicates']} answered "
              f"twice, {r['pushes']} by push")
    if args.json:
        print(json.dumps({"results": results, "echo": echo}, indent=1, default=str))


if __name__ == "__main__":
    main()

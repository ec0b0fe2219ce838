#!/usr/bin/env python
"""Benchmark of the e-mail intake: messages/s end to end (store + parse + understand + register) from
files and from a real IMAP server (Dovecot on loopback), and the peak memory of a 25 MB message.

    .venv/bin/python scripts/bench_email.py [--messages 300] [--database-url URL] [--big-mb 25] [--json]

Uses a throw-away instance folder and database (SQLite unless --database-url), the real knowledge engine
(loaded before timing starts) and tests/imapserver.py for Dovecot (skipped when it is not installed).
Targets: >= 50 msg/s from files and from IMAP; a 25 MB message < 200 MB peak RSS above the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
os.environ.setdefault("HELPDESK_CACHE_DIR", str(ROOT / "instance" / "cache"))

PROBLEMS = [
    "เครื่องพิมพ์ห้องธุรการพิมพ์ไม่ออก ไฟกระพริบสีส้ม ลองปิดเปิดแล้ว",
    "อินเทอร์เน็ตในอาคารเรียนใช้งานไม่ได้ทั้งอาคารตั้งแต่เช้า",
    "คอมพิวเตอร์ห้องปฏิบัติการเปิดไม่ติด 3 เครื่อง",
    "เข้าระบบ DMC ไม่ได้ ขึ้นว่ารหัสผ่านไม่ถูกต้อง ขอรีเซ็ตรหัสผ่าน",
    "จานดาวเทียม DLTV ไม่มีสัญญาณ ห้อง ป.4 หลังฝนตก",
    "โปรเจคเตอร์ห้องประชุมเปิดไม่ติด มีประชุมบ่ายนี้ ด่วน",
    "ขอลิงก์ประชุม Zoom สำหรับประชุมครูวันพรุ่งนี้",
    "ระบบสารบรรณอิเล็กทรอนิกส์ส่งหนังสือไม่ได้",
    "ขอยืมเครื่องฉายและลำโพงสำหรับกิจกรรมวันศุกร์",
    "ได้รับอีเมลแจ้งว่าบัญชีถูกระงับ ให้กดลิงก์ยืนยันตัวตน น่าจะเป็นฟิชชิ่ง",
]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    cur = peak = 0.0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cur, peak


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def make_services(database_url: str | None, instance: Path, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    from helpdesk import migrate
    from helpdesk.config import load_settings
    from helpdesk.services import Services

    environ = {
        **os.environ,
        "HELPDESK_ENV": "test",
        "HELPDESK_INSTANCE_DIR": str(instance),
        "DATABASE_URL": database_url or f"sqlite:///{instance / 'bench.db'}",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "HELPDESK_OFFICE_CODE": "bench",
        "HELPDESK_DOTENV": str(instance / "none.env"),
        "MAIL_FROM": "ict@helpdesk.example.go.th",
        "HELPDESK_LOG_LEVEL": "WARNING",
        **(extra or {}),
    }
    services = Services.from_settings(load_settings(environ))
    migrate.upgrade(services.engine)
    from bot.email import register_handler

    register_handler()
    services.office_id  # noqa: B018
    return services


def messages(n: int, tag: str, seed: int = 7) -> list[bytes]:
    """A mix like a real mailbox: new requests, replies with quoted history, HTML mail, corpus oddities."""
    rng = random.Random(seed)
    corpus = sorted((ROOT / "tests" / "email_corpus").glob("*.eml"))
    out: list[bytes] = []
    for i in range(n):
        kind = i % 10
        if kind == 9 and corpus:
            raw = corpus[i // 10 % len(corpus)].read_bytes()
            out.append(raw.replace(b"Message-ID: <", f"Message-ID: <{tag}-{i}-".encode(), 1)
                       if b"Message-ID: <" in raw else raw + f"\r\n{tag}-{i}".encode())
            continue
        m = EmailMessage()
        m["From"] = f"ครูโรงเรียน {i % 40} <school{i % 40}@school.example.ac.th>"
        m["To"] = "ict@helpdesk.example.go.th"
        m["Subject"] = f"แจ้งปัญหา {PROBLEMS[i % len(PROBLEMS)][:30]}"
        m["Date"] = format_datetime(time.localtime() and __import__("datetime").datetime.now().astimezone())
        m["Message-ID"] = f"<{tag}-{i}@school.example.ac.th>"
        body = f"เรียน กลุ่ม ICT\n\n{PROBLEMS[rng.randrange(len(PROBLEMS))]} (ห้อง {i})\n\nขอแสดงความนับถือ\nครูธุรการ\n"
        if kind in (3, 4):
            body += "\nเมื่อ วันจันทร์ที่ 23 พ.ย. 2569 เวลา 10:00 <ict@helpdesk.example.go.th> เขียนว่า:\n> ข้อความเดิม\n" * 3
        if kind == 5:
            m.set_content(body)
            m.add_alternative("<div>" + body.replace("\n", "<br>") + "</div>", subtype="html")
        else:
            m.set_content(body)
        out.append(m.as_bytes())
    return out


def drain(services, ids: list[int]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from helpdesk.worker import process_inbound

    counts: dict[str, int] = {}
    for start in range(0, len(ids), 50):
        for k, v in process_inbound(services, ids=ids[start:start + 50], limit=50).items():
            counts[k] = counts.get(k, 0) + v
    return counts


def bench_files(services, n: int, tmp: Path) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from bot.email.handler import store_raw

    folder = tmp / "files"
    folder.mkdir()
    for i, raw in enumerate(messages(n, "file")):
        (folder / f"{i:05d}.eml").write_bytes(raw)
    paths = sorted(folder.glob("*.eml"))
    t0 = time.perf_counter()
    ids = [store_raw(services, p.read_bytes(), {"via": "file"}).id for p in paths]
    t_store = time.perf_counter() - t0
    counts = drain(services, ids)
    total = time.perf_counter() - t0
    return {"messages": n, "seconds": round(total, 2), "msg_per_s": round(n / total, 1),
            "store_msg_per_s": round(n / t_store, 1), "results": counts}


def bench_imap(services_factory, n: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from tests.imapserver import ImapServer, find_dovecot

    if find_dovecot() is None:
        return {"skipped": "dovecot not installed"}
    server = ImapServer().start()
    try:
        im = server.client()
        im.create('"bench"')
        for raw in messages(n, "imap", seed=11):
            im.append('"bench"', None, None, raw)
        im.logout()
        services = services_factory(server.env("bench"))
        from bot.email.imap_intake import ImapPoller

        poller = ImapPoller(services)
        t0 = time.perf_counter()
        result = poller.poll(time_budget=3600)
        t_fetch = time.perf_counter() - t0
        counts = drain(services, result.event_ids)
        total = time.perf_counter() - t0
        poller.close()
        return {"messages": n, "stored": result.stored, "seconds": round(total, 2), "msg_per_s": round(n / total, 1),
                "fetch_store_msg_per_s": round(n / t_fetch, 1), "results": counts}
    finally:
        server.stop()


def big_message(mb: float) -> bytes:
    m = EmailMessage()
    m["From"] = "ครูทดสอบ <teacher@school.example.ac.th>"
    m["To"] = "ict@helpdesk.example.go.th"
    m["Subject"] = "ส่งวิดีโออาการเครื่องพิมพ์และเอกสารประกอบ"
    m["Message-ID"] = f"<big-{os.getpid()}-{time.time_ns()}@school.example.ac.th>"
    m.set_content("เรียน กลุ่ม ICT\n\n" + PROBLEMS[0] + "\nแนบวิดีโอและเอกสารมาด้วยครับ\n")
    target = int(mb * 1024 * 1024 * 0.74)  # base64 grows the bytes by 4/3 (+ line breaks)
    m.add_attachment(os.urandom(target - 3_000_000), maintype="video", subtype="mp4", filename="อาการ.mp4")
    m.add_attachment(os.urandom(2_000_000), maintype="application", subtype="pdf", filename="หนังสือ.pdf")
    m.add_attachment(os.urandom(1_000_000), maintype="image", subtype="jpeg", filename="รูป.jpg")
    return m.as_bytes()


def big_child(mode: str, mb: float, database_url: str | None) -> dict[str, object]:
    """Runs in a fresh process: baseline after warm-up, then one big message through the whole path."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-email-big-"))
    services = make_services(database_url, tmp)
    services.knowledge()
    raw = big_message(mb)
    size = len(raw)
    server = None
    extra: dict[str, str] = {}
    if mode == "imap":
        from tests.imapserver import ImapServer

        server = ImapServer().start()
        im = server.client()
        im.create('"big"')
        im.append('"big"', None, None, raw)
        im.logout()
        extra = server.env("big")
        services = make_services(database_url, tmp, extra)
        services.knowledge()
    del raw
    import gc

    gc.collect()
    base, _ = rss_mb()
    exact = reset_peak()
    t0 = time.perf_counter()
    if mode == "file":
        from bot.email.handler import store_raw

        path = tmp / "big.eml"
        path.write_bytes(big_message(mb))
        gc.collect()
        base, _ = rss_mb()
        reset_peak()
        t0 = time.perf_counter()
        ids = [store_raw(services, path.read_bytes(), {"via": "file"}).id]
    else:
        from bot.email.imap_intake import ImapPoller

        poller = ImapPoller(services)
        result = poller.poll()
        ids = result.event_ids
        poller.close()
    counts = drain(services, ids)
    seconds = time.perf_counter() - t0
    _, peak = rss_mb()
    if server is not None:
        server.stop()
    from sqlalchemy import select

    from helpdesk.db import session_scope
    from tickets.models import Attachment, Message

    with session_scope(services.session_factory) as s:
        rows = s.scalars(select(Attachment).join(Message, Message.id == Attachment.message_id)
                         .where(Message.inbound_event_id.in_(ids)))
        kept = [(a.filename, a.size, a.data is not None) for a in rows]
    return {"mode": mode, "message_mb": round(size / 1024 / 1024, 1), "baseline_rss_mb": round(base, 1),
            "peak_rss_mb": round(peak, 1), "peak_above_baseline_mb": round(peak - base, 1),
            "peak_exact": exact, "seconds": round(seconds, 2), "results": counts,
            "attachments": [{"name": n, "bytes": b, "kept": k} for n, b, k in kept]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--big-mb", type=float, default=25.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--big-child", choices=["file", "imap"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.big_child:
        print(json.dumps(big_child(args.big_child, args.big_mb, args.database_url), ensure_ascii=False))
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-email-"))
    t0 = time.perf_counter()
    services = make_services(args.database_url, tmp / "files-db")
    engine = services.knowledge()
    shared = {"engine": engine}
    warm = round(time.perf_counter() - t0, 2)
    report: dict[str, object] = {"database": "PostgreSQL" if args.database_url else "SQLite", "warm_up_s": warm}
    report["files"] = bench_files(services, args.messages, tmp)

    def imap_services(extra: dict[str, str]):  # type: ignore[no-untyped-def]
        svc = make_services(args.database_url and args.database_url, tmp / "imap-db", extra)
        svc._knowledge = shared["engine"]
        return svc

    if args.database_url:  # a second, empty database for the IMAP run is the caller's business: reuse
        report["imap"] = bench_imap(lambda extra: _reuse(services, extra), args.messages)
    else:
        report["imap"] = bench_imap(imap_services, args.messages)
    for mode in ("file", "imap"):
        if mode == "imap" and isinstance(report["imap"], dict) and "skipped" in report["imap"]:
            continue
        cmd = [sys.executable, __file__, "--big-child", mode, "--big-mb", str(args.big_mb)]
        if args.database_url:
            cmd += ["--database-url", args.database_url]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            report[f"big_{mode}"] = {"error": out.stderr[-1500:]}
        else:
            report[f"big_{mode}"] = json.loads(out.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    print(f"e-mail intake benchmark ({report['database']}, engine warm-up {warm} s, {os.cpu_count()} cores)")
    for key in ("files", "imap"):
        r = report[key]
        if isinstance(r, dict) and "skipped" not in r:
            extra = (f"store only {r['store_msg_per_s']} msg/s" if key == "files"
                     else f"fetch+store {r['fetch_store_msg_per_s']} msg/s")
            print(f"  {key:<6} {r['messages']} messages in {r['seconds']} s = {r['msg_per_s']} msg/s end to end "
                  f"({extra}); {r['results']}")
        else:
            print(f"  {key:<6} {r}")
    for key in ("big_file", "big_imap"):
        r = report.get(key)
        if isinstance(r, dict) and "error" not in r:
            print(f"  {key:<8} {r['message_mb']} MB message: peak RSS {r['peak_rss_mb']} MB, baseline "
                  f"{r['baseline_rss_mb']} MB, +{r['peak_above_baseline_mb']} MB, {r['seconds']} s; "
                  f"attachments kept {sum(1 for a in r['attachments'] if a['kept'])}/{len(r['attachments'])}")
        elif r is not None:
            print(f"  {key:<8} {r}")


def _reuse(services, extra: dict[str, str]):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    services.settings = replace(services.settings, imap_host=extra["IMAP_HOST"], imap_port=int(extra["IMAP_PORT"]),
                                imap_user=extra["IMAP_USER"], imap_password=extra["IMAP_PASSWORD"],
                                imap_mailbox=extra["IMAP_MAILBOX"])
    return services


if __name__ == "__main__":
    main()

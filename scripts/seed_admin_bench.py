"""Seed a database with a realistic register for the admin benchmark (default: 200,000 tickets over two
fiscal years, ~500,000 messages, ratings and audit rows).

    .venv/bin/python scripts/seed_admin_bench.py --url postgresql://user@host/db [--tickets 200000]

PostgreSQL is filled with COPY (a couple of minutes for 200,000 tickets on this machine); SQLite with
batched inserts (use fewer tickets there). The database must be empty; the schema is created first.
The office code is "bench" unless --office-code says otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, insert, select, text

from helpdesk import migrate
from helpdesk.config import normalise_database_url
from helpdesk.db import make_engine, write_session
from helpdesk.thaidate import BANGKOK
from tickets.directory import ensure_office
from tickets.models import (
    AuditLog,
    Message,
    Rating,
    Requester,
    School,
    StaffUser,
    Ticket,
    TicketCounter,
)

CATEGORIES = {
    "hardware_repair": 18, "network_internet": 14, "account_access": 10, "student_data_dmc": 12,
    "edu_info_systems": 8, "saraban_amss": 7, "dltv_satellite": 6, "dlit_media_lms": 4, "digital_comms_web": 5,
    "equipment_borrow": 4, "procurement_spec": 2, "training_request": 3, "security_data_protection": 3,
    "general_consult": 3, "out_of_scope": 1,
}
RESOLUTION_DAYS = {"hardware_repair": 5, "network_internet": 2, "account_access": 1, "student_data_dmc": 2,
                   "edu_info_systems": 3, "saraban_amss": 2, "dltv_satellite": 5, "dlit_media_lms": 3,
                   "digital_comms_web": 3, "equipment_borrow": 3, "procurement_spec": 5, "training_request": 10,
                   "security_data_protection": 1, "general_consult": 3, "out_of_scope": 1}
TEXTS = {
    "hardware_repair": ["คอมพิวเตอร์ห้อง{room}เปิดไม่ติดค่ะ", "ปริ้นเตอร์ห้อง{room}พิมพ์ไม่ออกครับ ไฟกะพริบ",
                        "โปรเจคเตอร์ห้อง{room}ภาพไม่ขึ้น", "โน้ตบุ๊กครูจอดับ ต้องแจ้งซ่อมยังไงคะ"],
    "network_internet": ["อินเทอร์เน็ตห้อง{room}ใช้ไม่ได้ค่ะ", "wifi โรงเรียนช้ามาก", "เน็ตล่มทั้งโรงเรียนครับ ด่วน"],
    "account_access": ["ลืมรหัสผ่านอีเมลโรงเรียนค่ะ", "เข้าระบบ OBEC Mail ไม่ได้", "ขอรีเซ็ตรหัสผ่านครับ"],
    "student_data_dmc": ["DMC ส่งข้อมูลนักเรียนรอบไหนคะ", "ย้ายนักเรียนเข้าในระบบ DMC ไม่ได้",
                         "ยืนยันข้อมูลนักเรียน 10 มิ.ย. ทำยังไงครับ"],
    "edu_info_systems": ["M-OBEC กรอกข้อมูลไม่ได้ค่ะ", "B-OBEC ส่งข้อมูลสิ่งก่อสร้างยังไง", "EMIS เข้าไม่ได้ครับ"],
    "saraban_amss": ["AMSS++ ส่งหนังสือไม่ได้ค่ะ", "ลงรับหนังสือในสารบรรณอิเล็กทรอนิกส์ยังไง"],
    "dltv_satellite": ["ทีวี DLTV ห้อง{room}ไม่มีสัญญาณ", "จานดาวเทียม DLTV ภาพกระตุกค่ะ"],
    "dlit_media_lms": ["ขอสื่อ DLIT วิชาคณิตศาสตร์", "LMS ของเขตเข้าไม่ได้ครับ"],
    "digital_comms_web": ["ขอลิงก์ประชุม Zoom ของเขตค่ะ", "เว็บไซต์โรงเรียนเข้าไม่ได้"],
    "equipment_borrow": ["ขอยืมเครื่องฉายโปรเจคเตอร์วันศุกร์นี้", "ขอยืมกล้องถ่ายรูปของเขตครับ"],
    "procurement_spec": ["ขอสเปกคอมพิวเตอร์สำหรับจัดซื้อปีนี้", "คุณลักษณะเฉพาะเครื่องพิมพ์ใช้ของปีไหนคะ"],
    "training_request": ["ขอให้เขตจัดอบรม Google Classroom", "มีอบรมการใช้ AI สำหรับครูไหมคะ"],
    "security_data_protection": ["อีเมลโรงเรียนโดนแฮกค่ะ ด่วน", "ได้รับอีเมลหลอกลวงให้กรอกรหัสผ่าน"],
    "general_consult": ["ขอคำปรึกษาการวางระบบเครือข่ายในโรงเรียน", "สอบถามแนวทางใช้เทคโนโลยีในการสอน"],
    "out_of_scope": ["สอบถามเรื่องสลิปเงินเดือนค่ะ", "เบิกค่าเดินทางไปราชการยังไง"],
}
ROOMS = ("ธุรการ", "วิชาการ", "คอม 1", "คอม 2", "ป.3", "ป.6", "ม.2", "ห้องสมุด", "ประชุม", "พักครู")
SCHOOL_NAMES = ("บ้าน", "วัด", "ชุมชน", "อนุบาล")
PLACES = ("หนองบัว", "โคกสูง", "ป่าประดู่", "นาดี", "ดอนแก้ว", "ห้วยทราย", "สระแก้ว", "โนนสวรรค์", "ทุ่งใหญ่",
          "หนองแวง", "บึงพระ", "ท่าช้าง", "เขาน้อย", "คลองใหม่", "ศรีสุข")
INTENTS = (("incident", 45), ("question", 35), ("request", 17), ("followup", 3))
BOT_REPLY = "รับเรื่องไว้แล้ว เจ้าหน้าที่กลุ่ม ICT จะติดต่อกลับในเวลาราชการ"
STAFF_REPLY = "เจ้าหน้าที่รับเรื่องแล้ว กำลังดำเนินการให้ค่ะ"


def _weighted(rng: random.Random, items: Sequence[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def article_ids() -> dict[str, list[str]]:
    from knowledge.articles import load_articles

    out: dict[str, list[str]] = {}
    for a in load_articles():
        out.setdefault(a.category, []).append(a.id)
    return out


def build_rows(n: int, office_id: int, requesters: list[tuple[int, str]], staff_ids: list[int], now: datetime,
               seed: int = 11) -> dict[str, list[tuple[Any, ...]]]:
    """Ticket, message, rating and audit rows (explicit ids) for n tickets spread over the last 24 months."""
    rng = random.Random(seed)
    articles = article_ids()
    cats = list(CATEGORIES.items())
    span = timedelta(days=730).total_seconds()
    received_list = sorted(now - timedelta(seconds=rng.random() * span) for _ in range(n))
    seq_by_year: dict[int, int] = {}
    tickets: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []
    audits: list[tuple[Any, ...]] = []
    mid = 0
    for tid, received in enumerate(received_list, 1):
        year_be = received.astimezone(BANGKOK).year + 543
        seq = seq_by_year.get(year_be, 0) + 1
        seq_by_year[year_be] = seq
        requester_id, channel = rng.choice(requesters)
        category = _weighted(rng, cats)
        intent = _weighted(rng, INTENTS)
        urgency = "urgent" if rng.random() < 0.1 else "normal"
        text_ = rng.choice(TEXTS[category]).format(room=rng.choice(ROOMS))
        age = now - received
        handoff = intent in ("incident", "request", "followup") or rng.random() < 0.25
        self_served = not handoff
        created = received + timedelta(seconds=rng.uniform(0, 90))
        fr_due = res_due = None
        first = resolved = closed = None
        assignee = None
        status = "resolved"
        if handoff:
            fr_due = received + (timedelta(hours=1) if urgency == "urgent" else timedelta(days=1))
            days = RESOLUTION_DAYS[category]
            res_due = received + timedelta(days=max(1, (days + 1) // 2) if urgency == "urgent" else days)
            assignee = rng.choice(staff_ids)
            first_after = timedelta(hours=rng.lognormvariate(1.2, 1.0))
            resolve_after = timedelta(days=rng.lognormvariate(0.6, 0.8))
            if age > resolve_after and rng.random() < 0.985:
                first = received + min(first_after, resolve_after)
                resolved = received + resolve_after
                status = "closed" if age - resolve_after > timedelta(days=4) else "resolved"
                closed = resolved + timedelta(days=3) if status == "closed" else None
            elif age > first_after:
                first = received + first_after
                status = rng.choice(("open", "waiting"))
            else:
                status = "new"
                assignee = None
        else:
            resolved = created
        tickets.append((
            tid, office_id, f"ICT-{year_be}-{seq:06d}", year_be, seq, requester_id, channel, text_[:300], category,
            intent, urgency, round(rng.uniform(0.3, 0.99), 3), status, assignee,
            rng.choice(articles[category]) if articles.get(category) and (not handoff or rng.random() < 0.6) else None,
            handoff, False, self_served,
            received, created, resolved or first or created, first, resolved, closed,
            created + timedelta(minutes=30), fr_due, res_due, "{}",
        ))
        mid += 1
        messages.append((mid, office_id, tid, requester_id, "in", channel, "requester", None, False, text_,
                         "{}", None, received))
        mid += 1
        messages.append((mid, office_id, tid, requester_id, "out", channel, "bot", None, False, BOT_REPLY,
                         "{}", "sent", created))
        if first is not None:
            mid += 1
            messages.append((mid, office_id, tid, requester_id, "out", channel, "staff", assignee, False,
                             STAFF_REPLY, "{}", "sent", first))
        audits.append((office_id, tid, f"requester:{requester_id}", "created", "{}", created))
        if resolved is not None and rng.random() < 0.18:
            ratings.append((office_id, tid, rng.random() < 0.88, rng.random() < 0.9,
                            rng.choices((5, 4, 3, 2, 1), weights=(45, 35, 12, 5, 3))[0], channel,
                            resolved + timedelta(days=2)))
    return {"ticket": tickets, "message": messages, "rating": ratings, "audit_log": audits,
            "counter": [(office_id, y, s) for y, s in seq_by_year.items()]}


TICKET_COLS = ("id", "office_id", "number", "year_be", "seq", "requester_id", "channel", "subject", "category",
               "intent", "urgency", "confidence", "status", "assignee_id", "article_id", "handoff", "formal",
               "self_served", "received_at", "created_at", "updated_at", "first_response_at", "resolved_at",
               "closed_at", "registration_due_at", "first_response_due_at", "resolution_due_at", "sla")
MESSAGE_COLS = ("id", "office_id", "ticket_id", "requester_id", "direction", "channel", "author", "staff_id",
                "internal", "text", "meta", "delivery_state", "created_at")
RATING_COLS = ("office_id", "ticket_id", "understood", "solved", "score", "channel", "created_at")
AUDIT_COLS = ("office_id", "ticket_id", "actor", "action", "details", "created_at")


def _copy(engine: Engine, table: str, cols: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def _insert(engine: Engine, model: Any, cols: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    json_cols = {"sla", "meta", "details"}
    with write_session(engine) as s:
        for i in range(0, len(rows), 5000):
            batch = [{c: (json.loads(v) if c in json_cols else v) for c, v in zip(cols, r, strict=True)}
                     for r in rows[i:i + 5000]]
            s.execute(insert(model), batch)


def seed(url: str, n: int, office_code: str = "bench", office_name: str = "สพป.ทดสอบประสิทธิภาพ เขต 1",
         now: datetime | None = None, quiet: bool = False) -> dict[str, int]:
    now = now or datetime.now(UTC)
    engine = make_engine(normalise_database_url(url))
    migrate.upgrade(engine)
    t0 = time.perf_counter()
    rng = random.Random(5)
    with write_session(engine) as s:
        if s.scalar(select(func.count(Ticket.id))):
            raise SystemExit("the database already has tickets; seed an empty one")
        office = ensure_office(s, office_code, office_name)
        office_id = office.id
        schools = [School(office_id=office_id, name=f"โรงเรียน{a}{b}", aliases=[])
                   for a in SCHOOL_NAMES for b in PLACES]
        s.add_all(schools)
        s.flush()
        staff = [StaffUser(office_id=office_id, username=f"staff{i}", display_name=f"เจ้าหน้าที่ ICT {i}",
                           role="agent", password_hash="!", created_at=now) for i in range(8)]
        s.add_all(staff)
        s.flush()
        staff_ids = [u.id for u in staff]
        requesters: list[tuple[int, str]] = []
        batch = []
        for i in range(5000):
            channel = rng.choices(("line", "email", "web"), weights=(65, 20, 15))[0]
            r = Requester(office_id=office_id, school_id=rng.choice(schools).id, created_at=now,
                          line_user_id=f"U{i:032x}" if channel == "line" else None,
                          email=f"teacher{i}@school.example.ac.th" if channel == "email" else None,
                          web_id=f"w{i:012x}" if channel == "web" else None)
            batch.append((r, channel))
        s.add_all([r for r, _ in batch])
        s.flush()
        requesters = [(r.id, ch) for r, ch in batch]
    rows = build_rows(n, office_id, requesters, staff_ids, now)
    if not quiet:
        print(f"generated {n:,} tickets, {len(rows['message']):,} messages in {time.perf_counter() - t0:.1f} s",
              flush=True)
    if engine.dialect.name == "postgresql":
        _copy(engine, "ticket", TICKET_COLS, rows["ticket"])
        _copy(engine, "message", MESSAGE_COLS, rows["message"])
        _copy(engine, "rating", RATING_COLS, rows["rating"])
        _copy(engine, "audit_log", AUDIT_COLS, rows["audit_log"])
        with engine.begin() as conn:
            for table in ("ticket", "message", "rating", "audit_log"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
    else:
        _insert(engine, Ticket, TICKET_COLS, rows["ticket"])
        _insert(engine, Message, MESSAGE_COLS, rows["message"])
        _insert(engine, Rating, RATING_COLS, rows["rating"])
        _insert(engine, AuditLog, AUDIT_COLS, rows["audit_log"])
    with write_session(engine) as s:
        for office_id_, year, last in rows["counter"]:
            s.add(TicketCounter(office_id=office_id_, year_be=year, last_seq=last))
    counts = {k: len(v) for k, v in rows.items()}
    engine.dispose()
    if not quiet:
        print(f"seeded in {time.perf_counter() - t0:.1f} s: {counts}", flush=True)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="DATABASE_URL of an empty database")
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--office-code", default="bench")
    args = parser.parse_args()
    seed(args.url, args.tickets, args.office_code)


if __name__ == "__main__":
    main()

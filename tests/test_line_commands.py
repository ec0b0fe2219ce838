"""Ticket commands in Thai and the guided repair report, through the LINE handler with the real engine."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.line.commands import Command, parse_command
from bot.line.models import LineConversation
from helpdesk.db import session_scope
from tests.fake_line_api import (
    LineHarness,
    image_event,
    postback_event,
    text_event,
    user_id,
)
from tickets.models import Attachment, Message, Ticket

JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 500 + b"\xff\xd9"


def tickets(line: LineHarness) -> list[Ticket]:
    with session_scope(line.services.session_factory) as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


@pytest.mark.parametrize(("text", "expected"), [
    ("สถานะ", Command("status")),
    (" สถานะเรื่อง ", Command("status")),
    ("ติดตาม ICT-2569-000123", Command("track", ("ICT-2569-000123",))),
    ("ติดตาม ict ๒๕๖๙ ๑๒๓", Command("track", ("ICT-2569-000123",))),
    ("ติดตามเรื่อง ICT-2569-7", Command("track", ("ICT-2569-000007",))),
    ("ติดตาม", Command("track")),
    ("แจ้งซ่อม", Command("repair")),
    ("ติดต่อเจ้าหน้าที่", Command("human")),
    ("ยกเลิก", Command("cancel")),
    ("ยกเลิก ICT-2569-000001", Command("cancel", ("ICT-2569-000001",))),
    ("ติดตามเรื่องเน็ตเมื่อวานค่ะ", None),
    ("แจ้งซ่อมคอมพิวเตอร์เปิดไม่ติด", None),
    ("ยกเลิกประชุมไหมคะ", None),
    ("สถานะการส่งข้อมูล DMC", None),
])
def test_commands_are_whole_messages(text: str, expected: Command | None) -> None:
    assert parse_command(text) == expected


def test_status_lists_only_my_open_tickets_and_track_only_mine(line: LineHarness) -> None:
    me, other = user_id("me"), user_id("other")
    assert any("ไม่มีเรื่องที่ค้าง" in t for t in line.say(me, "สถานะ"))
    line.say(me, "คอมพิวเตอร์ห้องธุรการเปิดไม่ติดค่ะ")
    line.say(other, "โปรเจคเตอร์ห้องประชุมไม่มีภาพค่ะ")
    mine, theirs = tickets(line)
    texts = line.say(me, "สถานะ")
    assert any(mine.number in t for t in texts) and not any(theirs.number in t for t in texts)
    texts = line.say(me, f"ติดตาม {mine.number}")
    assert any(mine.number in t and "หัวข้อ" in t for t in texts)
    texts = line.say(me, f"ติดตาม {theirs.number}")
    assert any("ไม่พบเรื่องเลขที่" in t for t in texts) and not any("โปรเจคเตอร์" in t for t in texts)
    assert any("ติดตาม ตามด้วยเลขที่" in t for t in line.say(me, "ติดตาม"))


def test_guided_repair_report_with_photo_creates_an_urgent_ticket(line: LineHarness) -> None:
    uid = user_id("repair")
    texts = line.say(uid, "แจ้งซ่อม")
    assert any("อุปกรณ์" in t for t in texts) and any("/repair" in t or "liff.line.me" in t for t in texts)
    quick = line.fake.delivered()[-1].json["messages"][-1]["quickReply"]["items"]
    assert "คอมพิวเตอร์" in [q["action"]["label"] for q in quick]
    assert any("อาการ" in t for t in line.say(uid, "คอมพิวเตอร์"))
    # A command in the middle does not break the report.
    assert any("ไม่มีเรื่องที่ค้าง" in t for t in line.say(uid, "สถานะ"))
    assert any("ที่ไหน" in t for t in line.say(uid, "เปิดไม่ติด มีกลิ่นไหม้ ด่วนมาก พรุ่งนี้ใช้สอบ"))
    assert any("รูป" in t for t in line.say(uid, "ห้องคอม อาคาร 2"))
    photo = image_event(uid)
    line.fake.add_content(photo["message"]["id"], JPEG)
    texts = line.fake.texts([r for r in line.send(photo) if r.path.endswith(("/reply", "/push"))])
    (ticket,) = tickets(line)
    assert any(ticket.number in t for t in texts)
    assert ticket.urgency == "urgent" and ticket.handoff and ticket.intent == "incident"
    assert ticket.category == "hardware_repair" and ticket.subject.startswith("แจ้งซ่อม: คอมพิวเตอร์")
    with session_scope(line.services.session_factory) as s:
        assert s.scalar(select(LineConversation)) is None
        assert s.scalar(select(Attachment)).data == JPEG
        (report,) = [m for m in s.scalars(select(Message)) if "repair" in (m.meta or {})]
        assert "ห้องคอม อาคาร 2" in report.text and report.ticket_id == ticket.id
        # The whole conversation of the report is threaded into its ticket.
        steps = s.scalars(select(Message).where(Message.text.in_(["คอมพิวเตอร์", "ห้องคอม อาคาร 2"]))).all()
        assert {m.ticket_id for m in steps} == {ticket.id}


def test_repair_without_photo_and_cancel(line: LineHarness) -> None:
    uid = user_id("repair2")
    line.say(uid, "แจ้งซ่อม")
    assert any("ยกเลิกการแจ้งซ่อม" in t for t in line.say(uid, "ยกเลิก"))
    assert tickets(line) == []
    assert any("ไม่มีรายการ" in t for t in line.say(uid, "ยกเลิก"))
    for step in ("อุปกรณ์ DLTV", "ทีวีไม่มีสัญญาณ ไม่ด่วนค่ะ", "ห้อง ป.4"):
        line.say(uid, step) if step != "อุปกรณ์ DLTV" else (line.say(uid, "แจ้งซ่อม"), line.say(uid, step))
    texts = line.say(uid, "ข้าม")
    (ticket,) = tickets(line)
    assert any(ticket.number in t for t in texts)
    assert ticket.category == "dltv_satellite" and ticket.urgency == "normal"


def test_person_handoff_and_ticket_cancel(line: LineHarness) -> None:
    uid = user_id("human")
    texts = line.say(uid, "ติดต่อเจ้าหน้าที่")
    (ticket,) = tickets(line)
    assert ticket.handoff and any(ticket.number in t for t in texts)
    assert any(ticket.number in t for t in line.say(uid, f"ยกเลิก {ticket.number}"))
    assert tickets(line)[0].status == "closed"
    assert any("ปิดไปแล้ว" in t for t in line.say(uid, f"ยกเลิก {ticket.number}"))


def test_number_picks_an_offered_article(line: LineHarness) -> None:
    uid = user_id("choice")
    line.say(uid, "DMC ต้องส่งข้อมูลรอบไหนบ้างคะ")
    with session_scope(line.services.session_factory) as s:
        last = s.scalar(select(Message).where(Message.direction == "out").order_by(Message.id.desc()))
        offered = last.meta.get("alternatives") or []
    if not offered:
        pytest.skip("the engine offered nothing for this question")
    article = line.services.knowledge().article(offered[0])
    texts = line.say(uid, "1")
    assert any(article.title in t for t in texts)


def test_rich_menu_postbacks(line: LineHarness) -> None:
    uid = user_id("menu")
    texts = line.fake.texts([r for r in line.send(postback_event("a=ask", uid)) if r.path.endswith("/reply")])
    assert texts and "พิมพ์คำถาม" in texts[0]
    line.send(text_event("ถามคำถาม", uid))

"""Pieces of the LINE channel that need no database: event parsing, mentions, message limits."""

from __future__ import annotations

import pytest

from bot.line import flex
from bot.line.context import _fit
from bot.line.events import UnparsableEvent, addressed_text, chat_of, parse_event
from bot.line.transport import messages_for
from tests.fake_line_api import (
    BOT_USER_ID,
    follow_event,
    group_id,
    source_group,
    text_event,
    user_id,
)


def test_parse_event_reads_documented_shapes_and_refuses_odd_ones() -> None:
    event = parse_event(follow_event(user_id(1)))
    assert event.type == "follow" and chat_of(event).chat_id == user_id(1)
    odd = text_event("x", user_id(1))
    del odd["message"]["quoteToken"]
    with pytest.raises(UnparsableEvent):
        parse_event(odd)
    with pytest.raises(UnparsableEvent):
        parse_event({**follow_event(user_id(1)), "webhookEventId": None})
    with pytest.raises(UnparsableEvent):
        parse_event(["not", "an", "event"])


def test_mention_is_cut_out_by_utf16_offsets() -> None:
    # "👍 " takes two UTF-16 units before the mention; LINE counts in UTF-16.
    text = "👍 @ICT Helpdesk ปริ้นเตอร์เสียค่ะ"
    mention = {"index": 3, "length": 13, "type": "user", "userId": BOT_USER_ID, "isSelf": True}
    raw = text_event(text, source_group(group_id(1), user_id(2)), mentions=[mention])
    event = parse_event(raw)
    assert addressed_text(event, chat_of(event)) == "👍 ปริ้นเตอร์เสียค่ะ"
    other = {"index": 0, "length": 5, "type": "user", "userId": user_id(3), "isSelf": False}
    raw = text_event("@Somchai ไปกินข้าวไหม", source_group(group_id(1), user_id(2)), mentions=[other])
    event = parse_event(raw)
    assert addressed_text(event, chat_of(event)) is None


def test_limits_of_line_messages() -> None:
    assert len(flex.text_message("ก" * 6000)["text"]) == 5000
    many = [flex.message_action(f"ตัวเลือกที่ยาวมากเกินยี่สิบตัวอักษร {i}", "x") for i in range(20)]
    message = flex.text_message("เลือก", many)
    assert len(message["quickReply"]["items"]) == 13
    assert all(len(i["action"]["label"]) <= 20 for i in message["quickReply"]["items"])
    with pytest.raises(ValueError):
        flex.postback_data(a="x" * 400)
    out = flex.card("หัวข้อ", "ข" * 3000, alt="ค" * 500)
    assert out.messages[0]["type"] == "text"  # too long for a card: text with the buttons as quick replies
    out = flex.card("หัวข้อ", "คำตอบ\n\n\n\nบรรทัดถัดไป", alt="ค" * 500)
    assert len(out.messages[0]["altText"]) == 400
    assert "\n\n\n" not in str(out.messages[0]["contents"])


def test_at_most_five_messages_and_the_last_keeps_the_quick_replies() -> None:
    msgs = [flex.text_message(str(i), [flex.message_action("ก", "ก")] if i == 1 else None) for i in range(7)]
    fitted = _fit(msgs)
    assert len(fitted) == 5 and [m["text"] for m in fitted] == ["0", "1", "2", "3", "6"]
    assert "quickReply" in fitted[-1] and all("quickReply" not in m for m in fitted[:-1])


def test_payloads_written_by_other_parts_of_the_service() -> None:
    messages, fallback = messages_for({"type": "text", "text": "เจ้าหน้าที่ตอบแล้ว", "subject": "x"})
    assert messages == fallback == [{"type": "text", "text": "เจ้าหน้าที่ตอบแล้ว"}]
    messages, fallback = messages_for({"type": "followup", "token": "t" * 90, "ticket_number": "ICT-2569-000001",
                                       "text": "สอบถามผล"})
    assert messages[0]["type"] == "flex" and fallback[0]["type"] == "text"
    assert messages_for({"type": "text", "text": ""}) == ([], [])

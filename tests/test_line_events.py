"""Every webhook event type, shaped as LINE documents it, through the real handler, pipeline and engine."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.line.models import LineContentJob, LineConversation
from helpdesk.db import session_scope, write_session
from tests.fake_line_api import (
    LineHarness,
    file_event,
    follow_event,
    group_id,
    image_event,
    join_event,
    leave_event,
    location_event,
    make_line_harness,
    postback_event,
    room_id,
    source_group,
    source_room,
    sticker_event,
    text_event,
    unfollow_event,
    unsend_event,
    user_id,
    video_event,
)
from tickets.models import Attachment, InboundEvent, Message, Rating, Requester, School, Ticket

SENDS = ("/v2/bot/message/reply", "/v2/bot/message/push")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000 + b"\xff\xd9"


@pytest.fixture
def line(env, monkeypatch, fake) -> Iterator[LineHarness]:  # type: ignore[no-untyped-def]
    harness = make_line_harness(env, monkeypatch, fake, LINE_MAX_ATTACHMENT_BYTES="100000")
    yield harness
    harness.close()


def texts_of(line: LineHarness, records) -> list[str]:  # type: ignore[no-untyped-def]
    return line.fake.texts([r for r in records if r.status == 200 and r.path in SENDS])


def requester(line: LineHarness, uid: str) -> Requester:
    with session_scope(line.services.session_factory) as s:
        return s.scalar(select(Requester).where(Requester.line_user_id == uid))


def test_follow_welcomes_gives_the_pdpa_notice_and_asks_for_the_school(line: LineHarness) -> None:
    with write_session(line.services.engine) as s:
        office_id = line.services.office_id
        s.add_all([School(office_id=office_id, name="โรงเรียนบ้านหนองบัว", aliases=["หนองบัว"]),
                   School(office_id=office_id, name="โรงเรียนบ้านโนนสูง"),
                   School(office_id=office_id, name="โรงเรียนอนุบาลเมือง", code="1034")])
    uid = user_id("follow")
    records = line.send(follow_event(uid))
    replies = [r for r in records if r.path == "/v2/bot/message/reply"]
    assert len(replies) == 1  # one reply token, one request
    messages = replies[0].json["messages"]
    assert len(messages) == 3
    texts = texts_of(line, records)
    assert "ยินดีต้อนรับ" in texts[0] and "ข้อมูลส่วนบุคคล" in texts[1] and "โรงเรียน" in texts[2]
    assert requester(line, uid).following is True
    # A typo'd school name is matched against the office's list.
    assert any("หนองบัว" in t for t in line.say(uid, "รร.บ้านหนองบวั"))
    with session_scope(line.services.session_factory) as s:
        r = s.scalar(select(Requester).where(Requester.line_user_id == uid))
        assert r.school is not None and r.school.name == "โรงเรียนบ้านหนองบัว"
        assert s.scalar(select(LineConversation)) is None


def test_school_question_gives_way_to_a_real_question(line: LineHarness) -> None:
    uid = user_id("follow2")
    line.send(follow_event(uid))
    texts = line.say(uid, "อินเทอร์เน็ตที่โรงเรียนใช้ไม่ได้ทั้งอาคารค่ะ")
    assert any("ICT-" in t for t in texts)  # answered and registered, not taken as a school name
    assert requester(line, uid).school_text is None


def test_school_can_be_skipped_or_typed_when_not_listed(line: LineHarness) -> None:
    a, b = user_id("skip"), user_id("typed")
    line.send(follow_event(a), follow_event(b))
    assert any("ไม่เป็นไร" in t for t in line.say(a, "ข้าม"))
    assert any("โรงเรียนวัดใหม่" in t for t in line.say(b, "โรงเรียนวัดใหม่"))
    assert requester(line, b).school_text == "โรงเรียนวัดใหม่"


def test_unfollow_is_marked_and_nothing_is_sent(line: LineHarness) -> None:
    uid = user_id("unfollow")
    line.send(follow_event(uid))
    records = line.send(unfollow_event(uid))
    assert not [r for r in records if r.path in SENDS]
    assert requester(line, uid).following is False


def test_image_is_fetched_and_attached_to_the_open_ticket(line: LineHarness) -> None:
    uid = user_id("image")
    line.say(uid, "คอมพิวเตอร์ห้องธุรการเปิดไม่ติดค่ะ")
    event = image_event(uid)
    line.fake.add_content(event["message"]["id"], JPEG, "image/jpeg")
    texts = texts_of(line, line.send(event))
    with session_scope(line.services.session_factory) as s:
        ticket = s.scalar(select(Ticket))
        assert any(ticket.number in t for t in texts)
        att = s.scalar(select(Attachment))
        assert att.data == JPEG and att.content_type == "image/jpeg" and att.size == len(JPEG)
        assert att.message.ticket_id == ticket.id and att.skipped_reason is None
        assert s.scalar(select(LineContentJob)).status == "done"
    fetches = line.fake.requests(f"/v2/bot/message/{event['message']['id']}/content")
    assert len(fetches) == 1 and fetches[0].headers["Authorization"].startswith("Bearer ")


def test_media_before_the_text_joins_the_new_ticket_and_sets_answer_once(line: LineHarness) -> None:
    uid = user_id("imageset")
    set_id = "E005D41A7288F41B65593ED38FF6E9834B046AB36A37921A56BC236F13A91855"
    first, second = image_event(uid, image_set=(set_id, 1, 2)), image_event(uid, image_set=(set_id, 2, 2))
    for e in (first, second):
        line.fake.add_content(e["message"]["id"], JPEG)
    records = line.send(first, second)
    assert len([r for r in records if r.path in SENDS and r.status == 200]) == 1
    line.say(uid, "ปริ้นเตอร์ขึ้นไฟแดงกระพริบ พิมพ์ไม่ออกตามรูปค่ะ")
    with session_scope(line.services.session_factory) as s:
        ticket = s.scalar(select(Ticket))
        media = s.scalars(select(Message).where(Message.meta["kind"].as_string() == "image")).all()
        assert len(media) == 2 and {m.ticket_id for m in media} == {ticket.id}


def test_file_over_the_limit_is_not_fetched(line: LineHarness) -> None:
    uid = user_id("bigfile")
    event = file_event(uid, file_name="แบบฟอร์ม.pdf", file_size=5_000_000)
    texts = texts_of(line, line.send(event))
    assert any("แบบฟอร์ม.pdf" in t and "ใหญ่เกิน" in t for t in texts)
    assert not line.fake.requests(f"/v2/bot/message/{event['message']['id']}/content")
    with session_scope(line.services.session_factory) as s:
        att = s.scalar(select(Attachment))
        assert att.data is None and att.size == 5_000_000 and "เกิน" in att.skipped_reason


def test_video_larger_than_the_limit_is_cut_off_while_streaming(line: LineHarness) -> None:
    uid = user_id("video")
    event = video_event(uid)
    line.fake.add_content(event["message"]["id"], b"v" * 300_000, "video/mp4")
    line.send(event)
    with session_scope(line.services.session_factory) as s:
        att = s.scalar(select(Attachment))
        assert att.data is None and "เกิน" in att.skipped_reason
        assert s.scalar(select(LineContentJob)).status == "skipped"


def test_content_gone_is_recorded(line: LineHarness) -> None:
    line.send(image_event(user_id("gone")))  # no content at the fake: 404
    with session_scope(line.services.session_factory) as s:
        assert s.scalar(select(LineContentJob)).status == "failed"
        assert s.scalar(select(Attachment)).skipped_reason == "LINE ไม่มีไฟล์นี้แล้ว"


def test_sticker_gets_a_friendly_reply(line: LineHarness) -> None:
    texts = texts_of(line, line.send(sticker_event(user_id("sticker"))))
    assert texts and ("สติกเกอร์" in texts[0] or "ยินดี" in texts[0])


def test_postbacks_solved_rating_and_person(line: LineHarness) -> None:
    uid = user_id("postback")
    line.say(uid, "DMC ต้องส่งข้อมูลรอบไหนบ้างคะ")
    with session_scope(line.services.session_factory) as s:
        number = s.scalar(select(Ticket.number))
    texts = texts_of(line, line.send(postback_event(f"a=ok&t={number}", uid)))
    assert any(number in t for t in texts)
    rate = [r for r in line.fake.delivered()][-1].json["messages"][-1]["quickReply"]["items"]
    assert len(rate) == 5 and rate[0]["action"]["data"].startswith("a=rate")
    line.send(postback_event(rate[0]["action"]["data"], uid))
    with session_scope(line.services.session_factory) as s:
        rating = s.scalar(select(Rating))
        assert (rating.solved, rating.score) == (True, 5)
        assert s.scalar(select(Ticket.status)) == "resolved"
    texts = texts_of(line, line.send(postback_event(f"a=human&t={number}", uid)))
    assert any(number in t and "เจ้าหน้าที่" in t for t in texts)
    with session_scope(line.services.session_factory) as s:
        ticket = s.scalar(select(Ticket))
        assert ticket.status == "open" and ticket.handoff is True


def test_postback_choosing_an_offered_article_and_a_strangers_ticket(line: LineHarness) -> None:
    uid, other = user_id("choose"), user_id("stranger")
    line.say(uid, "DMC ต้องส่งข้อมูลรอบไหนบ้างคะ")
    with session_scope(line.services.session_factory) as s:
        number = s.scalar(select(Ticket.number))
    article = line.services.knowledge().articles[0]
    texts = texts_of(line, line.send(postback_event(f"a=art&id={article.id}&t={number}", uid)))
    assert any(article.title in t for t in texts)
    assert any("ที่มา" in t for t in texts)
    with session_scope(line.services.session_factory) as s:
        assert s.scalar(select(Ticket.article_id)) == article.id
    # Someone else pressing a button with that ticket number changes nothing on it.
    line.send(postback_event(f"a=ok&t={number}", other))
    line.send(postback_event("a=nonsense", other))
    with session_scope(line.services.session_factory) as s:
        assert s.scalar(select(Rating)) is None


def test_group_messages_are_answered_only_when_the_bot_is_mentioned(line: LineHarness) -> None:
    gid, uid = group_id(1), user_id("member")
    chatter = text_event("พรุ่งนี้ประชุมกี่โมงคะ", source_group(gid, uid))
    records = line.send(chatter)
    assert not [r for r in records if r.path in SENDS]
    with session_scope(line.services.session_factory) as s:
        row = s.scalar(select(InboundEvent))
        assert "ประชุม" not in row.payload.decode()  # nothing of people's own talk is kept
        assert s.scalar(select(Message)) is None
    mention = text_event("เน็ตโรงเรียนใช้ไม่ได้ค่ะ", source_group(gid, uid), mention_self=True)
    records = line.send(mention)
    replies = [r for r in records if r.path == "/v2/bot/message/reply"]
    assert len(replies) == 1 and line.fake.reply_target(replies[0].json["replyToken"]) == gid
    with session_scope(line.services.session_factory) as s:
        inbound = s.scalar(select(Message).where(Message.direction == "in"))
        assert inbound.text == "เน็ตโรงเรียนใช้ไม่ได้ค่ะ" and inbound.ticket_id is not None
    # A room works the same; without the person's user id the room itself is the requester.
    line.send(text_event("สวัสดีค่ะ", source_room(room_id(1)), mention_self=True))
    with session_scope(line.services.session_factory) as s:
        assert s.scalar(select(Requester).where(Requester.line_user_id == room_id(1))) is not None


def test_unsend_marks_the_stored_message_withdrawn(line: LineHarness) -> None:
    uid = user_id("unsend")
    event = text_event("เบอร์โทรของฉันคือ 081xxxxxxx", uid)
    line.send(event)
    records = line.send(unsend_event(uid, event["message"]["id"]))
    assert not [r for r in records if r.path in SENDS]
    with session_scope(line.services.session_factory) as s:
        inbound = s.scalar(select(Message).where(Message.direction == "in"))
        assert inbound.withdrawn_at is not None


def test_other_events_are_ignored_gracefully(line: LineHarness) -> None:
    gid = group_id(9)
    odd = {"type": "videoPlayComplete", "mode": "active", "timestamp": 1, "source": {"type": "user",
           "userId": user_id("v")}, "webhookEventId": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
           "deliveryContext": {"isRedelivery": False}, "replyToken": "abc", "videoPlayComplete": {"trackingId": "t"}}
    records = line.send(join_event(source_group(gid)), leave_event(source_group(gid)), odd,
                        location_event(source_group(gid, user_id("l"))))
    assert not [r for r in records if r.path in SENDS]
    with session_scope(line.services.session_factory) as s:
        assert set(s.scalars(select(InboundEvent.status))) == {"done"}
    texts = texts_of(line, line.send(location_event(user_id("loc"))))
    assert texts and "ข้อความ" in texts[0]


def test_payload_of_a_malformed_stored_event_fails_permanently(line: LineHarness) -> None:
    from bot.inbox import store_event

    with write_session(line.services.engine) as s:
        store_event(s, office_id=line.services.office_id, source="line", source_id="broken",
                    payload=json.dumps({"type": "message"}).encode())
    assert line.process() == ["failed"]


def test_staff_reply_and_follow_up_buttons(line: LineHarness) -> None:
    from datetime import timedelta

    from bot import outbox
    from tickets import followup
    from tickets.models import FollowUp, utcnow

    uid = user_id("followup")
    line.say(uid, "DMC ต้องส่งข้อมูลรอบไหนบ้างคะ")
    with write_session(line.services.engine) as s:
        ticket = s.scalar(select(Ticket))
        ticket.status = "resolved"
        ticket.resolved_at = utcnow()
        # A staff reply written by the admin app: plain text, pushed.
        outbox.enqueue(s, office_id=ticket.office_id, channel="line", recipient=uid,
                       payload={"type": "text", "text": "เจ้าหน้าที่ตรวจสอบให้แล้วค่ะ", "subject": "x"},
                       dedupe_key="staff-reply:1", ticket_id=ticket.id)
        s.add(FollowUp(office_id=ticket.office_id, ticket_id=ticket.id, due_at=utcnow() - timedelta(minutes=1),
                       status="scheduled"))
        s.flush()
        settings = line.services.settings
        assert followup.send_due(s, utcnow(), settings.secret_key, settings.public_base_url) == 1
        number = ticket.number
    line.deliver()
    pushes = line.fake.requests("/v2/bot/message/push")
    assert [p.json["to"] for p in pushes] == [uid, uid]
    assert pushes[0].json["messages"] == [{"type": "text", "text": "เจ้าหน้าที่ตรวจสอบให้แล้วค่ะ"}]
    card = pushes[1].json["messages"][0]
    assert card["type"] == "flex" and number in json.dumps(card, ensure_ascii=False)
    buttons = {}

    def walk(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            if node.get("type") == "postback":
                buttons[node["label"]] = node["data"]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(card)
    assert {"แก้ไขแล้ว", "ยังไม่ได้", "เข้าใจ", "ไม่เข้าใจ", "5", "1"} <= set(buttons)
    assert all(len(d) <= 300 for d in buttons.values())
    line.send(postback_event(buttons["แก้ไขแล้ว"], uid))
    # Someone else pressing the same button changes nothing.
    texts = texts_of(line, line.send(postback_event(buttons["ยังไม่ได้"], user_id("other-fu"))))
    assert texts == ["ขออภัยค่ะ ไม่พบเรื่องนี้ในรายการของท่าน"]
    line.send(postback_event(buttons["เข้าใจ"], uid))
    texts = texts_of(line, line.send(postback_event(buttons["4"], uid)))
    assert any("ขอบคุณ" in t for t in texts)
    with session_scope(line.services.session_factory) as s:
        rating = s.scalar(select(Rating).where(Rating.follow_up_id.is_not(None)))
        assert (rating.solved, rating.understood, rating.score, rating.channel) == (True, True, 4, "line")
        assert s.scalar(select(Ticket.status)) == "closed"

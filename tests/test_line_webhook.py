"""POST /line/webhook with the real SDK's signature check: verify, store first, ack; then the answer
reaches the fake LINE API by reply (fresh token) or push (X-Line-Retry-Key)."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, select

from helpdesk.db import session_scope
from tests.fake_line_api import (
    TEST_ACCESS_TOKEN,
    LineHarness,
    follow_event,
    make_line_harness,
    sign,
    text_event,
    user_id,
    webhook_body,
)
from tickets.models import InboundEvent, Message, OutboxMessage, Ticket


def count(harness: LineHarness, model) -> int:  # type: ignore[no-untyped-def]
    with session_scope(harness.services.session_factory) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------------------------------------- verification


def test_missing_or_wrong_signature_is_refused_and_nothing_stored(line: LineHarness) -> None:
    event = text_event("สวัสดี", user_id(1))
    body = webhook_body([event])
    assert line.post(body=body, headers={"X-Line-Signature": None}).status_code == 400  # type: ignore[dict-item]
    assert line.post(body=body, signature="AAAA" + sign(body)[4:]).status_code == 400
    assert line.post(body=body, secret="another-channel-secret-000000000").status_code == 400
    # Signed over other bytes than those sent (a re-serialised body does not pass).
    assert line.post(body=body.replace(b'":"', b'": "'), signature=sign(body)).status_code == 400
    assert count(line, InboundEvent) == 0


def test_body_over_one_megabyte_is_refused(line: LineHarness) -> None:
    big = text_event("ก" * 10, user_id(1))
    big["padding"] = "x" * (1024 * 1024 + 10)
    body = webhook_body([big])
    assert line.post(body=body).status_code == 413
    assert count(line, InboundEvent) == 0


def test_malformed_json_with_a_valid_signature_is_400_and_logged(line: LineHarness,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert line.post(body=b'{"events": [').status_code == 400
    assert line.post(body=b'{"destination": "x"}').status_code == 400
    assert line.post(body=b"\xff\xfe not utf-8").status_code == 400
    assert "malformed JSON" in caplog.text
    assert count(line, InboundEvent) == 0


def test_console_verification_request_is_ok(line: LineHarness) -> None:
    response = line.post(body=b'{"destination":"Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","events":[]}')
    assert response.status_code == 200
    assert count(line, InboundEvent) == 0


# ---------------------------------------------------------------------------------------------- store first


def test_events_are_stored_once_and_redeliveries_are_not_processed_twice(line: LineHarness) -> None:
    uid = user_id("store")
    event = text_event("ปริ้นเตอร์พิมพ์ไม่ออกค่ะ", uid)
    assert line.post(event).status_code == 200
    with session_scope(line.services.session_factory) as s:
        row = s.scalar(select(InboundEvent))
        assert row.source == "line" and row.source_id == event["webhookEventId"]
        assert json.loads(row.payload)["message"]["text"] == "ปริ้นเตอร์พิมพ์ไม่ออกค่ะ"
        assert row.status == "pending"
    # LINE retries the same event (our 200 was lost): same webhookEventId, isRedelivery true.
    again = json.loads(json.dumps(event))
    again["deliveryContext"]["isRedelivery"] = True
    assert line.post(again).status_code == 200
    assert line.post(event).status_code == 200
    assert count(line, InboundEvent) == 1
    assert line.process() == ["done"]
    assert line.post(again).status_code == 200
    assert line.process() == []
    assert len(line.fake.delivered()) == 1
    with session_scope(line.services.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) == 1


def test_odd_events_are_skipped_without_failing_the_batch(line: LineHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    uid = user_id("odd")
    good = text_event("ลืมรหัสผ่านเข้าระบบ DMC ค่ะ", uid)
    no_quote = text_event("ข้อความเก่า", uid)
    del no_quote["message"]["quoteToken"]  # the SDK cannot read it
    no_id = text_event("ไม่มีรหัสเหตุการณ์", uid)
    del no_id["webhookEventId"]
    unknown = {**text_event("x", uid), "type": "somethingNew"}
    del unknown["message"]
    response = line.post(no_quote, good, no_id, unknown, "not an event")  # type: ignore[arg-type]
    assert response.status_code == 200
    with session_scope(line.services.session_factory) as s:
        ids = list(s.scalars(select(InboundEvent.source_id)))
    assert ids == [good["webhookEventId"]]
    assert caplog.text.count("skipped one") == 4


# ---------------------------------------------------------------------------------------------- answers


def test_text_message_is_answered_by_reply_while_the_token_is_fresh(line: LineHarness) -> None:
    uid = user_id("reply")
    event = text_event("เครื่องปริ้นเตอร์พิมพ์ไม่ออก กระดาษติด", uid)
    records = line.send(event)
    replies = [r for r in records if r.path == "/v2/bot/message/reply"]
    assert len(replies) == 1 and replies[0].status == 200
    assert replies[0].headers["Authorization"] == f"Bearer {TEST_ACCESS_TOKEN}"
    assert replies[0].json["replyToken"] == event["replyToken"]
    assert not [r for r in records if r.path == "/v2/bot/message/push"]
    with session_scope(line.services.session_factory) as s:
        ticket = s.scalar(select(Ticket))
        assert ticket is not None and ticket.channel == "line"
        texts = line.fake.texts(replies)
        assert any(ticket.number in t for t in texts)
        item = s.scalar(select(OutboxMessage))
        assert item.status == "sent" and item.ticket_id == ticket.id
        out = s.get(Message, item.message_id)
        assert out.delivery_state == "sent" and out.channel_message_id
        inbound = s.scalar(select(Message).where(Message.direction == "in"))
        assert inbound.channel_message_id == event["message"]["id"]


def test_stale_token_is_not_used_and_the_answer_is_pushed_with_a_retry_key(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    line = make_line_harness(env, monkeypatch, fake, LINE_REPLY_TOKEN_TTL="0")
    try:
        uid = user_id("stale")
        records = line.send(text_event("อินเทอร์เน็ตโรงเรียนใช้ไม่ได้ค่ะ", uid))
        assert not [r for r in records if r.path == "/v2/bot/message/reply"]
        pushes = [r for r in records if r.path == "/v2/bot/message/push"]
        assert len(pushes) == 1 and pushes[0].json["to"] == uid
        with session_scope(line.services.session_factory) as s:
            item = s.scalar(select(OutboxMessage))
        assert pushes[0].headers["X-Line-Retry-Key"] == item.retry_key
    finally:
        line.close()


def test_redelivered_event_seen_first_time_is_answered_by_push(line: LineHarness) -> None:
    uid = user_id("redeliver")
    event = text_event("สอบถามการขอบัญชีอีเมลราชการค่ะ", uid, redelivery=True)
    records = line.send(event)
    assert [r.path for r in records if r.path.startswith("/v2/bot/message/")] == ["/v2/bot/message/push"]


def test_reply_refused_as_invalid_token_falls_back_to_push(line: LineHarness) -> None:
    uid = user_id("used")
    event = text_event("จานดาวเทียม DLTV ไม่มีสัญญาณค่ะ", uid)
    line.fake.state.used_reply_tokens.add(event["replyToken"])  # e.g. LINE already expired it
    records = line.send(event)
    assert [(r.path, r.status) for r in records if r.path.startswith("/v2/bot/message/")] == [
        ("/v2/bot/message/reply", 400), ("/v2/bot/message/push", 200)]


def test_service_starts_without_line_credentials(env, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    import bot.line.runtime as runtime_module
    from bot.line import init_app
    from helpdesk import migrate
    from helpdesk.app import create_app

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(runtime_module, "_said_disabled", False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("LINE_CHANNEL_SECRET", raising=False)
    monkeypatch.delenv("LINE_CHANNEL_ACCESS_TOKEN", raising=False)
    app = create_app({"TESTING": True})
    migrate.upgrade(app.extensions["helpdesk"].engine)
    init_app(app)
    init_app(app)  # idempotent
    body = webhook_body([follow_event(user_id(5))])
    response = app.test_client().post("/line/webhook", data=body, headers={"X-Line-Signature": sign(body)})
    assert response.status_code == 404
    assert app.test_client().get("/healthz").status_code == 200
    assert caplog.text.count("LINE disabled") == 1
    app.extensions["helpdesk"].dispose()

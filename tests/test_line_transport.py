"""The LINE outbox transport with the real SDK client against the fake LINE API: reply vs push, retries
with Retry-After and backoff, X-Line-Retry-Key, ambiguous outcomes, permanent failures, Flex fallback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import outbox
from bot.line.client import LineClient, classify
from bot.line.options import LineOptions
from bot.line.transport import LineTransport, backoff_seconds
from helpdesk.db import session_scope, write_session
from tests.fake_line_api import TEST_ACCESS_TOKEN, FakeLineApi, user_id
from tickets import registry
from tickets.models import AuditLog, OutboxMessage, utcnow

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
FLEX = {"type": "flex", "altText": "คำตอบ", "contents": {"type": "bubble", "body": {
    "type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "คำตอบ", "wrap": True}]}}}
PLAIN = {"type": "text", "text": "คำตอบแบบข้อความ"}


def options_for(fake: FakeLineApi, **kw: Any) -> LineOptions:
    base = dict(channel_secret="s" * 32, access_token=TEST_ACCESS_TOKEN, api_base_url=fake.url,
                data_api_base_url=fake.url, public_base_url="http://127.0.0.1:8000", retry_base=0.05,
                retry_cap=0.4, connect_timeout=0.5, read_timeout=0.5)
    return LineOptions(**{**base, **kw})


class Box:
    def __init__(self, services: Any, fake: FakeLineApi, **kw: Any) -> None:
        self.services = services
        self.fake = fake
        self.options = options_for(fake, **kw)
        self.client = LineClient(self.options)
        self.transport = LineTransport(self.client, self.options, services.engine)

    def enqueue(self, *, token: bool = True, ttl: float = 50.0, messages: list[dict[str, Any]] | None = None,
                fallback: list[dict[str, Any]] | None = None, ticket: bool = False) -> tuple[int, str, str | None]:
        uid = user_id(time.time_ns())
        reply_token = self.fake.issue_reply_token() if token else None
        with write_session(self.services.engine) as s:
            office_id = self.services.office_id
            ticket_id = None
            if ticket:
                ticket_id = registry.open_ticket(s, office_id=office_id, channel="line", actor="bot").id
            payload: dict[str, Any] = {"to": uid, "messages": messages or [PLAIN], "fallback": fallback or [PLAIN]}
            if reply_token:
                payload.update(reply_token=reply_token, reply_deadline=time.time() + ttl)
            item = outbox.enqueue(s, office_id=office_id, channel="line", recipient=uid, payload=payload,
                                  dedupe_key=f"test:{uid}", ticket_id=ticket_id)
            return item.id, uid, reply_token

    def deliver(self) -> outbox.DeliveryReport:
        return outbox.deliver_due(self.services.engine, {"line": self.transport})

    def item(self, item_id: int) -> OutboxMessage:
        with session_scope(self.services.session_factory) as s:
            return s.get(OutboxMessage, item_id)

    def make_due(self, item_id: int) -> None:
        with write_session(self.services.engine) as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == item_id).values(next_attempt_at=utcnow()))


@pytest.fixture
def box(services, fake) -> Iterator[Box]:  # type: ignore[no-untyped-def]
    b = Box(services, fake)
    yield b
    b.client.close()


def test_reply_while_fresh_else_push_with_retry_key(box: Box) -> None:
    fresh, _, token = box.enqueue()
    stale, uid, _ = box.enqueue(ttl=-1)
    assert box.deliver().sent == 2
    reply = box.fake.requests(REPLY)
    push = box.fake.requests(PUSH)
    assert [r.json["replyToken"] for r in reply] == [token]
    assert [r.json["to"] for r in push] == [uid]
    assert push[0].headers["X-Line-Retry-Key"] == box.item(stale).retry_key
    assert box.item(fresh).status == box.item(stale).status == "sent"


def test_429_retry_after_is_honoured(box: Box) -> None:
    item_id, _, _ = box.enqueue()
    box.fake.fail(REPLY, 429, retry_after=7, message="Too Many Requests")
    before = utcnow()
    assert box.deliver().retried == 1
    item = box.item(item_id)
    assert item.status == "pending" and "429" in (item.last_error or "")
    assert timedelta(seconds=6) <= item.next_attempt_at - before <= timedelta(seconds=9)
    box.make_due(item_id)
    assert box.deliver().sent == 1
    assert [r.status for r in box.fake.requests(REPLY)] == [429, 200]
    assert not box.fake.requests(PUSH)


def test_unreachable_api_is_retried_and_pushed_once_the_token_is_too_old(box: Box) -> None:
    item_id, uid, _ = box.enqueue(ttl=0.3)
    box.fake.go_down()
    try:
        assert box.deliver().retried == 1
        item = box.item(item_id)
        assert item.status == "pending" and "unreachable" in (item.last_error or "")
        # The retry is not scheduled past the token's deadline for nothing.
        assert item.next_attempt_at - utcnow() <= timedelta(seconds=0.4)
    finally:
        time.sleep(0.35)
        box.fake.come_up()
    box.make_due(item_id)
    assert box.deliver().sent == 1
    assert [r.path for r in box.fake.requests("/v2/bot/message/")] == [PUSH]
    assert box.fake.requests(PUSH)[0].json["to"] == uid


def test_reply_timed_out_but_done_is_not_sent_twice(box: Box) -> None:
    item_id, _, _ = box.enqueue()
    box.fake.slow(REPLY, 0.9)  # LINE acts on it, the answer comes after our read timeout
    assert box.deliver().retried == 1
    assert box.item(item_id).payload["reply_pending"] is True
    box.make_due(item_id)
    assert box.deliver().sent == 1
    # The retry heard "Invalid reply token": the first attempt used it. No push.
    assert [r.status for r in box.fake.requests(REPLY)] == [200, 400]
    assert not box.fake.requests(PUSH)
    assert len(box.fake.delivered()) == 1


def test_dropped_connection_before_acting_is_retried(box: Box) -> None:
    item_id, _, _ = box.enqueue()
    box.fake.drop(REPLY)
    assert box.deliver().retried == 1
    box.make_due(item_id)
    assert box.deliver().sent == 1
    assert len(box.fake.delivered()) == 1 and box.fake.delivered()[0].path == REPLY


def test_push_answer_lost_then_retried_is_not_duplicated(box: Box) -> None:
    item_id, _, _ = box.enqueue(token=False)
    box.fake.lose_response(PUSH)  # accepted by LINE, the connection drops before the answer
    assert box.deliver().retried == 1
    box.make_due(item_id)
    assert box.deliver().sent == 1
    pushes = box.fake.requests(PUSH)
    assert [r.status for r in pushes] == [200, 409]
    assert pushes[0].headers["X-Line-Retry-Key"] == pushes[1].headers["X-Line-Retry-Key"]
    assert len(box.fake.delivered()) == 1


def test_server_error_on_push_retries_with_the_same_key(box: Box) -> None:
    item_id, _, _ = box.enqueue(token=False)
    box.fake.fail(PUSH, 500, times=2)
    assert box.deliver().retried == 1
    box.make_due(item_id)
    assert box.deliver().retried == 1
    box.make_due(item_id)
    assert box.deliver().sent == 1
    keys = {r.headers["X-Line-Retry-Key"] for r in box.fake.requests(PUSH)}
    assert len(keys) == 1 and len(box.fake.delivered()) == 1


@pytest.mark.parametrize("status", [400, 403])
def test_permanent_failure_is_recorded_on_the_ticket(box: Box, status: int) -> None:
    item_id, _, _ = box.enqueue(token=False, ticket=True)
    box.fake.fail(PUSH, status, times=None, message="The user has blocked the account" if status == 403 else "bad")
    assert box.deliver().failed == 1
    item = box.item(item_id)
    assert item.status == "failed" and str(status) in (item.last_error or "")
    with session_scope(box.services.session_factory) as s:
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "delivery_failed"))
        assert entry is not None and entry.ticket_id == item.ticket_id


def test_rejected_flex_is_sent_as_plain_text(box: Box) -> None:
    box.fake.state.reject_flex = True
    box.enqueue(messages=[FLEX], fallback=[PLAIN])
    box.enqueue(token=False, messages=[FLEX], fallback=[PLAIN])
    assert box.deliver().sent == 2
    delivered = box.fake.delivered()
    assert [r.json["messages"][0]["type"] for r in delivered] == ["text", "text"]


def test_backoff_grows_to_its_ceiling() -> None:
    options = LineOptions(None, None, "http://x", "http://x", "http://x", retry_base=1.0, retry_cap=60.0)
    assert [backoff_seconds(n, options) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_failures_are_sorted_by_what_they_mean() -> None:
    import urllib3
    from linebot.v3.messaging.exceptions import ApiException

    refused = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
    assert classify(refused).outcome == "not_sent"
    assert classify(urllib3.exceptions.ProtocolError("reset")).outcome == "ambiguous"
    assert classify(urllib3.exceptions.ReadTimeoutError(None, "/", "timeout")).outcome == "ambiguous"  # type: ignore[arg-type]
    e = ApiException(status=429)
    e.body, e.headers = '{"message":"Too Many Requests"}', {"Retry-After": "3"}
    assert (classify(e).outcome, classify(e).retry_after) == ("not_sent", 3.0)
    for status, outcome in ((500, "ambiguous"), (503, "ambiguous"), (400, "permanent"), (403, "permanent"),
                            (401, "not_sent")):
        err = ApiException(status=status)
        err.body = '{"message":"x"}'
        assert classify(err).outcome == outcome, status


def test_every_message_we_send_is_what_the_sdk_models_would_send(line) -> None:  # type: ignore[no-untyped-def]
    """Replies and pushes go out as prebuilt JSON (bot.line.client._Prebuilt), without the SDK's model
    round trip. So each kind we send must come out of the SDK's own Message models unchanged."""
    from linebot.v3.messaging import Message as SdkMessage

    from tests.fake_line_api import follow_event, postback_event, sticker_event, text_event, user_id

    uid = user_id("sdk-shapes")
    line.send(follow_event(uid))
    for text in ("DLTV กับ DLIT ต่างกันยังไงคะ", "คอมพิวเตอร์ห้องธุรการเปิดไม่ติดด่วนมาก", "สถานะ", "แจ้งซ่อม",
                 "โปรเจกเตอร์", "ภาพไม่ขึ้น", "ห้องประชุม", "ข้าม", "ติดต่อเจ้าหน้าที่", "1", "ขอบคุณค่ะ"):
        line.send(text_event(text, uid))
    line.send(sticker_event(uid))
    line.send(postback_event("action=rate&score=5", uid))
    sent = [r for r in line.fake.requests() if r.path in ("/v2/bot/message/reply", "/v2/bot/message/push")]
    messages = [m for r in sent for m in r.json["messages"]]
    kinds = {m["type"] for m in messages}
    assert {"text", "flex"} <= kinds and any("quickReply" in m for m in messages)
    for m in messages:
        assert SdkMessage.from_dict(m).to_dict() == m, m

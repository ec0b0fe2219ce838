"""Fault runs: the background lanes, a worker killed mid-batch, and the LINE API down for a while.

The suite shortens the clocks (lease, backoff, token life); scripts/bench_line.py runs the same faults
with the real ones (60 s outage)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from helpdesk.db import session_scope
from tests.fake_line_api import (
    LineHarness,
    line_env,
    make_line_harness,
    text_event,
    user_id,
)
from tickets.models import EventStatus, InboundEvent, Message, OutboxMessage

ROOT = Path(__file__).resolve().parents[1]
SENDS = ("/v2/bot/message/reply", "/v2/bot/message/push")
QUESTIONS = [
    "ปริ้นเตอร์พิมพ์ไม่ออกค่ะ", "เน็ตโรงเรียนใช้ไม่ได้", "ลืมรหัสผ่าน DMC ค่ะ", "จานดาวเทียม DLTV ไม่มีสัญญาณ",
    "ขอยืมโปรเจคเตอร์ไปใช้ประชุม", "สวัสดีค่ะ", "ขอบคุณค่ะ", "ระบบ AMSS เข้าไม่ได้", "อยากได้ลิงก์ประชุม Zoom",
    "คอมห้องธุรการจอฟ้า", "ขอสเปกคอมพิวเตอร์สำหรับจัดซื้อ", "ขอเข้ารับการอบรมทำเว็บโรงเรียน",
]


def status_counts(line: LineHarness) -> Counter[str]:
    with session_scope(line.services.session_factory) as s:
        return Counter(dict(s.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status)).all()))


def wait(predicate, timeout: float, step: float = 0.02) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def assert_exactly_once(line: LineHarness, events: list[dict]) -> None:  # type: ignore[type-arg]
    """Every event: done, one inbound message, one outbox item (sent), one answer at LINE."""

    def all_sent() -> bool:  # the sender records "sent" just after LINE answered: allow it a moment
        with session_scope(line.services.session_factory) as s:
            return not s.scalar(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.status != "sent"))

    wait(all_sent, 5)
    with session_scope(line.services.session_factory) as s:
        rows = {r.source_id: r for r in s.scalars(select(InboundEvent))}
        assert set(rows) == {e["webhookEventId"] for e in events}
        assert {r.status for r in rows.values()} == {EventStatus.DONE.value}
        per_event = Counter(s.scalars(select(Message.inbound_event_id).where(Message.direction == "in")))
        assert all(per_event[r.id] == 1 for r in rows.values()), per_event
        items = list(s.scalars(select(OutboxMessage)))
        assert sorted(i.payload["event_id"] for i in items) == sorted(r.id for r in rows.values())
        assert {i.status for i in items} == {"sent"}
    delivered = line.fake.delivered()
    per_chat = Counter()
    for r in delivered:
        body = r.json
        per_chat[body.get("to") or line.fake.reply_target(body["replyToken"])] += 1
    expected = Counter(e["source"]["userId"] for e in events)
    assert per_chat == expected


def before_each_answer(line: LineHarness, hook) -> None:  # type: ignore[no-untyped-def]
    """Run `hook()` each time the LINE runtime asks the knowledge engine for an answer."""
    engine = line.services.knowledge()

    class Hooked:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(engine, name)

        def answer(self, text: str, subject: str | None = None):  # type: ignore[no-untyped-def]
            hook()
            return engine.answer(text, subject=subject)

    line.rt.knowledge_override = Hooked()


def slow_answers(line: LineHarness, delay: float) -> None:
    """Make the knowledge engine take `delay` seconds per answer (a busy lane)."""
    before_each_answer(line, lambda: time.sleep(delay))


def test_background_lanes_answer_each_chat_in_order_and_show_loading(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    line = make_line_harness(env, monkeypatch, fake, LINE_LANES="2", LINE_LOADING_AFTER_SECONDS="0.05")
    try:
        slow_answers(line, 0.15)
        users = [user_id(f"lane{i}") for i in range(3)]
        events = [text_event(QUESTIONS[i], users[i % 3]) for i in range(9)]
        started = time.monotonic()
        for e in events:
            assert line.post(e).status_code == 200
        assert time.monotonic() - started < 1.0  # acked without waiting for the answers
        assert wait(lambda: len(line.fake.delivered()) == 9, 20)
        assert_exactly_once(line, events)
        with session_scope(line.services.session_factory) as s:
            for uid in users:
                sent = [e["message"]["id"] for e in events if e["source"]["userId"] == uid]
                got = list(s.scalars(select(Message.channel_message_id).where(
                    Message.direction == "in", Message.channel_message_id.in_(sent)).order_by(Message.id)))
                assert got == sent
        loading = line.fake.requests("/v2/bot/chat/loading/start")
        assert loading and {r.json["chatId"] for r in loading} <= set(users)
    finally:
        line.close()


def test_an_overloaded_process_sheds_the_loading_animation(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    line = make_line_harness(env, monkeypatch, fake, LINE_LANES="1", LINE_LOADING_AFTER_SECONDS="0.05",
                             LINE_LOADING_SHED_BACKLOG="1", LINE_LANE_BATCH="1")
    try:
        slow_answers(line, 0.2)
        events = [text_event(QUESTIONS[i], user_id(f"shed{i}")) for i in range(4)]
        for e in events:
            assert line.post(e).status_code == 200
        assert wait(lambda: len(line.fake.delivered()) == 4, 20)
        assert_exactly_once(line, events)
        # every answer was late, but the queue behind each one was never empty until the last: no animation
        # while others waited, and at most one for the last event
        assert len(line.fake.requests("/v2/bot/chat/loading/start")) <= 1
    finally:
        line.close()


@contextmanager
def listening(engine, *listeners: tuple[str, Callable[..., None]]) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """SQLAlchemy engine events (name, function) heard while the block runs."""
    for name, fn in listeners:
        sa_event.listen(engine, name, fn)
    try:
        yield
    finally:
        for name, fn in listeners:
            sa_event.remove(engine, name, fn)


def lane_items(line: LineHarness) -> list:  # type: ignore[type-arg]
    """The stored pending events as the webhook hands them to a lane."""
    import json

    from bot.line.runtime import LaneItem

    with session_scope(line.services.session_factory) as s:
        rows = list(s.scalars(select(InboundEvent).where(InboundEvent.status == "pending").order_by(InboundEvent.id)))
        return [LaneItem(r.id, json.loads(r.payload), "") for r in rows]


def test_a_busy_lane_commits_its_batch_once_and_answers_each_event_once(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    line = make_line_harness(env, monkeypatch, fake)
    try:
        users = [user_id(f"batch{i}") for i in range(3)]
        events = [text_event(QUESTIONS[i], users[i % 3]) for i in range(6)]
        events.append(text_event("สถานะ", users[0]))
        for e in events:
            assert line.post(e).status_code == 200
        commits: list[int] = []

        def on_commit(conn) -> None:  # type: ignore[no-untyped-def]
            commits.append(1)

        items = lane_items(line)
        with listening(line.services.engine, ("commit", on_commit)):
            statuses = line.rt.process_batch(items)
        assert set(statuses.values()) == {"done"} and len(statuses) == len(events)
        # one transaction for the seven events, one for recording the seven answers as sent
        assert len(commits) == 2, len(commits)
        assert_exactly_once(line, events)
        with session_scope(line.services.session_factory) as s:
            for uid in users:  # each chat's questions recorded in the order they were written
                sent = [e["message"]["id"] for e in events[:6] if e["source"]["userId"] == uid]
                got = list(s.scalars(select(Message.channel_message_id).where(
                    Message.direction == "in", Message.channel_message_id.in_(sent)).order_by(Message.id)))
                assert got == sent
    finally:
        line.close()


def test_a_group_asks_about_its_requesters_once_and_each_event_still_sees_its_own_state(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    """A group transaction looks its requesters, their guided conversations and open tickets up in one
    query each (tickets.prefetch); what each handler then does is what it would have done asking on its
    own: loose media is adopted, a conversation goes on, and a requester with two events in the group
    sees the first one's conversation in the second. Only the requester who sent media without a ticket
    has it looked for when a new ticket opens, and the office is read before the first ticket number."""
    from bot.line.models import LineConversation
    from tests.fake_line_api import image_event
    from tickets.models import Requester

    line = make_line_harness(env, monkeypatch, fake)
    try:
        asks, photos, flows, twice = (user_id(f"prefetch-{n}") for n in ("ask", "photo", "flow", "twice"))
        for uid in (asks, photos, flows, twice):
            line.say(uid, "สวัสดีค่ะ")
        photo = image_event(photos)
        line.fake.add_content(photo["message"]["id"], b"\xff\xd8\xff\xe0 not really a jpeg")
        line.send(photo)  # no ticket yet: kept loose
        line.say(flows, "แจ้งซ่อม")
        events = [text_event(QUESTIONS[1], asks), text_event(QUESTIONS[0], photos), text_event("คอมพิวเตอร์", flows),
                  text_event("แจ้งซ่อม", twice), text_event("โปรเจคเตอร์", twice)]
        for e in events:
            assert line.post(e).status_code == 200
        lookups: list[str] = []
        loose: list[str] = []
        order: list[str] = []

        def on_execute(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            order.extend(kind for kind, marker in (("office", "FROM office"), ("number", "INTO ticket_counter"))
                         if marker in statement)
            if statement.lstrip().startswith("SELECT") and "FROM requester" in statement:
                lookups.append(statement)
            if statement.lstrip().startswith("SELECT") and "FROM message" in statement and "ticket_id IS NULL" in statement:
                loose.append(statement)

        items = lane_items(line)
        with listening(line.services.engine, ("before_cursor_execute", on_execute)):
            statuses = line.rt.process_batch(items)
        assert set(statuses.values()) == {"done"} and len(statuses) == len(events)
        # one query for the three requesters with one event each; the one with two asks for itself
        assert len(lookups) == 3, lookups
        assert len(loose) == 1, loose  # new tickets for `asks` and `photos`: only `photos` sent media
        # the office's SLA settings are read once, before the first ticket number locks the counter
        assert order.count("office") == 1 and order.index("office") < order.index("number"), order
        with session_scope(line.services.session_factory) as s:
            image = s.scalar(select(Message).where(Message.channel_message_id == photo["message"]["id"]))
            question = s.scalar(select(Message).where(Message.channel_message_id == events[1]["message"]["id"]))
            assert image.ticket_id is not None and image.ticket_id == question.ticket_id
            equipment = dict(s.execute(select(Requester.line_user_id, LineConversation.data["equipment"].as_string())
                                       .join(LineConversation, LineConversation.requester_id == Requester.id)).all())
            assert equipment == {flows: "คอมพิวเตอร์", twice: "โปรเจคเตอร์"}
    finally:
        line.close()


def test_a_lane_lets_a_waiting_webhook_in_between_two_events_of_its_batch(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    """On SQLite, a group transaction that has held the write lock for LINE_LANE_HOLD_MS commits what it
    has when a webhook waits at the gate; the webhook writes next, and the rest of the group follows in
    a new transaction, each event answered once."""
    import bot.line.handlers as handlers
    from helpdesk.db import urgent_writer_waiting, write_gate

    line = make_line_harness(env, monkeypatch, fake, LINE_LANE_HOLD_MS="0.001")
    try:
        engine = line.services.engine
        if engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL writers do not queue at a gate: nothing to let in")
        events, items = stored_questions(line, "yield", 4)
        order: list[str] = []
        sa_event.listen(engine, "commit", lambda conn: order.append("commit"))
        original = handlers.handle_line_event
        webhook = threading.Thread(target=lambda: None)

        def urgent_write() -> None:
            with write_gate(engine, urgent=True):
                order.append("webhook")

        def handle(services, session, row):  # type: ignore[no-untyped-def]
            nonlocal webhook
            original(services, session, row)
            order.append("event")
            if not webhook.is_alive() and "webhook" not in order:  # a webhook queues while the group writes
                webhook = threading.Thread(target=urgent_write)
                webhook.start()
                assert wait(lambda: urgent_writer_waiting(engine), 5)

        monkeypatch.setattr(handlers, "handle_line_event", handle)
        statuses = line.rt.process_batch(items)
        webhook.join(5)
        assert set(statuses.values()) == {"done"} and len(statuses) == 4
        # the first transaction stopped after one event; the webhook wrote before the other three
        assert order[:3] == ["event", "commit", "webhook"], order
        assert order.count("event") == 4
        assert_exactly_once(line, events)
        with session_scope(line.services.session_factory) as s:
            assert {r.attempts for r in s.scalars(select(InboundEvent))} == {1}  # the hand-back undone
    finally:
        line.close()


def stored_questions(line: LineHarness, tag: str, n: int) -> tuple[list, list]:  # type: ignore[type-arg]
    """n questions from n users, acknowledged by the webhook; the events and their lane items."""
    events = [text_event(QUESTIONS[i], user_id(f"{tag}{i}")) for i in range(n)]
    for e in events:
        assert line.post(e).status_code == 200
    return events, lane_items(line)


def test_a_batch_skips_events_another_process_finished_meanwhile(env, monkeypatch, fake, caplog) -> None:  # type: ignore[no-untyped-def]
    line = make_line_harness(env, monkeypatch, fake)
    try:
        events, items = stored_questions(line, "gone", 3)
        assert line.rt.process_now(items[1]) == "done"  # e.g. the worker took it after a lease ran out
        statuses = line.rt.process_batch(items)
        assert statuses == {items[0].event_id: "done", items[1].event_id: "done", items[2].event_id: "done"}
        assert "one by one" not in caplog.text  # the batch itself coped, without the fallback
        assert_exactly_once(line, events)
    finally:
        line.close()


def test_one_failing_event_in_a_batch_does_not_hold_back_or_double_the_others(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    import bot.line.handlers as handlers

    line = make_line_harness(env, monkeypatch, fake)
    try:
        users = [user_id(f"flaky{i}") for i in range(2)]
        events = [text_event(QUESTIONS[i], users[i % 2]) for i in range(5)]
        for e in events:
            assert line.post(e).status_code == 200
        bad = events[2]["webhookEventId"]
        original = handlers.handle_line_event

        def flaky(services, session, row):  # type: ignore[no-untyped-def]
            original(services, session, row)  # its writes happen, then the whole batch rolls back
            if row.source_id == bad:
                raise RuntimeError("database hiccup")

        monkeypatch.setattr(handlers, "handle_line_event", flaky)
        statuses = line.rt.process_batch(lane_items(line))
        by_source = {}
        with session_scope(line.services.session_factory) as s:
            for r in s.scalars(select(InboundEvent)):
                by_source[r.source_id] = r
                assert statuses[r.id] == ("pending" if r.source_id == bad else "done")
            failed = by_source[bad]
            assert failed.attempts == 1 and "database hiccup" in (failed.last_error or "")
            assert not s.scalar(select(func.count()).select_from(Message).where(Message.inbound_event_id == failed.id))
        assert len(line.fake.delivered()) == 4
        # the event at fault is retried later and then answered, once
        monkeypatch.setattr(handlers, "handle_line_event", original)
        with session_scope(line.services.session_factory) as s:
            s.get(InboundEvent, failed.id).next_attempt_at = failed.received_at
        assert line.process() == ["done"]
        assert_exactly_once(line, events)
    finally:
        line.close()


def test_the_worker_works_out_line_answers_before_its_transaction(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    """Events the worker takes over are prepared as a lane prepares them: the knowledge engine runs with
    no transaction open (on SQLite, not while holding the write lock), and each is answered once."""
    from bot import outbox
    from bot.line import init_worker
    from helpdesk.worker import build_transports, process_inbound

    line = make_line_harness(env, monkeypatch, fake)
    try:
        init_worker()
        engine = line.services.engine
        events, _ = stored_questions(line, "wprep", 3)
        open_tx = [0]
        seen: list[int] = []

        def began(conn) -> None:  # type: ignore[no-untyped-def]
            open_tx[0] += 1

        def ended(conn) -> None:  # type: ignore[no-untyped-def]
            open_tx[0] -= 1

        before_each_answer(line, lambda: seen.append(open_tx[0]))
        with listening(engine, ("begin", began), ("commit", ended), ("rollback", ended)):
            assert process_inbound(line.services) == {"done": 3}
        assert len(seen) == 3 and set(seen) == {0}, seen  # once per question, outside any transaction
        outbox.deliver_due(engine, build_transports(line.services))
        assert_exactly_once(line, events)
    finally:
        line.close()


def test_a_lane_leaves_events_that_outwaited_their_lease_to_the_worker(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    line = make_line_harness(env, monkeypatch, fake)
    try:
        events, items = stored_questions(line, "late", 3)
        stale = dataclasses.replace(items[0], queued=items[0].queued - line.rt.options.lane_lease)
        statuses = line.rt.process_batch([stale, *items[1:]])
        assert stale.event_id not in statuses and set(statuses.values()) == {"done"}
        assert len(line.fake.delivered()) == 2
        assert line.pending_ids() == [stale.event_id]  # still stored, for the worker
        assert line.process() == ["done"]
        assert_exactly_once(line, events)
    finally:
        line.close()


WORKER = textwrap.dedent("""
    import os, sys, time, threading
    from datetime import timedelta
    sys.path.insert(0, os.environ["HELPDESK_ROOT"])
    from bot import inbox, outbox
    inbox.LEASE = timedelta(seconds=float(os.environ["TEST_LEASE"]))
    outbox.LEASE = timedelta(seconds=float(os.environ["TEST_LEASE"]))
    from helpdesk.config import load_settings
    from helpdesk.services import Services
    from helpdesk.worker import Worker
    import bot.line
    import bot.line.handlers as handlers
    services = Services.from_settings(load_settings())
    services.knowledge()
    bot.line.init_worker()
    slow = float(os.environ.get("TEST_SLOW", "0"))
    original = handlers.handle_line_event
    def slowed(services, session, row):
        original(services, session, row)
        time.sleep(slow)
    from bot import handlers as registry
    registry.register("line", slowed)
    services.office_id
    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go"
    Worker(services, threading.Event()).run()
""")


def start_worker(env: dict[str, str], slow: float) -> subprocess.Popen[str]:
    full = {**os.environ, **env, "HELPDESK_ROOT": str(ROOT), "TEST_LEASE": "1", "TEST_SLOW": str(slow),
            "WORKER_POLL_SECONDS": "0.05", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WORKER], env=full, cwd=ROOT, stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)


def go(proc: subprocess.Popen[str]) -> None:
    """Let a started worker take work once it has loaded everything."""
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.stdin.write("go\n")
    proc.stdin.flush()


def kill(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        proc.wait(20)


def test_worker_killed_mid_batch_processes_every_event_exactly_once(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    line = make_line_harness(env, monkeypatch, fake)  # no lanes: the worker does everything
    worker_env = {**env, **line_env(fake)}
    first = start_worker(worker_env, slow=0.03)  # loads while the events arrive
    second = start_worker(worker_env, slow=0.0)  # the restarted worker, loaded in advance
    try:
        events = [text_event(QUESTIONS[i % len(QUESTIONS)], user_id(f"kill{i % 15}")) for i in range(45)]
        for i in range(0, len(events), 5):
            assert line.post(*events[i:i + 5]).status_code == 200
        go(first)
        assert wait(lambda: status_counts(line)["done"] >= 8, 30)
        kill(first)
        counts = status_counts(line)
        assert 0 < counts["done"] < len(events), counts  # killed in the middle of the batch
        go(second)
        assert wait(lambda: status_counts(line)["done"] == len(events), 60)

        def all_sent() -> bool:
            with session_scope(line.services.session_factory) as s:
                return not s.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.status != "sent"))
        assert wait(all_sent, 30)
        kill(second, signal.SIGTERM)
        assert_exactly_once(line, events)
    finally:
        kill(first)
        kill(second)
        line.close()


def test_line_api_down_then_every_reply_is_pushed_once(env, monkeypatch, fake) -> None:  # type: ignore[no-untyped-def]
    outage, ttl = 1.5, "0.5"
    line = make_line_harness(env, monkeypatch, fake, LINE_LANES="2", LINE_REPLY_TOKEN_TTL=ttl,
                             LINE_RETRY_BASE_SECONDS="0.05", LINE_RETRY_CAP_SECONDS="0.3")
    stop = threading.Event()

    def worker_loop() -> None:  # the worker's outbox delivery, as `helpdesk worker` runs it
        while not stop.is_set():
            line.deliver()
            stop.wait(0.05)

    delivery = threading.Thread(target=worker_loop, daemon=True)
    try:
        fake.go_down()
        went_down = time.monotonic()
        events = [text_event(QUESTIONS[i % len(QUESTIONS)], user_id(f"down{i}")) for i in range(16)]
        for i in range(0, len(events), 4):
            assert line.post(*events[i:i + 4]).status_code == 200
        assert wait(lambda: status_counts(line)["done"] == len(events), 30)
        delivery.start()
        time.sleep(max(0.0, outage - (time.monotonic() - went_down)))
        fake.come_up()
        assert wait(lambda: len(fake.delivered()) >= len(events), 20)
        time.sleep(0.5)  # nothing more may arrive
        assert {r.path for r in fake.delivered()} == {"/v2/bot/message/push"}
        keys = [r.headers["X-Line-Retry-Key"] for r in fake.delivered()]
        assert len(keys) == len(set(keys)) == len(events)
        assert_exactly_once(line, events)
    finally:
        stop.set()
        if delivery.is_alive():
            delivery.join(5)
        line.close()

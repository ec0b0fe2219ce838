"""SQLite's writer queue (helpdesk.db.write_gate): writers in other threads and processes wait at the
gate and go on as soon as it is free; the gate is re-entrant within a thread."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from sqlalchemy import text

from helpdesk.db import make_engine, write_connection, write_gate, write_session


def _hold_in_child(url: str, ready, release) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with write_gate(engine):
        ready.set()
        release.wait(10)


def test_writers_queue_at_the_gate_across_threads_and_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    engine = make_engine(url)
    with write_connection(engine) as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))

    # Another process holds the gate: this thread's writer waits for it, then writes.
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_in_child, args=(url, ready, release))
    child.start()
    try:
        assert ready.wait(10)
        done = threading.Event()

        def writer() -> None:
            with write_session(engine) as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
            done.set()

        t = threading.Thread(target=writer)
        t.start()
        assert not done.wait(0.3), "the writer went past a gate another process holds"
        release.set()
        assert done.wait(5), "the writer did not go on once the gate was free"
        t.join()
    finally:
        release.set()
        child.join(10)

    # Re-entrant in one thread; a second thread waits until the outer hold ends.
    order: list[str] = []

    def other_writer() -> None:
        with write_gate(engine):
            order.append("other")

    with write_gate(engine):
        with write_gate(engine):
            pass
        other = threading.Thread(target=other_writer)
        other.start()
        time.sleep(0.2)
        order.append("first")
    other.join(5)
    assert order == ["first", "other"]


def test_one_gate_per_file_and_none_for_postgresql_or_memory(tmp_path: Path) -> None:
    from contextlib import nullcontext

    assert isinstance(write_gate(make_engine("sqlite:///:memory:")), nullcontext)
    assert isinstance(write_gate(make_engine("postgresql+psycopg://u@127.0.0.1:1/none")), nullcontext)
    # Two spellings of one file share a gate, so a nested write through the other one does not wait for
    # itself (the test would hang if they did not).
    (tmp_path / "sub").mkdir()
    plain = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    alias = make_engine(f"sqlite:///{tmp_path / 'sub' / '..' / 'one.db'}")
    done = threading.Event()

    def nested() -> None:
        with write_gate(plain), write_gate(alias):
            done.set()

    threading.Thread(target=nested, daemon=True).start()
    assert done.wait(5)


def test_an_urgent_writer_goes_before_background_writers_already_queued(tmp_path: Path) -> None:
    """The webhook (urgent) is let in before a batch writer that queued earlier, whichever of the two the
    kernel wakes first; the batch writer then goes on."""
    url = f"sqlite:///{tmp_path / 'prio.db'}"
    engine = make_engine(url)
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_in_child, args=(url, ready, release))
    child.start()
    order: list[str] = []
    try:
        assert ready.wait(10)

        def writer(name: str, urgent: bool) -> None:
            with write_gate(engine, urgent=urgent):
                order.append(name)
                time.sleep(0.05)

        background = [threading.Thread(target=writer, args=(f"batch{i}", False)) for i in range(3)]
        for t in background:
            t.start()
        time.sleep(0.2)  # the batch writers queue first
        urgent = threading.Thread(target=writer, args=("webhook", True))
        urgent.start()
        time.sleep(0.2)
        assert order == []  # nobody went past the gate the other process holds
        release.set()
        for t in [*background, urgent]:
            t.join(10)
    finally:
        release.set()
        child.join(10)
    assert order[0] == "webhook" and sorted(order[1:]) == ["batch0", "batch1", "batch2"], order

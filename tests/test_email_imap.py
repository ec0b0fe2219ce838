"""The IMAP poller against a real Dovecot on loopback (tests/imapserver.py), on SQLite and PostgreSQL.

Faults are real too: a TCP proxy between the poller and Dovecot cuts the connection in the middle of a
FETCH or slows it down, and `python -m bot.email.cli poll` runs as a separate process that is killed
with SIGKILL while it works. After every fault each message is stored and processed exactly once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.email import register_handler
from bot.email.config import PROCESSED_FLAG, build_config
from bot.email.imap_intake import ImapPoller, imap_utf7
from bot.email.models import EmailMailboxState
from helpdesk.db import session_scope, write_session
from helpdesk.worker import process_inbound
from tests.imapserver import ImapServer, find_dovecot
from tests.test_email_ingest import knowledge_engine, mail  # noqa: F401  (the session-wide engine fixture)
from tickets.models import InboundEvent, Message, Ticket, utcnow

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(find_dovecot() is None and not os.environ.get("CI"),
                                reason="dovecot-imapd is not installed")

PROBLEMS = [
    "เครื่องพิมพ์ห้องธุรการพิมพ์ไม่ออก ไฟกระพริบสีส้ม",
    "อินเทอร์เน็ตในอาคารเรียนใช้งานไม่ได้ทั้งอาคาร",
    "คอมพิวเตอร์ห้องคอมเปิดไม่ติด 3 เครื่อง",
    "เข้าระบบ DMC ไม่ได้ ขึ้นว่ารหัสผ่านผิด",
    "จานดาวเทียม DLTV ไม่มีสัญญาณ ห้อง ป.4",
    "โปรเจคเตอร์ห้องประชุมไม่ติด",
]


class FlakyProxy:
    """A TCP proxy on loopback that can cut a connection after N bytes from the server, or throttle it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_after: int | None = None  # one-shot
        self.bytes_per_second: float | None = None
        self.cuts = 0
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                if downstream and self.cut_after is not None and sent + len(data) > self.cut_after:
                    dst.sendall(data[: max(0, self.cut_after - sent)])
                    self.cut_after = None
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
                if downstream and self.bytes_per_second:
                    time.sleep(len(data) / self.bytes_per_second)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()


@pytest.fixture(scope="module")
def imap_server():  # type: ignore[no-untyped-def]
    server = ImapServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(imap_server) -> str:  # type: ignore[no-untyped-def]
    name = f"test-{uuid.uuid4().hex[:10]}"
    im = imap_server.client()
    im.create(imap_utf7(name))
    im.logout()
    return name


@pytest.fixture
def proxy(imap_server):  # type: ignore[no-untyped-def]
    p = FlakyProxy((imap_server.host, imap_server.port))
    yield p
    p.close()


@pytest.fixture
def env(env: dict[str, str], imap_server, mailbox: str, proxy) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**env, **imap_server.env(mailbox), "IMAP_PORT": str(proxy.port), "MAIL_FROM": "ict@helpdesk.example.go.th",
            "IMAP_TIMEOUT_SECONDS": "10"}


@pytest.fixture
def svc(services, knowledge_engine):  # type: ignore[no-untyped-def]  # noqa: F811
    services._knowledge = knowledge_engine
    register_handler()
    return services


def append(imap_server, mailbox: str, raws: list[bytes], flags: str | None = None) -> None:  # type: ignore[no-untyped-def]
    im = imap_server.client()
    for raw in raws:
        typ, data = im.append(imap_utf7(mailbox), flags, None, raw)
        assert typ == "OK", data
    im.logout()


def server_view(imap_server, mailbox: str) -> tuple[list[int], list[int]]:  # type: ignore[no-untyped-def]
    """(all UIDs, UIDs flagged as processed) in the mailbox."""
    im = imap_server.client()
    im.select(imap_utf7(mailbox), readonly=True)
    all_uids = [int(x) for x in im.uid("SEARCH", None, "ALL")[1][0].split()]
    done = [int(x) for x in im.uid("SEARCH", None, "KEYWORD", PROCESSED_FLAG)[1][0].split()]
    im.logout()
    return all_uids, done


def problems(n: int, tag: str, start: int = 0) -> list[bytes]:
    return [mail(f"{PROBLEMS[(start + i) % len(PROBLEMS)]} (เครื่องที่ {start + i})",
                 sender=f"school{start + i}@school.example.ac.th", msgid=f"{tag}-{start + i}") for i in range(n)]


def counts(svc) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with session_scope(svc.session_factory) as s:
        events = s.scalar(select(func.count()).select_from(InboundEvent).where(InboundEvent.source == "email"))
        tickets = s.scalar(select(func.count()).select_from(Ticket))
        inbound = s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
    return events, tickets, inbound


def test_poll_stores_flags_and_remembers_its_place(svc, imap_server, mailbox) -> None:  # type: ignore[no-untyped-def]
    corpus = ROOT / "tests" / "email_corpus"
    raws = problems(4, "basic") + [(corpus / f"{n}.eml").read_bytes() for n in ("tis620", "html_only",
                                                                                  "rfc2231_filenames")]
    append(imap_server, mailbox, raws)
    poller = ImapPoller(svc)
    first = poller.poll()
    assert first.error is None and first.stored == 7 and first.duplicates == 0
    assert process_inbound(svc, ids=first.event_ids, limit=50) == {"done": 7}
    all_uids, done = server_view(imap_server, mailbox)
    assert done == all_uids and len(all_uids) == 7
    assert poller.poll().stored == 0
    append(imap_server, mailbox, problems(2, "basic", start=10))
    poller.close()
    again = ImapPoller(svc).poll()  # a new process: the place comes from the database
    assert again.stored == 2 and again.seen == 2
    with session_scope(svc.session_factory) as s:
        state = s.scalar(select(EmailMailboxState))
        assert state.last_uid == 9 and state.messages_stored == 9 and state.uidvalidity
        event = s.scalar(select(InboundEvent).where(InboundEvent.id == first.event_ids[0]))
        assert event.meta["via"] == "imap" and event.meta["uid"] == 1 and event.meta["internaldate"]
    assert counts(svc)[0] == 9


def test_new_uidvalidity_reads_again_without_duplicates(svc, imap_server, mailbox) -> None:  # type: ignore[no-untyped-def]
    raws = problems(3, "uidv")
    append(imap_server, mailbox, raws)
    poller = ImapPoller(svc)
    assert poller.poll().stored == 3
    poller.close()
    im = imap_server.client()  # the mailbox is rebuilt: same name, new UIDVALIDITY, same mail plus one
    im.delete(imap_utf7(mailbox))
    im.create(imap_utf7(mailbox))
    im.logout()
    append(imap_server, mailbox, [*raws, *problems(1, "uidv", start=3)])
    result = ImapPoller(svc).poll()
    assert result.uidvalidity_reset and result.stored == 1 and result.duplicates == 3
    assert counts(svc)[0] == 4


def test_move_to_a_thai_named_folder(svc, imap_server, mailbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    append(imap_server, mailbox, problems(3, "move"))
    target = f"ดำเนินการแล้ว-{mailbox}"
    monkeypatch.setenv("IMAP_PROCESSED_MAILBOX", target)
    poller = ImapPoller(svc, cfg=build_config(svc.settings))
    assert poller.poll().stored == 3
    assert server_view(imap_server, mailbox)[0] == []
    assert len(server_view(imap_server, target)[0]) == 3
    append(imap_server, mailbox, problems(1, "move", start=3))
    assert poller.poll().stored == 1


def test_connection_dropped_mid_fetch_loses_and_doubles_nothing(svc, imap_server, mailbox, proxy) -> None:  # type: ignore[no-untyped-def]
    big = mail("ส่งไฟล์ภาพหน้าจอครับ " + PROBLEMS[0], msgid="drop-big",
               attachments=[("screen.png", "image/png", os.urandom(1_500_000))])
    append(imap_server, mailbox, [*problems(1, "drop"), big, *problems(2, "drop", start=2)])
    poller = ImapPoller(svc)
    poller.poll(max_messages=1)  # connect and store the first one
    proxy.cut_after = 600_000  # the next 600 KB from the server, then the line goes dead: inside the big FETCH
    failed = poller.poll()
    assert failed.error is not None and failed.retry_in is not None and proxy.cuts == 1
    assert counts(svc)[0] == 1
    assert poller.poll().skipped == "backoff"
    poller.next_attempt = 0  # do not wait out the backoff in a test
    recovered = poller.poll()
    assert recovered.error is None and recovered.stored == 3
    all_uids, done = server_view(imap_server, mailbox)
    assert done == all_uids == [1, 2, 3, 4]
    process_inbound(svc, limit=50)
    assert counts(svc) == (4, 4, 4)
    with session_scope(svc.session_factory) as s:
        state = s.scalar(select(EmailMailboxState))
        assert state.last_uid == 4 and state.last_error is None


def _run_poll(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot.email.cli", "poll", *args], cwd=ROOT,
                            env={**os.environ, **env, "PYTHAINLP_OFFLINE": "1", "PYTHAINLP_READ_ONLY": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_killed_poller_loses_and_doubles_nothing(svc, env, imap_server, mailbox, proxy) -> None:  # type: ignore[no-untyped-def]
    n = 12
    raws = problems(n, "kill")
    raws[5] = mail(PROBLEMS[1], msgid="kill-5", attachments=[("log.zip", "application/zip", os.urandom(400_000))])
    append(imap_server, mailbox, raws)
    proxy.bytes_per_second = 1_000_000  # slow enough to be caught in the middle of the mailbox
    worker = _run_poll(env, "--once", "--no-process")
    try:
        _wait_for(lambda: counts(svc)[0] >= 3)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    stored_before = counts(svc)[0]
    assert 3 <= stored_before < n, stored_before
    proxy.bytes_per_second = None
    again = _run_poll(env, "--once", "--no-process")
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()[-2000:]
    assert counts(svc)[0] == n
    all_uids, done = server_view(imap_server, mailbox)
    assert done == all_uids and len(all_uids) == n
    process_inbound(svc, limit=100)
    assert counts(svc) == (n, n, n)


def test_killed_while_processing_loses_and_doubles_nothing(svc, env, imap_server, mailbox) -> None:  # type: ignore[no-untyped-def]
    n = 40
    append(imap_server, mailbox, problems(n, "busy"))
    worker = _run_poll(env, "--once", "--process")
    try:
        _wait_for(lambda: counts(svc)[1] >= 3, timeout=120)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    events, tickets, _ = counts(svc)
    assert events == n and tickets < n
    # The killed worker's leases run out (2 minutes in real life); then any worker finishes the work.
    with write_session(svc.engine) as s:
        s.execute(update(InboundEvent).where(InboundEvent.locked_until.is_not(None)).values(locked_until=utcnow()))
    time.sleep(0.01)
    process_inbound(svc, limit=100)
    assert counts(svc) == (n, n, n)
    with session_scope(svc.session_factory) as s:
        statuses = set(s.scalars(select(InboundEvent.status)))
        assert statuses == {"done"}
        per_event = s.execute(select(Message.inbound_event_id, func.count()).where(Message.direction == "in")
                              .group_by(Message.inbound_event_id)).all()
        assert all(c == 1 for _e, c in per_event) and len(per_event) == n


def test_full_cycle_through_the_worker(svc, env, imap_server, mailbox) -> None:  # type: ignore[no-untyped-def]
    """IMAP in, pipeline, SMTP out (aiosmtpd), the requester's reply back in by IMAP: one ticket."""
    from dataclasses import replace

    from aiosmtpd.controller import Controller

    from bot.email import init_worker
    from bot.email.parse import parse_message
    from helpdesk import scheduler
    from helpdesk.worker import Worker
    from tests.pgserver import free_port

    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            received.append(envelope.original_content)
            return "250 OK"

    smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        svc.settings = replace(svc.settings, smtp_host="127.0.0.1", smtp_port=smtp.port)
        init_worker()
        append(imap_server, mailbox, [mail(PROBLEMS[0], subject="เครื่องพิมพ์เสีย", msgid="cycle-1")])
        stop = threading.Event()
        assert scheduler.run_job(svc, "email-imap", force=True)["stored"] == 1
        Worker(svc, stop).run(once=True)
        (ack_raw,) = received
        ack = parse_message(ack_raw)
        with session_scope(svc.session_factory) as s:
            ticket = s.scalar(select(Ticket))
        assert f"[{ticket.number}]" in ack.subject
        append(imap_server, mailbox, [mail("ยังพิมพ์ไม่ออกเหมือนเดิมค่ะ", subject="Re: เครื่องพิมพ์", msgid="cycle-2",
                                           in_reply_to=ack.message_id, references=["cycle-1@school.example.ac.th",
                                                                                   ack.message_id])])
        assert scheduler.run_job(svc, "email-imap", force=True)["stored"] == 1
        Worker(svc, stop).run(once=True)
        assert counts(svc) == (2, 1, 2)
        assert len(received) == 1  # one automatic reply per sender per ticket per day
    finally:
        smtp.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_starttls_and_implicit_tls(svc, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from tests.test_email_outbound import _self_signed

    cert, key = _self_signed(tmp_path)
    server = ImapServer(cert=cert, key=key).start()
    try:
        append(server, "INBOX", problems(2, "tls"))
        monkeypatch.setenv("IMAP_CA_FILE", str(cert))
        base = replace(svc.settings, imap_host=server.host, imap_user=server.user, imap_password=server.password,
                       imap_mailbox="INBOX")
        svc.settings = replace(base, imap_port=server.port, imap_starttls=True)
        assert ImapPoller(svc).poll(max_messages=1).stored == 1
        svc.settings = replace(base, imap_port=server.tls_port, imap_tls=True)
        assert ImapPoller(svc).poll().stored == 1
        monkeypatch.delenv("IMAP_CA_FILE")  # an untrusted certificate is an error, retried later, never ignored
        svc.settings = replace(base, imap_port=server.tls_port, imap_tls=True, imap_mailbox="Other")
        failed = ImapPoller(svc).poll()
        assert failed.error is not None and "CERTIFICATE_VERIFY_FAILED" in failed.error
    finally:
        server.stop()

"""The service as an operator meets it: the `helpdesk` command, `serve`, /healthz and the Procfile."""

from __future__ import annotations

import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.pgserver import free_port

ROOT = Path(__file__).resolve().parents[1]
HELPDESK = [sys.executable, "-m", "helpdesk.cli"]


def run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          **kw)


def wait_http(url: str, timeout: float = 60.0) -> tuple[int, dict]:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError as exc:
            last = exc
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer: {last}")


def connection_header(port: int) -> str | None:
    """The Connection header of an HTTP/1.1 answer to a client that would keep the connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.getheader("Connection")
    finally:
        conn.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_init_twice_is_a_no_op(env: dict[str, str]) -> None:
    first = run([*HELPDESK, "init"], env)
    assert first.returncode == 0, first.stderr
    assert "migrated empty -> 0" in first.stdout
    assert "knowledge base:" in first.stdout
    second = run([*HELPDESK, "init"], env)
    assert second.returncode == 0, second.stderr
    assert "database: up to date" in second.stdout


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL: unsupported database 'nosuchdb'"),
        ({"HELPDESK_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY: required when HELPDESK_ENV=production"),
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT: expected a whole number"),
        ({"LINE_API_BASE_URL": "ftp://x"}, "LINE_API_BASE_URL: expected an http(s) URL"),
    ],
)
def test_bad_configuration_gives_one_clear_line(tmp_path: Path, overrides: dict[str, str], expected: str) -> None:
    env = {"HELPDESK_INSTANCE_DIR": str(tmp_path), "HELPDESK_DOTENV": str(tmp_path / "none"), **overrides}
    result = run([*HELPDESK, "init"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_unreachable_database_gives_one_clear_line(tmp_path: Path) -> None:
    env = {"HELPDESK_INSTANCE_DIR": str(tmp_path), "HELPDESK_DOTENV": str(tmp_path / "none"),
           "DATABASE_URL": f"postgresql://nobody:secret-pw@127.0.0.1:{free_port()}/x"}
    result = run([*HELPDESK, "init"], env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "database error" in result.stderr
    assert "secret-pw" not in result.stderr


def test_user_add_and_tickets_list_json(env: dict[str, str]) -> None:
    assert run([*HELPDESK, "init"], env).returncode == 0
    added = run([*HELPDESK, "user", "add", "somsri", "--role", "agent"], {**env, "HELPDESK_PASSWORD": "correct-horse-1"})
    assert added.returncode == 0, added.stderr
    refused = run([*HELPDESK, "user", "add", "x", "--role", "agent"], {**env, "HELPDESK_PASSWORD": ""},
                  stdin=subprocess.DEVNULL)
    assert refused.returncode == 2 and "HELPDESK_PASSWORD" in refused.stderr
    chat = run([*HELPDESK, "chat", "--name", "ครูทดสอบ"], env, input="คอมห้องธุรการเปิดไม่ติดค่ะ\n")
    assert chat.returncode == 0, chat.stderr
    assert "ICT-25" in chat.stdout
    listed = run([*HELPDESK, "tickets", "list", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1
    row = rows[0]
    for key in ("number", "office", "channel", "requester", "category", "intent", "urgency", "status",
                "created_at", "message_count"):
        assert key in row
    assert row["channel"] == "web" and row["message_count"] == 2 and row["requester"] == "ครูทดสอบ"


def test_serve_answers_healthz(env: dict[str, str]) -> None:
    assert run([*HELPDESK, "init"], env).returncode == 0
    port = free_port()
    proc = subprocess.Popen([*HELPDESK, "serve", "--port", str(port)], env={**os.environ, **env}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        status, body = wait_http(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and body["status"] == "ok" and body["database"] == "ok"
        # one request per connection, so that either process can take the next webhook
        assert connection_header(port) == "close"
    finally:
        stop(proc)


def test_healthz_is_503_when_the_database_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpdesk.app import create_app

    monkeypatch.setenv("HELPDESK_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/x")
    app = create_app({"TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}


def procfile() -> dict[str, str]:
    out = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            out[name.strip()] = command.strip()
    return out


@pytest.mark.postgres
@pytest.mark.slow
def test_procfile_runs_against_postgresql(pg_url: str, tmp_path: Path) -> None:
    from bot.inbox import store_event
    from helpdesk.db import make_engine, write_session
    from tickets.models import EventStatus, InboundEvent, Office

    env = {"DATABASE_URL": pg_url, "HELPDESK_INSTANCE_DIR": str(tmp_path), "HELPDESK_DOTENV": str(tmp_path / "none"),
           "SECRET_KEY": "procfile-secret-0123456789", "PORT": str(free_port()),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    assert run([*HELPDESK, "init"], env).returncode == 0
    procs = {}
    try:
        for name, command in procfile().items():
            procs[name] = subprocess.Popen(["bash", "-c", f"exec {command}"], env={**os.environ, **env}, cwd=ROOT,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        status, _ = wait_http(f"http://127.0.0.1:{env['PORT']}/healthz")
        assert status == 200
        assert connection_header(int(env["PORT"])) == "close"
        # gunicorn really runs two workers
        workers = subprocess.run(["pgrep", "-P", str(procs["web"].pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 2, shlex.join(workers)
        # the worker process picks up a stored event
        engine = make_engine(pg_url)
        with write_session(engine) as s:
            office_id = s.scalar(select(Office.id))
            event = store_event(s, office_id=office_id, source="web", source_id="procfile-1",
                                payload=json.dumps({"web_id": "procfile", "text": "DLTV คืออะไร"}).encode())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with write_session(engine) as s:
                if s.get(InboundEvent, event.id).status == EventStatus.DONE:
                    break
            time.sleep(0.3)
        else:
            raise AssertionError("the worker did not process the event")
        engine.dispose()
    finally:
        for proc in procs.values():
            stop(proc)


def test_settle_heap_keeps_loaded_objects_out_of_collections_and_can_give_them_back() -> None:
    """What a process loads for good (the knowledge engine) is frozen out of the collector's full passes;
    `collect=True` hands it back first, so cycles dropped since (a replaced engine) are collected."""
    import gc
    import weakref

    from helpdesk.services import settle_heap

    class Node:
        pass

    def cycle() -> weakref.ref[Node]:
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        return weakref.ref(a)

    was_enabled = gc.isenabled()
    gc.disable()  # no automatic pass between the steps: only the explicit ones below
    try:
        frozen = cycle()  # garbage already, but not yet collected when the heap is settled
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert all(o is not frozen() for o in gc.get_objects())  # out of the collector's generations
        gc.collect()
        assert frozen() is not None  # a full pass no longer looks at it
        loose = cycle()
        gc.collect()
        assert loose() is None  # objects made after settling are collected as usual
        settle_heap(collect=True)
        assert frozen() is None  # given back and collected
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()

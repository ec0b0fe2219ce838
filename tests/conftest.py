"""Fixtures in the Flask tutorial's style (app, client, runner), over a real SQLite file and a real
PostgreSQL server. PostgreSQL comes from TEST_POSTGRES_URL (`.ci/run` starts one), or the suite starts a
throw-away server itself when the PostgreSQL binaries are installed. In CI a missing PostgreSQL is an
error, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from tests.pgserver import PgServer, find_bindir

ENGINES = ("sqlite", "postgresql")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str | None]:
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("CI needs PostgreSQL: set TEST_POSTGRES_URL or install the postgresql package")
        yield None
        return
    server = PgServer(bindir).start()
    try:
        yield server.url
    finally:
        server.stop()


def _pg_database(admin_url: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, pg_admin_url: str | None) -> Iterator[str]:
    """A fresh, empty database on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'helpdesk.db'}"
        return
    if pg_admin_url is None:
        pytest.skip("PostgreSQL not available here (CI always runs these)")
    yield from _pg_database(pg_admin_url)


@pytest.fixture
def pg_url(tmp_path: Path, pg_admin_url: str | None) -> Iterator[str]:
    """A fresh PostgreSQL database, for tests that are about PostgreSQL itself."""
    if pg_admin_url is None:
        pytest.skip("PostgreSQL not available here (CI always runs these)")
    yield from _pg_database(pg_admin_url)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for the app and CLI: a private instance folder, the test database, no LINE/mail."""
    return {
        "HELPDESK_ENV": "test",
        "HELPDESK_INSTANCE_DIR": str(tmp_path / "instance"),
        "HELPDESK_CACHE_DIR": str(Path(__file__).resolve().parents[1] / "instance" / "cache"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "HELPDESK_OFFICE_CODE": "test-office",
        "HELPDESK_OFFICE_NAME": "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาทดสอบ เขต 1",
        "HELPDESK_DOTENV": str(tmp_path / "no.env"),
    }


@pytest.fixture
def app(env: dict[str, str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from helpdesk import migrate
    from helpdesk.app import create_app

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = create_app({"TESTING": True})
    services = app.extensions["helpdesk"]
    migrate.upgrade(services.engine)
    yield app
    services.dispose()


@pytest.fixture
def services(app):  # type: ignore[no-untyped-def]
    return app.extensions["helpdesk"]


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(env: dict[str, str]) -> CliRunner:
    return CliRunner(env=env)


# -- LINE: the fake LINE API and a harness around the app (used by tests/test_line_*.py) ---------------


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    from tests.fake_line_api import FakeLineApi

    with FakeLineApi() as f:
        yield f


@pytest.fixture
def line(env, monkeypatch, fake):  # type: ignore[no-untyped-def]
    from tests.fake_line_api import make_line_harness

    harness = make_line_harness(env, monkeypatch, fake)
    yield harness
    harness.close()

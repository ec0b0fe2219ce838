"""Fixtures and helpers shared by the admin tests (imported by the tests/test_admin_*.py modules)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from helpdesk.db import write_session
from tickets import registry
from tickets.directory import requester_for_email, requester_for_line, requester_for_web
from tickets.models import Direction, Office, School, StaffUser, Ticket, utcnow

FAST_HASH = "pbkdf2:sha256:1000"  # test accounts only; real accounts use werkzeug's default (scrypt)
PASSWORD = "correct horse battery"


@pytest.fixture
def admin_app(app):  # type: ignore[no-untyped-def]
    import admin

    admin.init_app(app)
    return app


@pytest.fixture
def admin_client(admin_app):  # type: ignore[no-untyped-def]
    return admin_app.test_client()


@pytest.fixture
def staff(admin_app) -> dict[str, StaffUser]:  # type: ignore[no-untyped-def]
    """One active user per role, plus an inactive one."""
    services = admin_app.extensions["helpdesk"]
    out: dict[str, StaffUser] = {}
    with write_session(services.engine) as s:
        for role in ("admin", "agent", "viewer"):
            user = StaffUser(office_id=services.office_id, username=f"{role}1", display_name=f"เจ้าหน้าที่ {role}",
                             role=role, password_hash=generate_password_hash(PASSWORD, method=FAST_HASH),
                             created_at=utcnow())
            s.add(user)
            out[role] = user
        out["inactive"] = StaffUser(office_id=services.office_id, username="gone", display_name="ระงับแล้ว",
                                    role="admin", active=False,
                                    password_hash=generate_password_hash(PASSWORD, method=FAST_HASH),
                                    created_at=utcnow())
        s.add(out["inactive"])
    return out


def login_as(client: Any, app: Any, user: StaffUser) -> str:
    """Sign the test client in as `user` without the password round trip; returns the CSRF token."""
    from admin.security import CSRF_KEY, SESSION_KEY, password_fingerprint

    with app.test_request_context():
        fp = password_fingerprint(user)
    token = secrets.token_urlsafe(16)
    with client.session_transaction() as sess:
        stamp = time.time()
        sess[SESSION_KEY] = {"uid": user.id, "fp": fp, "at": stamp, "seen": stamp}
        sess[CSRF_KEY] = token
    return token


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def make_ticket(
    services: Any,
    *,
    text: str = "คอมพิวเตอร์ห้องธุรการเปิดไม่ติดค่ะ",
    channel: str = "line",
    who: str | None = None,
    category: str | None = "hardware_repair",
    intent: str = "incident",
    urgency: str = "normal",
    received_at: datetime | None = None,
    handoff: bool = True,
    self_served: bool = False,
    status: str | None = None,
    school: str | None = None,
    display_name: str | None = None,
    confidence: float | None = 0.9,
    article_id: str | None = None,
) -> str:
    """A ticket with the requester's first message, as the pipeline would leave it; returns its number."""
    with write_session(services.engine) as s:
        office_id = services.office_id
        ident = who or secrets.token_hex(6)
        if channel == "line":
            requester = requester_for_line(s, office_id, f"U{ident}")
        elif channel == "email":
            requester = requester_for_email(s, office_id, f"{ident}@school.example.ac.th")
        else:
            requester = requester_for_web(s, office_id, ident)
        if display_name:
            requester.display_name = display_name
        if school:
            row = s.query(School).filter_by(office_id=office_id, name=school).one_or_none()
            if row is None:
                row = School(office_id=office_id, name=school, aliases=[])
                s.add(row)
                s.flush()
            requester.school_id = row.id
        t = registry.open_ticket(
            s, office_id=office_id, channel=channel, actor=f"requester:{requester.id}", requester_id=requester.id,
            subject=text[:120], received_at=received_at,
            classification=registry.Classification(category, intent, urgency, confidence),
        )
        t.handoff = handoff
        t.self_served = self_served
        t.article_id = article_id
        registry.add_message(s, t, office_id=office_id, direction=Direction.INBOUND, channel=channel,
                             author="requester", text=text, actor=f"requester:{requester.id}")
        if status and status != t.status:
            registry.change_status(s, t, status, actor="test")
        return t.number


def ticket_by_number(services: Any, number: str) -> Ticket:
    with write_session(services.engine) as s:
        t = registry.get_by_number(s, services.office_id, number)
        assert t is not None
        s.expunge(t)
        return t


def office_of(services: Any) -> Office:
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        assert office is not None
        s.expunge(office)
        return office


@pytest.fixture
def signed_in(admin_app, staff) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A factory: signed_in(role) -> (client, csrf token)."""

    def make(role: str) -> tuple[Any, str]:
        client = admin_app.test_client()
        return client, login_as(client, admin_app, staff[role])

    yield make

"""Authentication, roles, login throttling and CSRF protection for the admin app.

- Every /admin endpoint requires a signed-in staff user unless it is marked `@public`; each endpoint
  declares the lowest role that may use it with `@requires(role)` (admin > agent > viewer). The check
  runs centrally before the view, so an endpoint that forgets to declare a role is admin-only.
- Passwords are werkzeug hashes (tickets/directory.py). The session cookie holds the user id and a
  fingerprint of the password hash, so changing or resetting a password ends every other session.
  Sessions end after IDLE_TIMEOUT without activity and MAX_AGE after login.
- Login throttling is stored in the database, in the audit log (action "login_failed", no ticket), so it
  holds across gunicorn workers and processes: LOCK_FAILURES failures for one user name, or IP_FAILURES
  from one address, within WINDOW lock further attempts until the window passes.
- CSRF: a random per-session token, sent back by every form (hidden field `csrf_token`) or by fetch
  (header X-CSRF-Token), compared in constant time on every unsafe request; a foreign Origin is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, request, session
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from tickets.models import AuditLog, StaffUser, utcnow

F = TypeVar("F", bound=Callable[..., Any])

ROLE_RANK = {"viewer": 1, "agent": 2, "admin": 3}
SESSION_KEY = "admin"
CSRF_KEY = "admin_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

IDLE_TIMEOUT = timedelta(hours=2)
MAX_AGE = timedelta(hours=12)
WINDOW = timedelta(minutes=15)
LOCK_FAILURES = 5
IP_FAILURES = 20

# A hash to compare against when the user name does not exist, so both cases take the same time.
_DUMMY_HASH = "scrypt:32768:8:1$dummysaltdummys$" + "0" * 128


def now() -> datetime:
    """The clock (tests replace it)."""
    return utcnow()


# -- roles -----------------------------------------------------------------------------------------------

def requires(role: str) -> Callable[[F], F]:
    """Mark the lowest role allowed to use a view (checked before the view runs)."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def mark(fn: F) -> F:
        fn._admin_role = role  # type: ignore[attr-defined]
        return fn

    return mark


def public(fn: F) -> F:
    """Mark a view that needs no login (the login page)."""
    fn._admin_public = True  # type: ignore[attr-defined]
    return fn


def view_role(view: Callable[..., Any] | None) -> str | None:
    return getattr(view, "_admin_role", None)


def is_public(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "_admin_public", False))


def has_role(user: StaffUser | None, role: str) -> bool:
    return user is not None and ROLE_RANK.get(user.role, 0) >= ROLE_RANK[role]


def current_user() -> StaffUser | None:
    return g.get("staff")


def actor() -> str:
    user = current_user()
    return f"staff:{user.id}" if user is not None else "system"


# -- sessions --------------------------------------------------------------------------------------------

def password_fingerprint(user: StaffUser) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def start_session(user: StaffUser) -> None:
    """A fresh session for the user (a new cookie content and a new CSRF token: no session fixation)."""
    session.clear()
    stamp = time.time()
    session[SESSION_KEY] = {"uid": user.id, "fp": password_fingerprint(user), "at": stamp, "seen": stamp}
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    session.permanent = True


def end_session() -> None:
    session.pop(SESSION_KEY, None)
    session[CSRF_KEY] = secrets.token_urlsafe(32)


def load_user(db: Session, office_id: int) -> tuple[StaffUser | None, bool]:
    """The signed-in user, or None. The flag says an existing session just expired."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None, False
    stamp = time.time()
    try:
        at, seen, uid = float(data["at"]), float(data["seen"]), int(data["uid"])
    except (KeyError, TypeError, ValueError):
        session.pop(SESSION_KEY, None)
        return None, False
    if stamp - seen > IDLE_TIMEOUT.total_seconds() or stamp - at > MAX_AGE.total_seconds():
        session.pop(SESSION_KEY, None)
        return None, True
    user = db.get(StaffUser, uid)
    if (user is None or not user.active or user.office_id != office_id
            or not hmac.compare_digest(str(data.get("fp", "")), password_fingerprint(user))):
        session.pop(SESSION_KEY, None)
        return None, True
    if stamp - seen > 60:  # refresh the idle clock at most once a minute (fewer cookie rewrites)
        session[SESSION_KEY] = {**data, "seen": stamp}
    return user, False


def safe_next(target: str | None, default: str) -> str:
    """Only a local /admin path may be a redirect target after login (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


# -- throttling ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Throttle:
    locked: bool
    retry_after_s: float = 0.0

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_s / 60))


def _actor_for(ip: str, username: str) -> str:
    return f"login:{ip[:45]} {username.strip().lower()[:40]}"


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def check_throttle(db: Session, office_id: int, username: str, ip: str) -> Throttle:
    current = now()
    since = current - WINDOW
    name = username.strip().lower()[:40]
    base = (AuditLog.ticket_id.is_(None), AuditLog.created_at >= since, AuditLog.office_id == office_id)
    last_ok = db.scalar(
        select(func.max(AuditLog.created_at)).where(*base, AuditLog.action == "login",
                                                    AuditLog.actor.like("% " + _escape_like(name), escape="\\"))
    )
    user_cond = [*base, AuditLog.action == "login_failed",
                 AuditLog.actor.like("% " + _escape_like(name), escape="\\")]
    if last_ok is not None:
        user_cond.append(AuditLog.created_at > last_ok)
    user_fails = db.execute(select(func.count(), func.min(AuditLog.created_at)).where(*user_cond)).one()
    ip_fails = db.execute(
        select(func.count(), func.min(AuditLog.created_at)).where(
            *base, AuditLog.action == "login_failed",
            AuditLog.actor.like("login:" + _escape_like(ip[:45]) + " %", escape="\\"))
    ).one()
    for (count, oldest), limit in ((user_fails, LOCK_FAILURES), (ip_fails, IP_FAILURES)):
        if count >= limit and oldest is not None:
            return Throttle(True, max(1.0, (oldest + WINDOW - current).total_seconds()))
    return Throttle(False)


def record_attempt(db: Session, office_id: int, username: str, ip: str, ok: bool,
                   user: StaffUser | None = None) -> None:
    db.add(AuditLog(office_id=office_id, ticket_id=None, actor=_actor_for(ip, username),
                    action="login" if ok else "login_failed",
                    details={"ip": ip[:45], "user_id": user.id if user else None}, created_at=now()))


def authenticate(db: Session, office_id: int, username: str, password: str) -> StaffUser | None:
    user = db.scalar(select(StaffUser).where(StaffUser.office_id == office_id,
                                             StaffUser.username == username.strip()))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)  # same work as a real check
        return None
    return user if check_password_hash(user.password_hash, password) else None


# -- CSRF ------------------------------------------------------------------------------------------------

def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return str(token)


def check_csrf() -> None:
    """Abort with 400 unless an unsafe request carries this session's token and no foreign Origin."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        host = urlsplit(origin).netloc
        if host != request.host:
            abort(400, description="csrf")
    expected = session.get(CSRF_KEY)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="csrf")

"""Admin accounts and security: login, throttling, sessions, CSRF, headers, and that every /admin route
requires a login and the right role."""

from __future__ import annotations

import re
from datetime import timedelta

from werkzeug.routing import IntegerConverter

from admin import security
from helpdesk.db import write_session
from tests.test_admin_support import PASSWORD, csrf_from, login_as
from tickets.directory import create_staff_user
from tickets.models import AuditLog, Office, StaffUser, utcnow

pytest_plugins = ("tests.test_admin_support",)


def _login(client, username: str, password: str, **extra):  # type: ignore[no-untyped-def]
    page = client.get("/admin/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token,
                                             **extra})


def test_login_with_a_real_password_hash_then_logout(admin_app, admin_client) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        user = create_staff_user(s, office, "somchai", "a-strong-password-1", "agent", "เจ้าหน้าที่ ICT")
        assert user.password_hash.startswith("scrypt:")  # werkzeug's strong default

    anonymous = admin_client.get("/admin/queue")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/admin/login")

    bad = _login(admin_client, "somchai", "wrong-password")
    assert bad.status_code == 401
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in bad.get_data(as_text=True)

    ok = _login(admin_client, "somchai", "a-strong-password-1", next="/admin/stats")
    assert ok.status_code == 303 and ok.headers["Location"] == "/admin/stats"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = admin_client.get("/admin/queue")
    assert page.status_code == 200 and "คิวงาน" in page.get_data(as_text=True)

    assert admin_client.post("/admin/logout").status_code == 400  # no CSRF token
    token = csrf_from(page.get_data(as_text=True))
    out = admin_client.post("/admin/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert admin_client.get("/admin/queue").status_code == 302

    with write_session(services.engine) as s:
        actions = [a.action for a in s.query(AuditLog).filter(AuditLog.ticket_id.is_(None))]
    assert actions.count("login_failed") == 1 and actions.count("login") == 1


def test_next_parameter_cannot_redirect_elsewhere(admin_app, staff) -> None:  # type: ignore[no-untyped-def]
    for target in ("https://evil.example/", "//evil.example/admin", "/\\evil.example", "/try", "javascript:x"):
        response = _login(admin_app.test_client(), "agent1", PASSWORD, next=target)
        assert response.status_code == 303
        assert response.headers["Location"] == "/admin/queue", target
    assert security.safe_next("/admin/tickets/ICT-2569-000001?x=1", "/d") == "/admin/tickets/ICT-2569-000001?x=1"


def test_login_throttling_per_user_and_per_address(admin_app, staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client = admin_app.test_client()
    for _ in range(security.LOCK_FAILURES):
        assert _login(client, "agent1", "nope").status_code == 401
    locked = _login(client, "agent1", PASSWORD)  # even the right password is refused now
    assert locked.status_code == 429
    assert "รอประมาณ" in locked.get_data(as_text=True)
    # another account from the same address still works (below the address limit)
    assert _login(admin_app.test_client(), "viewer1", PASSWORD).status_code == 303
    # after the window the account opens again
    later = utcnow() + security.WINDOW + timedelta(seconds=5)
    monkeypatch.setattr(security, "now", lambda: later)
    assert _login(admin_app.test_client(), "agent1", PASSWORD).status_code == 303

    # the address limit counts failures for any user name
    monkeypatch.setattr(security, "IP_FAILURES", 3)
    for name in ("x1", "x2", "x3"):
        assert _login(client, name, "nope").status_code == 401
    assert _login(client, "admin1", PASSWORD).status_code == 429


def test_inactive_users_and_changed_passwords_end_sessions(admin_app, staff, signed_in) -> None:  # type: ignore[no-untyped-def]
    assert _login(admin_app.test_client(), "gone", PASSWORD).status_code == 401
    services = admin_app.extensions["helpdesk"]
    client_a, token_a = signed_in("agent")
    client_b, _ = signed_in("agent")
    assert client_b.get("/admin/queue").status_code == 200
    short = client_a.post("/admin/account", data={"current": PASSWORD, "new": "short", "csrf_token": token_a})
    assert short.status_code == 400
    changed = client_a.post("/admin/account", data={"current": PASSWORD, "new": "a-new-long-password",
                                                    "csrf_token": token_a})
    assert changed.status_code == 303
    assert client_a.get("/admin/queue").status_code == 200  # the session that changed it stays
    assert client_b.get("/admin/queue").status_code == 302  # every other session ends
    with write_session(services.engine) as s:
        s.get(StaffUser, staff["viewer"].id).active = False
    client_c, _ = signed_in("viewer")
    assert client_c.get("/admin/queue").status_code == 302


def test_csrf_is_required_on_every_unsafe_request(signed_in, admin_client) -> None:  # type: ignore[no-untyped-def]
    client, token = signed_in("agent")
    url = "/admin/queue/bulk"
    missing = client.post(url, data={"action": "status"})
    assert missing.status_code == 400
    assert "แบบฟอร์มหมดอายุ" in missing.get_data(as_text=True)
    assert client.post(url, data={"action": "status", "csrf_token": token + "x"}).status_code == 400
    assert client.post(url, data={"csrf_token": token}, headers={"Origin": "https://evil.example"}).status_code == 400
    assert client.post(url, data={"csrf_token": token}).status_code == 303
    assert client.post(url, headers={"X-CSRF-Token": token}).status_code == 303  # fetch-style header
    # the login form too (login CSRF)
    assert admin_client.post("/admin/login", data={"username": "agent1", "password": PASSWORD}).status_code == 400


def test_security_headers(signed_in) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed_in("viewer")
    response = client.get("/admin/queue")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.get_data(as_text=True)  # no inline scripts at all
    static = client.get("/admin/static/vendor/chart.umd.min.js")
    assert static.status_code == 200 and b"Chart.js v4" in static.data
    static.close()


def test_secure_cookie_in_production(env, admin_app, staff, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import admin
    from helpdesk.app import create_app

    monkeypatch.setenv("HELPDESK_ENV", "production")
    prod = create_app({"TESTING": True})
    admin.init_app(prod)
    client = prod.test_client()
    response = _login(client, "agent1", PASSWORD)
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]
    prod.extensions["helpdesk"].dispose()


def _sample_url(rule) -> str:  # type: ignore[no-untyped-def]
    values = {}
    for arg, converter in rule._converters.items():
        values[arg] = 987654 if isinstance(converter, IntegerConverter) else (
            "ICT-2569-999999" if arg == "number" else "no-such-thing")
    url = rule.rule
    for arg, value in values.items():
        url = re.sub(r"<(?:[^:<>]+:)?" + arg + r">", str(value), url)
    return url


def test_every_admin_route_requires_login_and_the_right_role(admin_app, staff) -> None:  # type: ignore[no-untyped-def]
    rules = [r for r in admin_app.url_map.iter_rules() if r.rule.startswith("/admin") and r.endpoint != "admin.static"]
    endpoints = {r.endpoint for r in rules}
    assert {"admin.queue", "admin.ticket", "admin.reply", "admin.dashboard", "admin.export_xlsx",
            "admin.report_download", "admin.kb_save", "admin.kb_unanswered", "admin.pdpa_erase",
            "admin.users_add"} <= endpoints
    lower = {"viewer": None, "agent": "viewer", "admin": "agent"}
    checked = 0
    for rule in rules:
        view = admin_app.view_functions[rule.endpoint]
        url = _sample_url(rule)
        methods = sorted(m for m in rule.methods if m in ("GET", "POST"))
        if security.is_public(view):
            assert rule.endpoint == "admin.login"
            continue
        role = security.view_role(view)
        assert role in security.ROLE_RANK, f"{rule.endpoint} declares no role"
        for method in methods:
            anonymous = admin_app.test_client().open(url, method=method)
            assert anonymous.status_code in (302, 303), (rule.endpoint, method, anonymous.status_code)
            assert anonymous.headers["Location"].startswith("/admin/login"), rule.endpoint
            below = lower[role]
            if below:
                client = admin_app.test_client()
                token = login_as(client, admin_app, staff[below])
                refused = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
                assert refused.status_code == 403, (rule.endpoint, method, below, refused.status_code)
                assert "ไม่มีสิทธิ์" in refused.get_data(as_text=True)
            if method == "GET":
                client = admin_app.test_client()
                login_as(client, admin_app, staff[role])
                allowed = client.get(url)
                assert allowed.status_code not in (401, 403), (rule.endpoint, allowed.status_code)
                assert not allowed.headers.get("Location", "").startswith("/admin/login"), rule.endpoint
                allowed.close()
            checked += 1
    assert checked >= 35

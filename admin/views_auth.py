"""Sign in, sign out, one's own password, and staff accounts (admin only)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from admin import labels as L
from admin import security
from admin.blueprint import bp
from helpdesk.app import db, services
from helpdesk.db import write_session
from tickets.directory import MIN_PASSWORD_LENGTH, DirectoryError, create_staff_user, verify_password
from tickets.models import Office, Role, StaffUser, utcnow
from tickets.registry import audit


@bp.route("/login", methods=["GET", "POST"])
@security.public
def login() -> Any:
    nxt = security.safe_next(request.values.get("next"), url_for("admin.queue"))
    if request.method == "GET":
        if security.load_user(db(), services().office_id)[0] is not None:
            return redirect(nxt)
        security.csrf_token()
        return render_template("admin/login.html", next=nxt)
    username = (request.form.get("username") or "").strip()[:80]
    password = request.form.get("password") or ""
    ip = request.remote_addr or "unknown"
    svc = services()
    with write_session(svc.engine) as s:
        throttle = security.check_throttle(s, svc.office_id, username, ip)
        if throttle.locked:
            error = L.LOGIN_LOCKED.format(minutes=throttle.minutes)
            return render_template("admin/login.html", next=nxt, error=error, username=username), 429
        user = security.authenticate(s, svc.office_id, username, password) if username and password else None
        security.record_attempt(s, svc.office_id, username, ip, ok=user is not None, user=user)
        if user is None:
            return render_template("admin/login.html", next=nxt, error=L.LOGIN_FAILED, username=username), 401
        user.last_login_at = utcnow()
    security.start_session(user)
    return redirect(nxt, code=303)


@bp.post("/logout")
@security.requires("viewer")
def logout() -> Any:
    security.end_session()
    flash(L.LOGGED_OUT, "info")
    return redirect(url_for("admin.login"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@security.requires("viewer")
def account() -> Any:
    user: StaffUser = g.staff
    error = None
    if request.method == "POST":
        current = request.form.get("current") or ""
        new = request.form.get("new") or ""
        if not verify_password(user, current):
            error = L.LOGIN_FAILED
        elif len(new) < MIN_PASSWORD_LENGTH:
            error = L.PASSWORD_SHORT.format(n=MIN_PASSWORD_LENGTH)
        else:
            with write_session(services().engine) as s:
                row = s.get(StaffUser, user.id)
                assert row is not None
                row.password_hash = generate_password_hash(new)
                audit(s, office_id=row.office_id, actor=security.actor(), action="password_changed",
                      details={"user_id": row.id})
            security.start_session(row)  # this session stays; every other one ends
            flash(L.PASSWORD_CHANGED, "success")
            return redirect(url_for("admin.account"), code=303)
    return render_template("admin/account.html", error=error), (400 if error else 200)


@bp.get("/users")
@security.requires("admin")
def users() -> Any:
    rows = db().scalars(select(StaffUser).where(StaffUser.office_id == services().office_id)
                        .order_by(StaffUser.active.desc(), StaffUser.username)).all()
    return render_template("admin/users.html", users=rows, roles=[r.value for r in Role],
                           min_password=MIN_PASSWORD_LENGTH)


@bp.post("/users")
@security.requires("admin")
def users_add() -> Any:
    svc = services()
    form = request.form
    try:
        with write_session(svc.engine) as s:
            office = s.get(Office, svc.office_id)
            assert office is not None
            user = create_staff_user(s, office, form.get("username") or "", form.get("password") or "",
                                     form.get("role") or "", (form.get("display_name") or "").strip() or None)
            user.email = (form.get("email") or "").strip() or None
            audit(s, office_id=office.id, actor=security.actor(), action="user_added",
                  details={"user_id": user.id, "role": user.role})
    except DirectoryError as exc:
        flash(L.USER_ERROR.format(detail=_user_error_th(str(exc))), "error")
        return redirect(url_for("admin.users"), code=303)
    flash(L.USER_ADDED.format(name=user.username), "success")
    return redirect(url_for("admin.users"), code=303)


def _user_error_th(detail: str) -> str:
    if "password" in detail:
        return L.PASSWORD_SHORT.format(n=MIN_PASSWORD_LENGTH)
    if "already exists" in detail:
        return "มีชื่อผู้ใช้นี้แล้ว"
    if "role" in detail:
        return "บทบาทไม่ถูกต้อง"
    return "ชื่อผู้ใช้ต้องยาว 1-80 ตัวอักษร"


@bp.post("/users/<int:user_id>")
@security.requires("admin")
def users_update(user_id: int) -> Any:
    svc = services()
    form = request.form
    me: StaffUser = g.staff
    with write_session(svc.engine) as s:
        user = s.get(StaffUser, user_id)
        if user is None or user.office_id != svc.office_id:
            return render_template("admin/error.html", code=404, message=L.NOT_FOUND), 404
        role = form.get("role") or user.role
        active = form.get("active") == "1"
        if user.id == me.id and (role != user.role or not active):
            flash(L.USER_SELF, "error")
            return redirect(url_for("admin.users"), code=303)
        changes: dict[str, Any] = {}
        if role in {r.value for r in Role} and role != user.role:
            changes["role"] = {"from": user.role, "to": role}
            user.role = role
        if active != user.active:
            changes["active"] = active
            user.active = active
        password = form.get("password") or ""
        if password:
            if len(password) < MIN_PASSWORD_LENGTH:
                flash(L.PASSWORD_SHORT.format(n=MIN_PASSWORD_LENGTH), "error")
                return redirect(url_for("admin.users"), code=303)
            user.password_hash = generate_password_hash(password)
            changes["password_reset"] = True
        if changes:
            audit(s, office_id=user.office_id, actor=security.actor(), action="user_updated",
                  details={"user_id": user.id, **changes})
        name = user.username
    flash(L.USER_UPDATED.format(name=name), "success")
    return redirect(url_for("admin.users"), code=303)

"""The admin blueprint (/admin): request guards, security headers, template helpers and error pages."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from admin import labels as L
from admin import security
from admin.templating import register_filters
from helpdesk.app import db, services

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Pages are built from our own files only: no inline scripts, no third-party origins.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.record_once
def _setup(state: Any) -> None:
    register_filters(state.app)


@bp.before_request
def guard() -> Any:
    """Login, role and CSRF checks for every /admin request, before any view runs."""
    endpoint = request.endpoint or ""
    view = current_app.view_functions.get(endpoint)
    if endpoint == "admin.static":
        return None
    g.staff = None
    if not security.is_public(view):
        user, expired = security.load_user(db(), services().office_id)
        if user is None:
            flash(L.SESSION_EXPIRED if expired else L.LOGIN_REQUIRED, "warning")
            nxt = request.full_path if request.method == "GET" else None
            return redirect(url_for("admin.login", next=nxt.rstrip("?") if nxt else None),
                            code=302 if request.method == "GET" else 303)
        g.staff = user
        role = security.view_role(view) or "admin"  # undeclared: the strictest role
        if not security.has_role(user, role):
            return render_template("admin/error.html", code=403, message=L.FORBIDDEN), 403
    security.check_csrf()
    return None


@bp.after_request
def headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "admin.static":
        # Pages hold personal data: never keep them in shared caches or the back/forward cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def inject() -> dict[str, Any]:
    if not request.path.startswith("/admin"):
        return {}
    return {
        "staff": g.get("staff"),
        "csrf_token": security.csrf_token,
        "has_role": lambda role: security.has_role(g.get("staff"), role),
        "L": L,
        "office_name": services().settings.office_name,
    }


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    if code == 400 and exc.description == "csrf":
        message = L.CSRF_FAILED
    elif code == 404:
        message = L.NOT_FOUND
    elif code == 403:
        message = L.FORBIDDEN
    else:
        message = L.BAD_REQUEST if 400 <= code < 500 else "เกิดข้อผิดพลาด"
    return render_template("admin/error.html", code=code, message=message), code

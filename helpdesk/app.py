"""The Flask application factory (Flask tutorial style): create_app(test_config=None)."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, current_app, g, jsonify
from sqlalchemy.orm import Session

from helpdesk.config import load_settings
from helpdesk.db import ping
from helpdesk.logs import setup_logging
from helpdesk.services import Services

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app. `test_config` may hold "ENV" (environment overrides) and Flask settings."""
    test_config = dict(test_config or {})
    env_overrides = test_config.pop("ENV", None)
    environ = {**os.environ, **env_overrides} if env_overrides else None
    settings = load_settings(environ)
    setup_logging(settings.log_level)

    app = Flask(__name__, instance_path=str(settings.instance_dir), instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.config.update(test_config)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind a reverse proxy the connection's address is the proxy's: the login and repair-form
        # throttles would treat every user as one. Only the configured number of hops is trusted.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops,  # type: ignore[method-assign]
                                x_proto=settings.proxy_hops)

    services = Services.from_settings(settings)
    app.extensions["helpdesk"] = services

    from bot.followup_web import bp as followup_bp
    from bot.web_chat import bp as chat_bp

    app.register_blueprint(chat_bp)
    app.register_blueprint(followup_bp)

    import admin
    import bot.email
    import bot.line

    admin.init_app(app)
    bot.email.init_app(app)
    bot.line.init_app(app)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        try:
            ping(services.engine)
        except Exception as exc:
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return jsonify(status="error", database="unreachable"), 503
        return jsonify(status="ok", database="ok", office=settings.office_code)

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        from flask import redirect, url_for

        return redirect(url_for("chat.page"))

    @app.teardown_appcontext
    def _close_db(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    log.info("web app ready: %s", {k: v for k, v in settings.as_public_dict().items()
                                   if k in ("env", "database_url", "office_code")})
    return app


def services() -> Services:
    return current_app.extensions["helpdesk"]


def db() -> Session:
    """The request's session (closed at teardown)."""
    if "db" not in g:
        g.db = services().session_factory()
    return g.db

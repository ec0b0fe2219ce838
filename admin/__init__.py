"""The admin web app of the ICT group (/admin): queue, tickets and replies, knowledge editing, statistics,
exports, the director's report and PDPA requests. Thai UI, usable on a phone.

Integration hooks:
- `init_app(app)`: registers the blueprint (idempotent) and keeps the process's knowledge engine in step
  with article edits made by other processes.
- `init_worker()`: nothing to register for the worker yet (staff replies leave through the channels'
  transports); kept for symmetry with the other packages.
- `report_command`: `helpdesk report --month 2569-11 --format pdf|xlsx -o FILE` (or --fiscal-year 2569).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from admin.report import report_command

__all__ = ["init_app", "init_worker", "report_command"]


def init_app(app: Flask) -> None:
    if "admin" in app.blueprints:
        return
    from admin import views_auth, views_kb, views_pdpa, views_queue, views_stats, views_ticket  # noqa: F401
    from admin.blueprint import bp

    app.register_blueprint(bp)
    services = app.extensions["helpdesk"]

    @app.before_request
    def _knowledge_freshness() -> Any:
        # Pages that answer with the engine (the chat, the admin) pick up edits made in other processes.
        if request.endpoint and request.endpoint != "admin.static":
            from admin import kbsync

            kbsync.refresh_if_stale(services)
        return None


def init_worker() -> None:
    """Nothing to register: staff replies go out through the LINE and e-mail transports."""

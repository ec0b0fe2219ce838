"""The LINE channel: verified webhook, store-first processing, Flex answers, Thai ticket commands,
the /repair page (standalone and as a LIFF app) and the rich menu.

Hooks for the service:
- `init_app(app)`: registers the webhook and /repair blueprints; reads services from app.extensions["helpdesk"].
- `init_worker()`: the "line" event handler, the outbox transport and the periodic jobs for `helpdesk worker`.
- `line_group`: the `helpdesk line ...` commands (`richmenu`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from helpdesk.services import Services

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the LINE blueprints on the web app (idempotent)."""
    from bot import handlers
    from bot.line.handlers import handle_line_event
    from bot.line.repair_page import bp as repair_bp
    from bot.line.repair_page import handle_repair_form
    from bot.line.runtime import runtime_for
    from bot.line.webhook import bp as webhook_bp

    services = app.extensions["helpdesk"]
    app.extensions["line"] = runtime_for(services)
    handlers.register("line", handle_line_event)
    handlers.register("repair_form", handle_repair_form)
    if "line" not in app.blueprints:
        app.register_blueprint(webhook_bp)
    if "line_repair" not in app.blueprints:
        app.register_blueprint(repair_bp)


def _transport_factory(services: Services) -> Any:
    from bot.line.runtime import runtime_for

    return runtime_for(services).transport


def _content_job(services: Services, now: Any = None) -> dict[str, object]:
    from bot.line.media import fetch_due
    from bot.line.runtime import runtime_for

    return dict(fetch_due(runtime_for(services), limit=20))


def _conversation_job(services: Services, now: Any = None) -> dict[str, object]:
    from bot.line.conversation import expire_old
    from helpdesk.db import write_session

    with write_session(services.engine) as session:
        return {"expired": expire_old(session)}


def init_worker() -> None:
    """Plug the LINE channel into `helpdesk worker` (idempotent): the "line" event handler, the outbox
    transport, and the scheduled jobs (media downloads every 5 s, expired conversations every 10 min)."""
    from datetime import timedelta

    from bot import handlers
    from bot.line.handlers import handle_line_event, prepared_in_worker
    from bot.line.repair_page import handle_repair_form
    from helpdesk import worker

    handlers.register("line", handle_line_event, prepared_in_worker)
    handlers.register("repair_form", handle_repair_form)
    if _transport_factory not in worker.TRANSPORT_FACTORIES:
        worker.TRANSPORT_FACTORIES.append(_transport_factory)
    jobs = (("line_content", 5.0, _content_job), ("line_conversations", 600.0, _conversation_job))
    periodic = getattr(worker, "PERIODIC_JOBS", None)
    if periodic is not None:
        names = {name for name, _every, _job in periodic}
        periodic.extend(j for j in jobs if j[0] not in names)
        return
    from helpdesk import scheduler

    for name, every, fn in jobs:
        if name not in scheduler.JOBS:
            scheduler.job(name, every=timedelta(seconds=every), lease=timedelta(minutes=2))(fn)


def __getattr__(name: str) -> Any:
    if name == "line_group":
        from bot.line.cli import line_group

        return line_group
    raise AttributeError(name)


__all__ = ["init_app", "init_worker", "line_group"]

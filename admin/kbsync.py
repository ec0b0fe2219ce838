"""Keeping every process's knowledge engine in step with the articles edited in the admin app.

The process that saves an edit rebuilds its engine at once. Other processes (more gunicorn workers, the
`helpdesk worker`) notice the change through a cheap fingerprint of the office's kb_article rows
(count, newest update, highest id), checked at most every CHECK_INTERVAL seconds, and rebuild in a
background thread while the old engine keeps answering.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.db import session_scope
from tickets.models import KbArticle

log = logging.getLogger(__name__)

CHECK_INTERVAL = 30.0
_lock = threading.Lock()
_state: dict[int, dict[str, Any]] = {}  # id(services) -> {"checked", "fp", "building"}


def fingerprint(session: Session, office_id: int) -> tuple[Any, ...]:
    row = session.execute(
        select(func.count(KbArticle.id), func.max(KbArticle.updated_at), func.max(KbArticle.id))
        .where(KbArticle.office_id == office_id)
    ).one()
    return (int(row[0]), row[1].isoformat() if row[1] else None, row[2])


def _entry(services: Any) -> dict[str, Any]:
    with _lock:
        return _state.setdefault(id(services), {"checked": 0.0, "fp": None, "building": False})


def mark_built(services: Any, session: Session | None = None) -> None:
    """Record that this process's engine reflects the database as it is now."""
    if session is None:
        with session_scope(services.session_factory) as s:
            fp = fingerprint(s, services.office_id)
    else:
        fp = fingerprint(session, services.office_id)
    entry = _entry(services)
    entry["fp"] = fp
    entry["checked"] = time.monotonic()


def refresh_if_stale(services: Any, *, interval: float = CHECK_INTERVAL, background: bool = True) -> bool:
    """Rebuild the engine when another process changed the articles. True when a rebuild started."""
    entry = _entry(services)
    stamp = time.monotonic()
    if stamp - entry["checked"] < interval or entry["building"]:
        return False
    entry["checked"] = stamp
    try:
        with session_scope(services.session_factory) as s:
            fp = fingerprint(s, services.office_id)
    except Exception:  # the database may be restarting; try again later
        log.warning("knowledge freshness check failed", exc_info=True)
        return False
    if entry["fp"] is None:
        entry["fp"] = fp
        return False
    if fp == entry["fp"]:
        return False
    if services._knowledge is None:  # not built yet: it will read the current articles when first used
        entry["fp"] = fp
        return False

    def rebuild() -> None:
        try:
            services.rebuild_knowledge()
            entry["fp"] = fp
            log.info("knowledge engine rebuilt after an article edit in another process")
        except Exception:
            log.exception("knowledge engine rebuild failed; keeping the previous one")
        finally:
            entry["building"] = False

    entry["building"] = True
    if background:
        threading.Thread(target=rebuild, name="kb-rebuild", daemon=True).start()
    else:
        rebuild()
    return True

"""The process-wide services: settings, the database engine, the office row and the knowledge engine.

Built once per process (web worker, `helpdesk worker`, CLI command) from the settings.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk.config import Settings
from helpdesk.db import make_engine, make_session_factory, session_scope
from tickets.directory import ensure_office
from tickets.models import KbArticle

if TYPE_CHECKING:
    from knowledge.engine import KnowledgeEngine

log = logging.getLogger(__name__)

_SHARED_ENGINES: dict[str, KnowledgeEngine] = {}
_SHARED_LOCK = threading.Lock()


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    _office_id: int | None = None
    _knowledge: KnowledgeEngine | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = make_engine(settings.database_url)
        return cls(settings=settings, engine=engine, session_factory=make_session_factory(engine))

    @property
    def office_id(self) -> int:
        """The configured office, created on first use (after `helpdesk init` it always exists)."""
        if self._office_id is None:
            with self._lock:
                if self._office_id is None:
                    with session_scope(self.session_factory) as session:
                        office = ensure_office(
                            session, self.settings.office_code, self.settings.office_name, self.settings.office_email
                        )
                        self._office_id = office.id
        return self._office_id

    def knowledge(self) -> KnowledgeEngine:
        """The knowledge engine with this office's database edits applied (built once, then shared)."""
        if self._knowledge is None:
            with self._lock:
                if self._knowledge is None:
                    self._knowledge = self._build_knowledge()
        return self._knowledge

    def rebuild_knowledge(self) -> KnowledgeEngine:
        engine = self._build_knowledge()
        with self._lock:
            self._knowledge = engine
        return engine

    def _build_knowledge(self) -> KnowledgeEngine:
        from knowledge.engine import KnowledgeEngine

        office_id = self.office_id
        with session_scope(self.session_factory) as session:
            overrides = [
                {**row.data, "id": row.article_id, "enabled": row.enabled}
                for row in session.scalars(select(KbArticle).where(KbArticle.office_id == office_id))
            ]
        # Engines are immutable once built: processes serving several apps (tests, several offices with the
        # same articles) share one per distinct input instead of training again.
        key = json.dumps([overrides, self.settings.office_name], sort_keys=True, ensure_ascii=False, default=str)
        with _SHARED_LOCK:
            engine = _SHARED_ENGINES.get(key)
            if engine is None:
                engine = KnowledgeEngine.load(overrides=overrides, office_name=self.settings.office_name)
                replaced = bool(_SHARED_ENGINES)
                if len(_SHARED_ENGINES) >= 8:
                    _SHARED_ENGINES.pop(next(iter(_SHARED_ENGINES)))
                _SHARED_ENGINES[key] = engine
                # The engine stays for the process's life (or until an article edit replaces it; then the
                # old one's reference cycles can be collected only once given back to the collector).
                settle_heap(collect=replaced)
        return engine

    def dispose(self) -> None:
        self.engine.dispose()


def settle_heap(*, collect: bool = False) -> None:
    """Keep what a process has loaded for good out of the garbage collector's full passes.

    With the knowledge engine, the Thai dictionary and the libraries loaded, a process tracks some 650,000
    objects, and each full collection walks all of them: about 240 ms with the GIL held, during which the
    process answers no webhook (the ack tail at load came from these pauses). gc.freeze moves the objects
    alive now into the permanent generation, which collections skip; reference counting still frees them
    when they are dropped. `collect`: first give everything back to the collector and run one full pass
    (after replacing the engine, whose reference cycles would otherwise stay frozen for good)."""
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()

"""Tunables of the LINE channel that are not part of the core settings (read from the environment).

The credentials and base URLs come from helpdesk.config.Settings (LINE_CHANNEL_SECRET,
LINE_CHANNEL_ACCESS_TOKEN, LINE_API_BASE_URL, LINE_DATA_API_BASE_URL). Everything here has a safe default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from helpdesk.config import ConfigError, Settings


@dataclass(frozen=True)
class LineOptions:
    channel_secret: str | None
    access_token: str | None
    api_base_url: str
    data_api_base_url: str
    public_base_url: str
    liff_id: str | None = None
    # A reply token is used only while it is this fresh (LINE lets it live for about a minute).
    reply_token_ttl: float = 50.0
    # Background processing in the web process: lanes (threads) per process, and how long the web
    # process holds a stored event before the worker may take it over (it died, or it is overloaded).
    lanes: int = 1
    lane_lease: float = 30.0
    # Events a lane takes from its queue into one transaction when they pile up (1: one at a time). Only a
    # backlog fills a group (at 200 events/s most groups hold 1-3 events); then every group's fixed cost
    # (lookups, commit, bookkeeping) is shared by more events: bursts of 3,000 went 241-246 -> 274-287 /s on
    # PostgreSQL and 318-329 -> 344-352 /s on SQLite with 32 instead of 8; 64 added nothing measurable.
    lane_batch: int = 32
    # On SQLite, a lane's transaction that has held the write lock this long lets a waiting webhook in
    # before its next event (0: never; the batch holds the lock to the end). Each such stop costs a commit
    # and the remaining events' marking again: at 200 events/s, 5 ms cut most groups and the lanes fell
    # behind (e2e p95 6.6-8.6 s against 52-79 ms with 15 ms; ack p99 about the same).
    lane_hold_ms: float = 15.0
    gil_switch_ms: float = 1.0  # sys.setswitchinterval while lanes run in a web process (0: Python's default)
    # Delivery retries: first delay and ceiling of the exponential backoff (Retry-After wins when given).
    retry_base: float = 1.0
    retry_cap: float = 60.0
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    # Show LINE's loading animation when a reply has not left after this many seconds.
    loading_after: float = 1.0
    # ... unless this many webhook deliveries wait in the process's lanes: then the service is overloaded,
    # and the animation (one more API call per event) is shed so that the answers themselves go sooner.
    loading_shed: int = 100
    max_attachment_bytes: int = 10 * 1024 * 1024
    conversation_idle_minutes: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.channel_secret and self.access_token)

    @property
    def liff_channel_id(self) -> str | None:
        """A LIFF ID is "<LINE Login channel id>-<suffix>"; the channel id is the ID token's audience."""
        if not self.liff_id or "-" not in self.liff_id:
            return None
        return self.liff_id.split("-", 1)[0]

    def with_(self, **changes: Any) -> LineOptions:
        return replace(self, **changes)


def _num(env: dict[str, str], name: str, default: float, *, lo: float = 0.0, integer: bool = False) -> Any:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if value < lo:
        raise ConfigError(f"{name}: must be at least {lo}, got {raw!r}")
    return value


def load_options(settings: Settings, environ: dict[str, str] | None = None) -> LineOptions:
    """The options from the environment, with the same .env file as the core settings underneath."""
    base = dict(os.environ if environ is None else environ)
    dotenv_file = Path(base.get("HELPDESK_DOTENV", ".env"))
    env = {k: v for k, v in dotenv_values(dotenv_file).items() if v is not None} if dotenv_file.is_file() else {}
    env.update(base)
    return LineOptions(
        channel_secret=settings.line_channel_secret,
        access_token=settings.line_channel_access_token,
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        public_base_url=settings.public_base_url,
        liff_id=(env.get("LINE_LIFF_ID") or "").strip() or None,
        reply_token_ttl=_num(env, "LINE_REPLY_TOKEN_TTL", 50.0),
        lanes=_num(env, "LINE_LANES", 1, integer=True),
        lane_lease=_num(env, "LINE_LANE_LEASE_SECONDS", 30.0, lo=0.1),
        lane_batch=_num(env, "LINE_LANE_BATCH", 32, lo=1, integer=True),
        lane_hold_ms=_num(env, "LINE_LANE_HOLD_MS", 15.0, lo=0),
        gil_switch_ms=_num(env, "LINE_GIL_SWITCH_MS", 1.0),
        retry_base=_num(env, "LINE_RETRY_BASE_SECONDS", 1.0, lo=0.001),
        retry_cap=_num(env, "LINE_RETRY_CAP_SECONDS", 60.0, lo=0.001),
        connect_timeout=_num(env, "LINE_CONNECT_TIMEOUT", 3.0, lo=0.01),
        read_timeout=_num(env, "LINE_READ_TIMEOUT", 10.0, lo=0.01),
        loading_after=_num(env, "LINE_LOADING_AFTER_SECONDS", 1.0),
        loading_shed=_num(env, "LINE_LOADING_SHED_BACKLOG", 100, lo=1, integer=True),
        max_attachment_bytes=_num(env, "LINE_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, lo=1, integer=True),
        conversation_idle_minutes=_num(env, "LINE_CONVERSATION_IDLE_MINUTES", 30, lo=1, integer=True),
    )

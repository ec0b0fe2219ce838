"""The e-mail channel's view of the settings, plus a few channel-only options from the environment.

Settings (helpdesk/config.py) holds the IMAP_* / SMTP_* / MAIL_FROM values. The extra knobs below are
optional and read the same way (environment, then the .env file):

    EMAIL_MAX_ATTACHMENT_MB   attachments kept per message, all together (default 10)
    IMAP_PROCESSED_MAILBOX    move processed mail there (default: keep it, flagged $HelpdeskDone)
    IMAP_POLL_SECONDS         how often `helpdesk worker` polls the mailbox (default 30)
    IMAP_MAX_MESSAGE_MB       larger messages are stored as headers only (default 60)
    IMAP_TIMEOUT_SECONDS      socket timeout for IMAP (default 30)
    SMTP_TIMEOUT_SECONDS      socket timeout for SMTP (default 30)
    IMAP_CA_FILE, SMTP_CA_FILE  trust this CA bundle for TLS (private CAs, tests)
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.email.parse import Limits
from helpdesk.config import ConfigError, Settings

PROCESSED_FLAG = "$HelpdeskDone"
LOOP_HEADER = "X-Helpdesk-Loop"


def _environ() -> dict[str, str]:
    env: dict[str, str] = {}
    dotenv = Path(os.environ.get("HELPDESK_DOTENV", ".env"))
    if dotenv.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ)
    return env


def _number(env: dict[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}: must be between {lo:g} and {hi:g}, got {raw}")
    return value


def _domain(address: str | None) -> str | None:
    if address and "@" in address:
        return address.rsplit("@", 1)[1].strip().strip(">").lower() or None
    return None


@dataclass(frozen=True)
class EmailConfig:
    office_code: str
    office_name: str
    mail_from: str  # the address replies come from
    domain: str  # right-hand side of our Message-IDs
    own_addresses: frozenset[str]
    thread_key: bytes  # HMAC key for the ticket reference in our Message-IDs
    limits: Limits
    processed_mailbox: str | None
    poll_seconds: float
    max_message_bytes: int
    imap_timeout: float
    smtp_timeout: float
    imap_ca_file: str | None
    smtp_ca_file: str | None

    @property
    def max_attachment_mb(self) -> float:
        return round(self.limits.max_attachment_bytes / (1024 * 1024), 2)


def build_config(settings: Settings, environ: dict[str, str] | None = None) -> EmailConfig:
    env = _environ() if environ is None else environ
    mail_from = (settings.mail_from or settings.office_email or "").strip().lower()
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    if not mail_from:
        mail_from = f"helpdesk@{host}"
    domain = _domain(mail_from) or host
    own = {mail_from}
    for candidate in (settings.office_email, settings.imap_user, settings.smtp_user):
        if candidate and "@" in candidate:
            own.add(candidate.strip().lower())
    key = hmac.new(settings.secret_key.encode(), b"helpdesk email thread reference v1", hashlib.sha256).digest()
    return EmailConfig(
        office_code=settings.office_code,
        office_name=settings.office_name,
        mail_from=mail_from,
        domain=domain,
        own_addresses=frozenset(own),
        thread_key=key,
        limits=Limits(max_attachment_bytes=int(_number(env, "EMAIL_MAX_ATTACHMENT_MB", 10, 0, 1024) * 1024 * 1024)),
        processed_mailbox=(env.get("IMAP_PROCESSED_MAILBOX") or "").strip() or None,
        poll_seconds=_number(env, "IMAP_POLL_SECONDS", 30, 0.1, 86_400),
        max_message_bytes=int(_number(env, "IMAP_MAX_MESSAGE_MB", 60, 1, 2048) * 1024 * 1024),
        imap_timeout=_number(env, "IMAP_TIMEOUT_SECONDS", 30, 1, 600),
        smtp_timeout=_number(env, "SMTP_TIMEOUT_SECONDS", 30, 1, 600),
        imap_ca_file=(env.get("IMAP_CA_FILE") or "").strip() or None,
        smtp_ca_file=(env.get("SMTP_CA_FILE") or "").strip() or None,
    )


@lru_cache(maxsize=16)
def email_config(settings: Settings) -> EmailConfig:
    """The channel configuration for these settings (built once per Settings object)."""
    return build_config(settings)

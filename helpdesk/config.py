"""Settings: one validated object built from the environment (and an optional .env file).

Every value comes from the environment; nothing secret is written in code. A bad value raises
ConfigError with one line naming the variable, which the CLI prints before exiting non-zero.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

ENVIRONMENTS = ("development", "production", "test")
DEFAULT_OFFICE_CODE = "demo"
DEFAULT_OFFICE_NAME = "สำนักงานเขตพื้นที่การศึกษา (สำนักงานตัวอย่าง)"


class ConfigError(ValueError):
    """A configuration value is missing or invalid. str(err) is one line naming the variable."""


@dataclass(frozen=True)
class Settings:
    env: str
    instance_dir: Path
    database_url: str
    secret_key: str = field(repr=False)
    office_code: str
    office_name: str
    office_email: str | None
    schools_file: Path | None
    log_level: str
    line_channel_secret: str | None = field(repr=False)
    line_channel_access_token: str | None = field(repr=False)
    line_api_base_url: str
    line_data_api_base_url: str
    imap_host: str | None
    imap_port: int
    imap_user: str | None
    imap_password: str | None = field(repr=False)
    imap_mailbox: str
    imap_tls: bool
    imap_starttls: bool
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None = field(repr=False)
    smtp_tls: bool
    smtp_starttls: bool
    mail_from: str | None
    worker_poll_seconds: float
    public_base_url: str
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none, the default:
    # the client's address is the connection's). Behind nginx set 1, or every user shares its address.
    proxy_hops: int = 0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_channel_secret and self.line_channel_access_token)

    @property
    def imap_enabled(self) -> bool:
        return bool(self.imap_host and self.imap_user)

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    def as_public_dict(self) -> dict[str, object]:
        """The settings without secrets, for logs and diagnostics."""
        hidden = {"secret_key", "line_channel_secret", "line_channel_access_token", "imap_password", "smtp_password"}
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            if name in hidden:
                out[name] = "***" if getattr(self, name) else None
            elif name == "database_url":
                out[name] = redact_url(self.database_url)
            else:
                value = getattr(self, name)
                out[name] = str(value) if isinstance(value, Path) else value
        return out


def redact_url(url: str) -> str:
    """Hide the password part of a database URL."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true/false, got {raw!r}")


def _int(env: dict[str, str], name: str, default: int, lo: int = 1, hi: int = 65535) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}: must be between {lo} and {hi}, got {value}")
    return value


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be positive, got {raw!r}")
    return value


def _http_url(env: dict[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or default).strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}: expected an http(s) URL, got {raw!r}")
    return raw


def normalise_database_url(raw: str) -> str:
    """Accept the usual spellings and pin the drivers we ship (pysqlite, psycopg 3)."""
    url = raw.strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return "postgresql+psycopg:" + url.split(":", 1)[1]
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return url
    shown = scheme or url
    raise ConfigError(
        f"DATABASE_URL: unsupported database {shown!r} (use sqlite:///path/to/file.db or postgresql://user@host/db)"
    )


def _secret_key(env: dict[str, str], environment: str, instance_dir: Path) -> str:
    key = (env.get("SECRET_KEY") or "").strip()
    if key:
        if len(key) < 16:
            raise ConfigError("SECRET_KEY: too short (use at least 16 random characters)")
        return key
    if environment == "production":
        raise ConfigError("SECRET_KEY: required when HELPDESK_ENV=production")
    # Local use: generate once and keep it in the instance folder (never in the repo).
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def load_settings(environ: dict[str, str] | None = None, dotenv_path: Path | None = None) -> Settings:
    """Build and validate the settings. Values in `environ` win over the .env file."""
    base = dict(os.environ) if environ is None else dict(environ)
    dotenv_file = dotenv_path or Path(base.get("HELPDESK_DOTENV", ".env"))
    env: dict[str, str] = {}
    if dotenv_file.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_file).items() if v is not None})
    env.update(base)

    environment = (env.get("HELPDESK_ENV") or "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"HELPDESK_ENV: expected one of {', '.join(ENVIRONMENTS)}, got {environment!r}")

    instance_dir = Path(env.get("HELPDESK_INSTANCE_DIR") or "instance").resolve()
    raw_db = (env.get("DATABASE_URL") or "").strip()
    database_url = normalise_database_url(raw_db) if raw_db else f"sqlite:///{instance_dir / 'helpdesk.db'}"

    office_code = (env.get("HELPDESK_OFFICE_CODE") or DEFAULT_OFFICE_CODE).strip()
    if not office_code.replace("-", "").replace("_", "").isalnum() or not office_code.isascii():
        raise ConfigError(f"HELPDESK_OFFICE_CODE: use ascii letters, digits, '-' or '_', got {office_code!r}")
    schools = (env.get("HELPDESK_SCHOOLS_FILE") or "").strip()
    schools_file = Path(schools) if schools else None
    if schools_file is not None and not schools_file.is_file():
        raise ConfigError(f"HELPDESK_SCHOOLS_FILE: no such file {schools!r}")

    log_level = (env.get("HELPDESK_LOG_LEVEL") or "INFO").strip().upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"HELPDESK_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    smtp_tls = _bool(env, "SMTP_TLS", False)
    smtp_starttls = _bool(env, "SMTP_STARTTLS", False)
    if smtp_tls and smtp_starttls:
        raise ConfigError("SMTP_TLS: choose SMTP_TLS or SMTP_STARTTLS, not both")
    imap_tls = _bool(env, "IMAP_TLS", False)
    imap_starttls = _bool(env, "IMAP_STARTTLS", False)
    if imap_tls and imap_starttls:
        raise ConfigError("IMAP_TLS: choose IMAP_TLS or IMAP_STARTTLS, not both")

    return Settings(
        env=environment,
        instance_dir=instance_dir,
        database_url=database_url,
        secret_key=_secret_key(env, environment, instance_dir),
        office_code=office_code,
        office_name=(env.get("HELPDESK_OFFICE_NAME") or DEFAULT_OFFICE_NAME).strip(),
        office_email=(env.get("HELPDESK_OFFICE_EMAIL") or "").strip() or None,
        schools_file=schools_file,
        log_level=log_level,
        line_channel_secret=(env.get("LINE_CHANNEL_SECRET") or "").strip() or None,
        line_channel_access_token=(env.get("LINE_CHANNEL_ACCESS_TOKEN") or "").strip() or None,
        line_api_base_url=_http_url(env, "LINE_API_BASE_URL", "https://api.line.me"),
        line_data_api_base_url=_http_url(env, "LINE_DATA_API_BASE_URL", "https://api-data.line.me"),
        imap_host=(env.get("IMAP_HOST") or "").strip() or None,
        imap_port=_int(env, "IMAP_PORT", 993 if imap_tls else 143),
        imap_user=(env.get("IMAP_USER") or "").strip() or None,
        imap_password=env.get("IMAP_PASSWORD") or None,
        imap_mailbox=(env.get("IMAP_MAILBOX") or "INBOX").strip(),
        imap_tls=imap_tls,
        imap_starttls=imap_starttls,
        smtp_host=(env.get("SMTP_HOST") or "").strip() or None,
        smtp_port=_int(env, "SMTP_PORT", 465 if smtp_tls else (587 if smtp_starttls else 25)),
        smtp_user=(env.get("SMTP_USER") or "").strip() or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_tls=smtp_tls,
        smtp_starttls=smtp_starttls,
        mail_from=(env.get("MAIL_FROM") or "").strip() or None,
        worker_poll_seconds=_float(env, "WORKER_POLL_SECONDS", 1.0),
        public_base_url=_http_url(env, "PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        proxy_hops=_int(env, "HELPDESK_PROXY_HOPS", 0, lo=0, hi=5),
    )

"""`helpdesk email ...`: ingest raw messages (files or stdin, e.g. piped from an MTA) and poll IMAP."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import click


def _services() -> Any:
    from helpdesk.cli import Context

    return click.get_current_context().ensure_object(Context).services


@click.group("email")
def email_group() -> None:
    """The e-mail channel."""


@email_group.command("ingest")
@click.argument("files", nargs=-1, required=True)
@click.option("--process/--no-process", default=True, show_default=True,
              help="run the pipeline right away (otherwise `helpdesk worker` does it)")
def ingest(files: tuple[str, ...], process: bool) -> None:
    """Store raw RFC 5322 messages (FILE... or - for stdin) and process them.

    Each message is stored first, deduped by Message-ID (or a hash of the bytes), so feeding the same
    message twice is harmless. Exits non-zero when a file cannot be read.
    """
    from bot.email import register_handler
    from bot.email.handler import store_raw
    from helpdesk.worker import process_inbound

    register_handler()
    services = _services()
    services.office_id  # noqa: B018 - create the office row before storing
    ids: list[int] = []
    failed = 0
    for name in files:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            click.echo(f"{name}: cannot read: {exc.strerror or exc}", err=True)
            failed += 1
            continue
        if not raw.strip():
            click.echo(f"{name}: empty, skipped", err=True)
            failed += 1
            continue
        stored = store_raw(services, raw, {"via": "stdin" if name == "-" else "file"})
        ids.append(stored.id)
        click.echo(f"{name}: stored as event {stored.id}" if stored.created else f"{name}: duplicate of event {stored.id}")
    if process and ids:
        counts: dict[str, int] = {}
        for start in range(0, len(ids), 50):
            for status, n in process_inbound(services, ids=ids[start:start + 50], limit=50).items():
                counts[status] = counts.get(status, 0) + n
        click.echo("processed: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new"))
    if failed:
        sys.exit(1)


@email_group.command("poll")
@click.option("--once", is_flag=True, help="one pass, then exit")
@click.option("--process/--no-process", default=True, show_default=True,
              help="run the pipeline on what was fetched")
def poll(once: bool, process: bool) -> None:
    """Fetch new mail from the IMAP mailbox (IMAP_* settings) into the inbox."""
    import signal

    from bot.email import register_handler
    from bot.email.config import email_config
    from bot.email.imap_intake import ImapError, ImapPoller
    from helpdesk.worker import process_inbound

    register_handler()
    services = _services()
    try:
        poller = ImapPoller(services)
    except ImapError as exc:
        click.echo(f"helpdesk: {exc}", err=True)
        sys.exit(2)
    stop = threading.Event()
    if not once:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    every = email_config(services.settings).poll_seconds
    try:
        while not stop.is_set():
            result = poller.poll()
            if process and result.event_ids:
                process_inbound(services, ids=result.event_ids, limit=len(result.event_ids))
            click.echo(" ".join(f"{k}={v}" for k, v in result.as_dict().items()) or "nothing new")
            if once:
                if result.error:
                    sys.exit(1)
                break
            if not result.more:
                stop.wait(every if result.retry_in is None else min(every, result.retry_in))
    finally:
        poller.close()


if __name__ == "__main__":  # python -m bot.email.cli ingest|poll ... (before the main CLI registers the group)
    email_group()

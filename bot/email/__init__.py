"""The e-mail channel: IMAP intake, Thai MIME parsing, threading into tickets, replies over SMTP.

Integration hooks (wired by create_app, the worker and the CLI):

- `init_app(app)`: lets the web process handle stored e-mail events (no routes of its own);
- `init_worker()`: the "email" inbox handler, the SMTP transport for the outbox and the IMAP poll as a
  leased scheduler job (one worker polls at a time);
- `email_group`: the `helpdesk email` click group (`ingest FILE...|-`, `poll [--once]`).

Modules: parse (bytes -> ParsedMessage, pure), charsets / htmltext / quotes (its helpers), loops
(auto-reply and noise rules), threading (signed Message-IDs, which ticket), handler (store first, then
the pipeline and the reply), compose (outbound MIME), transport (aiosmtplib), imap_intake (the poller).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.email.cli import email_group

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["email_group", "init_app", "init_worker", "register_handler"]

IMAP_JOB_NAME = "email-imap"


def register_handler() -> None:
    from bot.email.handler import SOURCE, handle_email_event
    from bot.handlers import register

    register(SOURCE, handle_email_event)


def init_app(app: Flask) -> None:
    register_handler()


def init_worker() -> None:
    from datetime import timedelta

    from bot.email.config import _environ, _number
    from bot.email.imap_intake import imap_scheduled_job
    from bot.email.transport import smtp_transport_factory
    from helpdesk import scheduler, worker

    register_handler()
    if smtp_transport_factory not in worker.TRANSPORT_FACTORIES:
        worker.TRANSPORT_FACTORIES.append(smtp_transport_factory)
    if IMAP_JOB_NAME not in scheduler.JOBS:
        every = _number(_environ(), "IMAP_POLL_SECONDS", 30, 0.1, 86_400)
        scheduler.job(IMAP_JOB_NAME, every=timedelta(seconds=every))(imap_scheduled_job)

"""`helpdesk` command line: init, serve, worker, user, tickets, chat, ask, kb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import click
from sqlalchemy import func, select

from helpdesk.config import ConfigError, Settings, load_settings
from helpdesk.logs import setup_logging

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")


class Context:
    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._services: Any = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
            setup_logging(self._settings.log_level)
        return self._settings

    @property
    def services(self):  # type: ignore[no-untyped-def]
        if self._services is None:
            from helpdesk.services import Services

            self._services = Services.from_settings(self.settings)
        return self._services


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def fail(message: str, code: int = 2) -> None:
    click.echo(f"helpdesk: {message}", err=True)
    sys.exit(code)


class HelpdeskGroup(click.Group):
    """Turns configuration and database errors into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            fail(f"configuration error: {exc}")
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            fail(f"database error: {reason}")


@click.group(cls=HelpdeskGroup)
@click.version_option(package_name="ict-helpdesk")
def main() -> None:
    """Help desk of the ICT group (กลุ่มส่งเสริมการศึกษาทางไกลฯ) of an educational service area office."""


@main.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create or upgrade the database schema and load the office and the bundled knowledge base (idempotent)."""
    from helpdesk import migrate
    from helpdesk.db import session_scope
    from tickets.directory import ensure_office, load_schools_csv

    settings = ctx.settings
    services = ctx.services
    before = migrate.current_revision(services.engine)
    migrate.upgrade(services.engine)
    after = migrate.current_revision(services.engine)
    with session_scope(services.session_factory) as session:
        office = ensure_office(session, settings.office_code, settings.office_name, settings.office_email)
        schools = load_schools_csv(session, office, settings.schools_file) if settings.schools_file else 0
    knowledge = services.knowledge()
    state = "up to date" if before == after else f"migrated {before or 'empty'} -> {after}"
    click.echo(f"database: {state} ({'SQLite' if settings.is_sqlite else 'PostgreSQL'})")
    click.echo(f"office: {settings.office_code} ({settings.office_name})" + (f", {schools} new schools" if schools else ""))
    click.echo(f"knowledge base: {len(knowledge.articles)} articles")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="gunicorn worker processes")
@click.option("--worker/--no-worker", "with_worker", default=True, show_default=True,
              help="also run `helpdesk worker` alongside the web server")
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int, with_worker: bool) -> None:
    """Run the web service (gunicorn) on HOST:PORT."""
    from gunicorn.app.base import BaseApplication

    from helpdesk import migrate

    settings = ctx.settings
    if migrate.current_revision(ctx.services.engine) != migrate.head_revision():
        fail("the database is not initialised: run `helpdesk init` first")
    ctx.services.dispose()

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 60)
            # One request per connection, as in the Procfile: a kept-alive connection stays with the
            # process that accepted it, and a LINE event's background work runs in the process that took
            # its webhook, so a few busy connections could load one process while the other idles. Without
            # keep-alive, whichever process is free to accept takes the next request.
            self.cfg.set("keepalive", 0)
            self.cfg.set("accesslog", "-")
            self.cfg.set("loglevel", settings.log_level.lower())

        def load(self):  # type: ignore[no-untyped-def]
            from helpdesk.app import create_app

            return create_app()

    child = None
    if with_worker:
        child = subprocess.Popen([sys.executable, "-m", "helpdesk.cli", "worker"])
    click.echo(f"serving on http://{host}:{port}/ (chat: http://{host}:{port}/try)", err=True)
    try:
        _App().run()
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


@main.command()
@click.option("--once", is_flag=True, help="one pass over due work, then exit")
@pass_ctx
def worker(ctx: Context, once: bool) -> None:
    """Process stored inbound events, deliver the outbox and run scheduled jobs."""
    import threading

    from helpdesk.worker import Worker, run_forever

    services = ctx.services
    services.knowledge()  # warm the models before taking work
    if once:
        Worker(services, threading.Event()).run(once=True)
    else:
        run_forever(services)


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "agent", "viewer"]), required=True)
@click.option("--display-name", default=None, help="the name shown in the admin app")
@pass_ctx
def user_add(ctx: Context, name: str, role: str, display_name: str | None) -> None:
    """Add a staff user. The password comes from HELPDESK_PASSWORD or a prompt, never an argument."""
    from helpdesk.db import session_scope
    from tickets.directory import DirectoryError, create_staff_user, ensure_office

    password = os.environ.get("HELPDESK_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            fail("no password: set HELPDESK_PASSWORD or run in a terminal to be prompted")
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    settings = ctx.settings
    try:
        with session_scope(ctx.services.session_factory) as session:
            office = ensure_office(session, settings.office_code, settings.office_name, settings.office_email)
            create_staff_user(session, office, name, password, role, display_name)
    except DirectoryError as exc:
        fail(str(exc))
    click.echo(f"user {name} ({role}) added")


@main.group()
def tickets() -> None:
    """The consultation register."""


@tickets.command("list")
@click.option("--json", "as_json", is_flag=True, help="a JSON array")
@click.option("--status", default=None, help="only this status")
@click.option("--limit", default=100, show_default=True, type=int)
@pass_ctx
def tickets_list(ctx: Context, as_json: bool, status: str | None, limit: int) -> None:
    """List tickets, newest first."""
    from helpdesk.db import session_scope
    from helpdesk.thaidate import format_datetime
    from tickets.models import Message, Office, Requester, Ticket

    with session_scope(ctx.services.session_factory) as session:
        counts = (
            select(Message.ticket_id, func.count(Message.id).label("n"))
            .where(Message.internal.is_(False))
            .group_by(Message.ticket_id)
            .subquery()
        )
        stmt = (
            select(Ticket, Office.code, Requester, func.coalesce(counts.c.n, 0))
            .join(Office, Office.id == Ticket.office_id)
            .outerjoin(Requester, Requester.id == Ticket.requester_id)
            .outerjoin(counts, counts.c.ticket_id == Ticket.id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
        if status:
            stmt = stmt.where(Ticket.status == status)
        rows = []
        for ticket, office_code, requester, n in session.execute(stmt):
            rows.append({
                "number": ticket.number,
                "office": office_code,
                "channel": ticket.channel,
                "requester": _requester_label(requester),
                "category": ticket.category,
                "intent": ticket.intent,
                "urgency": ticket.urgency,
                "status": ticket.status,
                "subject": ticket.subject,
                "created_at": ticket.created_at.isoformat(),
                "message_count": int(n),
            })
            rows[-1]["_created_th"] = format_datetime(ticket.created_at)
    if as_json:
        click.echo(json.dumps([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
                              ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("ยังไม่มีเรื่องในทะเบียน")
        return
    for r in rows:
        click.echo(f"{r['number']}  {r['_created_th']}  {r['status']:<8} {r['urgency']:<6} {r['channel']:<5} "
                   f"{r['category'] or '-':<24} {r['subject'] or ''}")


def _requester_label(requester: Any) -> str | None:
    if requester is None:
        return None
    if requester.erased_at is not None:
        return "(erased)"
    if requester.display_name:
        return str(requester.display_name)
    if requester.email:
        return str(requester.email)
    if requester.line_user_id:
        return f"line:{requester.line_user_id[:10]}…"
    if requester.web_id:
        return f"web:{requester.web_id[:8]}"
    return f"requester:{requester.id}"


@main.command()
@click.option("--name", default=None, help="your display name in the register")
@pass_ctx
def chat(ctx: Context, name: str | None) -> None:
    """Talk to the bot in the terminal, through the same pipeline as LINE (no credentials needed)."""
    from bot.inbox import store_event
    from helpdesk.db import session_scope, write_session
    from helpdesk.worker import process_inbound
    from tickets.models import Message, Requester

    services = ctx.services
    services.knowledge()
    web_id = f"cli-{uuid.uuid4().hex[:12]}"
    click.echo("พิมพ์คำถามหรือปัญหาที่พบ (Ctrl-D เพื่อออก)")
    last_id = 0
    while True:
        try:
            text = click.prompt("คุณ", prompt_suffix=": ", default="", show_default=False)
        except (EOFError, click.exceptions.Abort):
            click.echo()
            break
        if not text.strip():
            continue
        payload = json.dumps({"web_id": web_id, "text": text, "display_name": name}, ensure_ascii=False).encode()
        with write_session(services.engine) as s:
            stored = store_event(s, office_id=services.office_id, source="web",
                                 source_id=f"{web_id}:{uuid.uuid4().hex}", payload=payload)
        process_inbound(services, ids=[stored.id])
        with session_scope(services.session_factory) as s:
            requester_id = s.scalar(select(Requester.id).where(Requester.office_id == services.office_id,
                                                               Requester.web_id == web_id))
            replies = s.scalars(
                select(Message)
                .where(Message.requester_id == requester_id, Message.id > last_id, Message.direction == "out")
                .order_by(Message.id)
            ).all()
            for m in replies:
                click.echo(f"บอท: {m.text}\n")
                last_id = m.id


@main.group()
def jobs() -> None:
    """Scheduled jobs (the worker runs them; these run one now)."""


@jobs.command("list")
@pass_ctx
def jobs_list(ctx: Context) -> None:
    """The jobs, their intervals and their last runs."""
    from helpdesk import jobs as _registered  # noqa: F401
    from helpdesk.db import session_scope
    from helpdesk.scheduler import JOBS
    from tickets.models import JobLease

    with session_scope(ctx.services.session_factory) as session:
        leases = {row.name: row for row in session.scalars(select(JobLease))}
    for name, spec in JOBS.items():
        lease = leases.get(name)
        last = lease.last_run_at.isoformat() if lease and lease.last_run_at else "never"
        click.echo(f"{name:<10} every {int(spec.every.total_seconds())} s   last run: {last}"
                   + (f"   {json.dumps(lease.last_result, ensure_ascii=False)}" if lease and lease.last_result else ""))


@jobs.command("run")
@click.argument("name")
@click.option("--force", is_flag=True, help="run even if its interval has not passed (never while another runs it)")
@pass_ctx
def jobs_run(ctx: Context, name: str, force: bool) -> None:
    """Run one job now: sla, followups or digest."""
    from helpdesk import jobs as _registered  # noqa: F401
    from helpdesk.scheduler import JOBS, run_job

    if name not in JOBS:
        fail(f"unknown job {name!r} (known: {', '.join(JOBS)})")
    result = run_job(ctx.services, name, force=force)
    if result is None:
        click.echo(f"{name}: not run (another worker holds it, or it ran less than its interval ago; use --force)")
        sys.exit(1)
    click.echo(f"{name}: {json.dumps(result, ensure_ascii=False)}")


@main.group()
def kb() -> None:
    """The knowledge base."""


def _register_package_commands() -> None:
    """Commands that live with the package they belong to."""
    from admin import report_command
    from bot.email import email_group
    from bot.line import line_group
    from knowledge.cli import ask_command
    from knowledge.importer import import_command

    main.add_command(ask_command, "ask")
    main.add_command(report_command, "report")
    main.add_command(email_group, "email")
    main.add_command(line_group, "line")
    kb.add_command(import_command, "import")


_register_package_commands()


if __name__ == "__main__":
    main()

"""The consultation workflow: follow-up after resolution, the understanding/satisfaction answers,
staff alerts without storms, and the scheduler's single-run guarantee across processes."""

from __future__ import annotations

import multiprocessing
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpdesk import migrate
from helpdesk.db import make_session_factory, session_scope, write_session
from tickets import alerts, followup, registry, sla
from tickets.calendar import BANGKOK
from tickets.directory import ensure_office, requester_for_email, requester_for_line
from tickets.models import AuditLog, FollowUp, Office, OutboxMessage, Rating, Ticket, TicketStatus, utcnow

ALERTS = {"alerts": {"line_to": ["Cstaffgroup0001"], "email_to": ["ict@example.go.th"]}}


def bkk(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BANGKOK)


def _resolved_ticket(s, office: Office, *, channel: str, resolved_at: datetime, email: str | None = None):  # type: ignore[no-untyped-def]
    requester = (requester_for_email(s, office.id, email or "krupim@school.ac.th") if channel == "email"
                 else requester_for_line(s, office.id, "U" + "1" * 32))
    t = registry.open_ticket(s, office_id=office.id, channel=channel, actor="bot", requester_id=requester.id,
                             subject="ขอรหัสเข้า AMSS", received_at=resolved_at - timedelta(hours=2),
                             classification=registry.Classification("account_access", "request"))
    registry.change_status(s, t, TicketStatus.RESOLVED, actor="staff:1")
    t.resolved_at = resolved_at
    return t


def test_email_followup_round_trip_over_songkran(services, client) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        office.settings = ALERTS
        ticket = _resolved_ticket(s, office, channel="email", resolved_at=bkk(2026, 4, 10, 10, 0))
        ticket_id = ticket.id
    secret, base = services.settings.secret_key, "https://helpdesk.example.go.th"
    with write_session(services.engine) as s:
        assert followup.sweep(s, bkk(2026, 4, 10, 11), secret, base).as_dict() == {
            "scheduled": 1, "sent": 0, "expired": 0}
        fu = s.scalar(select(FollowUp))
        # one business day after Friday 10:00, skipping the weekend and Songkran (13-15 April)
        assert fu.due_at == bkk(2026, 4, 16, 10, 0)
    with write_session(services.engine) as s:
        assert followup.sweep(s, bkk(2026, 4, 16, 9, 59), secret, base).sent == 0
    with write_session(services.engine) as s:
        assert followup.sweep(s, bkk(2026, 4, 16, 10, 1), secret, base).sent == 1
    with write_session(services.engine) as s:
        assert followup.sweep(s, bkk(2026, 4, 16, 10, 2), secret, base).sent == 0  # never twice
        item = s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("followup:%")))
        assert item.channel == "email" and item.recipient == "krupim@school.ac.th"
        assert item.payload["subject"].startswith("[ICT-2569-")
        url = item.payload["url"]
    token = re.search(r"/f/(\S+)$", url).group(1)  # type: ignore[union-attr]

    page = client.get(f"/f/{token}")
    assert page.status_code == 200 and "ปัญหาได้รับการแก้ไขแล้วหรือไม่".encode() in page.data
    incomplete = client.post(f"/f/{token}", data={"solved": "0"})
    assert incomplete.status_code == 400
    done = client.post(f"/f/{token}", data={"solved": "0", "understood": "1", "score": "2", "comment": "ยังเข้าไม่ได้"})
    assert done.status_code == 200 and "เจ้าหน้าที่จะติดต่อกลับ".encode() in done.data
    assert client.post(f"/f/{token}", data={"solved": "1", "understood": "1", "score": "5"}).status_code == 410
    assert client.get(f"/f/{token}x").status_code == 410

    with session_scope(services.session_factory) as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.OPEN  # "not solved" reopened it
        rating = s.scalar(select(Rating))
        assert (rating.solved, rating.understood, rating.score, rating.channel) == (False, True, 2, "email")
        keys = set(s.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("alert:%"))))
        assert keys == {f"alert:not_solved:{ticket_id}:line:Cstaffgroup0001",
                        f"alert:not_solved:{ticket_id}:email:ict@example.go.th"}


def test_line_answers_arrive_one_by_one_and_close_the_ticket(services) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        ticket = _resolved_ticket(s, office, channel="line", resolved_at=bkk(2026, 11, 23, 10))
        followup.schedule(s, bkk(2026, 11, 23, 11))
        assert followup.send_due(s, bkk(2026, 11, 24, 10, 30), "k" * 32, "http://x") == 1
        item = s.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("followup:%")))
        assert item.payload["type"] == "followup" and item.recipient.startswith("U")
        fu = s.scalar(select(FollowUp))
        followup.record_answer(s, fu, channel="line", solved=True)
        assert ticket.status == TicketStatus.RESOLVED and fu.status == "sent"
        followup.record_answer(s, fu, channel="line", understood=True)
        followup.record_answer(s, fu, channel="line", score=5)
        assert fu.status == "answered" and ticket.status == TicketStatus.CLOSED
        assert s.scalar(select(func.count()).select_from(Rating)) == 1
        with pytest.raises(ValueError):
            followup.record_answer(s, fu, channel="line", score=9)


def test_unanswered_followup_closes_after_three_business_days(services) -> None:  # type: ignore[no-untyped-def]
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        ticket = _resolved_ticket(s, office, channel="email", resolved_at=bkk(2026, 12, 2, 9))
        followup.schedule(s, bkk(2026, 12, 2, 10))
        assert followup.send_due(s, bkk(2026, 12, 3, 9, 30), "k" * 32, "http://x") == 1
        # sent Thu 3 Dec 09:30; +3 business days: Fri 4, Tue 8, Wed 9 (5-7 Dec weekend + substitution day)
        assert followup.expire(s, bkk(2026, 12, 9, 9, 29)) == 0
        assert followup.expire(s, bkk(2026, 12, 9, 9, 31)) == 1
        assert ticket.status == TicketStatus.CLOSED
        actions = s.scalars(select(AuditLog.action).where(AuditLog.ticket_id == ticket.id)).all()
        assert "followup_sent" in actions


def test_sla_sweep_alerts_once_per_state_and_caps_storms(services) -> None:  # type: ignore[no-untyped-def]
    now = bkk(2026, 11, 23, 10, 0)
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        office.settings = ALERTS
        for i in range(30):
            registry.open_ticket(s, office_id=office.id, channel="line", actor="bot", subject=f"เน็ตล่ม {i}",
                                 received_at=bkk(2026, 11, 20, 9, 0),
                                 classification=registry.Classification("network_internet", "incident", "urgent"))
    with write_session(services.engine) as s:
        first = sla.sweep(s, now, max_alerts=5)
    assert first["checked"] == 30 and first["updated"] == 30
    assert first["alerts"] == 5 * 2  # five tickets' alerts to two destinations
    assert first["alerts_summarised"] > 0
    with write_session(services.engine) as s:
        again = sla.sweep(s, now + timedelta(minutes=1), max_alerts=5)
    assert again == {"checked": 30, "updated": 0, "alerts": 0, "alerts_summarised": 0}
    with session_scope(services.session_factory) as s:
        t = s.scalar(select(Ticket).order_by(Ticket.id))
        assert t.sla["first_response"]["done"] is False
        assert "first_response:breached" in t.sla["alerts"]
        cal, policy = sla.office_rules(None)
        late = {st.target: st.late_seconds for st in sla.evaluate(t, now, cal, policy)}
        # received Fri 20 Nov 09:00, urgent: due 10:00; then 5.5 office hours on Friday + 1.5 on Monday
        assert late["first_response"] == 7 * 3600


def test_a_new_urgent_ticket_alerts_staff_once(services) -> None:  # type: ignore[no-untyped-def]
    now = bkk(2026, 11, 23, 10, 0)
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        office.settings = {"alerts": {"line_to": ["Cstaffgroup0001"]}}
        t = registry.open_ticket(s, office_id=office.id, channel="line", actor="bot", subject="เน็ตล่มทั้งโรงเรียน",
                                 received_at=now - timedelta(minutes=2),
                                 classification=registry.Classification("network_internet", "incident", "urgent"))
        ticket_id = t.id
    with write_session(services.engine) as s:
        assert sla.sweep(s, now)["alerts"] == 1
    with write_session(services.engine) as s:
        assert sla.sweep(s, now + timedelta(minutes=1))["alerts"] == 0
        item = s.scalar(select(OutboxMessage))
        assert item.dedupe_key == f"alert:urgent_new:{ticket_id}:line:Cstaffgroup0001"
        assert "เรื่องด่วนใหม่" in item.payload["text"] and "เน็ตล่มทั้งโรงเรียน" in item.payload["text"]


def test_alerts_wait_for_office_hours_unless_urgent(services) -> None:  # type: ignore[no-untyped-def]
    night = bkk(2026, 11, 23, 22, 0)
    with write_session(services.engine) as s:
        office = s.get(Office, services.office_id)
        office.settings = {"alerts": {"email_to": ["ict@example.go.th"]}}
        cal, _ = sla.office_rules(office.settings)
        alerts.queue(s, office, key="quiet", text="x", subject="x", urgent=False, now=night, cal=cal)
        alerts.queue(s, office, key="loud", text="x", subject="x", urgent=True, now=night, cal=cal)
        assert alerts.queue(s, office, key="loud", text="x", subject="x", urgent=True, now=night, cal=cal) == 0
        rows = {r.payload["alert"]: r for r in s.scalars(select(OutboxMessage))}
        assert rows["quiet"].next_attempt_at == bkk(2026, 11, 24, 8, 30)
        assert rows["loud"].next_attempt_at <= utcnow()  # not held back: due at once, whatever the clock says


def test_jobs_cli_runs_a_job_once(runner, services) -> None:  # type: ignore[no-untyped-def]
    from helpdesk.cli import main

    first = runner.invoke(main, ["jobs", "run", "followups"])
    assert first.exit_code == 0, first.output
    assert '"scheduled": 0' in first.output
    second = runner.invoke(main, ["jobs", "run", "followups"])
    assert second.exit_code == 1 and "not run" in second.output
    listed = runner.invoke(main, ["jobs", "list"])
    assert "followups" in listed.output and "sla" in listed.output


def _scheduler_process(url: str, secret: str, rounds: int) -> int:
    from helpdesk.config import load_settings
    from helpdesk.scheduler import run_job
    from helpdesk.services import Services

    settings = load_settings({"DATABASE_URL": url, "SECRET_KEY": secret, "HELPDESK_ENV": "test"})
    svc = Services.from_settings(settings)
    ran = 0
    for _ in range(rounds):
        if run_job(svc, "followups", force=True) is not None:
            ran += 1
    svc.dispose()
    return ran


@pytest.mark.postgres
@pytest.mark.slow
def test_two_scheduler_processes_never_send_a_followup_twice(pg_url: str) -> None:
    from helpdesk.db import make_engine

    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    with write_session(engine) as s:
        office = ensure_office(s, "demo", "สพป.ทดสอบ")
        for i in range(150):
            _resolved_ticket(s, office, channel="email", resolved_at=bkk(2026, 11, 2, 10),
                             email=f"teacher{i}@school.ac.th")
    engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        runs = pool.starmap(_scheduler_process, [(pg_url, "s" * 32, 15)] * 2)
    assert sum(runs) >= 2
    engine = make_engine(pg_url)
    with session_scope(make_session_factory(engine)) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 150
        sent_audits = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "followup_sent"))
        assert sent_audits == 150
        assert s.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.status == "sent")) == 150
    engine.dispose()


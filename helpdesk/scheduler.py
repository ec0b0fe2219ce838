"""Scheduled jobs inside `helpdesk worker`, safe with several workers and across restarts.

Each job has a row in job_lease. A worker runs a job only after winning an UPDATE that checks, in one
statement, that nobody holds a live lease and that the job's interval has passed since its last run;
on PostgreSQL the row lock makes the second contender re-check and lose. All state is in the database
(no in-memory timers); each job is also idempotent on its own rows.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from helpdesk.db import write_session
from helpdesk.services import Services
from tickets.models import JobLease, utcnow

log = logging.getLogger(__name__)

JobFn = Callable[[Services, datetime], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    every: timedelta
    fn: JobFn
    lease: timedelta = timedelta(minutes=5)


JOBS: dict[str, JobSpec] = {}


def job(name: str, every: timedelta, lease: timedelta = timedelta(minutes=5)) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = JobSpec(name, every, fn, lease)
        return fn

    return register


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(services: Services, spec: JobSpec, now: datetime, *, force: bool = False) -> bool:
    holder = holder_id()
    conditions = [or_(JobLease.lease_until.is_(None), JobLease.lease_until < now)]
    if not force:
        conditions.append(or_(JobLease.last_run_at.is_(None), JobLease.last_run_at <= now - spec.every))
    # Most polls find the job not yet due or running elsewhere: say so without the write lock, by the
    # same conditions the claiming UPDATE uses. (No row yet: it is created below.)
    with services.engine.connect() as conn:
        row = conn.execute(select(and_(*conditions).label("free")).where(JobLease.name == spec.name)).first()
    if row is not None and not row.free:
        return False
    with write_session(services.engine) as session:
        dialect = session.get_bind().dialect.name
        insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert_fn(JobLease).values(name=spec.name, last_result={})
                        .on_conflict_do_nothing(index_elements=["name"]))
        result = session.execute(
            update(JobLease).where(JobLease.name == spec.name, *conditions)
            .values(holder=holder, lease_until=now + spec.lease)
        )
        return result.rowcount == 1


def release(services: Services, spec: JobSpec, started: datetime, result: dict[str, Any]) -> None:
    with write_session(services.engine) as session:
        session.execute(
            update(JobLease).where(JobLease.name == spec.name, JobLease.holder == holder_id())
            .values(lease_until=None, last_run_at=started, last_result=result)
        )


def run_job(services: Services, name: str, *, now: datetime | None = None, force: bool = False) -> dict[str, Any] | None:
    """Run one job if this process wins its lease. Returns its result, or None if it did not run."""
    _load_jobs()
    spec = JOBS[name]
    started = now or utcnow()
    if not acquire(services, spec, started, force=force):
        return None
    t0 = time.perf_counter()
    result: dict[str, Any] = {}
    try:
        result = spec.fn(services, started)
        result["seconds"] = round(time.perf_counter() - t0, 3)
        return result
    except Exception as exc:
        log.exception("job %s failed", name)
        result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        raise
    finally:
        release(services, spec, started, result)


def _load_jobs() -> None:
    import helpdesk.jobs  # noqa: F401  (the module registers the jobs)


def run_due_jobs(services: Services) -> None:
    _load_jobs()
    for name in list(JOBS):
        try:
            out = run_job(services, name)
        except Exception:
            continue
        if out:
            log.info("job %s: %s", name, out)

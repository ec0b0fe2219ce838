"""Offices, schools, requesters and staff accounts."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from tickets import prefetch
from tickets.models import Office, Requester, Role, School, StaffUser, utcnow

MIN_PASSWORD_LENGTH = 10


class DirectoryError(ValueError):
    pass


def ensure_office(session: Session, code: str, name: str, email: str | None = None) -> Office:
    """The office row for `code`, created on first use; the name and e-mail follow the configuration."""
    office = session.scalar(select(Office).where(Office.code == code))
    if office is None:
        office = Office(code=code, name=name, email=email, settings={})
        session.add(office)
        session.flush()
    else:
        office.name = name
        office.email = email
    return office


def load_schools_csv(session: Session, office: Office, path: Path) -> int:
    """Load schools from a CSV with a header: name[,code,district,aliases] (aliases separated by '|')."""
    added = 0
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            name = (row.get("name") or "").strip()
            if not name:
                continue
            school = session.scalar(select(School).where(School.office_id == office.id, School.name == name))
            if school is None:
                school = School(office_id=office.id, name=name)
                session.add(school)
                added += 1
            school.code = (row.get("code") or "").strip() or None
            school.district = (row.get("district") or "").strip() or None
            school.aliases = [a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()]
    session.flush()
    return added


# Built once: every inbound message looks its requester up (statement construction is not free).
_REQUESTER_BY = {
    field: select(Requester).where(Requester.office_id == bindparam("office_id"),
                                   getattr(Requester, field) == bindparam("value"))
    for field in ("line_user_id", "email", "web_id")
}


def _get_or_create(session: Session, office_id: int, **key: str) -> Requester:
    (field, value), = key.items()
    requester = prefetch.take(session, prefetch.REQUESTER, (office_id, field, value))
    if requester is prefetch.MISSING:
        requester = session.scalar(_REQUESTER_BY[field], {"office_id": office_id, "value": value})
    if requester is not None:
        return requester
    try:
        with session.begin_nested():
            requester = Requester(office_id=office_id, **{field: value})
            session.add(requester)
            session.flush()
        return requester
    except IntegrityError:
        # Created by a concurrent process a moment ago.
        found = session.scalar(_REQUESTER_BY[field], {"office_id": office_id, "value": value})
        assert found is not None
        return found


def requester_for_line(session: Session, office_id: int, line_user_id: str) -> Requester:
    return _get_or_create(session, office_id, line_user_id=line_user_id)


_LINE_REQUESTERS = select(Requester).where(  # built once: asked by every LINE group
    Requester.office_id == bindparam("office_id"), Requester.line_user_id.in_(bindparam("line_user_ids", expanding=True)))


def prefetch_line_requesters(session: Session, office_id: int, line_user_ids: list[str]) -> dict[str, Requester]:
    """Look up these LINE users' requesters in one query, for requester_for_line to answer from (see
    tickets.prefetch); a user without one is stored as such, so the lookup goes straight to creating it."""
    found = {r.line_user_id: r for r in session.scalars(
        _LINE_REQUESTERS, {"office_id": office_id, "line_user_ids": list(line_user_ids)})}
    for user_id in line_user_ids:
        prefetch.put(session, prefetch.REQUESTER, (office_id, "line_user_id", user_id), found.get(user_id))
    return found


def requester_for_email(session: Session, office_id: int, email: str) -> Requester:
    return _get_or_create(session, office_id, email=email.strip().lower())


def requester_for_web(session: Session, office_id: int, web_id: str) -> Requester:
    return _get_or_create(session, office_id, web_id=web_id)


def create_staff_user(
    session: Session, office: Office, username: str, password: str, role: str, display_name: str | None = None
) -> StaffUser:
    username = username.strip()
    if not username or len(username) > 80:
        raise DirectoryError("username must be 1-80 characters")
    if role not in {r.value for r in Role}:
        raise DirectoryError(f"role must be one of {', '.join(r.value for r in Role)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DirectoryError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    exists = session.scalar(
        select(StaffUser).where(StaffUser.office_id == office.id, StaffUser.username == username)
    )
    if exists is not None:
        raise DirectoryError(f"user {username!r} already exists")
    user = StaffUser(
        office_id=office.id,
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=generate_password_hash(password),
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def verify_password(user: StaffUser, password: str) -> bool:
    return check_password_hash(user.password_hash, password)

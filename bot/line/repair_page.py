"""The online repair form (แบบแจ้งซ่อมออนไลน์, digest 3.3) at /repair: a mobile page that works alone in
any browser and as a LIFF app inside LINE.

Inside LINE the page sends the LIFF ID token; the server checks it with LINE (/oauth2/v2.1/verify) and
registers the report for that LINE user, then confirms in the chat by push. In a plain browser the
report belongs to the browser's session, like the /try chat. Either way the report is stored first as
an inbound event (source "repair_form", keyed by the form's one-time id, so a double submit registers
one ticket) and processed at once by the same code as the guided LINE chat (bot.line.repair).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import secrets
import uuid
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.inbox import PermanentEventError, claim_batch, process_event, store_event
from bot.line import flex
from bot.line import messages_th as T
from bot.line.client import LineApiError
from bot.line.repair import RepairReport, create_repair_ticket
from bot.line.runtime import LineRuntime, runtime_for
from helpdesk.db import session_scope, write_session
from helpdesk.services import Services
from tickets.directory import requester_for_line, requester_for_web
from tickets.models import InboundEvent, Message, School, Ticket, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("line_repair", __name__, template_folder="templates", static_folder="static",
               static_url_path="/repair/static")

SOURCE = "repair_form"
MAX_REQUEST = 8 * 1024 * 1024
MAX_PHOTO = 6 * 1024 * 1024
LIMITS = {"school": 200, "equipment": 100, "symptom": 1000, "place": 300, "name": 120, "phone": 40}
PHOTO_TYPES = {b"\xff\xd8\xff": ("image/jpeg", "jpg"), b"\x89PNG": ("image/png", "png")}
# A public form that registers tickets: reports per hour from one sender (LINE user or browser) and from
# one network address. A school's staff may share an address, so that limit is the looser one.
THROTTLE_WINDOW = timedelta(hours=1)
PER_SENDER = 5
PER_ADDRESS = 20


def _rt() -> LineRuntime:
    return current_app.extensions["line"]


def _csrf_token() -> str:
    if "repair_csrf" not in session:
        session["repair_csrf"] = secrets.token_urlsafe(24)
    return session["repair_csrf"]


def _web_id() -> str:
    if "web_id" not in session:
        session["web_id"] = uuid.uuid4().hex
        session.permanent = True
    return session["web_id"]


def _photo_type(data: bytes) -> tuple[str, str] | None:
    for magic, kind in PHOTO_TYPES.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def _schools(services: Services) -> list[str]:
    with session_scope(services.session_factory) as s:
        return list(s.scalars(select(School.name).where(School.office_id == services.office_id)
                              .order_by(School.name).limit(1000)))


def _page(values: dict[str, str] | None = None, errors: list[str] | None = None, status: int = 200) -> Response:
    rt = _rt()
    html = render_template(
        "line/repair.html", T=T, values=values or {}, errors=errors or [], csrf=_csrf_token(),
        form_id=uuid.uuid4().hex, equipment=T.EQUIPMENT_CHOICES, schools=_schools(rt.services),
        liff_id=rt.options.liff_id, office=rt.services.settings.office_name, max_photo=MAX_PHOTO)
    return Response(html, status=status, mimetype="text/html")


@bp.get("/repair")
def form() -> Response:
    return _page()


@bp.post("/repair")
def submit() -> Response:
    request.max_content_length = MAX_REQUEST  # photos are larger than the app's usual 1 MB limit
    try:
        form = request.form
        upload = request.files.get("photo")
    except Exception:  # RequestEntityTooLarge and broken multipart bodies
        return _page(errors=[T.ERR_TOO_LARGE], status=413)
    if not hmac.compare_digest(str(form.get("csrf", "")), str(session.get("repair_csrf", ""))):
        return _page(dict(form), [T.ERR_EXPIRED], status=400)
    values = {k: " ".join(str(form.get(k, "")).split()) if k != "symptom" else str(form.get(k, "")).strip()
              for k in LIMITS}
    errors = []
    labels = {"equipment": T.FIELD_EQUIPMENT, "symptom": T.FIELD_SYMPTOM}
    for key, label in labels.items():
        if not values[key]:
            errors.append(T.ERR_REQUIRED.format(field=label))
    field_names = {"school": T.FIELD_SCHOOL, "equipment": T.FIELD_EQUIPMENT, "symptom": T.FIELD_SYMPTOM,
                   "place": T.FIELD_PLACE, "name": T.FIELD_NAME, "phone": T.FIELD_PHONE}
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            errors.append(T.ERR_TOO_LONG.format(field=field_names[key]))
    photo: dict[str, Any] | None = None
    if upload is not None and upload.filename:
        data = upload.read(MAX_PHOTO + 1)
        kind = _photo_type(data)
        if len(data) > MAX_PHOTO:
            errors.append(T.ERR_PHOTO_SIZE.format(limit=T.size_th(MAX_PHOTO)))
        elif kind is None:
            errors.append(T.ERR_PHOTO_TYPE)
        else:
            photo = {"data": base64.b64encode(data).decode(), "type": kind[0], "name": f"repair-photo.{kind[1]}"}
    if errors:
        return _page(values, errors, status=400)

    rt = _rt()
    services = rt.services
    line_user = None
    id_token = str(form.get("id_token") or "")
    if id_token:
        if rt.client is None or not rt.options.liff_channel_id:
            return _page(values, [T.ERR_LIFF], status=400)
        try:
            line_user = rt.client.verify_id_token(id_token, rt.options.liff_channel_id)["sub"]
        except LineApiError as exc:
            log.warning("LIFF ID token refused: %s", exc)
            return _page(values, [T.ERR_LIFF], status=400)
    form_id = str(form.get("form_id") or "")[:64] or uuid.uuid4().hex
    payload = {"report": {**values, "urgent_flag": bool(form.get("urgent"))}, "photo": photo,
               "line_user_id": line_user, "web_id": None if line_user else _web_id()}
    marks = _throttle_marks(services, f"line:{line_user}" if line_user else f"web:{payload['web_id']}")
    wait = _throttled(services, marks, f"{SOURCE}:{form_id}")
    if wait:
        log.warning("repair form refused: too many reports from one sender or address")
        return _page(values, [T.ERR_TOO_MANY.format(minutes=wait)], status=429)
    with write_session(services.engine) as s:
        stored = store_event(s, office_id=services.office_id, source=SOURCE, source_id=f"{SOURCE}:{form_id}",
                             payload=json.dumps(payload, ensure_ascii=False).encode(), meta=marks)
    outbox_ids: list[int] = []
    # Claimed first, so that a worker polling at the same moment cannot register it a second time.
    if claim_batch(services.engine, ids=[stored.id]):
        process_event(services.engine, stored.id,
                      lambda s, e: handle_repair_form(services, s, e, collect=outbox_ids))
    rt.deliver(outbox_ids)
    with session_scope(services.session_factory) as s:
        number = s.scalar(select(Ticket.number).join(Message, Message.ticket_id == Ticket.id)
                          .where(Message.inbound_event_id == stored.id).limit(1))
    if number is None:  # stored, but not processed yet: the worker retries it
        log.error("repair form %s stored but not registered yet", stored.id)
        abort(503)
    html = render_template("line/repair_done.html", T=T, number=number, via_line=line_user is not None,
                           liff_id=rt.options.liff_id, office=services.settings.office_name)
    return Response(html, mimetype="text/html")


def _throttle_marks(services: Services, sender: str) -> dict[str, str]:
    """Keyed hashes of the sender and of the client's address, kept on the stored report for the throttle:
    enough to count, and neither the address nor the user can be read back from them."""
    key = services.settings.secret_key.encode()
    address = request.remote_addr or "?"
    return {"sender": hmac.new(key, b"repair-sender:" + sender.encode(), "sha256").hexdigest()[:32],
            "address": hmac.new(key, b"repair-address:" + address.encode(), "sha256").hexdigest()[:32]}


def _throttled(services: Services, marks: dict[str, str], source_id: str) -> int:
    """Minutes to wait when this sender or address has sent too many reports within the window, else 0.
    (The same form sent again is never refused: it registers nothing new.)"""
    since = utcnow() - THROTTLE_WINDOW
    with session_scope(services.session_factory) as s:
        recent = s.execute(
            select(InboundEvent.source_id, InboundEvent.meta, InboundEvent.received_at)
            .where(InboundEvent.office_id == services.office_id, InboundEvent.source == SOURCE,
                   InboundEvent.received_at >= since)
            .order_by(InboundEvent.id.desc()).limit(PER_ADDRESS * 20)).all()
    if any(row.source_id == source_id for row in recent):
        return 0
    for key, limit in (("sender", PER_SENDER), ("address", PER_ADDRESS)):
        times = [row.received_at for row in recent if (row.meta or {}).get(key) == marks[key]]
        if len(times) >= limit:
            oldest = sorted(times)[-limit]  # the report whose hour must pass to free one place
            return max(1, int((oldest + THROTTLE_WINDOW - utcnow()).total_seconds() // 60) + 1)
    return 0


def handle_repair_form(services: Services, session: Session, row: InboundEvent,
                       collect: list[int] | None = None) -> None:
    """The inbound handler of source "repair_form" (the web request runs it at once; the worker retries it)."""
    rt = runtime_for(services)
    try:
        payload = json.loads(row.payload)
        report_data = payload["report"]
        report = RepairReport(**{k: report_data.get(k) or "" for k in LIMITS},
                              urgent_flag=bool(report_data.get("urgent_flag")))
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentEventError(f"malformed repair form: {exc}") from None
    line_user = payload.get("line_user_id")
    if line_user:
        requester = requester_for_line(session, row.office_id, str(line_user))
        channel = "line"
    else:
        requester = requester_for_web(session, row.office_id, str(payload.get("web_id") or row.source_id)[:64])
        channel = "web"
    if report.name and not requester.display_name:
        requester.display_name = report.name[:200]
    photo = None
    if payload.get("photo"):
        p = payload["photo"]
        photo = (base64.b64decode(p["data"]), p["type"], p["name"])
    ticket, _message = create_repair_ticket(
        session, office_id=row.office_id, requester_id=requester.id, channel=channel, report=report,
        engine=_engine_or_none(rt), actor=f"requester:{requester.id}", inbound_event_id=row.id, photo=photo)
    # The photo now lives in its Attachment; the stored event keeps only the form's text.
    row.payload = json.dumps({**payload, "photo": None}, ensure_ascii=False).encode()
    if line_user:
        text = T.REPAIR_CONFIRM_CHAT.format(number=ticket.number, equipment=report.equipment,
                                            symptom=report.symptom[:300])
        out = flex.plain(text, [flex.message_action(T.BTN_TRACK, f"{T.CMD_TRACK} {ticket.number}")])
        from tickets import registry

        message = registry.add_message(session, ticket, office_id=row.office_id, direction="out", channel="line",
                                       author="bot", text=text, actor="bot", requester_id=requester.id,
                                       meta={"kind": "repair_confirm"}, delivery_state="pending")
        item = outbox.enqueue(session, office_id=row.office_id, channel="line", recipient=str(line_user),
                              payload={"to": str(line_user), **out.payload()}, dedupe_key=f"repair-form:{row.id}",
                              ticket_id=ticket.id, message_id=message.id)
        if collect is not None:
            collect.append(item.id)


def _engine_or_none(rt: LineRuntime) -> Any:
    try:
        return rt.knowledge()
    except Exception:  # the report is registered even when the engine cannot load
        log.exception("knowledge engine unavailable for a repair form")
        return None

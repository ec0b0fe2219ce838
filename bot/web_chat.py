"""The "try it" chat at /try: talk to the bot without LINE, through the same pipeline and event store."""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, abort, jsonify, render_template, request, session
from sqlalchemy import select

from bot.inbox import store_event
from helpdesk.app import db, services
from helpdesk.db import write_session
from tickets.models import Message, Requester

bp = Blueprint("chat", __name__, template_folder="templates", static_folder="static", static_url_path="/try/static")

MAX_CHARS = 5000


def _web_id() -> str:
    if "web_id" not in session:
        session["web_id"] = uuid.uuid4().hex
        session.permanent = True
    return session["web_id"]


def _messages(web_id: str, after: int = 0) -> list[dict[str, object]]:
    s = db()
    requester_id = s.scalar(
        select(Requester.id).where(Requester.office_id == services().office_id, Requester.web_id == web_id)
    )
    if requester_id is None:
        return []
    rows = s.scalars(
        select(Message)
        .where(Message.requester_id == requester_id, Message.id > after, Message.internal.is_(False))
        .order_by(Message.id)
        .limit(200)
    )
    out = []
    for m in rows:
        ticket = m.ticket
        out.append({
            "id": m.id,
            "from": "me" if m.direction == "in" else m.author,
            "text": m.text,
            "ticket": ticket.number if ticket is not None else None,
            "kind": m.meta.get("kind"),
            "alternatives": _titles(m.meta.get("alternatives") or []),
            "created_at": m.created_at.isoformat(),
        })
    return out


def _titles(ids: list[str]) -> list[dict[str, str]]:
    if not ids:
        return []
    engine = services().knowledge()
    out = []
    for article_id in ids:
        article = engine.article(article_id)
        if article is not None:
            out.append({"id": article.id, "title": article.title})
    return out


@bp.get("/try")
def page():  # type: ignore[no-untyped-def]
    _web_id()
    return render_template("try.html", office_name=services().settings.office_name)


@bp.get("/try/api/messages")
def list_messages():  # type: ignore[no-untyped-def]
    after = request.args.get("after", default=0, type=int)
    return jsonify(messages=_messages(_web_id(), after))


@bp.post("/try/api/messages")
def post_message():  # type: ignore[no-untyped-def]
    if not request.is_json:
        abort(415)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="รูปแบบข้อมูลไม่ถูกต้อง"), 400
    text = str(data.get("text") or "").strip()
    if not text:
        return jsonify(error="กรุณาพิมพ์ข้อความ"), 400
    if len(text) > MAX_CHARS:
        return jsonify(error=f"ข้อความยาวเกิน {MAX_CHARS:,} ตัวอักษร"), 413
    client_id = str(data.get("id") or uuid.uuid4().hex)[:64]
    after = int(data.get("after") or 0)
    web_id = _web_id()
    svc = services()
    payload = json.dumps({"web_id": web_id, "text": text}, ensure_ascii=False).encode()
    with write_session(svc.engine) as s:
        stored = store_event(s, office_id=svc.office_id, source="web", source_id=f"{web_id}:{client_id}",
                             payload=payload)
    # Stored: now process it right away. A resent message is processed only if it is still pending and
    # unleased (its first processing was interrupted); the worker would pick it up if this process died here.
    from helpdesk.worker import process_inbound

    process_inbound(svc, ids=[stored.id])
    return jsonify(messages=_messages(web_id, after))

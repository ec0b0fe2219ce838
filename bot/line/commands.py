"""Ticket commands in Thai (สถานะ / ติดตาม / แจ้งซ่อม / ติดต่อเจ้าหน้าที่ / ยกเลิก / ถามคำถาม), the postback
buttons, and the guided flows (the repair report and the school question)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select

from bot import pipeline
from bot.line import conversation, flex, render, schools
from bot.line import messages_th as T
from bot.line.context import Ctx
from bot.line.models import LineConversation
from bot.line.repair import RepairReport, create_repair_ticket
from bot.messages_th import STATUS_TH, TICKET_NOT_FOUND, TICKET_STATUS
from helpdesk.thaidate import format_datetime
from tickets import registry
from tickets.models import Message, Rating, School, Ticket, TicketStatus, utcnow

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
CHOICE_WINDOW = timedelta(minutes=30)
HANDOFF_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Command:
    name: str  # status | track | repair | human | cancel | ask
    numbers: tuple[str, ...] = ()


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_THAI_DIGITS)).strip().lstrip("/#").strip()


def parse_command(text: str) -> Command | None:
    """A command is the whole message (so that "ติดตามเรื่องเน็ตเมื่อวาน" still goes to the pipeline)."""
    t = _norm(text)
    compact = t.replace(" ", "")
    if compact in (T.CMD_STATUS, "สถานะเรื่อง", "เช็คสถานะ", "ตรวจสอบสถานะ"):
        return Command("status")
    if compact in (T.CMD_REPAIR, "แจ้งซ่อมออนไลน์", "แบบแจ้งซ่อม"):
        return Command("repair")
    if compact in (T.CMD_HUMAN, "คุยกับเจ้าหน้าที่", "ขอคุยกับเจ้าหน้าที่", "ติดต่อเจ้าหน้าที่ค่ะ", "ติดต่อเจ้าหน้าที่ครับ"):
        return Command("human")
    if compact == T.CMD_ASK:
        return Command("ask")
    for word, name in ((T.CMD_TRACK, "track"), (T.CMD_CANCEL, "cancel"), (T.CMD_STATUS, "track")):
        if compact.startswith(word):
            rest = t[len(word):] if t.startswith(word) else compact[len(word):]
            numbers = tuple(registry.find_ticket_numbers(rest))
            leftover = _SPACES.sub("", re.sub(r"ICT\s*[-–—]?\s*\d{4}\s*[-–—/]?\s*\d{1,6}", "", rest, flags=re.I))
            leftover = leftover.replace("เรื่อง", "").replace("เลขที่", "")
            if numbers and not leftover:
                return Command(name, numbers)
            if compact == word and name in ("track", "cancel"):
                return Command(name)
    return None


# ---------------------------------------------------------------------------------------------- commands


def run_command(ctx: Ctx, cmd: Command, text: str) -> None:
    if cmd.name == "status":
        _status(ctx, text)
    elif cmd.name == "track":
        _track(ctx, text, cmd.numbers)
    elif cmd.name == "repair":
        start_repair(ctx, text)
    elif cmd.name == "human":
        handoff(ctx, text, None)
    elif cmd.name == "cancel":
        _cancel(ctx, text, cmd.numbers)
    elif cmd.name == "ask":
        ctx.record_inbound(text, kind="command")
        ctx.reply(flex.plain(T.ASK_PROMPT))


def _own_ticket(ctx: Ctx, number: str | None) -> Ticket | None:
    if not number:
        return None
    ticket = registry.get_by_number(ctx.session, ctx.office_id, number)
    if ticket is None or ticket.requester_id != ctx.requester.id:
        return None
    return ticket


def _status(ctx: Ctx, text: str) -> None:
    ctx.record_inbound(text, kind="command")
    tickets = list(ctx.session.scalars(
        select(Ticket).where(Ticket.requester_id == ctx.requester.id, Ticket.status.in_(registry.OPEN_STATUSES))
        .order_by(Ticket.created_at.desc()).limit(10)))
    plain = pipeline.open_tickets_text(ctx.session, ctx.requester.id)
    if not tickets:
        ctx.reply(flex.plain(plain, flex.command_actions()))
        return
    rows = [{"number": t.number, "status": STATUS_TH.get(t.status, t.status), "subject": t.subject or "-",
             "created": format_datetime(t.created_at)} for t in tickets]
    quick = [flex.message_action(f"{T.CMD_TRACK} {t.number}", f"{T.CMD_TRACK} {t.number}") for t in tickets[:5]]
    message = flex.flex_message(T.ALT_STATUS, flex.tickets_carousel(rows), quick)
    ctx.reply(flex.Outgoing([message], [flex.text_message(plain, quick)], plain))


def _track(ctx: Ctx, text: str, numbers: tuple[str, ...]) -> None:
    ctx.record_inbound(text, kind="command")
    if not numbers:
        ctx.reply(flex.plain(T.TRACK_HOW))
        return
    lines = []
    ticket = None
    for number in numbers[:5]:
        ticket = _own_ticket(ctx, number)
        if ticket is None:
            lines.append(TICKET_NOT_FOUND.format(number=number))
        else:
            lines.append(TICKET_STATUS.format(number=ticket.number, status=STATUS_TH.get(ticket.status, ticket.status),
                                              subject=ticket.subject or "-",
                                              created=format_datetime(ticket.created_at)))
    ctx.reply(flex.plain("\n\n".join(lines)), ticket=ticket)


def _cancel(ctx: Ctx, text: str, numbers: tuple[str, ...]) -> None:
    conv = conversation.current(ctx.session, ctx.requester.id)
    if not numbers:
        ctx.record_inbound(text, kind="command")
        if conv is not None:
            conversation.finish(ctx.session, conv)
            ctx.reply(flex.plain(T.CANCELLED_FLOW if conv.flow == "repair" else T.CANCELLED_SCHOOL))
        else:
            ctx.reply(flex.plain(T.NOTHING_TO_CANCEL))
        return
    number = numbers[0]
    ticket = _own_ticket(ctx, number)
    ctx.record_inbound(text, ticket=ticket, kind="command")
    if ticket is None:
        ctx.reply(flex.plain(TICKET_NOT_FOUND.format(number=number)))
    elif ticket.status not in registry.OPEN_STATUSES:
        ctx.reply(flex.plain(T.TICKET_CANNOT_CANCEL.format(number=ticket.number)), ticket=ticket)
    else:
        registry.change_status(ctx.session, ticket, TicketStatus.CLOSED, actor=ctx.actor, note=T.CANCEL_NOTE)
        ctx.reply(flex.plain(T.TICKET_CANCELLED.format(number=ticket.number)), ticket=ticket)


def handoff(ctx: Ctx, text: str | None, number: str | None) -> None:
    """A person takes over: the named ticket, else the latest one of the last day, else a new one."""
    ticket = _own_ticket(ctx, number) if number else None
    if ticket is None:
        ticket = registry.latest_ticket(ctx.session, ctx.requester.id, since=utcnow() - HANDOFF_WINDOW)
    if ticket is not None and ticket.merged_into_id is not None:
        ticket = ctx.session.get(Ticket, ticket.merged_into_id) or ticket
    if text:
        ctx.record_inbound(text, ticket=ticket, kind="handoff")
    if ticket is None:
        ticket = registry.open_ticket(ctx.session, office_id=ctx.office_id, channel="line", actor=ctx.actor,
                                      requester_id=ctx.requester.id, subject=T.HUMAN_SUBJECT,
                                      classification=registry.Classification(intent="request"))
        ticket.handoff = True
        ctx.reply(flex.plain(T.HUMAN_NEW.format(number=ticket.number)), ticket=ticket)
        return
    ticket.handoff = True
    ticket.self_served = False
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        registry.reopen(ctx.session, ticket, actor=ctx.actor, reason="the requester asked for a person")
    elif ticket.status == TicketStatus.WAITING:
        registry.change_status(ctx.session, ticket, TicketStatus.OPEN, actor=ctx.actor, note="the requester answered")
    registry.audit(ctx.session, office_id=ctx.office_id, ticket_id=ticket.id, actor=ctx.actor, action="handoff",
                   details={"channel": "line"})
    ctx.reply(flex.plain(T.HUMAN_EXISTING.format(number=ticket.number)), ticket=ticket)


# ---------------------------------------------------------------------------------------------- choices


def numeric_choice(ctx: Ctx, text: str) -> bool:
    """"1" / "2" / "3" right after the bot offered articles picks that article."""
    t = _norm(text).rstrip(".")
    if not (t.isdigit() and len(t) == 1):
        return False
    last = ctx.session.scalar(
        select(Message).where(Message.requester_id == ctx.requester.id, Message.direction == "out")
        .order_by(Message.id.desc()).limit(1))
    # After "choices" the articles are numbered in the text; after an answer, in the quick replies.
    if last is None or (last.meta or {}).get("kind") not in ("choices", "answer"):
        return False
    if utcnow() - last.created_at > CHOICE_WINDOW:
        return False
    ids = (last.meta or {}).get("alternatives") or []
    index = int(t) - 1
    if not 0 <= index < len(ids):
        return False
    ticket = ctx.session.get(Ticket, last.ticket_id) if last.ticket_id else None
    choose_article(ctx, ids[index], ticket.number if ticket else None, text)
    return True


def choose_article(ctx: Ctx, article_id: str, number: str | None, text: str) -> None:
    engine = ctx.rt.knowledge()
    article = engine.article(article_id) if engine is not None else None
    ticket = _own_ticket(ctx, number)
    ctx.record_inbound(text, ticket=ticket, kind="choice", meta={"article_id": article_id})
    if article is None:
        ctx.reply(flex.plain(T.ARTICLE_GONE), ticket=ticket)
        return
    if ticket is not None:
        ticket.article_id = article.id
        if ticket.category is None or ticket.category == "general_consult":
            registry.reclassify(ctx.session, ticket, actor="bot", category=article.category)
    ctx.reply(render.from_article(article, ticket.number if ticket else None), ticket=ticket)


# ---------------------------------------------------------------------------------------------- postbacks


def on_postback(ctx: Ctx, data: str) -> None:
    params = {k: v[0] for k, v in parse_qs(data or "", keep_blank_values=True).items()}
    action = params.get("a", "")
    number = params.get("t") or None
    label = f"[ปุ่ม] {action}"
    if action == "ok":
        _solved(ctx, number, label)
    elif action == "human":
        handoff(ctx, label, number)
    elif action == "art" and params.get("id"):
        choose_article(ctx, params["id"], number, label)
    elif action == "rate" and (params.get("s") or "").isdigit():
        _rate(ctx, number, int(params["s"]), label)
    elif action == "school":
        _school_chosen(ctx, params.get("id", ""), label)
    elif action == "ask":
        ctx.record_inbound(label, kind="postback")
        ctx.reply(flex.plain(T.ASK_PROMPT))
    elif action == "repair":
        start_repair(ctx, label)
    elif action == "status":
        _status(ctx, label)
    elif action == "fu":
        from bot.line.followup import on_answer

        on_answer(ctx, params, label)
    else:
        log.info("unknown LINE postback %r", data[:80])
        ctx.record_inbound(label, kind="postback")
        ctx.reply(flex.plain(T.POSTBACK_UNKNOWN))


def _solved(ctx: Ctx, number: str | None, label: str) -> None:
    ticket = _own_ticket(ctx, number)
    ctx.record_inbound(label, ticket=ticket, kind="postback")
    if ticket is None:
        ctx.reply(flex.plain(T.SOLVED_THANKS, flex.rating_actions(None)))
        return
    if ticket.status in registry.OPEN_STATUSES:
        registry.change_status(ctx.session, ticket, TicketStatus.RESOLVED, actor=ctx.actor,
                               note="the requester confirmed the answer solved it")
    _upsert_rating(ctx, ticket, solved=True, understood=True)
    ctx.reply(flex.plain(T.SOLVED_CLOSED.format(number=ticket.number), flex.rating_actions(ticket.number)),
              ticket=ticket)


def _upsert_rating(ctx: Ctx, ticket: Ticket, **values: Any) -> Rating:
    since = utcnow() - timedelta(days=1)
    rating = ctx.session.scalar(
        select(Rating).where(Rating.ticket_id == ticket.id, Rating.channel == "line", Rating.created_at >= since)
        .order_by(Rating.id.desc()).limit(1))
    if rating is None:
        rating = Rating(office_id=ctx.office_id, ticket_id=ticket.id, channel="line", created_at=utcnow())
        ctx.session.add(rating)
    for key, value in values.items():
        setattr(rating, key, value)
    ctx.session.flush()
    return rating


def _rate(ctx: Ctx, number: str | None, score: int, label: str) -> None:
    score = max(1, min(5, score))
    ticket = _own_ticket(ctx, number)
    ctx.record_inbound(label, ticket=ticket, kind="rating", meta={"score": score})
    if ticket is not None:
        _upsert_rating(ctx, ticket, score=score)
        registry.audit(ctx.session, office_id=ctx.office_id, ticket_id=ticket.id, actor=ctx.actor, action="rated",
                       details={"score": score, "channel": "line"})
    if score <= 2:
        quick = [flex.postback_action(T.BTN_HUMAN, T.BTN_HUMAN, a="human", t=number)]
        ctx.reply(flex.plain(T.RATING_LOW, quick), ticket=ticket)
    else:
        ctx.reply(flex.plain(T.RATING_THANKS), ticket=ticket)


# ---------------------------------------------------------------------------------------------- flows


def step(ctx: Ctx, conv: LineConversation, text: str) -> bool:
    """Feed text to the active flow. False: the flow let go of it (the pipeline answers instead)."""
    if conv.flow == "repair":
        return _repair_step(ctx, conv, text)
    if conv.flow == "school":
        return _school_step(ctx, conv, text)
    conversation.finish(ctx.session, conv)
    return False


def ask_school(ctx: Ctx) -> None:
    conversation.start(ctx.session, office_id=ctx.office_id, requester_id=ctx.requester.id, flow="school",
                       step="ask", idle_minutes=ctx.rt.options.conversation_idle_minutes)
    ctx.reply(flex.plain(T.ASK_SCHOOL, [flex.message_action(T.SKIP, T.SKIP)]))


def _school_step(ctx: Ctx, conv: LineConversation, text: str) -> bool:
    t = _norm(text)
    if t == T.SKIP:
        ctx.record_inbound(text, kind="school")
        conversation.finish(ctx.session, conv)
        ctx.reply(flex.plain(T.SCHOOL_SKIPPED))
        return True
    if conv.step == "choose" and t == T.SCHOOL_NONE_OF_THESE:
        typed = (conv.data or {}).get("typed") or ""
        ctx.record_inbound(text, kind="school")
        conversation.finish(ctx.session, conv)
        ctx.requester.school_text = typed[:200] or None
        ctx.reply(flex.plain(T.SCHOOL_TEXT_SAVED.format(school=typed)))
        return True
    found = schools.match(ctx.session, ctx.office_id, t)
    if found.sure is not None:
        ctx.record_inbound(text, kind="school")
        _save_school(ctx, conv, found.sure.school_id)
        return True
    if found.candidates:
        ctx.record_inbound(text, kind="school")
        conversation.advance(conv, "choose", ctx.rt.options.conversation_idle_minutes, typed=t)
        quick = [flex.postback_action(c.name, c.name, a="school", id=c.school_id) for c in found.candidates]
        quick.append(flex.message_action(T.SCHOOL_NONE_OF_THESE, T.SCHOOL_NONE_OF_THESE))
        ctx.reply(flex.plain(T.SCHOOL_CHOOSE + "\n" + "\n".join(f"• {c.name}" for c in found.candidates), quick))
        return True
    if schools.looks_like_school(t):
        ctx.record_inbound(text, kind="school")
        conversation.finish(ctx.session, conv)
        ctx.requester.school_text = t[:200]
        ctx.reply(flex.plain(T.SCHOOL_TEXT_SAVED.format(school=t)))
        return True
    # Not a school name: most likely a question. Stop asking and let the pipeline answer it.
    conversation.finish(ctx.session, conv)
    return False


def _save_school(ctx: Ctx, conv: LineConversation | None, school_id: int) -> None:
    school = ctx.session.get(School, school_id)
    if school is None or school.office_id != ctx.office_id:
        ctx.reply(flex.plain(T.POSTBACK_UNKNOWN))
        return
    ctx.requester.school_id = school.id
    ctx.requester.school_text = None
    conversation.finish(ctx.session, conv)
    ctx.reply(flex.plain(T.SCHOOL_SAVED.format(school=school.name.removeprefix("โรงเรียน"))))


def _school_chosen(ctx: Ctx, school_id: str, label: str) -> None:
    ctx.record_inbound(label, kind="school")
    conv = conversation.current(ctx.session, ctx.requester.id)
    if not school_id.isdigit():
        ctx.reply(flex.plain(T.POSTBACK_UNKNOWN))
        return
    _save_school(ctx, conv if conv is not None and conv.flow == "school" else None, int(school_id))


def repair_form_url(ctx: Ctx) -> str:
    options = ctx.rt.options
    if options.liff_id:
        return f"https://liff.line.me/{options.liff_id}"
    return f"{options.public_base_url}/repair"


def start_repair(ctx: Ctx, text: str) -> None:
    ctx.record_inbound(text, kind="command")
    conversation.start(ctx.session, office_id=ctx.office_id, requester_id=ctx.requester.id, flow="repair",
                       step="equipment", idle_minutes=ctx.rt.options.conversation_idle_minutes)
    quick = [flex.message_action(e, e) for e in T.EQUIPMENT_CHOICES]
    ctx.reply(flex.plain(f"{T.REPAIR_ASK_EQUIPMENT}\n\n{T.REPAIR_FORM_LINK}: {repair_form_url(ctx)}", quick))


def _repair_step(ctx: Ctx, conv: LineConversation, text: str) -> bool:
    t = " ".join(text.split())
    idle = ctx.rt.options.conversation_idle_minutes
    ctx.record_inbound(text, kind="repair")
    if conv.step == "equipment":
        if len(t) < 2:
            ctx.reply(flex.plain(T.REPAIR_TOO_SHORT + "\n" + T.REPAIR_ASK_EQUIPMENT,
                                 [flex.message_action(e, e) for e in T.EQUIPMENT_CHOICES]))
            return True
        conversation.advance(conv, "symptom", idle, equipment=t[:100])
        ctx.reply(flex.plain(T.REPAIR_ASK_SYMPTOM))
        return True
    if conv.step == "symptom":
        if len(t) < 3:
            ctx.reply(flex.plain(T.REPAIR_TOO_SHORT + "\n" + T.REPAIR_ASK_SYMPTOM))
            return True
        conversation.advance(conv, "place", idle, symptom=t[:1000])
        quick = []
        school = ctx.requester.school.name if ctx.requester.school is not None else ctx.requester.school_text
        if school:
            quick.append(flex.message_action(school, school))
        ctx.reply(flex.plain(T.REPAIR_ASK_PLACE, quick))
        return True
    if conv.step == "place":
        conversation.advance(conv, "photo", idle, place=t[:300])
        ctx.reply(flex.plain(T.REPAIR_ASK_PHOTO, [flex.camera_action(), flex.camera_roll_action(),
                                                  flex.message_action(T.SKIP, T.SKIP)]))
        return True
    # step "photo": a text instead of a photo finishes the report (extra words join the symptom).
    extra = "" if _norm(text) == T.SKIP else t
    finish_repair(ctx, conv, extra_text=extra)
    return True


def finish_repair(ctx: Ctx, conv: LineConversation, *, extra_text: str = "", media_message_id: str | None = None
                  ) -> Ticket:
    from bot.line import media

    data = dict(conv.data or {})
    symptom = data.get("symptom", "")
    if extra_text:
        symptom = f"{symptom} {extra_text}".strip()
    school = ctx.requester.school.name if ctx.requester.school is not None else (ctx.requester.school_text or "")
    report = RepairReport(equipment=data.get("equipment", "-"), symptom=symptom or "-", place=data.get("place", ""),
                          school=school)
    ticket, message = create_repair_ticket(
        ctx.session, office_id=ctx.office_id, requester_id=ctx.requester.id, channel="line", report=report,
        engine=ctx.rt.knowledge(), actor=ctx.actor, inbound_event_id=ctx.row.id)
    # The chat's earlier answers of this report now belong to its ticket.
    for m in ctx.session.scalars(select(Message).where(
            Message.requester_id == ctx.requester.id, Message.ticket_id.is_(None),
            Message.created_at >= conv.started_at, Message.id != message.id)):
        m.ticket_id = ticket.id
    if media_message_id is not None:
        media.attach(ctx, ticket, "image", media_message_id)
    conversation.finish(ctx.session, conv)
    done = T.REPAIR_DONE_URGENT if ticket.urgency == "urgent" else T.REPAIR_DONE
    body = done.format(number=ticket.number)
    summary = report.text()
    ctx.reply(flex.card(T.CARD_REPAIR_HEADER, summary, alt=body, notes=[body],
                        subtitle=T.CARD_TICKET.format(number=ticket.number),
                        buttons=[flex.message_action(T.BTN_TRACK, f"{T.CMD_TRACK} {ticket.number}")],
                        plain_text=f"{body}\n\n{summary}"), ticket=ticket)
    return ticket

"""Knowledge editing: list, search, create and edit articles (the database copy overrides the file), try
the bot's answer to a test question (with the live articles or with a draft), rebuild the models without a
restart, and the page of unanswered questions grouped by similarity."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from admin import kbsync, security, unanswered
from admin import labels as L
from admin.blueprint import bp
from admin.queries import normalise_text
from helpdesk.app import db, services
from helpdesk.db import write_session
from knowledge.articles import (
    ACTIONS,
    CATEGORIES,
    SCOPES,
    Article,
    ArticleError,
    article_from_dict,
    load_articles,
)
from tickets.models import KbArticle, utcnow
from tickets.registry import audit

_SPLIT_KEYWORDS = re.compile(r"[,\n]+")


def _file_articles() -> dict[str, Article]:
    return {a.id: a for a in load_articles()}


def _db_rows(session: Any, office_id: int) -> dict[str, KbArticle]:
    return {r.article_id: r for r in session.scalars(select(KbArticle).where(KbArticle.office_id == office_id))}


@bp.get("/kb")
@security.requires("viewer")
def kb_list() -> Any:
    svc = services()
    engine = svc.knowledge()
    rows = _db_rows(db(), svc.office_id)
    files = _file_articles()
    q = normalise_text(request.args.get("q") or "").lower()
    category = request.args.get("category") or ""
    items = []
    seen: set[str] = set()
    for a in engine.articles:
        seen.add(a.id)
        items.append({"a": a, "origin": "db" if a.id in rows else "file", "enabled": True})
    for article_id, row in rows.items():  # disabled ones are not in the engine
        if article_id in seen:
            continue
        try:
            a = article_from_dict({**row.data, "id": article_id})
        except ArticleError:
            a = files.get(article_id)
        if a is not None:
            items.append({"a": a, "origin": "db", "enabled": row.enabled})
    if category:
        items = [i for i in items if i["a"].category == category]
    if q:
        def hay(a: Article) -> str:
            return " ".join((a.id, a.title, a.answer, *a.questions, *a.keywords)).lower()

        words = q.split()
        items = [i for i in items if all(w in hay(i["a"]) for w in words)]
    items.sort(key=lambda i: (i["a"].category, i["a"].title))
    return render_template("admin/kb_list.html", items=items, q=request.args.get("q") or "", category=category,
                           categories=L.CATEGORY_TH, total=len(engine.articles))


def _form_from_article(a: Article | None, **extra: Any) -> dict[str, Any]:
    if a is None:
        return {"id": "", "title": "", "category": extra.get("category") or "general_consult",
                "questions": "\n".join(extra.get("questions") or []), "answer": "", "source_file": "",
                "source_lines": "", "source_office": "", "source_section": "", "scope": "general", "office": "",
                "action": "answer", "keywords": "", "reviewed": None}
    return {"id": a.id, "title": a.title, "category": a.category, "questions": "\n".join(a.questions),
            "answer": a.answer, "source_file": a.source.file, "source_lines": a.source.lines,
            "source_office": a.source.office, "source_section": a.source.section, "scope": a.scope,
            "office": a.office or "", "action": a.action, "keywords": ", ".join(a.keywords), "reviewed": a.reviewed}


def _render_form(form: dict[str, Any], *, editing: bool, error: str | None = None, preview: Any = None,
                 question: str = "", status: int = 200) -> Any:
    return render_template("admin/kb_edit.html", form=form, editing=editing, error=error, preview=preview,
                           question=question, categories={c: L.CATEGORY_TH.get(c, c) for c in CATEGORIES},
                           scopes=SCOPES, actions=ACTIONS), status


@bp.get("/kb/new")
@security.requires("agent")
def kb_new() -> Any:
    extra: dict[str, Any] = {}
    ids = [int(x) for x in request.args.getlist("ticket") if x.isdigit()][:20]
    if ids:  # pre-filled from a group of unanswered questions
        items = [i for i in unanswered.candidates(db(), services().office_id, days=3650, limit=2000)
                 if i.ticket_id in ids]
        if items:
            extra = unanswered.suggested_article(unanswered.Group(items))
    return _render_form(_form_from_article(None, **extra), editing=False)


@bp.get("/kb/<article_id>/edit")
@security.requires("agent")
def kb_edit(article_id: str) -> Any:
    svc = services()
    row = _db_rows(db(), svc.office_id).get(article_id)
    article: Article | None = None
    if row is not None:
        try:
            article = article_from_dict({**row.data, "id": article_id})
        except ArticleError:
            article = None
    if article is None:
        article = svc.knowledge().article(article_id) or _file_articles().get(article_id)
    if article is None:
        abort(404)
    return _render_form(_form_from_article(article), editing=True)


def _draft_from_form(form: Any) -> dict[str, Any]:
    questions = [q.strip() for q in (form.get("questions") or "").splitlines() if q.strip()]
    keywords = [k.strip() for k in _SPLIT_KEYWORDS.split(form.get("keywords") or "") if k.strip()]
    return {
        "id": (form.get("id") or "").strip(),
        "title": (form.get("title") or "").strip(),
        "category": form.get("category") or "",
        "questions": questions[:30],
        "answer": (form.get("answer") or "").strip(),
        "source": {
            "file": (form.get("source_file") or "").strip(),
            "lines": (form.get("source_lines") or "").strip(),
            "office": (form.get("source_office") or "").strip(),
            "section": (form.get("source_section") or "").strip(),
        },
        "scope": form.get("scope") or "general",
        "office": (form.get("office") or "").strip() or None,
        "action": form.get("action") or "answer",
        "keywords": keywords[:50],
        "reviewed": date.today().isoformat(),
    }


def _validate(draft: dict[str, Any]) -> tuple[Article | None, str | None]:
    if len(draft["answer"]) > 5000 or len(draft["title"]) > 300:
        return None, L.KB_INVALID.format(detail="ข้อความยาวเกินไป")
    if draft["source"]["lines"] and not re.fullmatch(r"\d+(-\d+)?", draft["source"]["lines"]):
        return None, L.KB_INVALID.format(detail="ช่วงบรรทัดต้องเป็นตัวเลข เช่น 99-101")
    try:
        return article_from_dict(draft), None
    except ArticleError as exc:
        return None, L.KB_INVALID.format(detail=_article_error_th(str(exc)))


def _article_error_th(detail: str) -> str:
    if "bad article id" in detail:
        return "รหัสบทความใช้ได้เฉพาะอักษรอังกฤษตัวเล็ก ตัวเลข และ - เช่น dmc-login-help"
    if "missing title" in detail:
        return "กรุณาใส่ชื่อเรื่อง"
    if "missing answer" in detail:
        return "กรุณาใส่คำตอบ"
    if "category" in detail:
        return "หมวดไม่ถูกต้อง"
    if "scope" in detail:
        return "ขอบเขตไม่ถูกต้อง"
    if "action" in detail:
        return "การดำเนินการไม่ถูกต้อง"
    return detail


@bp.post("/kb/save")
@security.requires("agent")
def kb_save() -> Any:
    svc = services()
    editing = request.form.get("editing") == "1"
    draft = _draft_from_form(request.form)
    article, error = _validate(draft)
    if article is None:
        return _render_form(request.form.to_dict(), editing=editing, error=error, status=400)
    user = g.staff
    with write_session(svc.engine) as s:
        row = s.scalar(select(KbArticle).where(KbArticle.office_id == svc.office_id,
                                              KbArticle.article_id == article.id))
        exists_in_file = article.id in _file_articles()
        if not editing and (row is not None or exists_in_file):
            return _render_form(request.form.to_dict(), editing=False, error=L.KB_ID_TAKEN.format(id=article.id),
                                status=400)
        data = article.to_dict()  # the fields of knowledge/articles/README.md
        if row is None:
            row = KbArticle(office_id=svc.office_id, article_id=article.id, data=data, enabled=True,
                            updated_by=user.id, updated_at=utcnow())
            s.add(row)
        else:
            row.data = data
            row.enabled = True
            row.updated_by = user.id
            row.updated_at = utcnow()
        audit(s, office_id=svc.office_id, actor=security.actor(), action="kb_saved",
              details={"article_id": article.id, "new": not editing})
    _rebuild(svc)
    flash(L.KB_SAVED.format(id=article.id), "success")
    return redirect(url_for("admin.kb_edit", article_id=article.id), code=303)


def _rebuild(svc: Any) -> int:
    engine = svc.rebuild_knowledge()
    kbsync.mark_built(svc)
    return len(engine.articles)


@bp.post("/kb/<article_id>/toggle")
@security.requires("agent")
def kb_toggle(article_id: str) -> Any:
    svc = services()
    with write_session(svc.engine) as s:
        row = s.scalar(select(KbArticle).where(KbArticle.office_id == svc.office_id,
                                              KbArticle.article_id == article_id))
        if row is None:
            article = _file_articles().get(article_id)
            if article is None:
                abort(404)
            row = KbArticle(office_id=svc.office_id, article_id=article_id, data=article.to_dict(), enabled=False,
                            updated_by=g.staff.id, updated_at=utcnow())
            s.add(row)
        else:
            row.enabled = not row.enabled
            row.updated_by = g.staff.id
            row.updated_at = utcnow()
        enabled = row.enabled
        audit(s, office_id=svc.office_id, actor=security.actor(), action="kb_enabled" if enabled else "kb_disabled",
              details={"article_id": article_id})
    _rebuild(svc)
    flash((L.KB_ENABLED if enabled else L.KB_DISABLED).format(id=article_id), "success")
    return redirect(url_for("admin.kb_list"), code=303)


@bp.post("/kb/<article_id>/revert")
@security.requires("agent")
def kb_revert(article_id: str) -> Any:
    svc = services()
    if article_id not in _file_articles():
        abort(404)
    with write_session(svc.engine) as s:
        row = s.scalar(select(KbArticle).where(KbArticle.office_id == svc.office_id,
                                              KbArticle.article_id == article_id))
        if row is not None:
            s.delete(row)
            audit(s, office_id=svc.office_id, actor=security.actor(), action="kb_reverted",
                  details={"article_id": article_id})
    _rebuild(svc)
    flash(L.KB_REVERTED.format(id=article_id), "success")
    return redirect(url_for("admin.kb_list"), code=303)


@bp.post("/kb/rebuild")
@security.requires("agent")
def kb_rebuild() -> Any:
    count = _rebuild(services())
    flash(L.KB_REBUILT.format(count=count), "success")
    return redirect(url_for("admin.kb_list"), code=303)


def _answer_view(answer: Any) -> dict[str, Any]:
    u = answer.understanding
    return {
        "kind": answer.kind,
        "handoff": answer.handoff,
        "confidence": answer.confidence,
        "category": u.category,
        "category_confidence": u.category_confidence,
        "intent": u.intent,
        "urgency": u.urgency,
        "article": answer.article,
        "alternatives": list(answer.alternatives),
        "text": answer.text,
    }


@bp.get("/kb/try")
@security.requires("viewer")
def kb_try() -> Any:
    question = (request.args.get("q") or "").strip()[:2000]
    preview = _answer_view(services().knowledge().answer(question)) if question else None
    return render_template("admin/kb_try.html", question=question, preview=preview)


@bp.post("/kb/preview")
@security.requires("agent")
def kb_preview() -> Any:
    """The bot's answer to a test question as it would be with the draft saved (nothing is stored)."""
    from knowledge.engine import KnowledgeEngine

    svc = services()
    editing = request.form.get("editing") == "1"
    question = (request.form.get("question") or "").strip()[:2000]
    draft = _draft_from_form(request.form)
    article, error = _validate(draft)
    if article is None or not question:
        return _render_form(request.form.to_dict(), editing=editing, error=error or L.REPLY_EMPTY,
                            question=question, status=400)
    overrides = [{**r.data, "id": r.article_id, "enabled": r.enabled} for r in _db_rows(db(), svc.office_id).values()
                 if r.article_id != article.id]
    engine = KnowledgeEngine.load(overrides=[*overrides, {**article.to_dict(), "enabled": True}],
                                  office_name=svc.settings.office_name, use_cache=False)
    preview = _answer_view(engine.answer(question))
    return _render_form(request.form.to_dict(), editing=editing, preview=preview, question=question)


@bp.get("/kb/unanswered")
@security.requires("viewer")
def kb_unanswered() -> Any:
    days = request.args.get("days") or "90"
    days_n = int(days) if days.isdigit() and 1 <= int(days) <= 3650 else 90
    items = unanswered.candidates(db(), services().office_id, days=days_n)
    groups = unanswered.group(items)
    return render_template("admin/kb_unanswered.html", groups=groups[:60], total=len(items), days=days_n)

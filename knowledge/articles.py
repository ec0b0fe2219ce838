"""Knowledge-base articles: loading and validating the bundled YAML files and applying database edits.

One YAML file per category under ``knowledge/articles`` (format: ``knowledge/articles/README.md``). An
admin edit stored in the database (a dict of the same fields) replaces the file article with the same id,
adds a new article, or removes one when it says ``{"id": ..., "enabled": False}``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from knowledge import messages_th as M

log = logging.getLogger(__name__)

ARTICLES_DIR = Path(__file__).resolve().parent / "articles"

CATEGORY_CODES: tuple[str, ...] = (
    "hardware_repair",
    "network_internet",
    "account_access",
    "security_data_protection",
    "student_data_dmc",
    "edu_info_systems",
    "saraban_amss",
    "dltv_satellite",
    "dlit_media_lms",
    "digital_comms_web",
    "equipment_borrow",
    "procurement_spec",
    "training_request",
    "general_consult",
)
CATEGORIES: tuple[str, ...] = (*CATEGORY_CODES, "out_of_scope")
SCOPES = ("general", "office")
ACTIONS = ("answer", "handoff")

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LINES = re.compile(r"^\d+(?:-\d+)?$")


@dataclass(frozen=True)
class Source:
    file: str = ""
    lines: str = ""
    office: str = ""
    section: str = ""


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    category: str
    questions: tuple[str, ...]
    answer: str
    source: Source = field(default_factory=Source)
    scope: str = "general"
    office: str | None = None
    action: str = "answer"
    keywords: tuple[str, ...] = ()
    reviewed: str | None = None

    def citation_th(self) -> str:
        """The Thai citation line, e.g. "ที่มา: คู่มือการปฏิบัติงาน สพป.สุโขทัย เขต 2 (000_....txt บรรทัด 99-101)"."""
        src = self.source
        if not src.file:
            return M.CITATION_NO_SOURCE.format(office=src.office or self.office or "").strip()
        where = M.CITATION_LINES.format(file=src.file, lines=src.lines) if src.lines else src.file
        office = src.office or self.office or ""
        return M.CITATION.format(office=office, where=where).replace("  ", " ")

    @property
    def needs_staff(self) -> bool:
        return self.action == "handoff"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "category": self.category,
            "questions": list(self.questions),
            "answer": self.answer,
            "source": {
                "file": self.source.file,
                "lines": self.source.lines,
                "office": self.source.office,
                "section": self.source.section,
            },
            "scope": self.scope,
            "office": self.office,
            "action": self.action,
            "keywords": list(self.keywords),
            "reviewed": self.reviewed,
        }


class ArticleError(ValueError):
    pass


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _str_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        raise ArticleError("expected a list of strings")
    return tuple(s for s in (_text(v) for v in value) if s)


def _reviewed(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def article_from_dict(data: Mapping[str, Any]) -> Article:
    """Build an Article from a YAML/database dict; raises ArticleError when it is unusable."""
    if not isinstance(data, Mapping):
        raise ArticleError("an article must be a mapping")
    art_id = _text(data.get("id"))
    if not _ID.match(art_id):
        raise ArticleError(f"bad article id {art_id!r}")
    title = _text(data.get("title"))
    answer = _text(data.get("answer"))
    category = _text(data.get("category"))
    if not title:
        raise ArticleError(f"{art_id}: missing title")
    if not answer:
        raise ArticleError(f"{art_id}: missing answer")
    if category not in CATEGORIES:
        raise ArticleError(f"{art_id}: unknown category {category!r}")
    src = data.get("source") or {}
    if not isinstance(src, Mapping):
        raise ArticleError(f"{art_id}: source must be a mapping")
    source = Source(
        file=_text(src.get("file")),
        lines=_text(src.get("lines")),
        office=_text(src.get("office")),
        section=_text(src.get("section")),
    )
    scope = _text(data.get("scope")) or "general"
    action = _text(data.get("action")) or "answer"
    if scope not in SCOPES:
        raise ArticleError(f"{art_id}: unknown scope {scope!r}")
    if action not in ACTIONS:
        raise ArticleError(f"{art_id}: unknown action {action!r}")
    office = _text(data.get("office")) or None
    return Article(
        id=art_id,
        title=title,
        category=category,
        questions=_str_list(data.get("questions")),
        answer=answer,
        source=source,
        scope=scope,
        office=office,
        action=action,
        keywords=_str_list(data.get("keywords")),
        reviewed=_reviewed(data.get("reviewed")),
    )


def _read_yaml(path: Path) -> list[Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ArticleError(f"{path.name}: cannot read: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise ArticleError(f"{path.name}: expected a list of articles")
    return data


def load_articles(articles_dir: Path | None = None, *, strict: bool = False) -> list[Article]:
    """All articles in the directory's *.yaml files, in file order. Broken articles are skipped with a
    warning (or raise with strict=True); a repeated id keeps the first copy."""
    folder = Path(articles_dir) if articles_dir is not None else ARTICLES_DIR
    out: list[Article] = []
    seen: set[str] = set()
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            items = _read_yaml(path)
        except ArticleError:
            if strict:
                raise
            log.warning("skipping unreadable article file %s", path.name, exc_info=True)
            continue
        for item in items:
            try:
                article = article_from_dict(item)
            except ArticleError as exc:
                if strict:
                    raise ArticleError(f"{path.name}: {exc}") from exc
                log.warning("skipping article in %s: %s", path.name, exc)
                continue
            if article.id in seen:
                if strict:
                    raise ArticleError(f"{path.name}: duplicate id {article.id}")
                log.warning("skipping duplicate article id %s in %s", article.id, path.name)
                continue
            seen.add(article.id)
            out.append(article)
    return out


def validate_articles(articles_dir: Path | None = None) -> list[str]:
    """Problems in the article files (empty when all is well): unreadable files, bad fields, duplicate
    ids, too few questions, a source without file or lines, a file holding another category."""
    folder = Path(articles_dir) if articles_dir is not None else ARTICLES_DIR
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            items = _read_yaml(path)
        except ArticleError as exc:
            problems.append(str(exc))
            continue
        for n, item in enumerate(items, 1):
            try:
                article = article_from_dict(item)
            except ArticleError as exc:
                problems.append(f"{path.name} #{n}: {exc}")
                continue
            if article.id in seen:
                problems.append(f"{path.name}: duplicate id {article.id} (first in {seen[article.id]})")
            seen[article.id] = path.name
            if len(article.questions) < 3:
                problems.append(f"{path.name}: {article.id}: fewer than 3 questions")
            if not article.source.file or not _LINES.match(article.source.lines):
                problems.append(f"{path.name}: {article.id}: source needs file and lines")
            if path.stem in CATEGORIES and article.category != path.stem:
                problems.append(f"{path.name}: {article.id}: category {article.category} in another file")
            if article.scope == "office" and not article.office:
                problems.append(f"{path.name}: {article.id}: scope office without office")
    return problems


def apply_overrides(articles: Iterable[Article], overrides: Iterable[Mapping[str, Any]]) -> list[Article]:
    """Database edits over the file articles: replace by id (fields merged over the file copy), add new
    ones, drop those with enabled False. Unusable edits are skipped with a warning."""
    by_id: dict[str, Article] = {a.id: a for a in articles}
    order = list(by_id)
    for raw in overrides or ():
        if not isinstance(raw, Mapping):
            log.warning("ignoring a knowledge override that is not a mapping")
            continue
        art_id = _text(raw.get("id"))
        if not art_id:
            log.warning("ignoring a knowledge override without id")
            continue
        if raw.get("enabled", True) is False:
            by_id.pop(art_id, None)
            continue
        base = by_id[art_id].to_dict() if art_id in by_id else {}
        merged = {**base, **{k: v for k, v in raw.items() if k != "enabled"}}
        if isinstance(raw.get("source"), Mapping) and isinstance(base.get("source"), Mapping):
            merged["source"] = {**base["source"], **raw["source"]}
        try:
            article = article_from_dict(merged)
        except ArticleError as exc:
            log.warning("ignoring knowledge override %s: %s", art_id, exc)
            continue
        if art_id not in by_id and art_id not in order:
            order.append(art_id)
        by_id[art_id] = article
    return [by_id[i] for i in order if i in by_id]

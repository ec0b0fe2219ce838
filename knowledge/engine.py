"""The knowledge engine: understand a Thai message (category, intent, urgency, ticket numbers) and
answer it from the knowledge base (answer, choices, hand-off, out of scope, greeting, feedback).

    engine = get_engine()
    reply = engine.answer("คอมห้องธุรการเปิดไม่ติดค่ะ ด่วนนะคะ")
    reply.kind, reply.handoff, reply.text
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from knowledge import compose
from knowledge import messages_th as M
from knowledge.articles import (
    ARTICLES_DIR,
    CATEGORIES,
    Article,
    apply_overrides,
    load_articles,
)
from knowledge.classify import (
    INTENTS,
    URGENCIES,
    Doc,
    FeatureSpace,
    LinearTask,
    SparseVec,
    content_words,
    smalltalk_rule,
    urgency_rule,
)
from knowledge.lexicon import COMPLAINT_CUES
from knowledge.normalize import normalize, ticket_numbers
from knowledge.retrieve import Hit, Retriever, Weights, confidence
from knowledge.tokenize import tokens as tokenize
from knowledge.tokenize import warm as warm_tokenizer

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS_TH",
    "INTENTS",
    "URGENCIES",
    "Answer",
    "KnowledgeEngine",
    "Understanding",
    "get_engine",
    "warm",
]

log = logging.getLogger(__name__)

CATEGORY_LABELS_TH: dict[str, str] = dict(M.CATEGORY_LABELS_TH)
DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_VERSION = "3"  # bump when the features or models change shape
_EMPTY_VEC: SparseVec = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


# ---------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Understanding:
    text: str
    tokens: list[str]
    category: str
    category_confidence: float
    intent: str
    intent_confidence: float
    urgency: str
    urgency_confidence: float
    ticket_numbers: list[str]


@dataclass(frozen=True)
class Answer:
    understanding: Understanding
    kind: str
    article: Article | None
    alternatives: list[Article]
    confidence: float
    handoff: bool
    text: str

    def to_json(self) -> dict[str, Any]:
        u = self.understanding
        return {
            "category": u.category,
            "intent": u.intent,
            "urgency": u.urgency,
            "confidence": round(float(self.confidence), 4),
            "article_id": self.article.id if self.article is not None else None,
            "answer": self.text,
            "alternatives": [a.id for a in self.alternatives],
            "handoff": bool(self.handoff),
        }


# ---------------------------------------------------------------------------------------------- settings
@dataclass
class Settings:
    """Decision thresholds (tuned on cross-validation of the training data)."""

    answer_confidence: float = 0.6  # a question is answered directly at or above this
    choices_confidence: float = 0.3  # below answer_confidence, offer choices at or above this
    handoff_article_confidence: float = 0.35  # hand-offs show the best article's self-help above this
    oos_article_confidence: float = 0.4
    question_handoff_articles: bool = True  # a question answered by a "handoff" article still goes to staff
    category_c: float = 1.0
    intent_c: float = 0.5
    urgency_c: float = 0.5
    article_c: float = 0.5
    secondary_article_weight: float = 1.0  # other articles a training message lists also teach the ranker
    char_weight: float = 1.4
    article_questions_for_category: bool = True
    train_examples_for_retrieval: bool = True
    urgency_rules: str = "full"  # "full": cue words decide; "negation": only "ไม่ด่วน" and the like; "off"
    retrieval: Weights = field(default_factory=Weights)


# ---------------------------------------------------------------------------------------------- training
def analyse(text: str | None, subject: str | None = None) -> tuple[str, list[str]]:
    """Normalised text and canonical tokens of a message (the subject, when given, goes first)."""
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    if subject and isinstance(subject, str):
        raw = f"{subject}\n{raw}"
    norm = normalize(raw)
    return norm, tokenize(norm)


def default_train_files() -> list[Path]:
    return sorted(DATA_DIR.glob("train*.jsonl"))


def read_jsonl(paths: Iterable[Path | str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        p = Path(path)
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except OSError:
            log.warning("cannot read training file %s", p)
            continue
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d: not JSON, skipped", p.name, n)
                continue
            if isinstance(rec, dict) and isinstance(rec.get("text"), str):
                out.append(rec)
    return out


def _label(rec: Mapping[str, Any], key: str, allowed: Sequence[str]) -> str | None:
    value = rec.get(key)
    return value if isinstance(value, str) and value in allowed else None


@dataclass
class Models:
    features: FeatureSpace
    category: LinearTask
    intent: LinearTask
    urgency: LinearTask
    retriever: Retriever
    article: LinearTask | None = None


def build_models(articles: Sequence[Article], records: Sequence[Mapping[str, Any]], settings: Settings) -> Models:
    """Fit the feature space, the category/intent/urgency classifiers, the article classifier (training
    messages labelled with their articles plus every article's own questions) and the retriever."""
    known = {a.id for a in articles}
    docs: list[Doc] = []
    cats: list[str | None] = []
    intents: list[str | None] = []
    urgs: list[str | None] = []
    extra: dict[str, list[tuple[str, list[str]]]] = {}
    art_labels: list[str | None] = []
    secondary: list[tuple[int, str]] = []  # (row, article) for the other articles a message lists
    for rec in records:
        norm, toks = analyse(rec.get("text"), rec.get("subject"))
        docs.append(Doc(norm, toks))
        cats.append(_label(rec, "category", CATEGORIES))
        intents.append(_label(rec, "intent", INTENTS))
        urgs.append(_label(rec, "urgency", URGENCIES))
        arts = rec.get("articles") or []
        first = arts[0] if isinstance(arts, list) and arts and arts[0] in known else None
        art_labels.append(first)
        if settings.train_examples_for_retrieval and first is not None:
            extra.setdefault(first, []).append((norm, toks))
        if settings.secondary_article_weight and isinstance(arts, list):
            for other in arts[1:]:
                if other in known:
                    secondary.append((len(docs) - 1, other))
    for art in articles:
        for q in art.questions:
            norm, toks = analyse(q)
            docs.append(Doc(norm, toks))
            cats.append(art.category if settings.article_questions_for_category else None)
            intents.append(None)  # article questions mix incident and question phrasings
            urgs.append(None)
            art_labels.append(art.id)
    features = FeatureSpace(char_weight=settings.char_weight)
    x = features.fit_transform(docs) if docs else None

    def fit(labels: list[str | None], c: float, class_weight: str | None = None,
            temperature: float = 4.0) -> LinearTask:
        task = LinearTask(c=c, class_weight=class_weight, temperature=temperature)
        rows = [i for i, y in enumerate(labels) if y is not None]
        if x is not None and rows:
            task.fit(x[rows], [labels[i] for i in rows])  # type: ignore[misc]
        return task

    category = fit(cats, settings.category_c)
    intent = fit(intents, settings.intent_c)
    urgency = fit(urgs, settings.urgency_c, class_weight="balanced")
    article = None
    if settings.retrieval.supervised and x is not None:
        rows = [i for i, y in enumerate(art_labels) if y is not None]
        labels = [art_labels[i] for i in rows]
        weights = [1.0] * len(rows)
        for row, other in secondary:
            rows.append(row)
            labels.append(other)
            weights.append(settings.secondary_article_weight)
        article = LinearTask(c=settings.article_c, temperature=settings.retrieval.temperature)
        if rows:
            article.fit(x[rows], labels, sample_weight=weights)  # type: ignore[arg-type]
        article.compact(0.01)
    retriever = Retriever(articles, analyse, extra, settings.retrieval)
    return Models(features, category, intent, urgency, retriever, article)


def _cache_dir() -> Path:
    return Path(os.environ.get("HELPDESK_CACHE_DIR") or Path.cwd() / "instance" / "cache")


def _cache_key(articles: Sequence[Article], train_files: Sequence[Path], settings: Settings) -> str:
    h = hashlib.sha256()
    h.update(f"{MODEL_VERSION}|{np.__version__}|{settings!r}".encode())
    for a in articles:
        h.update(json.dumps(a.to_dict(), ensure_ascii=False, sort_keys=True).encode())
    for p in train_files:
        try:
            h.update(p.read_bytes())
        except OSError:
            h.update(b"missing")
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        if path.name in ("lexicon.py", "normalize.py", "tokenize.py", "classify.py", "retrieve.py", "engine.py"):
            h.update(path.read_bytes())
    return h.hexdigest()[:24]


def _load_or_build(articles: Sequence[Article], train_files: Sequence[Path], settings: Settings,
                   use_cache: bool) -> Models:
    if not use_cache:
        return build_models(articles, read_jsonl(train_files), settings)
    key = _cache_key(articles, train_files, settings)
    path = _cache_dir() / f"knowledge-{key}.pickle"
    try:
        with path.open("rb") as fh:
            models = pickle.load(fh)
        if isinstance(models, Models):
            return models
    except FileNotFoundError:
        pass
    except Exception:  # a stale or broken cache file is rebuilt
        log.warning("ignoring unreadable model cache %s", path, exc_info=True)
    models = build_models(articles, read_jsonl(train_files), settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".knowledge-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(models, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in path.parent.glob("knowledge-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        log.warning("cannot write the model cache under %s", path.parent, exc_info=True)
    return models


# ---------------------------------------------------------------------------------------------- engine
_FEEDBACK_COMPLAINT = re.compile("|".join(map(re.escape, COMPLAINT_CUES)))


class KnowledgeEngine:
    def __init__(self, articles: Sequence[Article], models: Models, office_name: str | None = None,
                 settings: Settings | None = None) -> None:
        self.articles: list[Article] = list(articles)
        self.models = models
        self.office_name = office_name
        self.settings = settings or Settings()
        self._by_id = {a.id: a for a in self.articles}

    @classmethod
    def load(
        cls,
        articles_dir: Path | None = None,
        overrides: Iterable[Mapping[str, Any]] = (),
        train_files: Iterable[Path | str] | None = None,
        office_name: str | None = None,
        *,
        settings: Settings | None = None,
        use_cache: bool = True,
    ) -> KnowledgeEngine:
        """Load the articles (file copies with database edits applied) and build or load the models."""
        settings = settings or Settings()
        articles = apply_overrides(load_articles(articles_dir or ARTICLES_DIR), overrides or ())
        files = default_train_files() if train_files is None else [Path(p) for p in train_files]
        warm_tokenizer()
        models = _load_or_build(articles, files, settings, use_cache)
        return cls(articles, models, office_name=office_name, settings=settings)

    @classmethod
    def from_records(cls, articles: Sequence[Article], records: Sequence[Mapping[str, Any]],
                     settings: Settings | None = None, office_name: str | None = None) -> KnowledgeEngine:
        """An engine trained on in-memory records (cross-validation, tests)."""
        settings = settings or Settings()
        return cls(articles, build_models(articles, records, settings), office_name, settings)

    def article(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    # ------------------------------------------------------------------ understanding
    def understand(self, text: str, subject: str | None = None) -> Understanding:
        norm, toks = analyse(text, subject)
        return self._understand(norm, toks)[0]

    def _understand(self, norm: str, toks: list[str]) -> tuple[Understanding, dict[str, float]]:
        return self._understand_vec(norm, toks)[:2]  # type: ignore[return-value]

    def _understand_vec(self, norm: str, toks: list[str]) -> tuple[Understanding, dict[str, float], SparseVec]:
        numbers = ticket_numbers(norm)
        m = self.models
        if not toks:
            u = Understanding(norm, toks, "general_consult", 0.0, "greeting", 1.0, "normal", 1.0, numbers)
            return u, {}, _EMPTY_VEC
        vec = m.features.one(Doc(norm, toks))
        category, cat_conf, cat_probs = m.category.predict_one(vec)
        intent, int_conf, int_probs = m.intent.predict_one(vec) if m.intent.classes else ("question", 0.0, {})
        urg_model, urg_conf, _ = m.urgency.predict_one(vec) if m.urgency.classes else ("normal", 0.5, {})
        small = smalltalk_rule(toks)
        if intent == "greeting" and small is None and content_words(toks) and len(int_probs) > 1:
            # a greeting followed by a real request: the request is the intent
            intent = max((k for k in int_probs if k != "greeting"), key=int_probs.__getitem__)
            int_conf = int_probs[intent]
        if small is not None:  # greeting or thanks only: no topic
            intent, int_conf = small, max(int_conf, 0.9)
            category, cat_conf = "general_consult", max(cat_conf, 0.9)
        elif numbers and intent != "followup":  # a ticket number: the message is about an earlier request
            intent, int_conf = "followup", max(int_conf, 0.8)
        rule = urgency_rule(norm, toks) if self.settings.urgency_rules != "off" else None
        if rule == "urgent" and self.settings.urgency_rules == "negation":
            rule = None
        if rule is not None:
            urgency = rule
            urg_conf = max(urg_conf if urg_model == rule else 0.0, 0.9)
        else:
            urgency = urg_model if urg_model in URGENCIES else "normal"
        if intent in ("greeting", "feedback") and small is not None:
            urgency, urg_conf = "normal", 0.95
        u = Understanding(
            text=norm,
            tokens=toks,
            category=category if category in CATEGORIES else "general_consult",
            category_confidence=round(float(cat_conf), 4),
            intent=intent if intent in INTENTS else "question",
            intent_confidence=round(float(int_conf), 4),
            urgency=urgency,
            urgency_confidence=round(float(urg_conf), 4),
            ticket_numbers=numbers,
        )
        return u, cat_probs, vec

    # ------------------------------------------------------------------ answering
    def search(self, u: Understanding, cat_probs: Mapping[str, float], vec: SparseVec | None = None,
               k: int = 4) -> list[Hit]:
        m = self.models
        art_probs = None
        if m.article is not None and m.article.classes and vec is not None:
            art_probs = dict(zip(m.article.classes, m.article.proba_one(vec).tolist(), strict=False))
        return m.retriever.search(u.text, u.tokens, cat_probs, art_probs, k=k)

    def answer(self, text: str, subject: str | None = None) -> Answer:
        norm, toks = analyse(text, subject)
        u, cat_probs, vec = self._understand_vec(norm, toks)
        s = self.settings
        if not toks:
            return Answer(u, "greeting", None, [], 0.0, False, compose.compose_greeting(self.office_name))
        hits = self.search(u, cat_probs, vec) if u.intent != "greeting" else []
        conf = confidence(hits)
        best = hits[0].article if hits else None
        others = [h.article for h in hits[1:4]]
        ranked = [h.article for h in hits[:3]]

        if u.intent == "greeting":
            return Answer(u, "greeting", None, [], 0.0, False, compose.compose_greeting(self.office_name))
        if u.intent == "feedback":
            smalltalk = smalltalk_rule(u.tokens) is not None
            complaint = bool(_FEEDBACK_COMPLAINT.search(u.text)) and not smalltalk
            return Answer(u, "feedback", None, [] if smalltalk else ranked[:3], conf, complaint,
                          compose.compose_feedback(complaint))
        if u.category == "out_of_scope":
            art = best if best is not None and best.category == "out_of_scope" and conf >= s.oos_article_confidence \
                else None
            alts = others if art is not None else ranked[:3]
            return Answer(u, "out_of_scope", art, alts, conf, False,
                          compose.compose_out_of_scope(art, self.office_name))
        if u.intent == "followup":
            art = best if conf >= s.handoff_article_confidence and u.ticket_numbers == [] else None
            text_ = compose.compose_handoff(None, followup=True, ticket_numbers=u.ticket_numbers)
            return Answer(u, "handoff", art, others if art else ranked[:3], conf, True, text_)
        urgent = u.urgency == "urgent"
        if u.intent in ("incident", "request"):
            art = best if conf >= s.handoff_article_confidence else None
            self_served = art is not None and art.action == "answer" and conf >= s.answer_confidence
            if art is not None and u.intent == "request" and self_served:
                return Answer(u, "answer", art, others, conf, False, compose.compose_answer(art))
            return Answer(u, "handoff", art, others if art else ranked[:3], conf, True,
                          compose.compose_handoff(art, urgent=urgent))
        # questions
        if best is not None and conf >= s.answer_confidence:
            needs_staff = best.action == "handoff" and s.question_handoff_articles
            if needs_staff:
                return Answer(u, "answer", best, others, conf, True, compose.compose_handoff(best, urgent=urgent))
            return Answer(u, "answer", best, others, conf, False, compose.compose_answer(best))
        if len(hits) >= 2 and conf >= s.choices_confidence:
            options = ranked[:3]
            return Answer(u, "choices", None, options, conf, False, compose.compose_choices(options))
        return Answer(u, "handoff", None, ranked[:3], conf, True, compose.compose_handoff(None, urgent=urgent))


# ---------------------------------------------------------------------------------------------- singleton
_engine: KnowledgeEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> KnowledgeEngine:
    """The process-wide engine over the bundled articles and training data (built once)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = KnowledgeEngine.load()
    return _engine


def warm() -> None:
    """Load the tokenizer dictionary and the engine (call at start-up, not on the first request)."""
    warm_tokenizer()
    get_engine().answer("สวัสดีค่ะ")

"""Questions the bot could not answer, grouped by similarity so staff can turn each group into an article.

Candidates are recent tickets the bot handed to staff without any article, or classified with low
confidence; each contributes the requester's first message. Messages are compared by TF-IDF over
character n-grams (robust to Thai spelling variants and missing spaces) and grouped by average-linkage
clustering on cosine distance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from admin.queries import normalise_text
from tickets.models import Message, Ticket, utcnow

LOW_CONFIDENCE = 0.5
MAX_ITEMS = 600
DISTANCE = 0.62  # cosine distance under which two questions join a group


@dataclass
class Item:
    ticket_id: int
    number: str
    received_at: datetime
    category: str | None
    confidence: float | None
    text: str


@dataclass
class Group:
    items: list[Item] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def category(self) -> str | None:
        counts = Counter(i.category for i in self.items if i.category)
        return counts.most_common(1)[0][0] if counts else None

    @property
    def latest(self) -> datetime:
        return max(i.received_at for i in self.items)

    def sample(self, n: int = 5) -> list[Item]:
        return sorted(self.items, key=lambda i: i.received_at, reverse=True)[:n]


def candidates(session: Session, office_id: int, days: int = 90, limit: int = MAX_ITEMS,
               now: datetime | None = None) -> list[Item]:
    since = (now or utcnow()) - timedelta(days=days)
    t = Ticket
    first = (select(Message.ticket_id, func.min(Message.id).label("mid"))
             .where(Message.office_id == office_id, Message.direction == "in", Message.ticket_id.is_not(None))
             .group_by(Message.ticket_id).subquery())
    stmt = (
        select(t.id, t.number, t.received_at, t.category, t.confidence, Message.text)
        .join(first, first.c.ticket_id == t.id)
        .join(Message, Message.id == first.c.mid)
        .where(
            t.office_id == office_id,
            t.merged_into_id.is_(None),
            t.received_at >= since,
            or_(t.intent.is_(None), t.intent.notin_(("greeting", "feedback", "followup"))),
            or_(and_(t.handoff.is_(True), t.article_id.is_(None)), t.confidence < LOW_CONFIDENCE),
        )
        .order_by(t.received_at.desc(), t.id.desc())
        .limit(limit)
    )
    out = []
    for row in session.execute(stmt):
        text = normalise_text(row.text or "")
        if text and not text.startswith("["):  # erased or empty
            out.append(Item(row.id, row.number, row.received_at, row.category, row.confidence, text[:500]))
    return out


def group(items: list[Item], distance: float = DISTANCE) -> list[Group]:
    """Groups of similar questions, largest first (single questions last)."""
    if not items:
        return []
    if len(items) == 1:
        return [Group(items)]
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    texts = [i.text.lower()[:300] for i in items]
    try:
        matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=1).fit_transform(texts)
    except ValueError:  # nothing but stop characters
        return [Group([i]) for i in items]
    dist = cosine_distances(matrix)
    labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                     distance_threshold=distance).fit_predict(dist)
    groups: dict[int, Group] = {}
    for item, lab in zip(items, labels, strict=True):
        groups.setdefault(int(lab), Group()).items.append(item)
    return sorted(groups.values(), key=lambda g: (-g.size, -g.latest.timestamp()))


def suggested_article(g: Group) -> dict[str, Any]:
    """Fields to pre-fill a new article from a group."""
    questions = []
    for item in g.sample(6):
        q = item.text if len(item.text) <= 200 else item.text[:199] + "…"
        if q not in questions:
            questions.append(q)
    return {"category": g.category or "general_consult", "questions": questions}

"""Article retrieval: BM25 over each article's fields (questions weighted highest), cosine similarity to
the nearest example question (character and word n-grams), a boost for the predicted category, and a
rapidfuzz token_set_ratio re-rank of the short list. Confidence comes from the top score and its margin
over the runner-up.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

from knowledge.articles import Article
from knowledge.classify import MODEL_CHARS, SparseVec, Tfidf, rows_dot, word_features
from knowledge.lexicon import PARTICLES

FIELD_WEIGHTS = {"questions": 3, "title": 2, "keywords": 2, "answer": 1}


def content_tokens(tokens: Sequence[str]) -> list[str]:
    return [t for t in tokens if t not in PARTICLES and t != "?" and len(t) > 1]


@dataclass(frozen=True)
class Hit:
    article: Article
    score: float


@dataclass
class Weights:
    bm25: float = 0.4
    char: float = 0.2
    word: float = 0.2
    category: float = 0.75
    supervised: float = 1.0  # weight of the article classifier's probability (0: no article classifier)
    fuzzy: float = 0.45
    k1: float = 1.2
    b: float = 0.5
    shortlist: int = 12
    temperature: float = 8.0  # softmax temperature of the article classifier


class Retriever:
    def __init__(
        self,
        articles: Sequence[Article],
        analyse: object,
        extra_questions: Mapping[str, Sequence[tuple[str, list[str]]]] | None = None,
        weights: Weights | None = None,
    ) -> None:
        """`analyse(text) -> (normalised, tokens)`; `extra_questions`: article id -> labelled example
        messages (normalised text, tokens) that count as more phrasings of its question."""
        self.articles = list(articles)
        self.w = weights or Weights()
        extra = extra_questions or {}
        n = len(self.articles)
        self.index = {a.id: i for i, a in enumerate(self.articles)}
        # per-article bag of tokens for BM25
        bags: list[Counter[str]] = []
        q_texts: list[str] = []
        q_tokens: list[list[str]] = []
        q_owner: list[int] = []
        for i, art in enumerate(self.articles):
            bag: Counter[str] = Counter()
            fields: dict[str, list[list[str]]] = {"questions": [], "title": [], "keywords": [], "answer": []}
            for q in art.questions:
                norm, toks = analyse(q)  # type: ignore[operator]
                fields["questions"].append(toks)
                q_texts.append(norm)
                q_tokens.append(toks)
                q_owner.append(i)
            norm, toks = analyse(art.title)  # type: ignore[operator]
            fields["title"].append(toks)
            q_texts.append(norm)
            q_tokens.append(toks)
            q_owner.append(i)
            for kw in art.keywords:
                fields["keywords"].append(analyse(kw)[1])  # type: ignore[operator]
            fields["answer"].append(analyse(art.answer)[1])  # type: ignore[operator]
            for norm, toks in extra.get(art.id, ()):
                fields["questions"].append(toks)
                q_texts.append(norm)
                q_tokens.append(toks)
                q_owner.append(i)
            for name, lists in fields.items():
                weight = FIELD_WEIGHTS[name]
                for toks in lists:
                    for t in set(content_tokens(toks)):
                        bag[t] += weight
            bags.append(bag)
        self._build_bm25(bags)
        # example-question vectors
        self.q_owner = np.asarray(q_owner, dtype=np.int64)
        self.q_token_strings = [" ".join(content_tokens(t)) for t in q_tokens]
        order = np.argsort(self.q_owner, kind="stable")
        self.q_order = order
        owners_sorted = self.q_owner[order]
        self.q_starts = np.searchsorted(owners_sorted, np.arange(n)) if n else np.zeros(0, dtype=np.int64)
        self.q_has = np.bincount(self.q_owner, minlength=n) > 0 if n else np.zeros(0, dtype=bool)
        self.fast_char = Tfidf("chars", ngram_range=(2, 4))
        self.fast_word = Tfidf("features")
        self.qt_char = self.qt_word = None
        if q_texts:
            q_char = self.fast_char.fit_transform([t[:MODEL_CHARS] for t in q_texts])
            q_word = self.fast_word.fit_transform([word_features(content_tokens(t)) for t in q_tokens])
            # features x questions, so one query's few features select a few rows
            self.qt_char = q_char.T.tocsr().astype(np.float64)
            self.qt_word = q_word.T.tocsr().astype(np.float64)
        self.categories = [a.category for a in self.articles]

    # ------------------------------------------------------------ BM25
    def _build_bm25(self, bags: list[Counter[str]]) -> None:
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.array([sum(b.values()) for b in bags], dtype=np.float64)
        avg = float(lengths.mean()) if len(lengths) else 1.0
        df: Counter[str] = Counter()
        for bag in bags:
            df.update(bag.keys())
        n = max(1, len(bags))
        k1, b = self.w.k1, self.w.b
        for i, bag in enumerate(bags):
            norm = k1 * (1 - b + b * lengths[i] / max(avg, 1e-9))
            for term, tf in bag.items():
                j = vocab.setdefault(term, len(vocab))
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                rows.append(i)
                cols.append(j)
                vals.append(idf * tf * (k1 + 1) / (tf + norm))
        self.vocab = vocab
        self.bm25t = sparse.csr_matrix((vals, (cols, rows)), shape=(max(1, len(vocab)), len(bags)),
                                       dtype=np.float64)  # terms x articles

    def _bm25_scores(self, toks: Sequence[str]) -> np.ndarray:
        idx = [self.vocab[t] for t in set(toks) if t in self.vocab]
        if not idx:
            return np.zeros(len(self.articles))
        return rows_dot(self.bm25t, idx)

    def _max_per_article(self, sims: np.ndarray) -> np.ndarray:
        n = len(self.articles)
        out = np.zeros(n)
        if not len(sims):
            return out
        ordered = sims[self.q_order]
        red = np.maximum.reduceat(ordered, self.q_starts) if len(self.q_starts) else np.zeros(0)
        out[self.q_has] = red[self.q_has]
        return out

    def _sims(self, qt: sparse.csr_matrix | None, vec: SparseVec) -> np.ndarray:
        idx, val = vec
        if qt is None or not len(idx):
            return np.zeros(len(self.q_owner))
        return rows_dot(qt, idx, val)

    # ------------------------------------------------------------ search
    def components(
        self,
        normalized: str,
        tokens: Sequence[str],
        category_probs: Mapping[str, float] | None = None,
        article_probs: Mapping[str, float] | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-article evidence, each scaled to about 0..1: bm25, char, word, category, supervised."""
        n = len(self.articles)
        toks = content_tokens(tokens)
        bm = self._bm25_scores(toks)
        bm_top = bm.max() if n else 0.0
        bm_n = bm / bm_top if bm_top > 0 else bm
        bm_n = bm_n * min(1.0, bm_top / 8.0) if bm_top > 0 else bm_n  # weak matches count less
        out = {
            "bm25": bm_n,
            "char": self._max_per_article(self._sims(self.qt_char, self.fast_char.one(normalized[:MODEL_CHARS]))),
            "word": self._max_per_article(self._sims(self.qt_word, self.fast_word.one(word_features(toks)))),
            "category": np.array([category_probs.get(c, 0.0) for c in self.categories]) if category_probs
            else np.zeros(n),
            "supervised": np.array([article_probs.get(a.id, 0.0) for a in self.articles]) if article_probs
            else np.zeros(n),
        }
        return out

    def fuzzy_scores(self, tokens: Sequence[str], candidates: Sequence[int]) -> dict[int, float]:
        """Best token_set_ratio (0..1) between the query and each candidate article's example questions."""
        toks = content_tokens(tokens)
        n = len(self.articles)
        owners: list[int] = []
        strings: list[str] = []
        for i in candidates:
            start = self.q_starts[i]
            end = self.q_starts[i + 1] if i + 1 < n else len(self.q_order)
            for qi in self.q_order[start:end]:
                owners.append(int(i))
                strings.append(self.q_token_strings[qi])
        best: dict[int, float] = {}
        if not strings or not toks:
            return best
        ratios = process.cdist([" ".join(toks)], strings, scorer=fuzz.token_set_ratio, processor=None,
                               dtype=np.float32)[0]
        for i, r in zip(owners, ratios.tolist(), strict=True):
            if r > best.get(i, -1.0):
                best[i] = r
        return {i: r / 100.0 for i, r in best.items()}

    def search(
        self,
        normalized: str,
        tokens: Sequence[str],
        category_probs: Mapping[str, float] | None = None,
        article_probs: Mapping[str, float] | None = None,
        k: int = 5,
    ) -> list[Hit]:
        if not self.articles:
            return []
        c = self.components(normalized, tokens, category_probs, article_probs)
        w = self.w
        score = (w.bm25 * c["bm25"] + w.char * c["char"] + w.word * c["word"] + w.category * c["category"]
                 + w.supervised * c["supervised"])
        short = np.argsort(-score)[: max(k, w.shortlist)]
        if w.fuzzy:
            for i, r in self.fuzzy_scores(tokens, short).items():
                score[i] += w.fuzzy * r
            short = short[np.argsort(-score[short], kind="stable")]
        return [Hit(self.articles[i], float(score[i])) for i in short[:k]]


def confidence(hits: Sequence[Hit]) -> float:
    """Probability-like 0..1 that the top hit answers the message, from the top score and its margin
    over the second (a logistic fit on cross-validated retrieval of the training messages)."""
    if not hits:
        return 0.0
    top = hits[0].score
    second = hits[1].score if len(hits) > 1 else 0.0
    z = 0.9 * top + 3.0 * (top - second) - 1.0
    return float(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))

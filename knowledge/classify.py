"""Category, intent and urgency classifiers: TF-IDF over canonical tokens (1-2 grams) and character
n-grams of the normalised text, a linear SVM per task with softmax-scaled scores as confidence, and
small rule layers where rules generalise better than data (urgency words and their negation,
greeting/thanks-only messages, ticket-number follow-ups).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from knowledge.lexicon import CUE_PATTERNS, GREETING_WORDS

INTENTS: tuple[str, ...] = ("question", "incident", "request", "followup", "feedback", "greeting")
URGENCIES: tuple[str, ...] = ("urgent", "normal")
MODEL_CHARS = 1500  # characters of normalised text the models look at


def word_features(tokens: Sequence[str]) -> list[str]:
    """Unigrams and bigrams of canonical tokens."""
    toks = list(tokens)
    return toks + [f"{a}|{b}" for a, b in itertools.pairwise(toks)]


_CUES = [(f"<{name}>", re.compile(pattern)) for name, pattern in CUE_PATTERNS.items()]


def cue_tokens(text: str) -> list[str]:
    """One "<name>" feature per cue class (lexicon.CUE_PATTERNS) present in the normalised text."""
    return [name for name, rx in _CUES if rx.search(text)]


_POLITE = frozenset({"ครับ", "นะ", "จ้า", "จ้ะ", "น้า", "หน่อย", "ด้วย", "เลย", "ที", "?", "555", "ๆ"})


def position_tokens(tokens: Sequence[str]) -> list[str]:
    """The first two tokens and the last two before the closing particles: where Thai marks a request
    (ขอ..., ช่วย...) or a question (...ไหม, ...ยังไง)."""
    toks = list(tokens)
    end = len(toks)
    while end > 0 and toks[end - 1] in _POLITE:
        end -= 1
    return [f"^{t}" for t in toks[:2]] + [f"${t}" for t in toks[max(0, end - 2):end]]


def model_features(doc: Doc) -> list[str]:
    return word_features(doc.tokens) + cue_tokens(doc.text[:MODEL_CHARS]) + position_tokens(doc.tokens)


@dataclass
class Doc:
    text: str  # normalised
    tokens: list[str]


SparseVec = tuple[np.ndarray, np.ndarray]  # (feature indices, values) of one document
_EMPTY: SparseVec = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


_WHITE_SPACES = re.compile(r"\s\s+")


@functools.lru_cache(maxsize=32)
def char_wb_ngrams(text: str, min_n: int, max_n: int) -> tuple[str, ...]:
    """Character n-grams inside word boundaries, padded with a space (scikit-learn's "char_wb").

    Remembered for the last few texts: answering a message asks for the same text's n-grams twice
    (the classifiers' features and the retriever's)."""
    grams: list[str] = []
    append = grams.append
    for w in _WHITE_SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        w_len = len(w)
        for n in range(min_n, max_n + 1):
            offset = 0
            append(w[offset: offset + n])
            while offset + n < w_len:
                offset += 1
                append(w[offset: offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return tuple(grams)


class Tfidf:
    """TF-IDF with sublinear tf and l2 norm over given feature lists (kind "features") or character
    n-grams (kind "chars"). Fitted with scikit-learn; applied to one document with plain numpy, so a
    process that loads cached models never imports scikit-learn and pays no per-call validation."""

    def __init__(self, kind: str = "features", ngram_range: tuple[int, int] = (2, 4), min_df: int = 1,
                 max_features: int | None = None) -> None:
        self.kind = kind
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float64)

    @property
    def size(self) -> int:
        return len(self.vocab)

    def analyze(self, doc: object) -> Sequence[str]:
        if self.kind == "chars":
            return char_wb_ngrams(str(doc), *self.ngram_range)
        return list(doc)  # type: ignore[call-overload]

    def fit_transform(self, docs: Sequence[object]) -> sparse.csr_matrix:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(analyzer=self.analyze, sublinear_tf=True, min_df=self.min_df,
                              max_features=self.max_features, dtype=np.float32)
        try:
            x = vec.fit_transform(docs)
        except ValueError:  # nothing to learn from (no documents or no features)
            self.vocab, self.idf = {}, np.zeros(0, dtype=np.float64)
            return sparse.csr_matrix((len(docs), 0), dtype=np.float32)
        self.vocab = {str(k): int(v) for k, v in vec.vocabulary_.items()}
        self.idf = np.asarray(vec.idf_, dtype=np.float64)
        return x.tocsr()

    def one(self, doc: object) -> SparseVec:
        # Counted in first-seen order, as a dict loop would, but with the lookups and counting in C.
        counts = Counter([j for j in map(self.vocab.get, self.analyze(doc)) if j is not None])
        if not counts:
            return _EMPTY
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        val = (1.0 + np.log(tf)) * self.idf[idx]
        norm = float(np.sqrt(val @ val))
        return idx, (val / norm if norm > 0 else val)


def rows_dot(m: sparse.csr_matrix, idx: np.ndarray | Sequence[int], val: np.ndarray | None = None) -> np.ndarray:
    """`val @ m[idx]` (or the plain sum of those rows) for a CSR matrix, straight from its arrays.

    Slicing the matrix first builds and validates a new one on every call, which cost more than the
    arithmetic for one message's few dozen features. Each output still adds the selected rows up in
    their given order, so the sums are the same."""
    rows = np.asarray(idx, dtype=np.int64)
    starts = m.indptr[rows]
    lens = m.indptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(m.shape[1])
    # each selected entry's position in m.indices / m.data
    pos = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
    weights = m.data[pos].astype(np.float64, copy=False)  # a fresh array already: scaled in place below
    if val is not None:
        weights *= np.repeat(np.asarray(val, dtype=np.float64), lens)
    return np.bincount(m.indices[pos], weights=weights, minlength=m.shape[1])


class FeatureSpace:
    """Word and character TF-IDF, fitted once and shared by the classifiers."""

    def __init__(self, char_weight: float = 1.0) -> None:
        self.words = Tfidf("features")
        self.chars = Tfidf("chars", ngram_range=(2, 4), min_df=2, max_features=60_000)
        self.char_weight = char_weight

    def fit_transform(self, docs: Sequence[Doc]) -> sparse.csr_matrix:
        w = self.words.fit_transform([model_features(d) for d in docs])
        c = self.chars.fit_transform([d.text[:MODEL_CHARS] for d in docs])
        return sparse.hstack([w, c * self.char_weight], format="csr")

    def one(self, doc: Doc) -> SparseVec:
        wi, wv = self.words.one(model_features(doc))
        ci, cv = self.chars.one(doc.text[:MODEL_CHARS])
        return (np.concatenate([wi, ci + self.words.size]), np.concatenate([wv, cv * self.char_weight]))


class LinearTask:
    """One linear SVM whose decision scores are turned into a distribution with a tempered softmax."""

    def __init__(self, c: float = 0.5, temperature: float = 4.0, class_weight: str | None = None) -> None:
        self.c = c
        self.class_weight = class_weight
        self.temperature = temperature
        self.classes: list[str] = []
        self.coef: np.ndarray | sparse.csr_matrix | None = None
        self.intercept: np.ndarray | None = None

    def fit(self, x: sparse.csr_matrix, y: Sequence[str], sample_weight: Sequence[float] | None = None) -> LinearTask:
        labels = sorted(set(y))
        self.classes = labels
        if len(labels) >= 2:
            from sklearn.svm import LinearSVC

            model = LinearSVC(C=self.c, class_weight=self.class_weight)
            model.fit(x, list(y), sample_weight=None if sample_weight is None else np.asarray(sample_weight))
            self.classes = [str(c) for c in model.classes_]
            self.coef = np.ascontiguousarray(model.coef_.T, dtype=np.float32)  # features x classes
            self.intercept = np.asarray(model.intercept_, dtype=np.float64)
        return self

    def compact(self, threshold: float) -> LinearTask:
        """Drop weights smaller than `threshold` and keep the rest sparse (for tasks with many classes)."""
        if isinstance(self.coef, np.ndarray):
            dense = np.where(np.abs(self.coef) >= threshold, self.coef, 0.0).astype(np.float32)
            self.coef = sparse.csr_matrix(dense)
        return self

    def _softmax(self, scores: np.ndarray) -> np.ndarray:
        if scores.ndim == 1:
            scores = scores[None, :]
        if scores.shape[1] == 1:  # binary: one margin for classes[1]
            scores = np.column_stack([-scores[:, 0], scores[:, 0]])
        z = scores * self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def proba(self, x: sparse.csr_matrix) -> np.ndarray:
        if len(self.classes) < 2 or self.coef is None:
            return np.ones((x.shape[0], max(1, len(self.classes))), dtype=np.float64)
        scores = x @ self.coef
        scores = np.asarray(scores.todense() if sparse.issparse(scores) else scores, dtype=np.float64)
        return self._softmax(scores + self.intercept)

    def proba_one(self, vec: SparseVec) -> np.ndarray:
        if len(self.classes) < 2 or self.coef is None:
            return np.ones(max(1, len(self.classes)), dtype=np.float64)
        idx, val = vec
        if not len(idx):
            scores = self.intercept.copy()
        elif isinstance(self.coef, np.ndarray):
            scores = val @ self.coef[idx] + self.intercept
        else:
            scores = rows_dot(self.coef, idx, val) + self.intercept
        return self._softmax(np.asarray(scores, dtype=np.float64))[0]

    def predict_one(self, vec: SparseVec) -> tuple[str, float, dict[str, float]]:
        if not self.classes:
            return "", 0.0, {}
        row = self.proba_one(vec)
        k = int(row.argmax())
        return self.classes[k], float(row[k]), dict(zip(self.classes, row.tolist(), strict=False))

    def predict(self, x: sparse.csr_matrix) -> list[tuple[str, float, dict[str, float]]]:
        p = self.proba(x)
        out = []
        for row in p:
            k = int(row.argmax())
            out.append((self.classes[k], float(row[k]), dict(zip(self.classes, row.tolist(), strict=False))))
        return out


# ---------------------------------------------------------------- rules
_THANKS = {"ขอบคุณ", "รับทราบ", "เข้าใจ"}
_GREET = {"สวัสดี", "อรุณสวัสดิ์"}
_NOT_URGENT = re.compile(
    r"ไม่(?:ได้|ค่อย|ต้อง)?(?:มี\S{0,12}?)?(?:เร่ง)?(?:ด่วน|รีบ)|ว่างๆ|ว่าง ๆ|เมื่อสะดวก|ตอนไหนก็ได้|ไม่เร่ง|ว่างเมื่อไ"
)
# The names of the priority levels of official letters (AMSS++: ปกติ ด่วน ด่วนมาก ด่วนที่สุด) are not a cry for help.
_PRIORITY_NAME = re.compile(
    r"(?:หนังสือ|ชั้นความเร็ว|ความเร็ว|ความสำคัญ|ระดับ|เช่น|เลือก|ปกติ)\s*ด่วน(?:ที่สุด|มาก)?"
    r"|ด่วน(?:ที่สุด|มาก)?\s*(?:กับ|,|/|และ|หรือ)\s*ด่วน(?:ที่สุด|มาก)?|ความจำเป็นเร่งด่วน|เรื่องเร่งด่วน(?:อะไร)?"
)
_URGENT_TEXT = re.compile(r"ด่วน|urgent|asap|ฉุกเฉิน")
_LEVEL = re.compile(r"ด่วน(?:ที่สุด|มาก)?")


def urgency_rule(text: str, tokens: Sequence[str]) -> str | None:
    """"urgent" for an explicit urgency word, "normal" for its negation ("ไม่ด่วน", "ไม่ต้องรีบ"), None
    (the model decides) otherwise, and when the word only names a priority level of official letters."""
    if _NOT_URGENT.search(text):
        return "normal"
    if len(set(_LEVEL.findall(text))) >= 2:  # a list of level names ("ด่วน ด่วนมาก ด่วนที่สุด")
        return None
    if _URGENT_TEXT.search(_PRIORITY_NAME.sub(" ", text)):
        return "urgent"
    return None


def content_words(tokens: Sequence[str]) -> list[str]:
    """Tokens that are not greeting, thanks or politeness words."""
    return [t for t in tokens if t not in GREETING_WORDS and t not in ("?", "ticketref") and len(t) > 1]


def smalltalk_rule(tokens: Sequence[str]) -> str | None:
    """"greeting" or "feedback" when the message is only a greeting or only thanks."""
    if content_words(tokens):
        return None
    toks = set(tokens)
    if toks & _THANKS:
        return "feedback"
    if toks & _GREET or not tokens or toks <= {"sticker", "สติกเกอร์", "สติ๊กเกอร์", "555", "ครับ", "?"}:
        return "greeting"
    return None


def softmax_confidence(margin: float, scale: float = 3.0) -> float:
    return 1.0 / (1.0 + math.exp(-scale * margin))

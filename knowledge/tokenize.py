"""Thai word segmentation with the domain dictionary, mapped to canonical tokens.

PyThaiNLP's newmm runs over a trie of its 62k-word dictionary plus the domain terms (DMC, M-OBEC,
AMSS++, เครื่องปริ้น ...), so system names and transliterations come out whole. Each token is then mapped
to its canonical form (ดีเอ็มซี -> dmc, ปริ้นเตอร์ -> printer). Runs of fragments that are not words
(typos newmm cut into pieces) are matched against the domain vocabulary with rapidfuzz, always on the
raw text: rapidfuzz's default processor strips Thai vowels and tone marks, so it is never used here.
"""

from __future__ import annotations

import os
import re
import threading
from functools import lru_cache
from typing import Any

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from rapidfuzz import fuzz, process

from knowledge.lexicon import DOMAIN_TERMS, FUZZY_TARGETS, PARTICLES, SYNONYMS

_lock = threading.Lock()
_trie: Any = None
_words: frozenset[str] = frozenset()

_THAI = re.compile(r"[\u0e01-\u0e4e]")
_WORDLIKE = re.compile(r"[0-9a-z\u0e01-\u0e4e]")
_NUMBER = re.compile(r"^\d+([.,:/]\d+)*$")
_FUZZY_CUTOFF = 84.0
_MAX_TOKENS = 600
_TICKET_REF = re.compile(r"(?<![a-z0-9])ict\s*[-_–—/.]?\s*\d{4}\s*[-_–—/.]?\s*\d{1,6}(?!\d)")


def _load() -> tuple[Any, frozenset[str]]:
    global _trie, _words
    if _trie is None:
        with _lock:
            if _trie is None:
                from pythainlp.corpus import thai_words
                from pythainlp.util import dict_trie

                words = frozenset(thai_words()) | DOMAIN_TERMS
                _words = words
                _trie = dict_trie(words)
    return _trie, _words


def warm() -> None:
    """Load the dictionary and run the segmenter once (the first call costs ~0.4 s)."""
    _load()
    segment("ทดสอบระบบ dmc ค่ะ")


def segment(normalized: str) -> list[str]:
    """newmm tokens of already-normalised text, without whitespace."""
    if not normalized:
        return []
    trie, _ = _load()
    from pythainlp.tokenize import word_tokenize

    return [t.strip() for t in word_tokenize(normalized, custom_dict=trie, engine="newmm", keep_whitespace=False)
            if t.strip()]


@lru_cache(maxsize=50_000)
def _fuzzy(fragment: str) -> tuple[str, float] | None:
    """The canonical domain term a typo stands for, with its score, or None."""
    if len(fragment) < 4 or len(fragment) > 30:
        return None
    hit = process.extractOne(fragment, FUZZY_TARGETS, scorer=fuzz.ratio, processor=None, score_cutoff=_FUZZY_CUTOFF)
    if hit is None:
        return None
    return SYNONYMS.get(hit[0], hit[0]), float(hit[1])


@lru_cache(maxsize=100_000)
def canonical(token: str) -> str | None:
    """The canonical form of one token, or None for punctuation and noise."""
    token = token.strip().lower()
    if not token:
        return None
    hit = SYNONYMS.get(token)
    if hit is not None:
        return hit
    if _NUMBER.match(token):
        if token == "555":
            return "555"
        return token if len(token) <= 2 else "<num>"
    if not _WORDLIKE.search(token):
        return "?" if "?" in token else None
    stripped = token.strip("-_.,!/()[]{}\"'*:;+=~")
    if stripped != token:
        return canonical(stripped) if stripped else None
    return token


def tokens(normalized: str) -> list[str]:
    """Canonical tokens of normalised text (typos of domain terms corrected)."""
    normalized = _TICKET_REF.sub(" ticketref ", normalized)
    raw = segment(normalized)[: _MAX_TOKENS * 2]
    _, words = _load()
    n = len(raw)
    low = [t.lower() for t in raw]
    thai = [bool(_THAI.search(t)) for t in low]
    # fragments: Thai pieces that are neither words nor known forms (typos newmm cut up), or lone letters
    suspicious = [thai[k] and t not in SYNONYMS and (t not in words or len(t) <= 1) for k, t in enumerate(low)]
    out: list[str] = []
    i = 0
    while i < n:
        tok = low[i]
        if suspicious[i]:
            j = i
            while j < n and suspicious[j]:
                j += 1
            best: tuple[str, float, int, int] | None = None
            for a in range(max(0, i - 3), i + 1):
                if a < i and not all(thai[a:i]):
                    continue
                for b in range(j, min(n, j + 2) + 1):
                    if b > j and not all(thai[j:b]):
                        continue
                    hit = _fuzzy("".join(low[a:b]))
                    if hit is not None and (best is None or hit[1] > best[1]):
                        best = (hit[0], hit[1], a, b)
            if best is not None:
                drop = i - best[2]  # words before the run that the match absorbed
                if drop:
                    del out[-drop:]
                out.append(best[0])
                i = best[3]
                continue
            for k in range(i, j):
                c = canonical(low[k])
                if c is not None:
                    out.append(c)
            i = j
            continue
        if not thai[i] and tok.isalpha() and len(tok) >= 4 and tok not in SYNONYMS and tok not in words:
            hit = _fuzzy(tok)
            if hit is not None:
                out.append(hit[0])
                i += 1
                continue
        c = canonical(tok)
        if c is not None:
            out.append(c)
        i += 1
    return mark_fine_clauses(out[:_MAX_TOKENS])


_CONTRAST = frozenset({"แต่", "แค่", "แต่ว่า", "ส่วน"})
_FINE = re.compile(
    r"ไม่(?:ได้)?(?:เสีย|พัง|มีปัญหา|ล่ม|หลุด|ดับ|จะ|โดน|ถูก|ต้องการ|ได้เสีย)|ใช้ได้|ปกติ|ไม่ใช่|ไม่เกี่ยว|ไม่ได้ขอ"
)


def mark_fine_clauses(toks: list[str]) -> list[str]:
    """In a message that contrasts two things ("เน็ตไม่ได้เสีย แต่ DMC เข้าไม่ได้", "ไม่ได้จะซ่อม แค่อยากยืม"),
    the clause that says something is fine or not wanted gets its tokens marked "ok:..." so its topic
    words do not count as the topic."""
    if not toks or not any(t in _CONTRAST for t in toks):
        return toks
    clauses: list[list[str]] = [[]]
    for t in toks:
        if t in _CONTRAST:
            clauses.append([t])
        else:
            clauses[-1].append(t)
    out: list[str] = []
    for clause in clauses:
        body = [t for t in clause if t not in _CONTRAST]
        if body and _FINE.search("".join(body)) and len(clauses) > 1:
            out += [t if t in _CONTRAST or t in PARTICLES else f"ok:{t}" for t in clause]
        else:
            out += clause
    return out

"""Matching what a requester types against the office's school list (names and aliases), with rapidfuzz.

Thai text is compared after our own light normalisation (never rapidfuzz's default processor, which
strips Thai vowels and tone marks): prefixes like โรงเรียน / รร. / ร.ร. and spaces are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import School

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_PREFIX = re.compile(r"^(?:โรงเรียน|ร\.?ร\.?|รร)\s*")
_SCHOOL_CUE = re.compile(r"^(?:อยู่|จาก|ชื่อ|คือ)?\s*(?:โรงเรียน|ร\.\s?ร\.|รร\.?)")
SURE = 90.0
LIKELY = 80.0
MAYBE = 62.0


def normalise(name: str) -> str:
    text = " ".join(name.translate(_THAI_DIGITS).lower().split())
    text = _PREFIX.sub("", text)
    text = text.replace("บ้าน", "", 1) if text.startswith("บ้าน") and len(text) > 6 else text
    return re.sub(r"[\s\.\-()]", "", text)


@dataclass(frozen=True)
class Candidate:
    school_id: int
    name: str
    score: float


@dataclass(frozen=True)
class SchoolMatch:
    sure: Candidate | None
    candidates: list[Candidate]


def looks_like_school(text: str) -> bool:
    """Starts like a school name ("โรงเรียน...", "รร. ...") and is short: not a question that mentions one."""
    return bool(_SCHOOL_CUE.search(text.strip())) and len(text) <= 80


def match(session: Session, office_id: int, text: str, limit: int = 3) -> SchoolMatch:
    query = normalise(text)
    if not query:
        return SchoolMatch(None, [])
    keys: list[str] = []
    owners: list[tuple[int, str]] = []
    for school in session.scalars(select(School).where(School.office_id == office_id)):
        for alias in [school.name, *(school.aliases or []), *([school.code] if school.code else [])]:
            key = normalise(str(alias))
            if key:
                keys.append(key)
                owners.append((school.id, school.name))
    if not keys:
        return SchoolMatch(None, [])
    best: dict[int, Candidate] = {}
    for _key, score, index in process.extract(query, keys, scorer=fuzz.WRatio, processor=None, limit=limit * 4):
        school_id, name = owners[index]
        if school_id not in best or best[school_id].score < score:
            best[school_id] = Candidate(school_id, name, float(score))
    ranked = sorted(best.values(), key=lambda c: -c.score)[:limit]
    sure = None
    if ranked:
        top = ranked[0].score
        margin = top - ranked[1].score if len(ranked) > 1 else 100.0
        if (top >= SURE and margin >= 5) or (top >= LIKELY and margin >= 15):
            sure = ranked[0]
    return SchoolMatch(sure, [c for c in ranked if c.score >= MAYBE])


def school_count(session: Session, office_id: int) -> int:
    from sqlalchemy import func

    return int(session.scalar(select(func.count()).select_from(School).where(School.office_id == office_id)) or 0)

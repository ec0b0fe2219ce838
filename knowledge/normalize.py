"""Text normalisation for Thai help-desk messages (LINE chat and e-mail).

The output is what the tokenizer, the classifiers and the retriever see: Arabic digits, lower-case Latin,
one kind of space, no control or zero-width characters, no emoji, look-alike Lao/Khmer glyphs mapped to
Thai, sara am composed, and stretched letters (ด่วนนนน, มากกกก) shrunk back.
"""

from __future__ import annotations

import re
import unicodedata

from knowledge.lexicon import CONFUSABLES

MAX_CHARS = 4000  # longer messages are cut before the models see them (the head carries the request)

_TRANSLATE = str.maketrans(CONFUSABLES)
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\ufe0e\ufe0f"), None)
_SPACES = re.compile(r"\s+")
_THAI_RUN = re.compile(r"([\u0e01-\u0e2e\u0e30-\u0e3a\u0e40-\u0e4e])\1{2,}")  # 3+ of the same Thai letter
_LATIN_RUN = re.compile(r"([a-z])\1{3,}")  # 4+ of the same Latin letter (keeps www)
_PUNCT_RUN = re.compile(r"([!?.~,*\-=_^])\1+")
_LAUGH = re.compile(r"(?<!\d)5{3,}(?!\d)")
_DOUBLE_E = re.compile("\u0e40\u0e40")  # เเ typed for แ
_SARA_AM = re.compile("\u0e4d\u0e32")  # nikhahit + sara aa -> sara am
_TONE_BEFORE_AM = re.compile("\u0e32\u0e4d")
_DUP_MARK = re.compile(r"([\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])\1+")  # doubled vowel/tone marks
_THAI_TICKET = re.compile(r"ไอซีที\s*-?\s*(?=\d)")


def _char_class(ch: str) -> str:
    """Map one character: keep Thai and ordinary text, compatibility-fold other scripts, drop noise."""
    if "\u0e00" <= ch <= "\u0e7f":
        return ch
    if ch < "\x80":
        return ch if " " <= ch != "\x7f" else " "
    cat = unicodedata.category(ch)
    if cat[0] == "C":  # control, format, surrogate, private use, unassigned
        return " "
    if cat in ("Mn", "Me"):  # stray combining marks from other scripts
        return ""
    if cat in ("So", "Sk"):  # emoji, pictographs, modifiers
        return " "
    return unicodedata.normalize("NFKC", ch)


def normalize(text: str | None, *, limit: int = MAX_CHARS) -> str:
    """Normalise one message. Never raises; returns "" for empty or non-text input."""
    if not text:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = text[: limit * 2]
    text = text.translate(_ZERO_WIDTH).translate(_TRANSLATE)
    text = _fold(text) if not text.isascii() else _ascii_clean(text)
    text = _SARA_AM.sub("\u0e33", text)
    text = _TONE_BEFORE_AM.sub("\u0e33", text)
    text = _DOUBLE_E.sub("\u0e41", text)
    text = _DUP_MARK.sub(r"\1", text)
    text = text.lower()
    text = _THAI_RUN.sub(r"\1", text)
    text = _LATIN_RUN.sub(r"\1", text)
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _LAUGH.sub("555", text)
    text = _THAI_TICKET.sub("ict-", text)
    text = _SPACES.sub(" ", text)
    return text.strip()[:limit]


def _fold(text: str) -> str:
    """Map every character (see _char_class) until nothing changes: a folded character may itself fold
    again (U+0B5C decomposes to a letter and a nukta, which then goes as a stray mark; "İ".lower() adds a
    combining dot), and normalising twice must give what normalising once gave."""
    for _ in range(4):
        folded = "".join(_char_class(ch) for ch in text.lower())
        if folded == text:
            break
        text = folded
    return text


def _ascii_clean(text: str) -> str:
    return "".join(ch if " " <= ch != "\x7f" else " " for ch in text)


_TICKET = re.compile(r"(?<![a-z0-9])ict\s*[-_–—/.]?\s*(\d{4})\s*[-_–—/.]?\s*(\d{1,6})(?!\d)")


def ticket_numbers(normalized: str) -> list[str]:
    """Ticket numbers ("ICT-2569-000123") in normalised text, in order, without repeats."""
    seen: list[str] = []
    for year, serial in _TICKET.findall(normalized):
        number = f"ICT-{year}-{int(serial):06d}"
        if number not in seen:
            seen.append(number)
    return seen

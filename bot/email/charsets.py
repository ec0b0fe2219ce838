"""Bytes to text for Thai mail: declared charsets, their common lies, and RFC 2047 encoded words.

Thai mail arrives as UTF-8, TIS-620, windows-874 or ISO-8859-11, often with a wrong or missing
declaration. All three single-byte Thai charsets are decoded as cp874 (Python has no `windows-874`
alias, and its tis-620 codec rejects bytes 0x80-0x9F that Windows mailers use for quotes and dashes).
Nothing here raises on bad input: every function returns text, at worst with replacement characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re

THAI_SINGLE_BYTE = "cp874"

_THAI_LABELS = frozenset({
    "windows-874", "x-windows-874", "cp874", "cp-874", "ms874", "ibm874", "x-ibm874",
    "tis-620", "tis620", "tis_620", "x-tis620", "tis-620-2533", "iso-8859-11", "iso8859-11", "iso_8859-11",
    "iso885911", "thai",
})
# Declarations that mailers put on anything; Thai text behind them is common.
_WEAK_LABELS = frozenset({"ascii", "latin-1", "iso8859-1", "iso8859-15", "cp1252"})
# Codecs whose bytes are not an ASCII superset: the declared codec must be tried first.
_WIDE_OR_STATEFUL = ("utf-16", "utf-32", "utf-7", "iso2022", "hz")
_REFUSED = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs", "oem"})

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,80})\?([BbQq])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

THAI_SAMPLE_BYTES = 65536


def normalise_charset(label: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None when unknown or unusable."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if "*" in name:  # RFC 2231 language suffix: utf-8*th
        name = name.split("*", 1)[0]
    if not name:
        return None
    if name in _THAI_LABELS:
        return THAI_SINGLE_BYTE
    if name in ("utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8"):
        return "utf-8"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    if info.name in ("tis-620", "iso8859-11"):
        return THAI_SINGLE_BYTE
    return info.name


def _is_wide(codec: str) -> bool:
    return codec.startswith(_WIDE_OR_STATEFUL)


def looks_thai(data: bytes) -> bool:
    """True when single-byte data reads as Thai words in cp874 (not Latin text with accents).

    Thai words are runs of high bytes; accented Latin has isolated high bytes between ASCII letters.
    A vowel or tone mark that follows an ASCII letter is a strong sign of not-Thai.
    """
    sample = data[:THAI_SAMPLE_BYTES]
    text = sample.decode(THAI_SINGLE_BYTE, "replace")
    thai = 0
    high = 0
    marks_after_latin = 0
    marks = 0
    prev = ""
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            prev = ch
            continue
        high += 1
        if 0x0E01 <= o <= 0x0E5B:
            thai += 1
            if o == 0x0E31 or 0x0E34 <= o <= 0x0E3A or 0x0E47 <= o <= 0x0E4E:
                marks += 1
                if prev.isascii() and prev.isalpha():
                    marks_after_latin += 1
        prev = ch
    if high == 0 or thai < 3:
        return False
    if thai / high < 0.85:
        return False
    return not (marks and marks_after_latin / marks > 0.2)


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode body or header bytes. Returns (text, codec used). Never raises.

    Order: a wide/stateful declared codec; pure ASCII; valid UTF-8 (Thai single-byte text is never valid
    UTF-8, so this also catches mailers that declare tis-620 but send UTF-8); the declared codec when it is
    specific; cp874 when the bytes read as Thai; the declared codec with replacement; cp1252 with replacement.
    """
    codec = normalise_charset(declared)
    if codec and _is_wide(codec):
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            pass
    if data.isascii():
        return data.decode("ascii"), "ascii"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # Valid UTF-8 cut short at the very end (a truncated part or header): still UTF-8.
        if exc.start >= len(data) - 3 and exc.start > 0 and exc.reason == "unexpected end of data":
            try:
                return data[:exc.start].decode("utf-8") + "\ufffd", "utf-8"
            except UnicodeDecodeError:
                pass
    if codec and codec not in _WEAK_LABELS and codec != "utf-8":
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            pass
    if codec == THAI_SINGLE_BYTE or looks_thai(data):
        return data.decode(THAI_SINGLE_BYTE, "replace"), THAI_SINGLE_BYTE
    if codec and codec != "utf-8":
        try:
            return data.decode(codec, "replace"), codec
        except LookupError:
            pass
    return data.decode("cp1252", "replace"), "cp1252"


def truncate_bytes(data: bytes, limit: int) -> bytes:
    """Cut at most `limit` bytes without splitting a UTF-8 sequence (harmless for single-byte charsets)."""
    if len(data) <= limit:
        return data
    cut = limit
    while cut > limit - 4 and cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return data[:cut]


def _b_decode(text: str) -> bytes:
    raw = text.encode("ascii", "ignore")
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError):
        try:
            return base64.b64decode(raw[: len(raw) - len(raw) % 4] or b"", validate=False)
        except (binascii.Error, ValueError):
            return b""


def _q_decode(text: str) -> bytes:
    out = bytearray()
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "_":
            out.append(0x20)
        elif ch == "=" and i + 2 < n and _HEX2.fullmatch(text[i + 1:i + 3]):
            out.append(int(text[i + 1:i + 3], 16))
            i += 2
        else:
            out.extend(ch.encode("utf-8", "ignore"))
        i += 1
    return bytes(out)


def raw_to_text(value: str) -> str:
    """A header value from the parser (8-bit bytes kept as surrogate escapes) back to readable text."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF for c in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    return decode_text(data)[0]


def decode_header_value(value: str | None, limit: int = 2000) -> str:
    """Unfold and decode a raw header value: RFC 2047 encoded words (adjacent words joined before decoding,
    so a Thai character split across two words survives), raw 8-bit UTF-8 or Thai bytes. One line out."""
    if not value:
        return ""
    value = _FOLD.sub("", value[: limit * 8])
    value = raw_to_text(value)
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_text(b"".join(pending), pending_charset)[0])
        pending = []
        pending_charset = None

    for m in _ENCODED_WORD.finditer(value):
        between = value[pos:m.start()]
        if between and (between.strip() or not pending):
            flush()
            out.append(between)
        charset = m.group(1).split("*", 1)[0].lower()
        data = _b_decode(m.group(3)) if m.group(2) in "Bb" else _q_decode(m.group(3))
        if pending and charset != pending_charset:
            flush()
        pending.append(data)
        pending_charset = charset
        pos = m.end()
    flush()
    out.append(value[pos:])
    text = "".join(out).replace("\r", " ").replace("\n", " ")
    text = _CONTROL.sub("", text)
    return text.strip()[:limit]

"""Separate what the sender wrote now from quoted history, signatures and forwarded messages.

Plain-text rules over lines (HTML bodies arrive here already converted, with "> " quote prefixes and
separator lines for known reply containers). Thai and English mail clients are covered: Gmail
("เมื่อ ... เขียนว่า:" / "On ... wrote:"), Outlook ("จาก: ... ส่ง: ..." / "From: ... Sent: ..."),
Apple Mail, Thunderbird, Yahoo, and mobile "Sent from" footers. The original text is never changed;
these functions only say where to cut. All scans are linear in the number of lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATTRIBUTION = re.compile(
    r"^(?:>\s*)?(?:"
    r"On\s.{0,300}\s(?:wrote|writes)\s*:"
    r"|เมื่อ.{0,300}(?:\d|@).{0,300}เขียนว่า\s*:?"
    r"|.{0,200}<[^<>@\s]+@[^<>\s]+>\s*(?:wrote|เขียนว่า)\s*:"
    r"|Le\s.{0,200}\sa écrit\s*:"
    r"|Am\s.{0,200}\sschrieb\s.{0,200}:"
    r")\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|ข้อความต้นฉบับ|ข้อความเดิม)\s*-{2,}"
    r"|_{20,}|-{20,})\s*$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded message|Forwarded Message|ข้อความที่ส่งต่อ|ข้อความส่งต่อ)\s*-{2,}"
    r"|Begin forwarded message\s*:)\s*$",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(
    r"^\s*\*?(From|Sent|Date|To|Cc|Subject|จาก|ส่ง|ส่งเมื่อ|วันที่|ถึง|สำเนา(?:ถึง)?|เรื่อง|หัวเรื่อง)\*?\s*:\s*(.*)$",
    re.IGNORECASE,
)
_HEADER_KEYS = {
    "from": "from", "จาก": "from",
    "sent": "date", "date": "date", "ส่ง": "date", "ส่งเมื่อ": "date", "วันที่": "date",
    "to": "to", "ถึง": "to",
    "cc": "cc", "สำเนา": "cc", "สำเนาถึง": "cc",
    "subject": "subject", "เรื่อง": "subject", "หัวเรื่อง": "subject",
}
_SIG_DELIMITER = re.compile(r"^-- $")
_SIG_DELIMITER_LOOSE = re.compile(r"^--\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(?:Sent from (?:my |Mail for |Yahoo Mail|Outlook|Samsung).{0,60}"
    r"|Get Outlook for .{0,40}"
    r"|ส่งจาก.{0,60}(?:iPhone|iPad|Android|Samsung|Outlook|Mail|มือถือ|อุปกรณ์).{0,40}"
    r"|รับ Outlook สำหรับ.{0,40}"
    r"|Sent via .{0,60})\s*$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^\s*(?:ขอแสดงความนับถือ(?:อย่างสูง)?|ด้วยความนับถือ(?:อย่างสูง)?|ด้วยความเคารพ(?:อย่างสูง)?"
    r"|(?:Best|Kind|Warm)\s+regards|Regards|Sincerely|Yours sincerely|Yours faithfully)[\s,.!]*$",
    re.IGNORECASE,
)
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|tr|sv|vs|antw|ตอบกลับ|ตอบ|ส่งต่อ|ตอบ กลับ)\s*(?:\[\d+\])?\s*[:：]\s*"
    r"|\[(?:external|ภายนอก|spam)\]\s*)+",
    re.IGNORECASE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:re\s*:\s*)*(?:fw|fwd|ส่งต่อ)\s*[:：]", re.IGNORECASE)
CLOSING_WINDOW = 12
MAX_MARKER_LINE = 1000  # longer lines are content, never markers (keeps the regexes cheap)  # a formal closing counts as the signature start only this close to the end


@dataclass(frozen=True)
class Forwarded:
    sender: str | None
    subject: str | None
    date: str | None
    to: str | None
    text: str


@dataclass(frozen=True)
class Split:
    new: str
    quoted: str
    signature: str
    forwarded: tuple[Forwarded, ...] = ()


def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes (Re:, FW:, ตอบกลับ:, [External] ...)."""
    return " ".join(_SUBJECT_PREFIX.sub("", subject or "").split())


def is_forward_subject(subject: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject or ""))


def _header_block(lines: list[str], start: int, limit: int = 12) -> tuple[dict[str, str], int]:
    """Parse "Key: value" lines (Thai or English keys) from `start`; returns (fields, first body line)."""
    fields: dict[str, str] = {}
    i = start
    last_key: str | None = None
    end = min(len(lines), start + limit)
    while i < end:
        raw = lines[i].lstrip("> ").rstrip()
        if not raw.strip():
            if fields:
                i += 1
                break
            i += 1
            continue
        m = _HEADER_LINE.match(raw)
        if m:
            key = _HEADER_KEYS.get(m.group(1).lower())
            if key and key not in fields:
                fields[key] = m.group(2).strip()
                last_key = key
            i += 1
            continue
        if last_key and raw.startswith((" ", "\t")):  # a wrapped header value
            fields[last_key] += " " + raw.strip()
            i += 1
            continue
        break
    return fields, i


def _is_outlook_block(lines: list[str], i: int) -> bool:
    """A "From:/จาก:" line followed closely by a date or subject line: Outlook's reply/forward header."""
    if len(lines[i]) > MAX_MARKER_LINE:
        return False
    m = _HEADER_LINE.match(lines[i].lstrip("> "))
    if not m or _HEADER_KEYS.get(m.group(1).lower()) != "from":
        return False
    fields, _ = _header_block(lines, i, limit=8)
    return "date" in fields or "subject" in fields


def _cut_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split trailing signature lines off the new text (never leaving the text empty)."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content:
        return lines, []
    cut: int | None = None
    tail = content[-CLOSING_WINDOW:]
    for i in content:
        s = lines[i].rstrip("\r\n")
        if len(s) > MAX_MARKER_LINE:
            continue
        if _SIG_DELIMITER.match(s) or _MOBILE_FOOTER.match(s) or (i in tail and _SIG_DELIMITER_LOOSE.match(s)):
            cut = i
            break
    if cut is None:
        for i in tail:
            if len(lines[i]) < MAX_MARKER_LINE and _CLOSING.match(lines[i]):
                cut = i
                break
    if cut is None or not any(line.strip() for line in lines[:cut]):
        return lines, []
    return lines[:cut], lines[cut:]


def split_reply(text: str, subject: str = "") -> Split:
    """Cut `text` into the new part, the quoted history, the signature and forwarded messages."""
    lines = text.split("\n")
    n = len(lines)
    forward_at: int | None = None
    quote_at: int | None = None
    forward_subject = is_forward_subject(subject)
    for i in range(n):
        s = lines[i].strip()
        if not s:
            continue
        if len(s) > MAX_MARKER_LINE:
            if s.startswith(">") and all((not r.strip()) or r.lstrip().startswith(">") for r in lines[i:]):
                quote_at = i
                break
            continue
        if _FORWARD.match(s):
            forward_at = i
            break
        if _ATTRIBUTION.match(s) or (
            i + 1 < n and len(s) < 300 and _ATTRIBUTION.match(s + " " + lines[i + 1].strip())
            and s.lower().startswith(("on ", "เมื่อ"))
        ):
            quote_at = i
            break
        if _ORIGINAL.match(s):
            j = i + 1
            while j < n and not lines[j].strip():
                j += 1
            if "original" in s.lower() or "ต้นฉบับ" in s or "เดิม" in s or (j < n and _is_outlook_block(lines, j)):
                if forward_subject and j < n and _is_outlook_block(lines, j):
                    forward_at = i
                else:
                    quote_at = i
                break
        if _is_outlook_block(lines, i):
            if forward_subject:
                forward_at = i
            else:
                quote_at = i
            break
        if s.startswith(">"):
            # A quoted block: if nothing but quotes and blanks follows, it is trailing history;
            # otherwise it is an inline reply and only the ">" lines are history.
            rest = lines[i:]
            if all((not r.strip()) or r.lstrip().startswith(">") for r in rest):
                quote_at = i
            break

    forwarded: list[Forwarded] = []
    if forward_at is not None:
        head = lines[:forward_at]
        start = forward_at if _HEADER_LINE.match(lines[forward_at].lstrip("> ")) else forward_at + 1
        fields, body_start = _header_block(lines, start)
        body = "\n".join(line[2:] if line.startswith("> ") else line for line in lines[body_start:]).strip()
        forwarded.append(Forwarded(fields.get("from"), fields.get("subject"), fields.get("date"), fields.get("to"),
                                   body))
        new_lines, sig = _cut_signature(head)
        return Split("\n".join(new_lines).strip(), "", "\n".join(sig).strip(), tuple(forwarded))

    if quote_at is not None:
        head, quoted = lines[:quote_at], lines[quote_at:]
    else:
        inline_quotes = [line for line in lines if line.lstrip().startswith(">")]
        if inline_quotes:
            head = [line for line in lines if not line.lstrip().startswith(">")]
            quoted = inline_quotes
        else:
            head, quoted = lines, []
    new_lines, sig = _cut_signature(head)
    return Split("\n".join(new_lines).strip(), "\n".join(quoted).strip(), "\n".join(sig).strip(), ())

"""Raw RFC 5322 bytes in, a ParsedMessage out. Pure functions: no IMAP, no database, no clock.

The stdlib parser (email.policy.default) builds the MIME tree. Large base64 bodies are cut out of the
bytes first and decoded straight from the raw message only when kept (the feed parser would otherwise
hold each body as a list of line strings, ~2.5x its size), so a 25 MB message parses in a few MB; more
than 60 multipart containers are read flat instead of as a tree (the stdlib recurses per level). Everything
read from the tree goes through our own
decoders (bot.email.charsets), because real Thai mail lies about its charsets and the stdlib header
classes can choke on malformed values. Parsing never raises: whatever cannot be read is noted in
`ParsedMessage.notes` and the rest is still returned.
"""

from __future__ import annotations

import binascii
import email.policy
import hashlib
import io
import mimetypes
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message as StdMessage
from email.parser import BytesFeedParser, BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from bot.email import messages_th as M
from bot.email.charsets import (
    decode_header_value,
    decode_text,
    normalise_charset,
    raw_to_text,
    truncate_bytes,
)
from bot.email.htmltext import html_to_text
from bot.email.quotes import Forwarded, clean_subject, is_forward_subject, split_reply

FEED_CHUNK = 64 * 1024
MAX_BOUNDARIES = 60  # more multipart containers than this: read the message flat instead of as a tree
HEADER_SCAN_LIMIT = 1024 * 1024

_MSGID = re.compile(r"<([^<>\s]{1,250})>")
_BOUNDARY = re.compile(rb"boundary\s*=", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}charset\s*=\s*["']?([A-Za-z0-9_:.-]{1,40})""", re.IGNORECASE)
_PARAM_NAME = re.compile(r"^([^*\s]+)(?:\*(\d{1,3}))?(\*)?$")
_PERCENT_B = re.compile(rb"%([0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_FILENAME_BAD = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\u202a-\u202e\u2066-\u2069]')

# Attachment types that run code or hide it (Windows, scripts, installers, disk images, macro documents).
DANGEROUS_EXTENSIONS = frozenset({
    "exe", "scr", "com", "pif", "bat", "cmd", "cpl", "msi", "msp", "mst", "msc", "dll", "sys", "drv", "ocx",
    "js", "jse", "vbs", "vbe", "wsf", "wsh", "wsc", "ps1", "psm1", "psd1", "hta", "jar", "reg", "lnk", "inf",
    "scf", "url", "iso", "img", "vhd", "vhdx", "appx", "appxbundle", "msix", "apk", "sh", "py", "pl",
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "ppsm", "sldm", "one", "chm", "application",
    "gadget", "html", "htm", "shtml", "svg", "xhtml",
})
DANGEROUS_TYPES = frozenset({
    "application/x-msdownload", "application/x-dosexec", "application/x-msdos-program", "application/x-executable",
    "application/x-ms-installer", "application/x-msi", "application/hta", "application/x-sh",
    "application/javascript", "text/javascript", "application/x-javascript", "application/vnd.ms-htmlhelp",
    "application/java-archive", "application/x-java-archive", "application/vnd.microsoft.portable-executable",
    "text/html", "application/xhtml+xml", "image/svg+xml",
})
ARCHIVE_EXTENSIONS = frozenset({"zip", "rar", "7z", "gz", "tgz", "bz2", "xz", "cab", "arj", "ace", "z"})


@dataclass(frozen=True)
class Limits:
    max_attachment_bytes: int = 10 * 1024 * 1024  # all attachments of one message together
    max_depth: int = 20
    max_parts: int = 300
    max_text_chars: int = 200_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Address:
    name: str
    addr: str  # lower case

    def __str__(self) -> str:
        return f"{self.name} <{self.addr}>" if self.name else self.addr


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    data: bytes | None  # None when skipped
    sha256: str | None = None
    skipped_reason: str | None = None  # "too_large" | "limit"
    dangerous: bool = False
    danger_reason: str | None = None
    inline: bool = False
    content_id: str | None = None
    size_estimated: bool = False


@dataclass
class DeliveryReport:
    """A delivery status notification (bounce) about a message we sent."""

    original_message_id: str | None = None
    recipients: list[str] = field(default_factory=list)
    action: str | None = None  # failed | delayed | delivered | relayed | expanded
    status: str | None = None  # e.g. 5.1.1
    diagnostic: str | None = None
    original_references: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        if self.action:
            return self.action.lower() == "failed"
        return bool(self.status and self.status.startswith("5"))


@dataclass
class ParsedMessage:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    date: datetime | None
    headers: dict[str, str]  # selected headers, lower-case names, decoded values
    text: str  # the whole readable body (HTML converted); the original as sent
    new_text: str  # what the sender wrote now
    quoted: str
    signature: str
    html_only: bool
    forwarded: list[Forwarded]
    attachments: list[ParsedAttachment]
    report: DeliveryReport | None
    notes: list[str]
    size: int
    sha256: str
    content_type: str

    @property
    def clean_subject(self) -> str:
        return clean_subject(self.subject)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def understanding_text(self, limit: int = 20_000) -> str:
        """What the pipeline should read: the new text, then forwarded content; the subject when both are empty."""
        parts = [self.new_text] if self.new_text else []
        for fwd in self.forwarded:
            head = f"เรื่อง: {fwd.subject}\n" if fwd.subject else ""
            if fwd.text or head:
                parts.append(f"{head}{fwd.text}".strip())
        text = "\n\n".join(p for p in parts if p).strip()
        if not text:
            text = self.clean_subject
        if not text and self.attachments:  # a scan or a photo with nothing written: still a request
            text = M.ATTACHMENTS_ONLY.format(names=", ".join(a.filename for a in self.attachments[:10]))
        return text[:limit]


# --------------------------------------------------------------------------------------------- helpers

def _feed_parse(raw: bytes) -> StdMessage:
    parser = BytesFeedParser(policy=email.policy.default)
    view = memoryview(raw)
    for start in range(0, len(raw), FEED_CHUNK):
        parser.feed(bytes(view[start:start + FEED_CHUNK]))
    return parser.close()


# Big base64 bodies are cut out of the bytes before the stdlib parser sees them: its feed parser turns
# every body line into a str and keeps them in a list (about 2.5x the body in memory). The part keeps a
# marker; its bytes are decoded straight from the raw message only if they are kept.
ELIDE_ABOVE = 2 * 1024 * 1024
ELIDE_RUN = 256 * 1024
_BLANK_LINE = re.compile(rb"\n\r?\n")
# Bounded repetition: one match never covers more than 512 lines, so the regex engine's backtracking
# state stays small (an unbounded {3000,} over a 25 MB body costs ~70 MB of it).
_B64_BLOCK = re.compile(rb"(?:[A-Za-z0-9+/]{40,998}={0,2}\r?\n){1,512}")
_ELIDED = re.compile(r"HELPDESKELIDED[0-9a-f]{12}N\d+")


def _elide(raw: bytes) -> tuple[bytes, dict[str, tuple[int, int]]]:
    if len(raw) < ELIDE_ABOVE:
        return raw, {}
    token = secrets.token_hex(6)
    pieces: list[bytes] = []
    table: dict[str, tuple[int, int]] = {}
    pos = 0
    search_from = 0
    while True:
        blank = _BLANK_LINE.search(raw, search_from)
        if blank is None:
            break
        start = end = blank.end()
        while (block := _B64_BLOCK.match(raw, end)) is not None:
            end = block.end()
        search_from = max(end, blank.end())
        if end - start < ELIDE_RUN:
            continue
        marker = f"HELPDESKELIDED{token}N{len(table)}"
        pieces += [raw[pos:start], marker.encode(), b"\r\n"]
        table[marker] = (start, end)
        pos = end
    if not table:
        return raw, {}
    pieces.append(raw[pos:])
    return b"".join(pieces), table


def header_end(raw: bytes) -> int:
    """Offset of the blank line ending the header block (len(raw) when there is none)."""
    limit = min(len(raw), HEADER_SCAN_LIMIT)
    candidates = [i for i in (raw.find(b"\r\n\r\n", 0, limit), raw.find(b"\n\n", 0, limit)) if i != -1]
    if raw.startswith((b"\r\n", b"\n")):
        return 0
    return min(candidates) if candidates else limit


def parse_headers_only(raw: bytes) -> StdMessage:
    end = header_end(raw)
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:end] + b"\n\n")


def _raw_header(part: StdMessage, name: str) -> str | None:
    lname = name.lower()
    try:
        for key, value in part.raw_items():
            if key.lower() == lname:
                return str(value)
    except Exception:
        return None
    return None


def _raw_headers(part: StdMessage, name: str) -> list[str]:
    lname = name.lower()
    try:
        return [str(v) for k, v in part.raw_items() if k.lower() == lname]
    except Exception:
        return []


def message_ids(value: str | None) -> list[str]:
    """Message-IDs in a Message-ID / In-Reply-To / References value, without angle brackets."""
    if not value:
        return []
    value = raw_to_text(value)
    found = _MSGID.findall(value)
    if not found:
        token = value.strip().split()[0] if value.strip() else ""
        if "@" in token and len(token) <= 250:
            found = [token.strip("<>")]
    out: list[str] = []
    for mid in found:
        if mid not in out:
            out.append(mid)
    return out


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID of a raw message, reading only its header block."""
    ids = message_ids(_raw_header(parse_headers_only(raw), "Message-ID"))
    return ids[0] if ids else None


def source_id_for(raw: bytes) -> str:
    """The inbox dedupe key: the Message-ID, or a hash of the bytes when there is none (or it is huge)."""
    mid = message_id_of(raw)
    if mid and len(mid) <= 240:
        return f"mid:{mid}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _split_params(value: str) -> tuple[str, list[tuple[str, str]]]:
    """'text/plain; charset="x"; name*0*=...' -> ('text/plain', [('charset', 'x'), ...]); tolerant of junk."""
    items: list[str] = []
    buf: list[str] = []
    quoted = False
    escaped = False
    for ch in value[:16_384]:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
            buf.append(ch)
        elif ch == ";" and not quoted:
            items.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    items.append("".join(buf))
    main = items[0].strip().lower()
    pairs: list[tuple[str, str]] = []
    for item in items[1:]:
        if "=" not in item:
            continue
        name, _, val = item.partition("=")
        name = name.strip().lower()
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1]
        elif val.startswith('"'):
            val = val[1:]
        if name:
            pairs.append((name, val))
    return main, pairs


def _to_bytes(value: str) -> bytes:
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def _params(value: str | None) -> tuple[str, dict[str, str]]:
    """Main value and parameters, with RFC 2231 (charset'lang'%XX, continuations) and RFC 2047 decoded."""
    if not value:
        return "", {}
    value = re.sub(r"\r?\n[ \t]", " ", value)
    main, pairs = _split_params(value)
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str]]] = {}
    for name, val in pairs:
        m = _PARAM_NAME.match(name)
        if not m:
            continue
        base, index, star = m.group(1), m.group(2), m.group(3)
        if index is None and not star:
            plain.setdefault(base, val)
        else:
            extended.setdefault(base, []).append((int(index or 0), bool(star), val))
    out = {k: decode_header_value(v, limit=1000) for k, v in plain.items()}
    for base, segments in extended.items():
        segments.sort(key=lambda s: s[0])
        charset: str | None = None
        chunks: list[bytes] = []
        for i, (_index, star, val) in enumerate(segments):
            if star:
                if i == 0 and val.count("'") >= 2:
                    charset, _lang, val = val.split("'", 2)
                chunks.append(_PERCENT_B.sub(lambda m: bytes([int(m.group(1), 16)]), _to_bytes(val)))
            else:
                chunks.append(_to_bytes(val))
        decoded = decode_text(b"".join(chunks), charset or None)[0]
        if decoded:
            out[base] = _CONTROL.sub("", decoded)[:1000]
    return main, out


def _content_type(part: StdMessage, default: str = "text/plain") -> tuple[str, dict[str, str]]:
    main, params = _params(_raw_header(part, "Content-Type"))
    if "/" not in main or " " in main:
        main = default
    return main, params


def _cte(part: StdMessage) -> str:
    return (raw_to_text(_raw_header(part, "Content-Transfer-Encoding") or "")).strip().lower()


def _b64_lenient(data: bytes) -> bytes:
    """Base64 as mailers really send it: stray characters, missing or extra padding, a cut-off tail."""
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        pass
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    if len(clean) % 4 == 1:
        clean = clean[:-1]
    clean += b"=" * (-len(clean) % 4)
    try:
        return binascii.a2b_base64(clean)
    except (binascii.Error, ValueError):
        return b""


def _payload_bytes(part: StdMessage) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, str) and _cte(part) == "base64":
        return _b64_lenient(payload.encode("ascii", "surrogateescape"))
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    if isinstance(payload, str):
        return payload.encode("ascii", "surrogateescape")
    return b""


def _addresses(values: list[str]) -> list[Address]:
    out: list[Address] = []
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for value in values:
        if not value:
            continue
        try:
            pairs.extend(getaddresses([raw_to_text(value)]))
        except Exception:
            continue
    for name, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if "@" not in addr or len(addr) > 320 or any(c.isspace() for c in addr) or addr in seen:
            continue
        seen.add(addr)
        out.append(Address(decode_header_value(name, limit=200).strip('"\' '), addr))
    return out


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(raw_to_text(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not 2000 <= when.year <= 2200:
        return None
    return when.astimezone(UTC)


def _safe_filename(name: str, content_type: str, index: int) -> str:
    name = _FILENAME_BAD.sub("_", name).strip(" ._")
    name = name.rsplit("/", 1)[-1]
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{ext}"
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 190 - len(ext)] + dot + ext) if dot and len(ext) < 10 else name[:200]
    return name


def danger_of(filename: str, content_type: str, head: bytes = b"", original_name: str = "") -> str | None:
    """Why an attachment is dangerous to open, or None. Checks the name, the declared type and the bytes."""
    lower = filename.lower()
    if any(ch in original_name for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"):
        return "hidden_extension"
    parts = lower.rsplit(".", 2)
    ext = parts[-1] if len(parts) > 1 else ""
    if ext in DANGEROUS_EXTENSIONS:
        return f"extension:{ext}"
    if len(parts) == 3 and parts[1] in ("pdf", "doc", "docx", "xls", "xlsx", "jpg", "png", "txt") and ext in (
            ARCHIVE_EXTENSIONS | {"exe", "scr"}):
        return "double_extension"
    if content_type in DANGEROUS_TYPES:
        return f"type:{content_type}"
    if head.startswith(b"MZ"):
        return "executable"
    if head.startswith(b"\x7fELF"):
        return "executable"
    if head.startswith(b"#!"):
        return "script"
    return None


def _zip_danger(data: bytes) -> str | None:
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for i, info in enumerate(zf.infolist()):
                if i > 2000:
                    break
                if info.flag_bits & 0x1:
                    return "encrypted_archive"
                reason = danger_of(info.filename.rsplit("/", 1)[-1], "", b"", info.filename)
                if reason and not reason.startswith("type:"):
                    return f"archive_contains:{reason}"
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return None
    return None


@dataclass
class _Collector:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


class _Walker:
    def __init__(self, limits: Limits, notes: list[str], raw: bytes = b"",
                 elided: dict[str, tuple[int, int]] | None = None) -> None:
        self.raw = raw
        self.elided = elided or {}
        self.limits = limits
        self.notes = notes
        self.attachments: list[ParsedAttachment] = []
        self.forwarded: list[Forwarded] = []
        self.report: DeliveryReport | None = None
        self.budget = limits.max_attachment_bytes
        self.parts = 0

    def _elided_span(self, part: StdMessage) -> tuple[int, int, str] | None:
        if not self.elided:
            return None
        payload = part.get_payload()
        if not isinstance(payload, str):
            return None
        m = _ELIDED.search(payload[:200])
        if m is None or m.group(0) not in self.elided:
            return None
        start, end = self.elided[m.group(0)]
        return start, end, payload[m.end():]

    def payload_bytes(self, part: StdMessage, limit: int | None = None) -> bytes:
        """The decoded body of a leaf part (at most about `limit` bytes when given)."""
        span = self._elided_span(part)
        if span is None:
            return _payload_bytes(part)
        start, end, tail = span
        if limit is not None and (end - start) * 3 // 4 > limit:
            end = start + limit * 4 // 3 + 4
            end -= (end - start) % 4
            tail = ""
        return _b64_lenient(self.raw[start:end] + tail.encode("ascii", "surrogateescape"))

    def encoded_size(self, part: StdMessage) -> tuple[int, str]:
        """(estimated decoded size, transfer encoding) without decoding anything."""
        cte = _cte(part)
        span = self._elided_span(part)
        if span is not None:
            start, end, tail = span
            chars = (end - start) - self.raw.count(b"\n", start, end) * 2 + len(tail)
            return chars * 3 // 4, "base64"
        payload = part.get_payload()
        encoded_len = len(payload) if isinstance(payload, str) else 0
        return (encoded_len * 3 // 4 if cte == "base64" else encoded_len), cte

    def note(self, code: str) -> None:
        if code not in self.notes and len(self.notes) < 50:
            self.notes.append(code)

    # -- text
    def _text_of(self, part: StdMessage, ctype: str, params: dict[str, str]) -> str:
        limit = self.limits.max_text_chars * 4
        data = self.payload_bytes(part, limit + 16)
        if len(data) > limit:
            data = truncate_bytes(data, limit)
            self.note("text_truncated")
        declared = params.get("charset")
        if ctype == "text/html" and not declared:
            m = _META_CHARSET.search(data[:4096])
            declared = m.group(1).decode("ascii") if m else None
        text, used = decode_text(data, declared)
        expected = normalise_charset(declared)
        if used != "ascii" and used != expected:
            self.note(f"charset:{(declared or 'none').lower()[:30]}->{used}")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROL.sub("", text)
        if len(text) > self.limits.max_text_chars:
            text = text[: self.limits.max_text_chars]
            self.note("text_truncated")
        return text

    # -- the tree
    def walk(self, part: StdMessage, depth: int, out: _Collector, in_report: bool = False) -> None:
        if depth > self.limits.max_depth:
            self.note("nesting_limit")
            return
        self.parts += 1
        if self.parts > self.limits.max_parts:
            self.note("parts_limit")
            return
        try:
            self._walk(part, depth, out, in_report)
        except RecursionError:
            self.note("nesting_limit")
        except Exception as exc:  # one broken part must not lose the rest of the message
            self.note(f"part_error:{type(exc).__name__}")

    def _walk(self, part: StdMessage, depth: int, out: _Collector, in_report: bool) -> None:
        ctype, params = _content_type(part)
        payload = part.get_payload()
        if ctype.startswith("multipart/") and isinstance(payload, list):
            sub = ctype.split("/", 1)[1]
            if sub == "alternative":
                self._alternative(payload, depth, out)
            elif sub == "report":
                for child in payload:
                    self.walk(child, depth + 1, out, in_report=True)
            else:
                for child in payload:
                    self.walk(child, depth + 1, out, in_report)
            return
        if ctype in ("message/rfc822", "message/global") and isinstance(payload, list) and payload:
            inner = payload[0]
            if in_report:
                self._report_original(inner)
            else:
                self._forwarded(inner, depth)
            return
        if ctype == "message/delivery-status":
            self._delivery_status(part, payload)
            return
        if ctype in ("text/rfc822-headers", "message/rfc822-headers") or (
                in_report and ctype == "message/rfc822"):
            headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(
                self.payload_bytes(part, 256 * 1024) + b"\n\n")
            self._report_original(headers)
            return
        self._leaf(part, ctype, params, out)

    def _alternative(self, children: list[StdMessage], depth: int, out: _Collector) -> None:
        options: list[_Collector] = []
        for child in children:
            c = _Collector()
            self.walk(child, depth + 1, c)
            options.append(c)
        plain = next((c for c in options if any(t.strip() for t in c.plain)), None)
        html = next((c for c in reversed(options) if any(t.strip() for t in c.html)), None)
        if plain is not None and html is not None:
            plain_len = sum(len(t.strip()) for t in plain.plain)
            html_len = sum(len(html_to_text(t)) for t in html.html[:3]) if plain_len < 200 else 0
            chosen = plain if plain_len >= 0.3 * html_len else html
        else:
            chosen = plain or html
        if chosen is not None:
            out.plain.extend(chosen.plain)
            out.html.extend(chosen.html)

    def _leaf(self, part: StdMessage, ctype: str, params: dict[str, str], out: _Collector) -> None:
        disposition, dparams = _params(_raw_header(part, "Content-Disposition"))
        filename = dparams.get("filename") or params.get("name") or ""
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = self._text_of(part, ctype, params)
            (out.plain if ctype == "text/plain" else out.html).append(text)
            return
        self._attachment(part, ctype, filename, disposition)

    def _attachment(self, part: StdMessage, ctype: str, filename: str, disposition: str) -> None:
        index = len(self.attachments) + 1
        safe = _safe_filename(filename, ctype, index)
        cid = message_ids(_raw_header(part, "Content-ID"))
        att = ParsedAttachment(filename=safe, content_type=ctype[:120], size=0, data=None,
                               inline=disposition == "inline" or (not disposition and bool(cid)),
                               content_id=cid[0] if cid else None)
        estimate, _cte_name = self.encoded_size(part)
        if estimate > self.budget * 1.1 + 4096:
            att.size = estimate
            att.size_estimated = True
            att.skipped_reason = "too_large" if estimate > self.limits.max_attachment_bytes else "limit"
            att.danger_reason = danger_of(safe, ctype, b"", filename)
            att.dangerous = att.danger_reason is not None
            self.note("attachment_skipped")
            self.attachments.append(att)
            return
        data = self.payload_bytes(part)
        att.size = len(data)
        att.danger_reason = danger_of(safe, ctype, data[:8], filename) or (
            _zip_danger(data) if data[:2] == b"PK" else None)
        att.dangerous = att.danger_reason is not None
        if att.size > self.budget:
            att.skipped_reason = "too_large" if att.size > self.limits.max_attachment_bytes else "limit"
            self.note("attachment_skipped")
        else:
            att.data = data
            att.sha256 = hashlib.sha256(data).hexdigest()
            self.budget -= att.size
        self.attachments.append(att)

    def _forwarded(self, inner: StdMessage, depth: int) -> None:
        c = _Collector()
        self.walk(inner, depth + 1, c)
        text = _body_text(c)[0]
        sender = _addresses(_raw_headers(inner, "From"))
        to = _addresses(_raw_headers(inner, "To"))
        self.forwarded.append(Forwarded(
            sender=str(sender[0]) if sender else None,
            subject=decode_header_value(_raw_header(inner, "Subject")) or None,
            date=decode_header_value(_raw_header(inner, "Date")) or None,
            to=", ".join(str(a) for a in to) or None,
            text=split_reply(text).new or text,
        ))

    def _report_original(self, headers: StdMessage) -> None:
        report = self.report or DeliveryReport()
        ids = message_ids(_raw_header(headers, "Message-ID"))
        if ids and not report.original_message_id:
            report.original_message_id = ids[0]
        report.original_references = message_ids(_raw_header(headers, "References")) + message_ids(
            _raw_header(headers, "In-Reply-To"))
        self.report = report

    def _delivery_status(self, part: StdMessage, payload: object) -> None:
        report = self.report or DeliveryReport()
        blocks: list[list[tuple[str, str]]] = []
        if isinstance(payload, list):
            for block in payload:
                try:
                    blocks.append([(k.lower(), raw_to_text(str(v))) for k, v in block.raw_items()])
                except Exception:
                    continue
        else:
            text = self.payload_bytes(part, 1024 * 1024).decode("utf-8", "replace")
            for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
                fields = re.findall(r"^([A-Za-z-]+)\s*:\s*(.*(?:\n[ \t].*)*)", chunk, re.M)
                blocks.append([(k.lower(), v) for k, v in fields])
        for fields in blocks:
            for key, value in fields:
                value = " ".join(value.split())
                if key in ("final-recipient", "original-recipient"):
                    addr = value.split(";", 1)[-1].strip().strip("<>").lower()
                    if addr and addr not in report.recipients and key == "final-recipient":
                        report.recipients.append(addr[:320])
                elif key == "action" and not report.action:
                    report.action = value.lower()[:20]
                elif key == "status" and not report.status:
                    report.status = value.split()[0][:20] if value else None
                elif key == "diagnostic-code" and not report.diagnostic:
                    report.diagnostic = value[:500]
        self.report = report


def _body_text(c: _Collector) -> tuple[str, bool]:
    """(text, html_only) from what a walk collected."""
    plain = "\n\n".join(t.strip("\n") for t in c.plain if t.strip())
    if plain:
        return plain, False
    if c.html:
        return "\n\n".join(html_to_text(t) for t in c.html if t.strip()), True
    return "", False


_FLAT_TEXT = re.compile(
    rb"content-type:\s*text/plain[^\n]*\n(?:[ \t][^\n]*\n|[a-z-]+:[^\n]*\n)*\r?\n(.*?)(?=\n--|\Z)",
    re.IGNORECASE | re.DOTALL,
)


def _flat_text(raw: bytes, start: int, limit: int) -> str:
    """Text of a message too deeply nested to parse as a tree: its text/plain sections, read as lines."""
    body = raw[start:start + 2 * 1024 * 1024]
    found: list[bytes] = []
    for m in _FLAT_TEXT.finditer(body):
        found.append(m.group(1))
        if len(found) >= 20:  # each match may scan far ahead: bound the work on hostile input
            break
    if not found:
        return ""
    data = truncate_bytes(b"\n".join(found).replace(b"\r\n", b"\n"), limit * 4)
    return decode_text(data)[0][:limit].strip()


SELECTED_HEADERS = (
    "auto-submitted", "precedence", "x-auto-response-suppress", "list-id", "list-unsubscribe", "list-post",
    "x-autoreply", "x-autorespond", "x-autogenerated", "x-auto-generated", "return-path", "x-loop",
    "x-helpdesk-loop", "x-failed-recipients", "x-mailer", "user-agent", "content-type",
    "x-ms-exchange-generated-message-source", "feedback-id", "x-spam-flag", "x-spam-status",
)


# ------------------------------------------------------------------------------------------- the API

def parse_message(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedMessage:
    """Parse raw RFC 5322 bytes. Never raises on malformed mail."""
    notes: list[str] = []
    digest = hashlib.sha256(raw).hexdigest()
    tree: StdMessage | None = None
    elided: dict[str, tuple[int, int]] = {}
    if len(_BOUNDARY.findall(raw, 0, 8 * 1024 * 1024)) > MAX_BOUNDARIES:
        notes.append("nesting_limit")
    else:
        try:
            reduced, elided = _elide(raw)
            tree = _feed_parse(reduced)
            del reduced
        except RecursionError:
            notes.append("nesting_limit")
        except Exception as exc:
            notes.append(f"parse_error:{type(exc).__name__}")
    top = tree if tree is not None else parse_headers_only(raw)

    headers: dict[str, str] = {}
    for name in SELECTED_HEADERS:
        value = _raw_header(top, name)
        if value is not None:
            headers[name] = decode_header_value(value, limit=500)

    walker = _Walker(limits, notes, raw, elided)
    collected = _Collector()
    if tree is not None:
        walker.walk(tree, 0, collected)
        text, html_only = _body_text(collected)
    else:
        text, html_only = _flat_text(raw, header_end(raw), limits.max_text_chars), False

    subject = decode_header_value(_raw_header(top, "Subject"), limit=998)
    split = split_reply(text, subject)
    forwarded = list(split.forwarded) + walker.forwarded
    new_text = split.new
    if not new_text and not forwarded and not split.quoted and split.signature:
        new_text = text.strip()
    sender = _addresses(_raw_headers(top, "From"))
    if not sender:
        sender = _addresses(_raw_headers(top, "Sender"))
    ctype = _content_type(top)[0]
    return ParsedMessage(
        message_id=(message_ids(_raw_header(top, "Message-ID")) or [None])[0],
        in_reply_to=message_ids(_raw_header(top, "In-Reply-To")),
        references=message_ids(" ".join(_raw_headers(top, "References"))),
        subject=subject,
        sender=sender[0] if sender else None,
        reply_to=_addresses(_raw_headers(top, "Reply-To")),
        to=_addresses(_raw_headers(top, "To")),
        cc=_addresses(_raw_headers(top, "Cc")),
        date=_date(_raw_header(top, "Date")),
        headers=headers,
        text=text,
        new_text=new_text,
        quoted=split.quoted,
        signature=split.signature,
        html_only=html_only,
        forwarded=forwarded,
        attachments=walker.attachments,
        report=walker.report if (walker.report is not None and (
            ctype == "multipart/report" or walker.report.action or walker.report.status)) else None,
        notes=notes,
        size=len(raw),
        sha256=digest,
        content_type=ctype,
    )


__all__ = [
    "DEFAULT_LIMITS",
    "Address",
    "DeliveryReport",
    "Forwarded",
    "Limits",
    "ParsedAttachment",
    "ParsedMessage",
    "danger_of",
    "is_forward_subject",
    "message_id_of",
    "message_ids",
    "parse_message",
    "source_id_for",
]

"""HTML mail to clean plain text, in one linear pass (no markup survives, no scripts or styles).

A small tokenizer of our own rather than html.parser: this Python's HTMLParser goes quadratic on
inputs such as thousands of unclosed "<!--" or "<?" (seconds to minutes for 200 KB), and mail is
untrusted input. Every character is looked at a bounded number of times.

Block elements become line breaks, list items bullets, table cells spaces. Quoted history keeps its
shape: <blockquote> content is prefixed with "> " and known reply containers (Gmail, Outlook,
Thunderbird, Yahoo) get a separator line, so the plain-text quote splitter can cut them; signature
containers get a "-- " line.
"""

from __future__ import annotations

import html as htmllib
import re

MAX_HTML_CHARS = 2_000_000

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "math", "object", "iframe",
                   "xml"})
_PARAGRAPH = frozenset({"p", "table", "ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"})
_BLOCK = frozenset({
    "div", "section", "article", "header", "footer", "address", "thead", "tbody", "tfoot", "tr", "dd", "dt",
    "center", "form", "fieldset", "figure", "figcaption", "main", "nav", "aside", "caption", "li",
}) | _PARAGRAPH
_SIGNATURE_MARKERS = ("gmail_signature", "moz-signature", "applesignature", "signature")
_REPLY_MARKERS = ("divrplyfwdmsg", "appendonsend", "moz-cite-prefix", "gmail_attr", "yahoo_quoted",
                  "outlookmessageheader", "mail-editor-reference-message-container")
_TAG = re.compile(r"(/?)([a-zA-Z][a-zA-Z0-9:_-]{0,40})(.*)", re.S)
_ATTR = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]{0,60})\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+)""")
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u200b\u3000]+")
REPLY_SEPARATOR = "________________________________"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote = 0
        self.pre = 0

    def _prefix(self) -> str:
        return "> " * min(self.quote, 8)

    def flush(self) -> None:
        text = "".join(self.current)
        self.current = []
        if not self.pre:
            text = _WS.sub(" ", text).strip()
        if text.strip():
            self.lines.append(self._prefix() + text)

    def blank(self) -> None:
        self.flush()
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(self._prefix().rstrip())

    def br(self) -> None:
        if "".join(self.current).strip():
            self.flush()
        else:
            self.current = []
            self.lines.append(self._prefix().rstrip())

    def line(self, text: str) -> None:
        self.flush()
        self.lines.append(self._prefix() + text)

    def text(self, data: str) -> None:
        if not data:
            return
        data = htmllib.unescape(data) if "&" in data else data
        if self.pre:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self.flush()
                self.current.append(part)
        else:
            self.current.append(data)

    def result(self) -> str:
        self.flush()
        out: list[str] = []
        for line in self.lines:
            line = line if line == "-- " else line.rstrip()
            if not line.strip("> ") and (not out or not out[-1].strip("> ")):
                continue
            out.append(line)
        while out and not out[-1].strip("> "):
            out.pop()
        return "\n".join(out)


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail body. Oversized input is cut; malformed markup never raises."""
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
    w = _Writer()
    stack: list[tuple[str, str]] = []  # (tag, role)
    skip: str | None = None
    n = len(html)
    pos = 0
    while pos < n:
        lt = html.find("<", pos)
        if lt == -1:
            if skip is None:
                w.text(html[pos:])
            break
        if lt > pos and skip is None:
            w.text(html[pos:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            if end == -1:
                break  # an unclosed comment hides the rest, as in browsers
            pos = end + 3
            continue
        gt = html.find(">", lt + 1)
        if gt == -1:
            if skip is None:
                w.text(html[lt:])
            break
        nxt = html.find("<", lt + 1, gt)
        if nxt != -1:  # "<" that does not start a tag: keep as text, continue at the next "<"
            if skip is None:
                w.text(html[lt:nxt])
            pos = nxt
            continue
        inner = html[lt + 1:gt]
        pos = gt + 1
        if not inner or inner[0] in "!?":  # doctype, CDATA, processing instructions
            continue
        m = _TAG.match(inner)
        if m is None:
            if skip is None:
                w.text(html[lt:gt + 1])
            continue
        closing, tag, rest = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if skip is not None:
            if closing and tag == skip:
                skip = None
            continue
        if closing:
            _end(w, stack, tag)
        else:
            skip = _start(w, stack, tag, rest)
    while stack:
        _close(w, stack.pop()[1])
    return w.result()


def _start(w: _Writer, stack: list[tuple[str, str]], tag: str, rest: str) -> str | None:
    """Handle a start tag; returns the tag name when its content must be skipped."""
    self_closing = rest.rstrip().endswith("/")
    if tag in _SKIP:
        return None if self_closing else tag
    if tag == "br":
        w.br()
        return None
    if tag == "hr":
        w.flush()
        return None
    if tag == "img":
        alt = _attrs(rest).get("alt", "").strip()
        if alt and len(alt) < 80:
            w.text(f" [{alt}] ")
        return None
    if self_closing or tag in ("meta", "link", "input", "col", "area", "base", "wbr", "source", "track", "embed",
                               "param"):
        return None
    role = ""
    attrs = _attrs(rest) if ("class" in rest or "id" in rest or "data-" in rest) else {}
    marker = f"{attrs.get('class', '')} {attrs.get('id', '')} {attrs.get('data-smartmail', '')}".lower()
    if tag == "blockquote":
        w.blank()
        w.quote += 1
        role = "quote"
    elif marker.strip() and any(s in marker for s in _SIGNATURE_MARKERS):
        w.blank()
        w.line("-- ")
        role = "block"
    elif marker.strip() and any(s in marker for s in _REPLY_MARKERS):
        w.blank()
        w.line(REPLY_SEPARATOR)
        role = "block"
    elif tag == "li":
        w.flush()
        w.text("• ")
        role = "block"
    elif tag in ("td", "th"):
        w.text(" ")
    elif tag == "pre":
        w.blank()
        w.pre += 1
        role = "pre"
    elif tag in _PARAGRAPH:
        w.blank()
        role = "para"
    elif tag in _BLOCK:
        w.flush()
        role = "block"
    stack.append((tag, role))
    if len(stack) > 4096:  # pathological nesting: keep the text, forget the structure
        del stack[:2048]
    return None


def _end(w: _Writer, stack: list[tuple[str, str]], tag: str) -> None:
    for i in range(len(stack) - 1, max(-1, len(stack) - 64), -1):
        if stack[i][0] == tag:
            for _t, role in reversed(stack[i:]):
                _close(w, role)
            del stack[i:]
            return


def _close(w: _Writer, role: str) -> None:
    if role == "quote":
        w.flush()
        w.quote = max(0, w.quote - 1)
        w.blank()
    elif role == "pre":
        w.flush()
        w.pre = max(0, w.pre - 1)
        w.blank()
    elif role == "para":
        w.blank()
    elif role == "block":
        w.flush()


def _attrs(rest: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(rest[:4000]):
        value = m.group(2)
        if value[:1] in "\"'":
            value = value[1:-1]
        out.setdefault(m.group(1).lower(), htmllib.unescape(value))
    return out

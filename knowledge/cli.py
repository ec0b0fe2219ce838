"""`ask`: put a question to the knowledge engine from the command line.

    python -m knowledge.cli ask "ลืมรหัสผ่าน DMC ทำอย่างไร"
    printf '%s\\n' '{"id": 1, "text": "เน็ตหลุด"}' | python -m knowledge.cli ask --jsonl
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any, TextIO

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

import click

from knowledge import messages_th as M


def _engine() -> Any:
    from knowledge.engine import get_engine

    return get_engine()


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def render(answer: Any) -> str:
    """A readable Thai report of one answer."""
    u = answer.understanding
    lines = [
        f"{M.CLI_CATEGORY}: {M.CATEGORY_LABELS_TH.get(u.category, u.category)} ({u.category}, "
        f"{_pct(u.category_confidence)})",
        f"{M.CLI_INTENT}: {M.INTENT_LABELS_TH.get(u.intent, u.intent)} ({u.intent}, {_pct(u.intent_confidence)})",
        f"{M.CLI_URGENCY}: {M.URGENCY_LABELS_TH.get(u.urgency, u.urgency)} ({u.urgency}, "
        f"{_pct(u.urgency_confidence)})",
        f"{M.CLI_KIND}: {M.KIND_LABELS_TH.get(answer.kind, answer.kind)} ({answer.kind}), "
        f"{M.CLI_CONFIDENCE} {_pct(answer.confidence)}, {M.CLI_HANDOFF}: {M.CLI_YES if answer.handoff else M.CLI_NO}",
    ]
    if u.ticket_numbers:
        lines.append(f"{M.CLI_TICKETS}: {', '.join(u.ticket_numbers)}")
    if answer.article is not None:
        lines.append(f"{M.CLI_ARTICLE}: {answer.article.id} — {answer.article.title}")
    lines += ["", answer.text]
    if answer.alternatives:
        lines += ["", f"{M.CLI_ALTERNATIVES}:"]
        lines += [f"  - {a.id} — {a.title}" for a in answer.alternatives]
    return "\n".join(lines)


def _utf8(stream: TextIO) -> TextIO:
    """The stream, switched to UTF-8 when it can be (a C locale would otherwise reject Thai)."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        stream.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]
    return stream


def _json_line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def stream_jsonl(engine: Any, inp: TextIO, out: TextIO) -> int:
    """Answer each JSON line of `inp` on `out`, one line each, flushed; bad lines get an error object.
    Returns the number of lines answered."""
    count = 0
    for line in inp:
        if not line.strip():
            continue
        rec_id: Any = None
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, ValueError):
            out.write(_json_line({"id": None, "error": M.CLI_ERROR_JSON}) + "\n")
            out.flush()
            continue
        if isinstance(rec, dict):
            rec_id = rec.get("id")
        text = rec.get("text") if isinstance(rec, dict) else None
        subject = rec.get("subject") if isinstance(rec, dict) else None
        if not isinstance(text, str):
            out.write(_json_line({"id": rec_id, "error": M.CLI_ERROR_TEXT}) + "\n")
            out.flush()
            continue
        try:
            answer = engine.answer(text, subject=subject if isinstance(subject, str) else None)
            result = {"id": rec_id, **answer.to_json()}
        except Exception as exc:  # one bad message never stops the stream
            result = {"id": rec_id, "error": f"{type(exc).__name__}: {exc}"}
        out.write(_json_line(result) + "\n")
        out.flush()
        count += 1
    return count


@click.command("ask")
@click.argument("text", required=False)
@click.option("--subject", default=None, help="หัวเรื่องอีเมล (ถ้ามี)")
@click.option("--jsonl", "jsonl", is_flag=True, help='อ่าน JSON ทีละบรรทัดจาก stdin: {"id", "text", "subject"}')
@click.option("--json", "as_json", is_flag=True, help="แสดงผลเป็น JSON")
def ask_command(text: str | None, subject: str | None, jsonl: bool, as_json: bool) -> None:
    """ถามระบบตอบคำถาม: ask "ข้อความ" หรือ ask --jsonl < messages.jsonl"""
    engine = _engine()
    if jsonl:
        stream_jsonl(engine, _utf8(sys.stdin), _utf8(sys.stdout))
        return
    if text is None:
        text = _utf8(sys.stdin).read()
    answer = engine.answer(text, subject=subject)
    if as_json:
        click.echo(_json_line(answer.to_json()))
    else:
        click.echo(render(answer))


@click.group()
def cli() -> None:
    """Knowledge engine commands."""


cli.add_command(ask_command)


if __name__ == "__main__":
    sys.exit(cli())

"""`ask` command: readable Thai output and the JSON-lines stream."""

from __future__ import annotations

import io
import json
import os

import pytest
from click.testing import CliRunner

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from knowledge import cli as kcli
from knowledge.engine import CATEGORIES, KnowledgeEngine

FIELDS = {"id", "category", "intent", "urgency", "confidence", "article_id", "answer", "alternatives", "handoff"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    os.environ["HELPDESK_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    return KnowledgeEngine.load()


@pytest.fixture()
def runner(engine: KnowledgeEngine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(kcli, "_engine", lambda: engine)
    return CliRunner()


def test_ask_text(runner: CliRunner) -> None:
    result = runner.invoke(kcli.ask_command, ["ลืมรหัสผ่านเข้าระบบ DMC ค่ะ"])
    assert result.exit_code == 0, result.output
    assert "หมวด:" in result.output and "เจตนา:" in result.output and "ความเร่งด่วน:" in result.output


def test_ask_json(runner: CliRunner) -> None:
    result = runner.invoke(kcli.ask_command, ["--json", "เน็ตหลุดค่ะ"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == FIELDS - {"id"}
    assert data["category"] in CATEGORIES


def test_ask_jsonl_stream(runner: CliRunner) -> None:
    lines = [
        json.dumps({"id": 1, "text": "คอมเปิดไม่ติดค่ะ"}, ensure_ascii=False),
        "this is not json",
        json.dumps({"id": "b", "text": "ขอบคุณค่ะ", "subject": "ขอบคุณ"}, ensure_ascii=False),
        json.dumps({"id": 3}),
        "",
        json.dumps([1, 2, 3]),
        json.dumps({"id": 4, "text": "", "subject": None}),
        json.dumps({"id": 5, "text": "ขอลิงก์ Zoom ประชุมค่ะ"}, ensure_ascii=False),
    ]
    result = runner.invoke(kcli.ask_command, ["--jsonl"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.output.splitlines()]
    assert len(out) == 7  # the blank line is skipped, every other line answered
    assert [o.get("id") for o in out] == [1, None, "b", 3, None, 4, 5]
    assert "error" in out[1] and "error" in out[3] and "error" in out[4]
    for o in (out[0], out[2], out[5], out[6]):
        assert set(o) == FIELDS
        assert isinstance(o["alternatives"], list)
        assert isinstance(o["handoff"], bool)


def test_stream_survives_engine_errors() -> None:
    class Broken:
        def answer(self, text: str, subject: str | None = None) -> None:
            raise RuntimeError("boom")

    out = io.StringIO()
    kcli.stream_jsonl(Broken(), io.StringIO('{"id": 7, "text": "x"}\n{"id": 8, "text": "y"}\n'), out)
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == [7, 8]
    assert all("error" in r for r in rows)

"""Property tests: whatever arrives, the engine returns a valid Answer and never raises."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from knowledge.engine import CATEGORIES, INTENTS, URGENCIES, Answer, KnowledgeEngine
from knowledge.normalize import normalize
from knowledge.tokenize import tokens

KINDS = {"answer", "choices", "handoff", "out_of_scope", "greeting", "feedback"}

THAI = st.characters(min_codepoint=0x0E01, max_codepoint=0x0E5B)
MIXED = st.one_of(
    THAI,
    st.characters(codec="utf-8"),
    st.sampled_from(list("ວບປນມ\u17b7\u17b8\u200b\u200d\ufeff\x00\x07\x1b\u0e4d\u0e32 \n\t😀🙏👍🏽(sticker)")),
)
WORDS = st.sampled_from([
    "คอม", "เสีย", "ด่วน", "ไม่ด่วน", "dmc", "ดีเอ็มซี", "ICT-2569-000123", "เน็ต", "หลุด", "ขอบคุณ", "สวัสดี",
    "ลืมรหัส", "AMSS++", "ปริ้นเตอร์", "🙏", "555", "(sticker)", "ค่ะ", "ครับ", "?", "!!!", "๑๒๓", "zoom",
])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    os.environ["HELPDESK_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    return KnowledgeEngine.load()


def _valid(ans: Answer) -> None:
    assert isinstance(ans, Answer)
    u = ans.understanding
    assert u.category in CATEGORIES and u.intent in INTENTS and u.urgency in URGENCIES
    assert ans.kind in KINDS
    assert isinstance(ans.text, str) and ans.text.strip()
    assert 0.0 <= ans.confidence <= 1.0
    for c in (u.category_confidence, u.intent_confidence, u.urgency_confidence):
        assert 0.0 <= c <= 1.0
    assert isinstance(ans.handoff, bool)
    assert all(t.strip() for t in u.tokens)
    ans.to_json()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=MIXED, max_size=300))
def test_any_text(engine: KnowledgeEngine, text: str) -> None:
    _valid(engine.answer(text))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(WORDS, max_size=25).map(" ".join), st.one_of(st.none(), st.text(max_size=40)))
def test_word_soup_with_subject(engine: KnowledgeEngine, text: str, subject: str | None) -> None:
    _valid(engine.answer(text, subject=subject))


@pytest.mark.parametrize("text", ["\u0b5c", "\u0958 text", "\u0130stanbul", "\u210cello", "ปริ้นเตอร์ ABC"])
def test_normalize_is_idempotent_where_a_folded_character_folds_again(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=MIXED, max_size=200))
def test_normalize_is_idempotent_and_clean(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert not any(ord(c) < 32 for c in once)
    assert all(t.strip() for t in tokens(once))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "(sticker)",
        "[sticker]",
        "only English here, my computer is broken please help",
        "\x00\x01\x02\x7f",
        "ก" * 100_000,
        ("คอมเสีย ด่วน " * 10_000),
        "ເນັດ ບໍ່ ໄດ້ ค่ะ",
        "DMC" + "\u0e48" * 500,
        "ICT-2569-" + "9" * 50,
    ],
)
def test_edge_cases(engine: KnowledgeEngine, text: str) -> None:
    _valid(engine.answer(text))
    _valid(engine.answer(text, subject=text[:200]))

"""Normalisation, ticket numbers and tokenisation with the domain dictionary."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from knowledge.normalize import normalize, ticket_numbers
from knowledge.tokenize import canonical, segment, tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ด่วนนนนน", "ด่วน"),
        ("มากกกกก", "มาก"),
        ("เลข ๑๒๓", "เลข 123"),
        ("น\u0e49\u0e4d\u0e32", "น\u0e49\u0e33"),  # nikhahit + sara aa composed to sara am
        ("เเก้ไข", "แก้ไข"),  # two sara e typed for sara ae
        ("DMC", "dmc"),
        ("คอม\u200bเสีย", "คอมเสีย"),
        ("a\u00a0\u3000b", "a b"),
        ("ค่ะะะะ", "ค่ะ"),
        ("ວ", "ว"),  # Lao wo
        ("ก\u17b7น", "กิน"),  # Khmer sign i
        ("ＤＭＣ", "dmc"),
        ("!!!???", "!?"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_drops_control_and_emoji() -> None:
    out = normalize("เน็ต\x00\x07หลุด 😭😭 \x1b[31m")
    assert "\x00" not in out and "\x07" not in out and "😭" not in out
    assert out.startswith("เน็ต")


def test_normalize_keeps_laughter_harmless() -> None:
    assert normalize("55555555") == "555"
    assert normalize("ICT-2569-000555") == "ict-2569-000555"


def test_normalize_non_text() -> None:
    assert normalize(None) == ""
    assert normalize(12345) == "12345"  # type: ignore[arg-type]


def test_normalize_truncates() -> None:
    assert len(normalize("ก" * 200_000)) <= 4000


@pytest.mark.parametrize(
    ("raw", "numbers"),
    [
        ("ICT-2569-000123 ถึงไหนแล้ว", ["ICT-2569-000123"]),
        ("เรื่อง ict-2569-123 ค่ะ", ["ICT-2569-000123"]),
        ("ICT - ๒๕๖๙ - ๐๐๐๐๔๕", ["ICT-2569-000045"]),
        ("ICT 2569 000045 และ ICT-2569-000046, ICT-2569-000045", ["ICT-2569-000045", "ICT-2569-000046"]),
        ("ไม่มีเลขที่", []),
    ],
)
def test_ticket_numbers(raw: str, numbers: list[str]) -> None:
    assert ticket_numbers(normalize(raw)) == numbers


def test_custom_dictionary_keeps_domain_terms_whole() -> None:
    assert "m-obec" in segment(normalize("ระบบ M-OBEC เข้าไม่ได้"))
    assert "amss++" in segment(normalize("AMSS++ แนบไฟล์ไม่ได้"))
    assert "google meet" in segment(normalize("ขอลิงก์ Google Meet"))


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("ดีเอ็มซีเข้าไม่ได้ค่ะ", "dmc"),
        ("เอ็มโอเบคใช้ยังไง", "m-obec"),
        ("เอ็มโอเบ็คใช้ยังไง", "m-obec"),
        ("ปริ้นเตอร์เสีย", "printer"),
        ("ปริ๊นเตอร์เสีย", "printer"),
        ("พริ้นเตอร์เสีย", "printer"),
        ("เครื่องปริ้นกระดาษติด", "printer"),
        ("เน็ตหลุดบ่อย", "internet"),
        ("ไวไฟไม่มีสัญญาณ", "wifi"),
        ("wi-fi ใช้ไม่ได้", "wifi"),
        ("คอมเปิดไม่ติด", "computer"),
        ("คอมพ์ช้ามาก", "computer"),
        ("สมาร์ทแอเรียส่งหนังสือไม่ได้", "amss"),
    ],
)
def test_synonyms_map_to_canonical(raw: str, canon: str) -> None:
    assert canon in tokens(normalize(raw))


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("พริ้นเตอ เสีย", "printer"),
        ("โปรเจ็กเตอไม่ติด", "projector"),
        ("อินเตอเน็ตใช้ไม่ได้", "internet"),
        ("สมาทแอเรีย ส่งหนังสือไม่ได้", "amss"),
    ],
)
def test_typos_of_domain_terms_are_corrected(raw: str, canon: str) -> None:
    assert canon in tokens(normalize(raw))


def test_tokens_keep_ordinary_words_and_drop_punctuation() -> None:
    toks = tokens(normalize("คนในโรงเรียนใช้เน็ตไม่ได้เลย!!"))
    assert "internet" in toks
    assert "!" not in toks
    assert all(t.strip() for t in toks)


def test_ticket_number_becomes_one_token() -> None:
    assert tokens(normalize("ICT-2569-000123 ถึงไหนแล้ว"))[0] == "ticketref"


def test_canonical_helpers() -> None:
    assert canonical("ค่ะ") == "ครับ"
    assert canonical("...") is None
    assert canonical("2569") == "<num>"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("คอมเสีย ด่วนมากกกก", "urgent"),
        ("ทีวีดับทั้งโรงเรียน ดูไม่ได้ ด่วนนนน", "urgent"),
        ("ไม่ด่วนค่ะ ว่างเมื่อไหร่ค่อยมา", "normal"),
        ("ไม่ได้มีปัญหาเร่งด่วนอะไร แค่สอบถาม", "normal"),
        ("หนังสือด่วนที่สุด ต้องเลือกตรงไหนตอนส่ง", None),
        ("ระดับความสำคัญ ด่วน ด่วนมาก ด่วนที่สุด ต่างกันยังไง", None),
        ("สอบถามวิธีใช้งานระบบค่ะ", None),
    ],
)
def test_urgency_rule(raw: str, expected: str | None) -> None:
    from knowledge.classify import urgency_rule

    norm = normalize(raw)
    assert urgency_rule(norm, tokens(norm)) == expected


def test_contrasted_fine_clause_is_marked() -> None:
    toks = tokens(normalize("เน็ตไม่ได้เสียนะคะ แต่ DMC เข้าไม่ได้"))
    assert "dmc" in toks and "internet" not in toks and "ok:internet" in toks

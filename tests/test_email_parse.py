"""bot.email.parse over the corpus of nasty messages (tests/email_corpus, built by tests/make_email_corpus.py)."""

from __future__ import annotations

import base64
import resource
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.email.charsets import decode_header_value, decode_text, normalise_charset
from bot.email.htmltext import html_to_text
from bot.email.parse import Limits, message_id_of, parse_message, source_id_for
from bot.email.quotes import clean_subject, split_reply
from tests.make_email_corpus import CASES, OUR_OUTBOUND_ID, PRINTER

CORPUS = Path(__file__).resolve().parent / "email_corpus"


def load(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def parse(name: str, **limits: int):  # type: ignore[no-untyped-def]
    return parse_message(load(name), Limits(**limits) if limits else Limits())


def test_corpus_files_match_their_generator() -> None:
    on_disk = {p.stem for p in CORPUS.glob("*.eml")}
    assert on_disk == set(CASES)
    for name, fn in CASES.items():
        assert load(name) == fn(), f"{name}.eml is stale: run tests/make_email_corpus.py"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_corpus_message_parses(name: str) -> None:
    msg = parse(name)
    assert msg.size == len(load(name))
    assert "\ufffd" not in msg.subject
    assert not any(0xDC80 <= ord(c) <= 0xDCFF for c in msg.text + msg.subject)


@pytest.mark.parametrize("name", ["tis620", "windows874_qp", "iso885911_base64", "latin1_declared_thai",
                                  "utf8_declared_cp874", "tis620_declared_utf8"])
def test_thai_charsets_and_wrong_declarations(name: str) -> None:
    msg = parse(name)
    assert PRINTER in msg.new_text
    assert "\ufffd" not in msg.new_text


def test_tis620_keeps_windows_punctuation_in_0x80_0x9f() -> None:
    msg = parse("tis620")
    assert msg.subject == "เครื่องพิมพ์เสีย"
    assert msg.new_text.startswith("\u201cด่วน\u201d") and "\u2013" in msg.new_text


def test_missing_and_unknown_charsets() -> None:
    assert parse("missing_charset_8bit").subject == "เน็ตช้ามาก"
    assert parse("missing_charset_8bit").sender.name == "ครู"
    assert parse("missing_charset_cp874").subject == "ไวไฟหลุด"
    assert parse("missing_charset_cp874").new_text == "ไวไฟห้องประชุมหลุดบ่อยครับ"
    unknown = parse("unknown_charset")
    assert unknown.subject == "แจ้งปัญหา" and unknown.new_text == "จอคอมพิวเตอร์ไม่มีภาพ"
    assert parse("bare_lf_utf16").new_text == "ระบบสารบรรณอิเล็กทรอนิกส์เข้าไม่ได้"


def test_rfc2047_subject_split_inside_thai_characters() -> None:
    msg = parse("rfc2047_split")
    assert msg.subject == "Re: ขอรีเซ็ตรหัสผ่าน e-mail ของโรงเรียน [ICT-2569-000042]"
    assert msg.clean_subject == "ขอรีเซ็ตรหัสผ่าน e-mail ของโรงเรียน [ICT-2569-000042]"


def test_rfc2231_and_rfc2047_thai_filenames() -> None:
    names = [a.filename for a in parse("rfc2231_filenames").attachments]
    assert names == ["หนังสือราชการ ที่ ศธ 04001.pdf", "ใบแจ้งซ่อม.docx", "รูปเครื่อง.jpg", "รายชื่อ.xlsx"]


def test_html_only_becomes_clean_text() -> None:
    msg = parse("html_only")
    assert msg.html_only
    assert PRINTER in msg.new_text
    assert "<" not in msg.new_text.replace("<ด่วน>", "")
    assert "alert" not in msg.text and "margin" not in msg.text
    assert "• ลองเปลี่ยนหมึกแล้ว" in msg.new_text
    assert "&nbsp;" not in msg.text and "เรียน เจ้าหน้าที่ ICT" in msg.text


def test_related_html_with_empty_plain_alternative() -> None:
    msg = parse("related_html_with_plain")
    assert msg.html_only and msg.new_text.startswith("กล้องวงจรปิดดับทั้งหมด ด่วน")
    assert [a.inline for a in msg.attachments] == [True]


def test_gmail_reply_splits_quote_and_keeps_original() -> None:
    msg = parse("gmail_reply")
    assert msg.new_text == "ลองตามขั้นตอนแล้วค่ะ ยังเข้าไม่ได้เหมือนเดิม"
    assert "ICT-2569-000001" in msg.quoted
    assert "ICT-2569-000001" in msg.text  # the original is kept whole
    assert msg.in_reply_to == [OUR_OUTBOUND_ID]
    assert msg.references == ["utf8-plain@school.example.ac.th", OUR_OUTBOUND_ID]


def test_outlook_reply_thai_headers_and_formal_closing() -> None:
    msg = parse("outlook_reply")
    assert msg.new_text == "เรียน เจ้าหน้าที่\n\nเครื่องยังเปิดไม่ติดครับ แนบรูปมาให้ดูครับ"
    assert msg.signature.startswith("ขอแสดงความนับถือ")
    assert msg.quoted.startswith("________________________________\nจาก:")


def test_inline_reply_keeps_answers_drops_quotes() -> None:
    msg = parse("inline_reply")
    assert msg.new_text == "Brother รุ่น HL-1110 ค่ะ\n\nห้องธุรการค่ะ"
    assert msg.quoted.count(">") == 2


def test_mobile_signature_and_formal_closing() -> None:
    assert parse("mobile_signature").signature == "ส่งจาก iPhone ของฉัน"
    plain = parse("utf8_plain")
    assert plain.new_text.endswith("จึงเรียนมาเพื่อโปรดพิจารณา")
    assert plain.signature.startswith("ขอแสดงความนับถือ")


def test_forwarded_messages_inline_rfc822_and_outlook() -> None:
    inline = parse("forwarded_inline")
    assert inline.new_text == "ส่งต่อเรื่องจากครูในโรงเรียนครับ"
    (fwd,) = inline.forwarded
    assert fwd.subject == "จานดาวเทียม DLTV ไม่มีสัญญาณ" and "class.teacher@" in (fwd.sender or "")
    assert "ไม่มีสัญญาณ" in inline.understanding_text()

    attached = parse("forwarded_rfc822")
    assert attached.new_text == "FYI"
    assert attached.forwarded[0].subject == "ขอรายงานครุภัณฑ์คอมพิวเตอร์"
    assert "ภายในวันศุกร์" in attached.understanding_text()
    assert [a.filename for a in attached.attachments] == ["report.pdf"]

    outlook = parse("outlook_forward")
    assert outlook.new_text == "รบกวนตรวจสอบครับ"
    assert outlook.forwarded[0].sender == "ระบบแจ้งเตือน <alerts@example.com>"
    assert "ยืนยันตัวตน" in outlook.understanding_text()


def test_dangerous_attachments_are_flagged() -> None:
    flags = {a.filename: a.danger_reason for a in parse("dangerous_attachments").attachments}
    assert flags["setup.exe"] == "extension:exe"
    assert flags["ใบเสร็จ.pdf.exe"] == "extension:exe"
    assert flags["form.docm"] == "extension:docm"
    assert flags["photos.zip"] == "archive_contains:extension:scr"
    assert flags["locked.zip"] == "encrypted_archive"
    assert flags["login.html"] == "extension:html"
    assert flags["invoice_fdp.exe"] == "hidden_extension"  # the RTLO character is gone from the name
    assert flags["report.pdf"] == "executable"
    assert flags["printer.jpg"] is None and flags["memo.pdf"] is None


def test_attachment_budget_per_message() -> None:
    msg = parse("attachments_sizes", max_attachment_bytes=20_000)
    by_name = {a.filename: a for a in msg.attachments}
    assert by_name["small.jpg"].data is not None and by_name["small.jpg"].sha256
    assert by_name["big.mp4"].data is None and by_name["big.mp4"].skipped_reason == "too_large"
    assert by_name["big.mp4"].size >= 60_000
    assert by_name["medium.png"].data is not None  # still fits after the big one was skipped
    assert "attachment_skipped" in msg.notes
    tight = parse("attachments_sizes", max_attachment_bytes=6_000)
    assert [a.skipped_reason for a in tight.attachments] == [None, "too_large", "limit"]


def test_bounce_report_points_at_our_message() -> None:
    report = parse("bounce_dsn").report
    assert report is not None and report.failed
    assert report.original_message_id == OUR_OUTBOUND_ID
    assert report.recipients == ["nobody@school.example.ac.th"]
    assert report.status == "5.1.1" and "User unknown" in (report.diagnostic or "")
    assert parse("bounce_plain").report is None  # not a DSN: the loop rules look at it


def test_malformed_messages_still_give_something() -> None:
    bad = parse("malformed_headers")
    assert bad.sender is not None and bad.sender.addr == "teacher@school.example.ac.th"
    assert bad.date is None
    assert "บอดี้ที่ไม่ได้เข้ารหัส" in bad.text
    assert parse("truncated_multipart").new_text == "ข้อความก่อนไฟล์แนบที่ขาดหาย"
    assert parse("broken_base64").new_text.startswith("สแกนเนอร์ใช้ไม่ได")
    assert parse("empty_body").understanding_text() == "ขอแบบฟอร์มยืมอุปกรณ์"
    assert parse("no_message_id").message_id is None


def test_source_ids() -> None:
    raw = load("utf8_plain")
    assert message_id_of(raw) == "utf8-plain@school.example.ac.th"
    assert source_id_for(raw) == "mid:utf8-plain@school.example.ac.th"
    no_id = load("no_message_id")
    assert source_id_for(no_id).startswith("sha256:") and source_id_for(no_id) == source_id_for(no_id)
    assert source_id_for(no_id + b"x") != source_id_for(no_id)


def _nested(depth: int) -> bytes:
    out = b"From: a@example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    for i in range(depth):
        out += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    out += "Content-Type: text/plain; charset=utf-8\r\n\r\nข้อความลึกสุด\r\n".encode()
    for i in reversed(range(depth)):
        out += b"--b%d--\r\n" % i
    return out


@pytest.mark.parametrize("depth", [25, 300, 5000])
def test_deep_nesting_is_bounded(depth: int) -> None:
    t0 = time.perf_counter()
    msg = parse_message(_nested(depth))
    assert time.perf_counter() - t0 < 3
    assert "nesting_limit" in msg.notes
    if depth > 60:  # read flat: the innermost text is still found
        assert "ข้อความลึกสุด" in msg.text


def test_200kb_single_line_body_and_html() -> None:
    line = ("คอมพิวเตอร์เปิดไม่ติด " * 10_000)[:200_000]
    raw = ("From: a@example.com\r\nSubject: long\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + line).encode()
    t0 = time.perf_counter()
    msg = parse_message(raw)
    assert len(msg.text) == 200_000 and msg.new_text.startswith("คอมพิวเตอร์")
    html = ("From: a@example.com\r\nSubject: long\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>"
            + "<b>ด่วน</b> <!-- x --> &amp; <" * 20_000).encode()
    parse_message(html)
    assert time.perf_counter() - t0 < 3


def test_large_attachment_is_skipped_without_decoding() -> None:
    blob = base64.encodebytes(b"\x00" * (12 * 1024 * 1024)).replace(b"\n", b"\r\n")
    raw = (b"From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
           b"--z\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--z\r\nContent-Type: video/mp4\r\n"
           b"Content-Disposition: attachment; filename=clip.mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + blob + b"--z--\r\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    msg = parse_message(raw)
    (att,) = msg.attachments
    assert att.data is None and att.skipped_reason == "too_large" and att.size_estimated
    assert att.size > 12_000_000
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 120, grown_mb


def test_charset_helpers() -> None:
    assert normalise_charset("windows-874") == "cp874"
    assert normalise_charset("TIS-620") == "cp874"
    assert normalise_charset("iso-8859-11") == "cp874"
    assert normalise_charset("zlib") is None and normalise_charset("rot13") is None
    assert decode_text("café crème".encode("latin-1"), "iso-8859-1")[0] == "café crème"
    assert decode_text("café crème".encode("latin-1"))[0] == "café crème"
    assert decode_header_value("=?utf-8?q?=E0=B8=94=E0=B9=88=E0=B8=A7=E0=B8=99?= now") == "ด่วน now"


def test_quote_helpers() -> None:
    assert clean_subject("RE: Fwd: ตอบกลับ: [External] เรื่องเดิม") == "เรื่องเดิม"
    s = split_reply("ขอบคุณครับ")
    assert s.new == "ขอบคุณครับ"
    s = split_reply("เมื่อวานเครื่องพิมพ์เขียนไม่ได้\nวันนี้ก็ยังเป็น")
    assert s.quoted == "" and "วันนี้" in s.new
    s = split_reply("ok\n\nOn Mon, Nov 23, 2026 at 10:00 AM ICT <\nict@example.go.th> wrote:\n> old")
    assert s.new == "ok" and s.quoted.endswith("> old")
    assert html_to_text("<div>ก</div><div class='gmail_signature'>ลายเซ็น</div>") == "ก\n\n-- \nลายเซ็น"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(data: bytes) -> None:
    parse_message(data)
    parse_message(b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n" + data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CASES)), st.integers(min_value=0, max_value=4000), st.binary(min_size=1, max_size=40))
def test_mutated_corpus_never_raises(name: str, at: int, junk: bytes) -> None:
    raw = load(name)
    at = at % max(1, len(raw))
    parse_message(raw[:at] + junk + raw[at:])
    parse_message(raw[:at])


def test_big_base64_bodies_are_read_from_the_raw_bytes() -> None:
    import hashlib
    import os
    from email.message import EmailMessage

    m = EmailMessage()
    m["From"] = "a@example.com"
    m["Subject"] = "ไฟล์ใหญ่"
    m.set_content("ข้อความ " * 50_000)  # ~1.2 MB of text, base64 encoded by the email package
    a, b = os.urandom(600_000), os.urandom(1_500_000)
    m.add_attachment(a, maintype="application", subtype="pdf", filename="a.pdf")
    m.add_attachment(b, maintype="image", subtype="png", filename="b.png")
    raw = m.as_bytes().replace(b"\n", b"\r\n")
    assert len(raw) > 2 * 1024 * 1024
    msg = parse_message(raw)
    assert [x.sha256 for x in msg.attachments] == [hashlib.sha256(a).hexdigest(), hashlib.sha256(b).hexdigest()]
    assert msg.text.startswith("ข้อความ ข้อความ") and len(msg.text) == 200_000 and "text_truncated" in msg.notes
    small = parse_message(raw, Limits(max_attachment_bytes=1_000_000))
    assert [x.skipped_reason for x in small.attachments] == [None, "too_large"]
    assert small.attachments[1].size_estimated and abs(small.attachments[1].size - 1_500_000) < 2_000


def test_attachments_only_mail_still_has_text() -> None:
    raw = (b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
           b"Content-Type: application/pdf; name=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--x--\r\n")
    assert parse_message(raw).understanding_text() == "(ส่งไฟล์แนบโดยไม่มีข้อความ: scan.pdf)"


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/!-?&#;='\" \nabpqdivbrlockute:กขคไม่ติด>")), max_size=400))
def test_html_and_quote_helpers_never_raise(text: str) -> None:
    out = html_to_text(text)
    split = split_reply(out, "Fwd: " + text[:20])
    assert isinstance(split.new, str)
    decode_header_value(text)

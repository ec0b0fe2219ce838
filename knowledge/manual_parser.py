"""Parse an office's operations manual (Thai plain text, OCR noise) into a structured manual.

Pure functions only: text in, a :class:`Manual` out. Every piece keeps the physical line numbers
(1-based, as ``sed -n 'Np'`` prints them) of the text it came from, so drafts can cite line ranges.

The manuals follow a loose template per work process (กระบวนการ / ชื่องาน / งาน...):
วัตถุประสงค์, ขอบเขตของงาน, คำจำกัดความ, ขั้นตอนการปฏิบัติงาน, Flow Chart การปฏิบัติงาน (often empty),
แบบฟอร์มที่ใช้, เอกสาร/หลักฐานอ้างอิง or กฎหมายที่เกี่ยวข้อง, and sometimes a tab-separated standards table
with time standards and one-line mermaid flowcharts. Headings are recognised by keyword, not by markup,
because markdown levels, bold and numbering are used inconsistently.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Characters, digits and confusable glyphs
# ---------------------------------------------------------------------------------------------

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_DIGIT_TABLE = str.maketrans(THAI_DIGITS, "0123456789")
_DIGIT = "[0-9๐-๙]"

# Khmer vowel signs that look like Thai ones (Lao is mapped by its parallel code-point layout).
_KHMER_CONFUSABLES = {
    "\u17b7": "\u0e34",  # ិ → ิ
    "\u17b8": "\u0e35",  # ី → ี
    "\u17b9": "\u0e36",  # ឹ → ึ
    "\u17ba": "\u0e37",  # ឺ → ื
    "\u17bb": "\u0e38",  # ុ → ุ
    "\u17bc": "\u0e39",  # ូ → ู
}
# Scripts that do not belong in a Thai manual: Indic (Devanagari … Sinhala, incl. Malayalam), Lao and
# Khmer glyphs without a Thai look-alike, Myanmar, Tai Tham, Tai Viet, Khmer symbols.
_FOREIGN_RANGES = (
    (0x0900, 0x0DFF),
    (0x0E80, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x19E0, 0x19FF),
    (0x1A20, 0x1AAF),
    (0xAA80, 0xAADF),
)
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


def _lao_to_thai(char: str) -> str | None:
    """Lao letters sit 0x80 above their Thai look-alikes; return the Thai one when it exists."""
    target = chr(ord(char) - 0x80)
    try:
        unicodedata.name(target)
    except ValueError:
        return None
    return target


def thai_digits_to_arabic(text: str) -> str:
    """Replace Thai digits ๐-๙ with 0-9 (one character for one, so string positions are kept)."""
    return text.translate(_DIGIT_TABLE)


@dataclass(frozen=True)
class GlyphStats:
    mapped: int = 0
    dropped: int = 0


def clean_glyphs(text: str, marker: str = "") -> tuple[str, GlyphStats]:
    """Map Lao/Khmer look-alikes to Thai, drop other stray non-Thai glyphs and invisible characters.

    Also recomposes a decomposed sara am (ํ + า → ำ) and applies NFC. ``marker`` replaces each dropped
    foreign-script glyph (empty: removed without a trace).
    """
    out: list[str] = []
    mapped = dropped = 0
    for char in text:
        code = ord(char)
        if char in _INVISIBLE or (code < 32 and char != "\t") or code == 0x7F:
            dropped += 1
            continue
        if 0x0E80 <= code <= 0x0EFF:
            thai = _lao_to_thai(char)
            if thai is not None:
                out.append(thai)
                mapped += 1
                continue
        if char in _KHMER_CONFUSABLES:
            out.append(_KHMER_CONFUSABLES[char])
            mapped += 1
            continue
        if any(low <= code <= high for low, high in _FOREIGN_RANGES):
            dropped += 1
            out.append(marker)
            continue
        out.append(char)
    cleaned = unicodedata.normalize("NFC", "".join(out))
    cleaned = re.sub("\u0e4d([\u0e48-\u0e4b]?)\u0e32", "\\1\u0e33", cleaned)
    return cleaned, GlyphStats(mapped, dropped)


_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((https?://[^)\s]+)\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")


def _clean_markup(text: str) -> str:
    """Undo markdown escapes and link syntax; keep the text readable."""
    text = text.replace("\\\\", "\\")
    text = re.sub(r"\\([_*#\[\]()<>`-])", r"\1", text)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1).strip(), match.group(2)
        if not label or label.replace("\\", "") == url or label.startswith("http"):
            return url
        return f"{label} ({url})"

    text = _MD_LINK.sub(link, text)
    text = _AUTOLINK.sub(r"\1", text)
    text = re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE)
    return text.rstrip(" \u00a0")  # trailing tabs are empty table cells: keep them


_CATCHWORD = re.compile(r"^\s*/\S.*(?:\.\.\.|…)\s*$")


def is_catchword(line: str) -> bool:
    """A page-break catchword: the next page's first words repeated, e.g. "/๔. รับผิดชอบ..."."""
    return bool(_CATCHWORD.match(line))


# ---------------------------------------------------------------------------------------------
# Personal data
# ---------------------------------------------------------------------------------------------

PLACEHOLDERS = {
    "name": "[ชื่อบุคคล]",
    "phone": "[เบอร์โทรศัพท์ส่วนบุคคล]",
    "birth_date": "[วันเกิด]",
    "address": "[ที่อยู่ส่วนบุคคล]",
    "email": "[อีเมลส่วนบุคคล]",
    "id_number": "[เลขประจำตัวประชาชน]",
}

_THAI_WORD = "[\u0e01-\u0e2e\u0e40-\u0e44][\u0e01-\u0e4e]*"
_TITLE = (
    r"(?<!ทำ)(?<!มิถุ)(?:นางสาว|นาง|นาย|ด\.ช\.|ด\.ญ\.|"
    r"ว่าที่\s*(?:ร\.\s*[ตทอ]\.|ร้อย\s*(?:ตรี|โท|เอก))\s*(?:หญิง)?|ดร\.)"
)
# _DROPPED marks where a stray glyph was removed while parsing ("นาง\x00\x00านา" once held Devanagari).
_DROPPED = "\x00"
_NAME_WORD = f"(?:[\u0e01-\u0e2e\u0e40-\u0e44]|{_DROPPED})[\u0e01-\u0e4e{_DROPPED}]*"
_NAME_RE = re.compile(rf"(?P<title>{_TITLE})\s?(?P<first>{_NAME_WORD})(?:[ \t]+(?P<last>{_NAME_WORD}))?")
# Words that follow นาย/นาง without being a person's name (นายกรัฐมนตรี, นายทะเบียน, นางพยาบาล ...).
_NOT_A_NAME = (
    "กรัฐมนตรี",
    "กเทศมนตรี",
    "กองค์การ",
    "กสภา",
    "กสมาคม",
    "กอบต",
    "กอบจ",
    "กเมือง",
    "ทะเบียน",
    "ช่าง",
    "จ้าง",
    "อำเภอ",
    "ร้อย",
    "สิบ",
    "ทุน",
    "หน้า",
    "ประกัน",
    "งาน",
    "ตรวจ",
    "พราน",
    "ด่าน",
    "เวร",
    "ท้าย",
    "ห้าง",
    "ทหาร",
    "ตำรวจ",
    "ประตู",
    "พยาบาล",
    "ฟ้า",
    "งาม",
    "สนม",
    "เอก",
    "แบบ",
    "ละคร",
    "กำนัล",
    "ข้าหลวง",
)
# A second word that is not a surname: whole words, or the start of a role / a sentence.
_NOT_A_SURNAME_WORDS = frozenset(
    (
        "และ",
        "ที่",
        "ได้",
        "ใน",
        "จาก",
        "ถึง",
        "มี",
        "รับ",
        "ส่ง",
        "ตาม",
        "กับ",
        "ของ",
        "ทำ",
        "หรือ",
        "เป็น",
        "ซึ่ง",
        "เพื่อ",
        "โดย",
        "กรณี",
        "ตำแหน่ง",
    )
)
_NOT_A_SURNAME = (
    "ตำแหน่ง",
    "ผู้อำนวยการ",
    "รองผู้",
    "นักวิชาการ",
    "นักวิเคราะห์",
    "นักจัดการ",
    "ปฏิบัติ",
    "ลูกจ้าง",
    "เจ้าหน้าที่",
    "เจ้าพนักงาน",
    "พนักงาน",
    "หัวหน้า",
    "ข้าราชการ",
    "ครู",
    "ศึกษานิเทศก์",
    "กรณี",
    "มีหน้าที่",
    "รักษาราชการ",
)
_MOBILE_RE = re.compile(
    rf"(?<![0-9๐-๙])(?:\+66[\s\-]*|[0๐][\s\-.]*)[689๖๘๙](?:[\s\-.]*{_DIGIT}){{8}}(?![0-9๐-๙])"
)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ORG_MAILBOX = re.compile(
    r"^(?:saraban|sarabun|admin|info|contact|webmaster|office|ict|it|helpdesk|support|pr|secretary|mail|"
    r"service|noreply|no-reply|center|centre|dlict|obec|esa|school|personnel|plan|finance)(?:[0-9._-]|$)",
    re.IGNORECASE,
)
_MONTHS = (
    r"(?:มกราคม|กุมภาพันธ์|มีนาคม|เมษายน|พฤษภาคม|มิถุนายน|กรกฎาคม|สิงหาคม|กันยายน|ตุลาคม|พฤศจิกายน|ธันวาคม|"
    r"ม\.\s?ค\.|ก\.\s?พ\.|มี\.\s?ค\.|เม\.\s?ย\.|พ\.\s?ค\.|มิ\.\s?ย\.|ก\.\s?ค\.|ส\.\s?ค\.|ก\.\s?ย\.|ต\.\s?ค\.|"
    r"พ\.\s?ย\.|ธ\.\s?ค\.)"
)
_DATE = (
    rf"(?:{_DIGIT}{{1,2}}\s*{_MONTHS}\s*(?:พ\.\s?ศ\.\s*)?{_DIGIT}{{2,4}}|"
    rf"{_DIGIT}{{1,2}}\s*[/\-.]\s*{_DIGIT}{{1,2}}\s*[/\-.]\s*{_DIGIT}{{2,4}})"
)
_BIRTH_RE = re.compile(
    rf"(?P<label>(?:วัน\s*/?\s*เดือน\s*/?\s*ปี\s*เกิด|วันเกิด|เกิดวันที่|เกิดเมื่อ(?:วันที่)?)\s*:?\s*)(?P<date>{_DATE})"
)
_ADDRESS_RE = re.compile(
    rf"(?P<label>(?:ที่อยู่(?:ปัจจุบัน|ตามทะเบียนบ้าน)?|บ้านเลขที่)\s*:?\s*)"
    rf"(?P<addr>{_DIGIT}+(?:/{_DIGIT}+)?\s.*?)(?=\s*(?:เบอร์|โทร|อีเมล|e-?mail|$))",
    re.IGNORECASE,
)
_ADDRESS_WORDS = re.compile(r"หมู่|ม\.|ถนน|ถ\.|ซอย|ซ\.|ตำบล|ต\.|แขวง|อำเภอ|อ\.|จังหวัด|จ\.")
_ID_RE = re.compile(
    rf"(?<![0-9๐-๙]){_DIGIT}-{_DIGIT}{{4}}-{_DIGIT}{{5}}-{_DIGIT}{{2}}-{_DIGIT}(?![0-9๐-๙])|"
    rf"(?<![0-9๐-๙]){_DIGIT}{{13}}(?![0-9๐-๙])"
)


@dataclass(frozen=True)
class Redaction:
    """One removed personal-data item. The removed text itself is deliberately not kept."""

    kind: str  # name | phone | birth_date | address | email | id_number
    line: int


def _redact_line(line: str, lineno: int, found: list[Redaction], name_tokens: set[str]) -> str:
    def name(match: re.Match[str]) -> str:
        first, last = match.group("first"), match.group("last")
        if match.group("title") in ("นาย", "นาง") and (first == "ก" or first.startswith(_NOT_A_NAME)):
            return match.group(0)
        found.append(Redaction("name", lineno))
        if last and (last in _NOT_A_SURNAME_WORDS or last.startswith(_NOT_A_SURNAME)):
            return PLACEHOLDERS["name"] + match.group(0)[match.end("first") - match.start() :]
        if last and len(first) >= 3 and len(last) >= 3:
            name_tokens.add(f"{first} {last}")
        return PLACEHOLDERS["name"]

    def birth(match: re.Match[str]) -> str:
        found.append(Redaction("birth_date", lineno))
        return match.group("label") + PLACEHOLDERS["birth_date"]

    def address(match: re.Match[str]) -> str:
        if not _ADDRESS_WORDS.search(match.group("addr")):
            return match.group(0)
        found.append(Redaction("address", lineno))
        return match.group("label") + PLACEHOLDERS["address"]

    def phone(match: re.Match[str]) -> str:
        found.append(Redaction("phone", lineno))
        return PLACEHOLDERS["phone"]

    def email(match: re.Match[str]) -> str:
        if _ORG_MAILBOX.match(match.group(0).split("@")[0]):
            return match.group(0)
        found.append(Redaction("email", lineno))
        return PLACEHOLDERS["email"]

    def id_number(match: re.Match[str]) -> str:
        found.append(Redaction("id_number", lineno))
        return PLACEHOLDERS["id_number"]

    line = _EMAIL_RE.sub(email, line)
    line = _BIRTH_RE.sub(birth, line)
    if not re.search("สำนักงาน|โรงเรียน|สถานศึกษา", line):
        line = _ADDRESS_RE.sub(address, line)
    line = _MOBILE_RE.sub(phone, line)
    line = _ID_RE.sub(id_number, line)
    return _NAME_RE.sub(name, line)


def redact_personal_data(lines: Sequence[str], first_line: int = 1) -> tuple[list[str], list[Redaction]]:
    """Remove people's names (after titles), mobile numbers, birth dates, home addresses, personal e-mails.

    Organisational mailboxes (saraban…@obec.go.th), websites and office landlines are kept. Full names found
    with a title are also removed where they recur without one (e.g. "[วาสนา มุสิกสาร]" in a screenshot).
    Returns the redacted lines (same count) and one :class:`Redaction` per removed item.
    """
    found: list[Redaction] = []
    tokens: set[str] = set()
    out = [_redact_line(line, first_line + i, found, tokens) for i, line in enumerate(lines)]
    if tokens:
        alternatives = sorted((re.escape(t).replace("\\ ", r"\s+") for t in tokens), key=len, reverse=True)
        pattern = re.compile(r"(?<![\u0e01-\u0e4e])(?:" + "|".join(alternatives) + r")(?![\u0e01-\u0e4e])")
        for i, line in enumerate(out):
            hits = len(pattern.findall(line))
            if hits:
                out[i] = pattern.sub(PLACEHOLDERS["name"], line)
                found.extend(Redaction("name", first_line + i) for _ in range(hits))
    return out, found


# ---------------------------------------------------------------------------------------------
# Office detection
# ---------------------------------------------------------------------------------------------

PROVINCES: dict[str, str] = {
    "กรุงเทพมหานคร": "bangkok",
    "กระบี่": "krabi",
    "กาญจนบุรี": "kanchanaburi",
    "กาฬสินธุ์": "kalasin",
    "กำแพงเพชร": "kamphaeng-phet",
    "ขอนแก่น": "khon-kaen",
    "จันทบุรี": "chanthaburi",
    "ฉะเชิงเทรา": "chachoengsao",
    "ชลบุรี": "chonburi",
    "ชัยนาท": "chai-nat",
    "ชัยภูมิ": "chaiyaphum",
    "ชุมพร": "chumphon",
    "เชียงราย": "chiang-rai",
    "เชียงใหม่": "chiang-mai",
    "ตรัง": "trang",
    "ตราด": "trat",
    "ตาก": "tak",
    "นครนายก": "nakhon-nayok",
    "นครปฐม": "nakhon-pathom",
    "นครพนม": "nakhon-phanom",
    "นครราชสีมา": "nakhon-ratchasima",
    "นครศรีธรรมราช": "nakhon-si-thammarat",
    "นครสวรรค์": "nakhon-sawan",
    "นนทบุรี": "nonthaburi",
    "นราธิวาส": "narathiwat",
    "น่าน": "nan",
    "บึงกาฬ": "bueng-kan",
    "บุรีรัมย์": "buriram",
    "ปทุมธานี": "pathum-thani",
    "ประจวบคีรีขันธ์": "prachuap-khiri-khan",
    "ปราจีนบุรี": "prachinburi",
    "ปัตตานี": "pattani",
    "พระนครศรีอยุธยา": "phra-nakhon-si-ayutthaya",
    "พะเยา": "phayao",
    "พังงา": "phang-nga",
    "พัทลุง": "phatthalung",
    "พิจิตร": "phichit",
    "พิษณุโลก": "phitsanulok",
    "เพชรบุรี": "phetchaburi",
    "เพชรบูรณ์": "phetchabun",
    "แพร่": "phrae",
    "ภูเก็ต": "phuket",
    "มหาสารคาม": "maha-sarakham",
    "มุกดาหาร": "mukdahan",
    "แม่ฮ่องสอน": "mae-hong-son",
    "ยโสธร": "yasothon",
    "ยะลา": "yala",
    "ร้อยเอ็ด": "roi-et",
    "ระนอง": "ranong",
    "ระยอง": "rayong",
    "ราชบุรี": "ratchaburi",
    "ลพบุรี": "lopburi",
    "ลำปาง": "lampang",
    "ลำพูน": "lamphun",
    "เลย": "loei",
    "ศรีสะเกษ": "sisaket",
    "สกลนคร": "sakon-nakhon",
    "สงขลา": "songkhla",
    "สตูล": "satun",
    "สมุทรปราการ": "samut-prakan",
    "สมุทรสงคราม": "samut-songkhram",
    "สมุทรสาคร": "samut-sakhon",
    "สระแก้ว": "sa-kaeo",
    "สระบุรี": "saraburi",
    "สิงห์บุรี": "sing-buri",
    "สุโขทัย": "sukhothai",
    "สุพรรณบุรี": "suphan-buri",
    "สุราษฎร์ธานี": "surat-thani",
    "สุรินทร์": "surin",
    "หนองคาย": "nong-khai",
    "หนองบัวลำภู": "nong-bua-lam-phu",
    "อ่างทอง": "ang-thong",
    "อำนาจเจริญ": "amnat-charoen",
    "อุดรธานี": "udon-thani",
    "อุตรดิตถ์": "uttaradit",
    "อุทัยธานี": "uthai-thani",
    "อุบลราชธานี": "ubon-ratchathani",
}
_PROVINCE_ALT = "|".join(sorted(map(re.escape, PROVINCES), key=len, reverse=True))
_PROVINCE_SEQ = rf"(?:{_PROVINCE_ALT})(?:(?:\s*,\s*|\s+(?:และ\s*)?)(?:{_PROVINCE_ALT}))*"
_AREA = rf"(?:\s*เขต\s*(?P<area>{_DIGIT}{{1,2}}))?"
_OFFICE_FULL = re.compile(
    rf"สำนักงานเขตพื้นที่การศึกษา\s*(?P<level>ประถมศึกษา|มัธยมศึกษา)?\s*(?P<prov>{_PROVINCE_SEQ}){_AREA}"
)
_OFFICE_SHORT = re.compile(rf"(?P<abbr>สพป|สพม|สพท|สพ)\.?\s*(?P<prov>{_PROVINCE_SEQ}){_AREA}")
_OFFICE_AREA_ONLY = re.compile(rf"(?P<abbr>สพป|สพม)\.?\s*เขต\s*(?P<area>{_DIGIT}{{1,2}})")
_LEVEL_ABBR = {"ประถมศึกษา": "สพป.", "มัธยมศึกษา": "สพม.", None: "สพท.", "": "สพท."}
_ABBR_CODE = {"สพป.": "spp", "สพม.": "spm", "สพท.": "spt"}


@dataclass(frozen=True)
class Office:
    """An educational service area office, e.g. สพป.สุโขทัย เขต 2."""

    abbr: str  # สพป. | สพม. | สพท.
    province: str  # one or more province names, as written ("สุราษฎร์ธานี ชุมพร")
    area: int | None

    @property
    def short(self) -> str:
        area = f" เขต {self.area}" if self.area else ""
        return f"{self.abbr}{self.province}{area}"

    @property
    def full(self) -> str:
        level = {"สพป.": "ประถมศึกษา", "สพม.": "มัธยมศึกษา"}.get(self.abbr, "")
        area = f" เขต {self.area}" if self.area else ""
        return f"สำนักงานเขตพื้นที่การศึกษา{level}{self.province}{area}"

    @property
    def slug(self) -> str:
        parts = [_ABBR_CODE.get(self.abbr, "esa")]
        parts += [PROVINCES[p] for p in re.findall(_PROVINCE_ALT, self.province)] or ["area"]
        if self.area:
            parts.append(str(self.area))
        return "-".join(parts)


def _office_from_match(abbr: str, province: str, area: str | None) -> Office:
    province = " ".join(re.findall(_PROVINCE_ALT, province))
    return Office(abbr, province, int(thai_digits_to_arabic(area)) if area else None)


def parse_office_name(text: str) -> Office | None:
    """Read an office name written in full or abbreviated form ("สพป. ชัยภูมิ เขต ๓")."""
    text = text.strip()
    match = _OFFICE_FULL.search(text)
    if match:
        return _office_from_match(_LEVEL_ABBR[match.group("level")], match.group("prov"), match.group("area"))
    match = _OFFICE_SHORT.search(text)
    if match:
        abbr = {"สพ": "สพป."}.get(match.group("abbr"), match.group("abbr") + ".")
        return _office_from_match(abbr, match.group("prov"), match.group("area"))
    match = _OFFICE_AREA_ONLY.search(text)
    if match:
        return Office(match.group("abbr") + ".", "", int(thai_digits_to_arabic(match.group("area"))))
    return None


def detect_office(lines: Sequence[str]) -> Office | None:
    """The office whose manual this is: the name most often written, title-page lines weighted highest."""
    votes: Counter[Office] = Counter()
    for index, line in enumerate(lines):
        if "\t" in line:  # career-history and screenshot tables name other offices
            continue
        text = line.strip(" *#")
        for match in _OFFICE_FULL.finditer(text):
            office = _office_from_match(
                _LEVEL_ABBR[match.group("level")], match.group("prov"), match.group("area")
            )
            weight = 2
            if match.group(0).strip() == text.strip():
                weight = 6 if index < 80 else 4
            votes[office] += weight
        for match in _OFFICE_SHORT.finditer(text):
            if match.group("abbr") == "สพท":
                continue
            abbr = {"สพ": "สพป."}.get(match.group("abbr"), match.group("abbr") + ".")
            votes[_office_from_match(abbr, match.group("prov"), match.group("area"))] += 1
    if not votes:
        return None
    best, _ = votes.most_common(1)[0]
    if best.area is None:
        # The same office also written with its area number is the more specific name.
        numbered = [o for o in votes if o.abbr == best.abbr and o.province == best.province and o.area]
        if numbered:
            best = max(numbered, key=lambda o: votes[o])
    return best


# ---------------------------------------------------------------------------------------------
# Time standards and flowcharts
# ---------------------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"(?P<low>\d+(?:\.\d+)?)\s*(?:(?:-|–|—|ถึง)\s*(?P<high>\d+(?:\.\d+)?)\s*)?"
    r"(?P<unit>วันทำการ|วัน|นาที|ชั่วโมง|ชม\.?|สัปดาห์|เดือน|ปี)"
)
_UNITS = {"ชม": "ชั่วโมง", "ชม.": "ชั่วโมง"}


@dataclass(frozen=True)
class Duration:
    minimum: float
    maximum: float
    unit: str  # วันทำการ | วัน | นาที | ชั่วโมง | สัปดาห์ | เดือน | ปี
    text: str  # as written in the manual

    def as_dict(self) -> dict[str, object]:
        def num(value: float) -> int | float:
            return int(value) if value == int(value) else value

        return {"min": num(self.minimum), "max": num(self.maximum), "unit": self.unit, "text": self.text}


def parse_duration(text: str) -> Duration | None:
    """Find a time standard such as "๓๐ นาที", "๑ - ๓ วันทำการ" or "๔๕ - ๖๐ วัน" anywhere in ``text``."""
    normalised = thai_digits_to_arabic(text)
    match = _TIME_RE.search(normalised)
    if not match:
        return None
    low = float(match.group("low"))
    high = float(match.group("high")) if match.group("high") else low
    unit = _UNITS.get(match.group("unit"), match.group("unit"))
    return Duration(low, high, unit, text[match.start() : match.end()])


@dataclass(frozen=True)
class FlowNode:
    key: str  # unique within the chart ("B", or "B#2" when the id is reused)
    node_id: str
    label: str
    shape: str  # stadium | rect | decision | round | circle | subroutine | other

    @property
    def is_connector(self) -> bool:
        """An off-page connector such as ``B[B]``: no real label."""
        return self.label.strip() in ("", self.node_id)


@dataclass(frozen=True)
class FlowEdge:
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Flowchart:
    line: int
    nodes: tuple[FlowNode, ...]
    edges: tuple[FlowEdge, ...]

    @property
    def steps(self) -> list[str]:
        """Node labels in the order they are defined (connectors left out)."""
        return [node.label for node in self.nodes if not node.is_connector]


_SHAPES = (
    ("([", "])", "stadium"),
    ("[[", "]]", "subroutine"),
    ("[(", ")]", "cylinder"),
    ("((", "))", "circle"),
    ("{{", "}}", "hexagon"),
    ("[", "]", "rect"),
    ("{", "}", "decision"),
    ("(", ")", "round"),
    (">", "]", "flag"),
)
_NODE_ID = re.compile(r"[A-Za-z0-9_]+")
_ARROWS = (
    re.compile(r"-->\s*\|(?P<label>[^|]*)\|"),
    re.compile(r"(?:-->|==>|-\.->|---|-\.-|===)"),
    re.compile(r"--\s*(?P<label>[^-<>]+?)\s*-->"),
    re.compile(r"==\s*(?P<label>[^=<>]+?)\s*==>"),
)


def parse_mermaid(source: str, line: int = 0) -> Flowchart:
    """Parse a (one-line) mermaid ``graph TD`` block into ordered nodes and labelled edges.

    Node ids that are reused later with a new label (``B[B] --> A[...] A --> B[ติดตามผล]``) become separate
    nodes, so the order of the labels is the order of the steps.
    """
    text = re.sub(r"</?pre>", " ", source, flags=re.IGNORECASE).strip()
    text = re.sub(r"^(?:graph|flowchart)\s+[A-Za-z]{2}\b", " ", text.strip())
    nodes: list[FlowNode] = []
    current: dict[str, str] = {}
    by_key: dict[str, FlowNode] = {}
    edges: list[FlowEdge] = []
    previous: str | None = None
    pending: str | None = None
    pos = 0

    def node_at(start: int) -> tuple[str, str | None, str, int] | None:
        match = _NODE_ID.match(text, start)
        if not match:
            return None
        end = match.end()
        for opener, closer, shape in _SHAPES:
            if text.startswith(opener, end):
                close = text.find(closer, end + len(opener))
                if close == -1:
                    continue
                label = text[end + len(opener) : close].strip().strip('"').strip()
                return match.group(0), label, shape, close + len(closer)
        return match.group(0), None, "other", end

    while pos < len(text):
        if text[pos] in " \t;\n":
            pos += 1
            continue
        arrow = None
        if previous is not None:
            for pattern in _ARROWS:
                arrow = pattern.match(text, pos)
                if arrow:
                    break
        if arrow:
            pending = (arrow.groupdict().get("label") or "").strip()
            pos = arrow.end()
            continue
        found = node_at(pos)
        if found is None:
            pos += 1
            continue
        node_id, label, shape, pos = found
        key = current.get(node_id)
        if label is not None and (key is None or by_key[key].label != label):
            key = node_id if node_id not in {n.node_id for n in nodes} else f"{node_id}#{len(nodes) + 1}"
            node = FlowNode(key, node_id, label, shape)
            nodes.append(node)
            by_key[key] = node
            current[node_id] = key
        elif key is None:
            key = node_id
            node = FlowNode(key, node_id, node_id, "other")
            nodes.append(node)
            by_key[key] = node
            current[node_id] = key
        if pending is not None and previous is not None:
            edges.append(FlowEdge(previous, key, pending))
            pending = None
        previous = key
    return Flowchart(line, tuple(nodes), tuple(edges))


_PRE_RE = re.compile(r"<pre>(.*?)</pre>", re.IGNORECASE | re.DOTALL)


def find_mermaid(text: str, line: int) -> list[Flowchart]:
    charts = []
    for match in _PRE_RE.finditer(text):
        body = match.group(1).strip()
        if re.match(r"(?:graph|flowchart)\b", body):
            charts.append(parse_mermaid(body, line))
    return charts


# ---------------------------------------------------------------------------------------------
# The structured manual
# ---------------------------------------------------------------------------------------------


@dataclass
class Item:
    """A list entry, paragraph or sub-heading, with its physical line range."""

    text: str
    start: int
    end: int
    number: str | None = None  # the manual's own numbering ("๕.๑", "2)") if any
    kind: str = "item"  # item | bullet | paragraph | subheading


@dataclass
class Section:
    # title | objective | scope | definitions | steps | flowchart | forms | references | laws | standards | other
    kind: str
    heading: str
    start: int
    end: int
    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class TimeStandard:
    order: int | None
    step: str  # short step name (the first text cell)
    detail: str  # the longer description when the row has one
    time_text: str  # the time cell as written ("๑ - ๓ วันทำการ", "รวมอยู่ในระยะเวลา…", "")
    duration: Duration | None
    quality: str
    owner: str
    line: int


@dataclass
class Process:
    heading: str  # the heading line as written (markup removed)
    name: str  # the work's full name (ชื่องาน when given, else the heading)
    number: str | None
    start: int
    end: int
    description: list[Item] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    time_standards: list[TimeStandard] = field(default_factory=list)
    flowcharts: list[Flowchart] = field(default_factory=list)
    kpi: str | None = None

    def section_items(self, kind: str) -> list[Item]:
        return [item for section in self.sections if section.kind == kind for item in section.items]

    def span(self, kind: str) -> tuple[int, int] | None:
        """The line range of all sections of ``kind`` that have content."""
        spans = [(s.start, s.end) for s in self.sections if s.kind == kind and s.items]
        if not spans:
            return None
        return min(a for a, _ in spans), max(b for _, b in spans)

    @property
    def objectives(self) -> list[Item]:
        return self.section_items("objective")

    @property
    def scope(self) -> list[Item]:
        return self.section_items("scope")

    @property
    def definitions(self) -> list[Item]:
        return self.section_items("definitions")

    @property
    def steps(self) -> list[Item]:
        return self.section_items("steps")

    @property
    def forms(self) -> list[Item]:
        return self.section_items("forms")

    @property
    def references(self) -> list[Item]:
        return self.section_items("references")

    @property
    def laws(self) -> list[Item]:
        return self.section_items("laws")

    @property
    def has_flowchart_section(self) -> bool:
        return any(section.kind == "flowchart" for section in self.sections)

    def has_content(self) -> bool:
        return bool(
            self.description
            or self.time_standards
            or self.flowcharts
            or any(s.items for s in self.sections if s.kind != "title")
        )


@dataclass
class Manual:
    file: str | None
    office: Office | None
    title: str | None
    processes: list[Process]
    lines: list[str]  # cleaned and redacted text of every physical line (index 0 = line 1)
    redactions: list[Redaction]
    glyphs: GlyphStats
    catchwords: list[int]

    @property
    def office_name(self) -> str | None:
        return self.office.short if self.office else None

    def text_of(self, start: int, end: int) -> str:
        return "\n".join(self.lines[start - 1 : end])


# ---------------------------------------------------------------------------------------------
# Line classification
# ---------------------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str  # cleaned text (bold spans joined)
    start: int
    end: int
    blank: bool = False


@dataclass
class _Shape:
    """The markup around a line: heading marks, bold, list marker."""

    body: str  # text without markup, numbering or bullet
    heading: bool  # markdown heading or whole-line bold
    number: str | None
    bullet: bool
    top_number: int | None  # first component of the numbering, Arabic


_NUMBER_RE = re.compile(
    rf"^(?:\((?P<paren>{_DIGIT}{{1,3}})\)|(?P<num>{_DIGIT}{{1,3}}(?:\.{_DIGIT}{{1,3}})+\.?|{_DIGIT}{{1,3}}[.)]))\s*"
)
_BULLET_RE = re.compile(r"^(?:[-•●▪◦○■□➢➤✓]|\*(?!\*))\s*")


def _shape(text: str) -> _Shape:
    raw = text.strip()
    heading = raw.startswith("#")
    stripped = raw.lstrip("#").strip()
    if stripped.startswith("**") and stripped.rstrip(" :").endswith("**") and stripped.count("**") == 2:
        heading = True
    stripped = stripped.replace("**", "").replace("__", "").strip()
    bullet = False
    match = _BULLET_RE.match(stripped)
    if match and not stripped.startswith("---"):
        bullet = True
        stripped = stripped[match.end() :]
    number = None
    top = None
    match = _NUMBER_RE.match(stripped)
    if match:
        number = (match.group("paren") or match.group("num") or match.group(0)).strip().rstrip(".)")
        number = number.strip("()")
        top_digits = re.match(r"[0-9๐-๙]+", number)
        top = int(thai_digits_to_arabic(top_digits.group(0))) if top_digits else None
        stripped = stripped[match.end() :]
    return _Shape(stripped.strip(), heading, number, bullet, top)


# Section keywords, tried in order on the line body (markup and numbering removed).
_SECTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("objective", re.compile(r"^วัตถุประสงค์(?:ของงาน|ของกระบวนการ)?")),
    ("scope", re.compile(r"^(?:ขอบเขต(?:ของ)?(?:งาน|การดำเนินงาน)?|ขอบข่าย(?:งาน)?(?:\s*/\s*ภารกิจ)?)")),
    ("definitions", re.compile(r"^(?:[คท]ำ\s*[จง]ำ\s*กัด\s*คว[าำ]ม|นิยามศัพท์(?:เฉพาะ)?|นิยาม)")),
    (
        "steps",
        re.compile(r"^(?:กระบวนการและ)?ขั้นตอน(?:การ)?(?:ปฏิบัติ(?:งาน)?|ดำเนินงาน|ทำงาน|การดำเนินการ|ดำเนินการ)"),
    ),
    ("flowchart", re.compile(r"^(?:flow\s*-?\s*chart|ผังงาน|แผนผังขั้นตอน|ผังขั้นตอน)", re.IGNORECASE)),
    ("forms", re.compile(r"^(?:แบบฟอร์ม(?:ที่ใช้(?:ในการปฏิบัติงาน)?)?|เอกสารแบบฟอร์ม)(?=\s*(?::|$))")),
    (
        "references",
        re.compile(r"^(?:เอกสาร\s*/?\s*(?:หลักฐาน|มาตรฐาน)?\s*อ้างอิง|หลักฐานอ้างอิง|มาตรฐานอ้างอิง|เอกสารที่เกี่ยวข้อง)"),
    ),
    ("laws", re.compile(r"^(?:กฎหมาย(?:\s*(?:และ|/)?\s*ระเบียบ)?ที่เกี่ยวข้อง|ระเบียบที่เกี่ยวข้อง|กฎหมายอ้างอิง)")),
    ("standards", re.compile(r"^(?:รายละเอียด\s*โครงสร้างส่วนประกอบมาตรฐานงาน|มาตรฐาน(?:การปฏิบัติ)?งาน$)")),
)
_QUALIFIERS = re.compile(r"ตัวชี้วัดความสำเร็จ|\((?:กระบวนการ|กระบวนงาน)\)|\(ต่อ\)|[:：/]")
_TITLE_RE = re.compile(r"^ชื่องาน\s*(?:\((?:กระบวนการ|กระบวนงาน)\))?\s*[:：]?\s*(?P<rest>.*)$")
_PROCESS_RE = re.compile(
    r"^กระบวนการ(?:งาน)?\s*(?:ที่)?\s*[:：]?\s*(?P<num>[0-9]{1,3})\s*[.:)]?\s*[:：]?\s*(?P<rest>.*)$"
)
_DOC_BREAK = re.compile(
    r"^(?:(?:คำนำ|บทนำ|สารบัญ|คณะทำงาน|คณะผู้จัดทำ|ผู้จัดทำ|ภาคผนวก|บรรณานุกรม|บันทึกข้อความ|คำสั่ง|ประกาศ)\s*$|"
    r"ส่วนที่\s*[0-9๐-๙]+|คำสั่ง(?:สำนักงาน|สพป|สพม|สพท)|ประกาศสำนักงาน)"
)
_BOILERPLATE = re.compile(r"^(?:คู่มือ(?:ขั้นตอน|การปฏิบัติ|ปฏิบัติ)|กระบวนการขั้นตอนปฏิบัติงาน$|[*\-_=~.\s]+$)")
_EXAMPLE = re.compile(r"^(?:ตัวอย่าง|ภาพตัวอย่าง|ภาพประกอบ)\s*[:：]?\s*$")
_NOTE = re.compile(r"^(?:หมายเหตุ|ตัวอย่าง|ทั้งนี้)")
_TAIL_KINDS = frozenset({"flowchart", "forms", "references", "laws", "standards"})
_LIST_KINDS = frozenset({"objective", "scope", "steps", "forms", "references", "laws"})


def _section_of(shape: _Shape) -> tuple[str, str, str] | None:
    """(kind, heading, inline content) when the line is a section heading."""
    body = shape.body
    for kind, pattern in _SECTION_PATTERNS:
        match = pattern.match(body)
        if not match:
            continue
        rest = body[match.end() :].strip()
        if kind in ("steps", "flowchart", "standards"):
            leftover = _QUALIFIERS.sub(" ", rest).strip()
            if len(leftover) > 40 and not shape.heading:
                return None  # a sentence that happens to start with the keyword
            return kind, body, ""
        if kind == "forms" and rest and not rest.startswith((":", "：")):
            return None
        if rest.startswith((":", "：")):
            rest = rest[1:].strip()
        elif rest and kind in ("objective", "scope", "definitions"):
            # "วัตถุประสงค์ของการ..." inside running text is not a heading.
            if not (shape.heading or shape.number) or len(rest) > 40:
                return None
            rest = rest if len(rest) > 20 else ""
        rest = rest.strip(" -")
        return kind, body, rest
    return None


def _is_english_caption(text: str) -> bool:
    """An English sentence standing in for a dropped screenshot ("The screenshot shows …"), not a URL."""
    if "://" in text or len(text.split()) < 6:
        return False
    letters = sum(ch.isascii() and ch.isalpha() for ch in text)
    return len(text) > 40 and letters > 0.6 * len(text.replace(" ", ""))


def _join(left: str, right: str) -> str:
    """Join hard-wrapped text: Thai-to-Thai without a space (Thai has none between words), else one space."""
    left, right = left.rstrip(), right.lstrip()
    if not left:
        return right
    if not right:
        return left
    if "\u0e01" <= left[-1] <= "\u0e5b" and "\u0e01" <= right[0] <= "\u0e5b":
        return left + right
    return f"{left} {right}"


def _logical_lines(lines: Sequence[str]) -> list[_Line]:
    """Join bold spans that open on one line and close on a later one; keep the physical range."""
    out: list[_Line] = []
    i = 0
    while i < len(lines):
        text = lines[i]
        stripped = text.strip()
        if stripped.lstrip("#").strip().startswith("**") and stripped.count("**") % 2 == 1:
            j = i + 1
            joined = stripped
            while j < len(lines) and j <= i + 4 and lines[j].strip():
                joined = _join(joined, lines[j].strip())
                if lines[j].count("**") % 2 == 1:
                    out.append(_Line(joined, i + 1, j + 1))
                    i = j + 1
                    break
                j += 1
            else:
                out.append(_Line(text, i + 1, i + 1, blank=not stripped))
                i += 1
            continue
        out.append(_Line(text, i + 1, i + 1, blank=not stripped))
        i += 1
    return out


@dataclass
class _Classified:
    line: _Line
    kind: str  # blank | ignore | example | break | table | mermaid | process | title | section | candidate | text
    shape: _Shape | None = None
    section: tuple[str, str, str] | None = None
    number: str | None = None
    name: str = ""
    plain: bool = False  # a candidate written as a plain numbered line (not a heading)


def _classify(line: _Line) -> _Classified:
    text = line.text
    if line.blank:
        return _Classified(line, "blank")
    if "\t" in text:
        return _Classified(line, "table")
    if "<pre" in text.lower():
        return _Classified(line, "mermaid")
    shape = _shape(text)
    body = shape.body
    if not body or (_BOILERPLATE.match(body) and len(body) <= 80):
        return _Classified(line, "ignore", shape)
    if _EXAMPLE.match(body):
        return _Classified(line, "example", shape)
    if _is_english_caption(body):
        return _Classified(line, "ignore", shape)
    if not shape.bullet and len(body) <= 100 and _DOC_BREAK.match(body) and not shape.number:
        return _Classified(line, "break", shape)
    if not shape.bullet and not shape.number:
        match = _PROCESS_RE.match(thai_digits_to_arabic(body))
        if match and len(body) <= 250:
            rest = body[match.start("rest") :].strip() if match.group("rest") else ""
            return _Classified(line, "process", shape, number=match.group("num"), name=rest)
    match = _TITLE_RE.match(body)
    if match and not shape.bullet:
        return _Classified(line, "title", shape, name=match.group("rest").strip())
    section = _section_of(shape) if not shape.bullet or shape.heading else None
    if section:
        return _Classified(line, "section", shape, section=section)
    if body.startswith("งาน") and len(body) <= 150:
        dotted = shape.number is not None and re.search(r"[0-9๐-๙][.][0-9๐-๙]", shape.number or "")
        raw = text.strip()
        plain_numbered = (
            not shape.heading
            and not shape.bullet
            and shape.number is not None
            and not dotted
            and re.match(rf"^{_DIGIT}{{1,2}}\.", raw) is not None
            and len(body) <= 100
        )
        if (shape.heading and not dotted and not shape.bullet) or plain_numbered:
            return _Classified(line, "candidate", shape, number=shape.number, name=body, plain=plain_numbered)
    if shape.heading:
        return _Classified(line, "heading", shape)
    return _Classified(line, "text", shape)


# ---------------------------------------------------------------------------------------------
# Segmentation into processes
# ---------------------------------------------------------------------------------------------


def _region_summary(rows: Sequence[_Classified]) -> dict[str, object]:
    """What a candidate region holds: which sections, whether steps/forms have items, text lines."""
    kinds: list[str] = []
    steps_items = forms_items = text_lines = 0
    table_times = 0
    current: str | None = None
    for row in rows[1:]:
        if row.kind == "section" and row.section:
            current = row.section[0]
            kinds.append(current)
            if row.section[2]:
                forms_items += current == "forms"
        elif row.kind == "text":
            text_lines += 1
            steps_items += current == "steps"
            forms_items += current == "forms"
        elif row.kind == "table":
            if parse_duration(row.line.text):
                table_times += 1
        elif row.kind == "mermaid":
            table_times += 1
    return {
        "kinds": kinds,
        "steps_items": steps_items,
        "forms_items": forms_items,
        "text_lines": text_lines,
        "table_times": table_times,
    }


def _is_real(rows: Sequence[_Classified], explicit: bool) -> bool:
    summary = _region_summary(rows)
    kinds = summary["kinds"]
    if explicit:
        return bool(kinds or summary["text_lines"] or summary["table_times"])
    return bool(
        summary["steps_items"] or "flowchart" in kinds or summary["forms_items"] or summary["table_times"]
    )


def _last_section_kind(rows: Sequence[_Classified]) -> str | None:
    for row in reversed(rows):
        if row.kind == "section" and row.section:
            return row.section[0]
        if row.kind == "text":
            return "text"
    return None


def _segment(rows: list[_Classified]) -> list[tuple[int, int]]:
    """Return [start, end) index ranges of the real processes in ``rows``."""
    starts: list[int] = []
    for index, row in enumerate(rows):
        if row.kind in ("process", "candidate"):
            starts.append(index)
        elif row.kind == "title":
            # ชื่องาน right after a กระบวนการ heading names that process; otherwise it opens one.
            prev = next((r for r in reversed(rows[:index]) if r.kind not in ("blank", "ignore")), None)
            if not (prev is not None and prev.kind == "process"):
                starts.append(index)
    breaks = {index for index, row in enumerate(rows) if row.kind == "break"}
    boundaries = sorted(set(starts) | breaks | {len(rows)})

    def region_end(start: int) -> int:
        return next(b for b in boundaries if b > start)

    segments: list[tuple[int, int]] = []
    position = 0
    while position < len(starts):
        start = starts[position]
        explicit = rows[start].kind in ("process", "title")
        end = region_end(start)
        # A heading candidate right after this process's steps heading is a sub-heading of its steps.
        nxt = position + 1
        while (
            end < len(rows)
            and end in starts
            and rows[end].kind == "candidate"
            and _last_section_kind(rows[start:end]) == "steps"
            and _is_real(rows[start:end], explicit)
        ):
            rows[end] = _Classified(rows[end].line, "subheading", rows[end].shape)
            nxt += 1
            end = region_end(end)
        if _is_real(rows[start:end], explicit):
            segments.append((start, end))
        elif rows[start].plain and segments and segments[-1][1] == start:
            # A plain numbered "N. งาน..." line that is not a process: keep it as text of the previous one.
            prev_start, _ = segments[-1]
            if not set(_region_summary(rows[prev_start:start])["kinds"]) & _TAIL_KINDS:
                rows[start] = _Classified(rows[start].line, "text", rows[start].shape)
                segments[-1] = (prev_start, end)
        position = nxt
    return segments


class _Builder:
    """Builds one :class:`Process` from its region of classified lines."""

    def __init__(self, head: _Classified) -> None:
        shape = head.shape
        heading = shape.body if shape else head.line.text.strip()
        name = head.name or heading
        self.process = Process(
            heading=head.name or heading,
            name=name,
            number=head.number,
            start=head.line.start,
            end=head.line.end,
        )
        self.title_from_field = head.kind == "title"
        self.section: Section | None = None
        self.last_item: Item | None = None
        self.blank_before = False
        self.example = False
        self.table_header: list[str] = []
        self.last_top: int | None = None
        if head.kind == "title":
            self._open(Section("title", "ชื่องาน", head.line.start, head.line.end))
            if head.name:
                self._add(Item(head.name, head.line.start, head.line.end, kind="paragraph"))

    # -- sections and items
    def _open(self, section: Section) -> None:
        self.process.sections.append(section)
        self.section = section
        self.last_item = None
        self.example = False
        self.last_top = None

    def _container(self) -> list[Item]:
        return self.section.items if self.section is not None else self.process.description

    def _add(self, item: Item) -> None:
        self._container().append(item)
        self.last_item = item
        if self.section is not None:
            self.section.end = max(self.section.end, item.end)
        self.process.end = max(self.process.end, item.end)

    def _extend(self, text: str, end: int) -> None:
        assert self.last_item is not None
        self.last_item.text = _join(self.last_item.text, text)
        self.last_item.end = end
        if self.section is not None:
            self.section.end = max(self.section.end, end)
        self.process.end = max(self.process.end, end)

    # -- rows
    def feed(self, row: _Classified) -> None:
        kind = row.kind
        if kind == "blank":
            self.blank_before = True
            return
        if kind == "ignore":
            return
        if kind == "example":
            self.example = True
            self.last_item = None
            return
        if kind == "title":
            self._open(Section("title", "ชื่องาน", row.line.start, row.line.end))
            self.title_from_field = True
            if row.name:
                self._add(Item(row.name, row.line.start, row.line.end, kind="paragraph"))
        elif kind == "section" and row.section:
            section_kind, heading, inline = row.section
            self._open(Section(section_kind, heading, row.line.start, row.line.end))
            self.process.end = max(self.process.end, row.line.end)
            if inline and inline != "-":
                self._add(Item(inline, row.line.start, row.line.end, kind="paragraph"))
        elif kind == "table":
            self._table(row)
        elif kind == "mermaid":
            charts = find_mermaid(row.line.text, row.line.start)
            self.process.flowcharts.extend(charts)
            self.process.end = max(self.process.end, row.line.end)
        elif kind == "heading" and self.example:
            return  # screenshot titles inside an example
        elif kind == "subheading" or (
            kind == "heading" and self.section is not None and self.section.kind == "steps"
        ):
            self.example = False
            shape = row.shape or _shape(row.line.text)
            self._add(Item(shape.body, row.line.start, row.line.end, shape.number, "subheading"))
        elif kind == "heading":
            # An unrecognised heading closes the current section (e.g. the next group's title).
            self._open(Section("other", row.shape.body if row.shape else "", row.line.start, row.line.end))
        elif kind in ("text", "candidate", "process", "break"):
            self._text(row)
        self.blank_before = False

    def _text(self, row: _Classified) -> None:
        shape = row.shape or _shape(row.line.text)
        body = shape.body
        if not body:
            return
        listed = shape.bullet or shape.number is not None
        if self.example:
            continues_numbering = (
                shape.number is not None
                and shape.top_number is not None
                and self.last_top is not None
                and shape.top_number > self.last_top
            )
            if not (shape.bullet or continues_numbering):
                return
            self.example = False
        if listed:
            kind = "bullet" if shape.bullet and shape.number is None else "item"
            self._add(Item(body, row.line.start, row.line.end, shape.number, kind))
            if shape.number is not None and shape.top_number is not None and not shape.bullet:
                self.last_top = shape.top_number
            return
        last = self.last_item
        if last is not None and last.kind != "subheading":
            if not self.blank_before:
                self._extend(body, row.line.end)
                return
            if last.kind in ("item", "bullet") and len(body) <= 60 and not _NOTE.match(body):
                self._extend(body, row.line.end)
                return
        self._add(Item(body, row.line.start, row.line.end, kind="paragraph"))

    def _table(self, row: _Classified) -> None:
        cells = [cell.strip() for cell in row.line.text.split("\t")]
        lineno = row.line.start
        charts = [chart for cell in cells for chart in find_mermaid(cell, lineno)]
        self.process.flowcharts.extend(charts)
        first = cells[0] if cells else ""
        first_shape = _shape(first)
        section = _section_of(first_shape) if first else None
        if section:
            inline = " ".join(c for c in [section[2], *cells[1:]] if c and c != "-").strip()
            self._open(Section(section[0], section[1], lineno, lineno))
            self.process.end = max(self.process.end, lineno)
            if inline and inline != "-":
                self._add(Item(inline, lineno, lineno, kind="paragraph"))
            return
        if re.match(r"^ตัวชี้วัด", first):
            kpi = re.sub(r"^ตัวชี้วัด[^:：]*[:：]?\s*", "", first).strip()
            if not kpi:
                kpi = re.sub(r"^ตัวชี้วัดที่สำคัญของกระบวน(?:การ|งาน)\s*", "", first).strip()
            self.process.kpi = self.process.kpi or kpi or None
            self.process.end = max(self.process.end, lineno)
            return
        if "ลำดับ" in first and any("เวลา" in cell for cell in cells):
            self.table_header = cells
            self.process.end = max(self.process.end, lineno)
            return
        number = re.fullmatch(rf"{_DIGIT}{{1,3}}\.?", first)
        if not number:
            return
        standard = self._time_row(cells, lineno)
        if standard is not None:
            self.process.time_standards.append(standard)
            self.process.end = max(self.process.end, lineno)

    def _time_row(self, cells: list[str], lineno: int) -> TimeStandard | None:
        order = int(thai_digits_to_arabic(cells[0].rstrip(".")))
        values = [(i, c) for i, c in enumerate(cells) if i > 0 and c and "<pre" not in c.lower()]
        time_index = next((i for i, c in values if len(c) <= 40 and parse_duration(c) is not None), None)
        header = self.table_header

        def by_header(word: str) -> str:
            for i, name in enumerate(header):
                if word in name and i < len(cells):
                    return cells[i]
            return ""

        if time_index is not None:
            before = [c for i, c in values if i < time_index]
            after = [c for i, c in values if i > time_index]
            time_text = cells[time_index]
            quality = after[0] if after else ""
            owner = after[1] if len(after) > 1 else ""
        elif header:
            detail = by_header("รายละเอียด")
            before = [detail] if detail else [c for _, c in values[:1]]
            time_text = by_header("เวลา")
            quality = by_header("มาตรฐาน")
            owner = by_header("ผู้รับผิดชอบ")
        else:
            return None
        if not before:
            return None
        step = before[0]
        detail = before[-1] if len(before) > 1 else step
        return TimeStandard(
            order,
            step,
            detail,
            time_text,
            parse_duration(time_text) if time_text else None,
            quality,
            owner,
            lineno,
        )

    def finish(self) -> Process:
        process = self.process
        title_items = process.section_items("title")
        if title_items:
            process.name = " ".join(item.text for item in title_items).strip() or process.name
        process.sections = [s for s in process.sections if s.kind != "title" or s.items]
        if not process.name:
            process.name = process.heading
        return process


def _merge_orphans(processes: list[Process]) -> list[Process]:
    """A region with only forms/references/flowchart (e.g. a flowchart caption heading) joins the one before."""
    out: list[Process] = []
    core = ("objective", "scope", "definitions", "steps")
    for process in processes:
        orphan = (
            not process.description
            and not process.time_standards
            and not any(s.items for s in process.sections if s.kind in core)
        )
        if orphan and out and not (out[-1].forms and process.forms):
            target = out[-1]
            target.sections.extend(s for s in process.sections if s.kind != "title")
            target.flowcharts.extend(process.flowcharts)
            target.end = max(target.end, process.end)
            continue
        out.append(process)
    return out


def _manual_title(lines: Sequence[str]) -> str | None:
    for line in lines[:60]:
        body = _shape(line).body
        if body.startswith("คู่มือ") and len(body) <= 80:
            return body
    return None


def parse_manual(text: str, file: str | None = None, office: str | None = None) -> Manual:
    """Parse a manual's text into processes with their sections, steps, forms, references and times.

    ``office`` overrides the office detected from the text (full or abbreviated name).
    """
    raw_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if raw_lines and raw_lines[-1] == "" and text.endswith(("\n", "\r")):
        raw_lines.pop()
    cleaned: list[str] = []
    catchwords: list[int] = []
    mapped = dropped = 0
    for number, raw in enumerate(raw_lines, start=1):
        line, stats = clean_glyphs(raw, _DROPPED)
        mapped += stats.mapped
        dropped += stats.dropped
        line = _clean_markup(line)
        if is_catchword(line):
            catchwords.append(number)
            line = ""
        cleaned.append(line)
    redacted, redactions = redact_personal_data(cleaned)
    redacted = [line.replace(_DROPPED, "") for line in redacted]

    detected = parse_office_name(office) if office else None
    if office and detected is None:
        detected = Office("", office.strip(), None)
    if detected is None:
        detected = detect_office(redacted)

    rows = [_classify(line) for line in _logical_lines(redacted)]
    for index in range(1, len(rows)):
        # A running header ("คู่มือขั้นตอนการดำเนินงาน" + the unit's name on the next line) is not content.
        previous = rows[index - 1]
        if (
            rows[index].kind == "text"
            and previous.kind == "ignore"
            and previous.shape is not None
            and previous.shape.body
            and _BOILERPLATE.match(previous.shape.body)
            and len(previous.shape.body) <= 80
            and previous.shape.body.startswith("คู่มือ")
        ):
            rows[index] = _Classified(rows[index].line, "ignore", rows[index].shape)
    processes: list[Process] = []
    for start, end in _segment(rows):
        builder = _Builder(rows[start])
        for row in rows[start + 1 : end]:
            builder.feed(row)
        process = builder.finish()
        if process.has_content():
            processes.append(process)
    processes = _merge_orphans(processes)

    return Manual(
        file=file,
        office=detected,
        title=_manual_title(redacted),
        processes=processes,
        lines=redacted,
        redactions=redactions,
        glyphs=GlyphStats(mapped, dropped),
        catchwords=catchwords,
    )


def normalise_for_comparison(text: str) -> str:
    """Text reduced for near-duplicate detection: no spaces, punctuation, digits or markup."""
    text = thai_digits_to_arabic(text).lower()
    text = re.sub(
        r"ผอ\.?\s*ส[พท][ปท]\.?\s*/\s*ส[พท][มผท]\.?|[มคห]อ\.\s*ส[พทศ][ปท]\.?/ส[พทศ][มผท]\.?", "ผอ", text
    )
    text = text.replace("คิดตั้ง", "ติดตั้ง")
    return re.sub(r"[\s\d\W_]+", "", text)

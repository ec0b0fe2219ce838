"""Turn an office's operations manual into draft knowledge-base articles for review.

``helpdesk kb import FILE... [-o OUT_DIR] [--office NAME]`` (or ``python -m knowledge.importer FILE...``)
parses each manual (:mod:`knowledge.manual_parser`), drafts articles per work process (what the work is,
its steps, its forms, its time standards, the laws it cites) in the article format of
``knowledge/articles/README.md`` plus ``status: draft``, and writes one YAML file per manual.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
import yaml
from rapidfuzz import fuzz

from knowledge.articles import CATEGORIES
from knowledge.manual_parser import (
    Item,
    Manual,
    Office,
    Process,
    normalise_for_comparison,
    parse_manual,
)

# Keyword patterns per category (regular expressions, matched case-insensitively). Ties go to the
# category listed first in CATEGORIES.
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "hardware_repair": (r"ซ่อม", r"ติดตั้ง", r"คิดตั้ง", r"บำรุงรักษา", r"อุปกรณ์คอมพิวเตอร์", r"ครุภัณฑ์คอมพิวเตอร์"),
    "network_internet": (r"เครือข่าย", r"อินเทอร์เน็ต", r"internet", r"network", r"โทรคมนาคม"),
    "account_access": (r"ขอเข้าถึง", r"รหัสผ่าน", r"บัญชีผู้ใช้", r"บัตรประจำตัวผู้ใช้", r"สิทธิ์(?:การ)?เข้า"),
    "security_data_protection": (
        r"ความปลอดภัย",
        r"คุ้มครองข้อมูล",
        r"ข้อมูลจราจร",
        r"ระบุตัวตน",
        r"pdpa",
        r"ข้อมูลส่วนบุคคล",
    ),
    "student_data_dmc": (r"\bdmc\b", r"ข้อมูลนักเรียนรายบุคคล", r"g-?code", r"\bcct\b", r"นักเรียนยากจน"),
    "edu_info_systems": (
        r"\bemis\b",
        r"m-?obec",
        r"b-?obec",
        r"obec asset",
        r"\bsesa\b",
        r"mi-test",
        r"ระบบข้อมูลสารสนเทศ",
        r"ระบบสารสนเทศ",
        r"สารสนเทศเพื่อการบริหาร",
        r"ad-?hoc",
    ),
    "saraban_amss": (r"สารบรรณ", r"amss", r"smart area", r"หนังสือราชการ", r"e-filing", r"ทะเบียนรับ"),
    "dltv_satellite": (r"\bdltv\b", r"ดาวเทียม", r"รับสัญญาณ"),
    "dlit_media_lms": (
        r"\bdlit\b",
        r"ทางไกลผ่านเทคโนโลยี",
        r"สื่อ(?!สาร|สังคม|ดิจิทัล)",
        r"นวัตกรรม",
        r"\blms\b",
        r"การจัดการเรียนรู้ผ่าน",
        r"ศูนย์สื่อ",
        r"เทคโนโลยีทางการศึกษา",
    ),
    "digital_comms_web": (
        r"เว็บไซต์",
        r"website",
        r"ประชุมทางไกล",
        r"video conference",
        r"zoom",
        r"จดหมายอิเล็กทรอนิกส์",
        r"สื่อสังคม",
        r"อีเมล",
        r"การสื่อสารด้วยเทคโนโลยีดิจิทัล",
    ),
    "equipment_borrow": (r"ขอยืม", r"ยืม(?:วัสดุ|อุปกรณ์)"),
    "procurement_spec": (r"คุณลักษณะเฉพาะ", r"จัดหา", r"จัดซื้อ", r"\btor\b", r"terms of reference", r"สเปก"),
    "training_request": (r"พัฒนาบุคลากร", r"(?:ฝึก)?อบรม", r"พัฒนาครู"),
    "general_consult": (r"ให้คำปรึกษา", r"คำแนะนำ", r"แนะนำ"),
}
# Categories named after one system or domain: a name that mentions it is about it.
_DOMAIN_CATEGORIES = frozenset(
    {
        "dltv_satellite",
        "dlit_media_lms",
        "saraban_amss",
        "student_data_dmc",
        "security_data_protection",
        "procurement_spec",
        "account_access",
    }
)
_CATEGORY_RES = {
    code: [re.compile(pattern, re.IGNORECASE) for pattern in patterns]
    for code, patterns in CATEGORY_KEYWORDS.items()
}
# Product and system names worth keeping as retrieval keywords when a process mentions them.
_TERMS = (
    "DLTV",
    "DLIT",
    "DMC",
    "EMIS",
    "M-OBEC",
    "B-OBEC",
    "GCODE",
    "CCT",
    "AMSS++",
    "Smart Area",
    "e-Filing",
    "LMS",
    "ICT",
    "TOR",
    "CIO",
    "Video Conference",
    "Zoom",
    "Google Meet",
    "PDPA",
    "ITA",
    "OBEC Asset",
    "SESA",
    "Mi-Test",
    "Application Software",
    "Authentication",
)

DEFAULT_OUT_DIR = Path("instance") / "kb-drafts"
UNKNOWN_OFFICE = "ไม่ระบุสำนักงาน"
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LINES_RE = re.compile(r"^(\d+)-(\d+)$")
REQUIRED_FIELDS = (
    "id",
    "title",
    "category",
    "questions",
    "answer",
    "source",
    "scope",
    "office",
    "action",
    "reviewed",
    "status",
)


# ---------------------------------------------------------------------------------------------
# Names and categories
# ---------------------------------------------------------------------------------------------


def office_slug(office: Office | None) -> str:
    """Lowercase ASCII slug for draft ids: spp-sukhothai-2, spm-surat-thani-chumphon, …"""
    if office is None:
        return "unknown"
    if office.abbr in ("สพป.", "สพม.", "สพท.") and (office.province or office.area):
        return office.slug
    return "office-" + format(zlib.crc32(office.short.encode("utf-8")), "08x")


def guess_category(process: Process) -> str:
    """A category code from keywords: the name weighs most (its first words most of all), then objectives
    and scope, then the steps. Ties go to the category listed first in CATEGORIES."""
    weighted = (
        (process.name + " " + process.heading, 3.0),
        (" ".join(i.text for i in process.objectives + process.scope + process.description), 1.0),
        (" ".join(i.text for i in process.steps), 0.5),
    )
    name = re.sub(r"^งาน", "", process.name.strip())
    scores: dict[str, float] = {}
    for code, patterns in _CATEGORY_RES.items():
        scores[code] = sum(weight for text, weight in weighted if any(p.search(text) for p in patterns))
        # What the name starts with says most about the work ("พัฒนาบุคลากรด้านระบบเครือข่าย…" is training).
        if any((m := p.search(name)) and m.start() < 20 for p in patterns):
            scores[code] += 1.0
        if code in _DOMAIN_CATEGORIES and any(p.search(name) for p in patterns):
            scores[code] += 2.0
    best = max(CATEGORIES, key=lambda code: (scores.get(code, 0.0), -CATEGORIES.index(code)))
    return best if scores.get(best, 0.0) > 0 else "general_consult"


def _trim(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    text = text[: cut if cut > limit // 2 else limit].rstrip(" ,/และ")
    return text


def work_name(process: Process) -> str:
    """The work's name as a reader says it, starting with "งาน"."""
    name = re.sub(r"\s+", " ", process.name).strip(" :")
    return name if name.startswith("งาน") else f"งาน{name}"


def short_name(process: Process, limit: int = 70) -> str:
    """A short label for titles and questions: the heading when it is a shortened name, else the name cut."""
    name = re.sub(r"\s+", " ", process.name).strip(" :")
    heading = re.sub(r"\s+", " ", process.heading).strip(" :")
    if (
        heading
        and heading != name
        and 8 <= len(heading) < len(name)
        and len(heading) <= limit
        and fuzz.partial_ratio(heading, name) >= 80
    ):
        name = heading
    name = _trim(name, limit)
    return name if name.startswith("งาน") else f"งาน{name}"


def keywords_for(process: Process) -> list[str]:
    text = " ".join(
        [process.name, process.heading]
        + [
            i.text
            for i in process.objectives + process.scope + process.steps + process.forms + process.description
        ]
    )
    found = [term for term in _TERMS if re.search(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])", text, re.I)]
    return found


# ---------------------------------------------------------------------------------------------
# Drafts
# ---------------------------------------------------------------------------------------------


@dataclass
class Draft:
    article: dict[str, object]
    process_index: int
    kind: str  # overview | steps | forms | times | laws


@dataclass
class ManualDrafts:
    path: str
    manual: Manual
    drafts: list[Draft]
    skipped: list[tuple[Process, str]] = field(default_factory=list)  # (process, duplicate-of description)

    @property
    def articles(self) -> list[dict[str, object]]:
        return [draft.article for draft in self.drafts]


def _clean_item(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text.rstrip(" ;")


def _numbered(items: Sequence[Item]) -> list[str]:
    """Items as a numbered list; sub-headings become group labels, paragraphs stay as notes."""
    lines: list[str] = []
    number = 0
    for item in items:
        text = _clean_item(item.text)
        if not text:
            continue
        if item.kind == "subheading":
            lines.append(f"{text}:")
            number = 0
        elif item.kind == "paragraph" and (number or not lines):
            lines.append(text)
        else:
            number += 1
            lines.append(f"{number}. {text}")
    return lines


def _span(items: Iterable[Item]) -> tuple[int, int] | None:
    items = list(items)
    if not items:
        return None
    return min(i.start for i in items), max(i.end for i in items)


def _lines(*spans: tuple[int, int] | None) -> str | None:
    real = [s for s in spans if s]
    if not real:
        return None
    return f"{min(a for a, _ in real)}-{max(b for _, b in real)}"


def _according(office: str | None) -> str:
    return f"ตามคู่มือของ {office} " if office else "ตามคู่มือ "


def _questions(templates: Iterable[str], name: str, full: str) -> list[str]:
    out: list[str] = []
    for template in templates:
        question = template.format(name=name, full=full).strip()
        question = re.sub(r"\s+", " ", question)
        if question not in out:
            out.append(question)
    return out


def _steps_of(process: Process) -> tuple[list[Item], str]:
    """The steps, from the steps section, else the flowcharts, else the list in the description."""
    if process.steps:
        return process.steps, "steps"
    charts = [chart for chart in process.flowcharts if chart.steps]
    if charts:
        items = [Item(label, chart.line, chart.line) for chart in charts for label in chart.steps]
        return items, "flowchart"
    listed = [item for item in process.description if item.kind in ("item", "bullet")]
    return listed, "description"


_STEPS_HEADING = re.compile(r"^(?:กระบวนการและ)?ขั้นตอน(?:การ)?(?:ปฏิบัติงาน|ปฏิบัติ|ดำเนินงาน|ดำเนินการ|ทำงาน)?")


def _steps_topic(heading: str, items: Sequence[Item]) -> str:
    """What a steps section is about: its heading's qualifier ("ระบบ AMSS++") or its first sub-heading."""
    topic = _STEPS_HEADING.sub("", heading.strip())
    topic = re.sub(r"ตัวชี้วัดความสำเร็จ|\(ต่อ\)|[:：/*]", " ", topic)
    topic = re.sub(r"\s+", " ", topic).strip()
    if not topic:
        first = next((i for i in items if i.kind == "subheading"), None)
        topic = first.text if first else ""
    return _trim(topic, 50)


def _step_groups(process: Process) -> list[tuple[str, list[Item]]]:
    sections = [section for section in process.sections if section.kind == "steps" and section.items]
    groups = [(_steps_topic(section.heading, section.items), section.items) for section in sections]
    if len(groups) > 1:
        return [(topic or f"ส่วนที่ {n}", items) for n, (topic, items) in enumerate(groups, start=1)]
    return groups


def draft_process(process: Process, manual: Manual, today: dt.date) -> list[tuple[str, dict[str, object]]]:
    """The draft articles of one process, as (kind, article-without-id) pairs."""
    office = manual.office_name
    according = _according(office)
    name = short_name(process)
    full = work_name(process)
    category = guess_category(process)
    keywords = keywords_for(process)
    drafts: list[tuple[str, dict[str, object]]] = []

    def article(kind: str, title: str, questions: list[str], answer: str, lines: str) -> None:
        body: dict[str, object] = {
            "title": title,
            "category": category,
            "questions": questions,
            "answer": answer.strip() + "\n",
            "source": {
                "file": manual.file or "",
                "lines": lines,
                "office": office or UNKNOWN_OFFICE,
                "section": re.sub(r"\s+", " ", process.name).strip(),
            },
            "scope": "office" if office else "general",
            "office": office,
            "action": "answer",
        }
        if keywords:
            body["keywords"] = list(keywords)
        body["reviewed"] = today
        body["status"] = "draft"
        drafts.append((kind, body))

    steps, origin = _steps_of(process)

    # 1. What the work is: objectives, scope (or the description when there are none).
    objectives = process.objectives
    scope = process.scope
    described = [i for i in process.description if i.kind == "paragraph"]
    if objectives or scope or described:
        parts: list[str] = []
        if objectives:
            parts.append(f"{according}{full} มีวัตถุประสงค์ดังนี้")
            parts += _numbered(objectives) if len(objectives) > 1 else [_clean_item(objectives[0].text)]
        else:
            parts.append(f"{according}{full} มีรายละเอียดดังนี้")
            parts += [_clean_item(i.text) for i in described[:2]]
            if origin != "description":
                parts += _numbered([i for i in process.description if i.kind in ("item", "bullet")][:12])
        if scope:
            parts.append("ขอบเขตของงาน: " + " ".join(_clean_item(i.text) for i in scope))
        head = (process.start, process.start)
        shown = (
            []
            if objectives
            else [i for i in process.description if origin != "description" or i.kind == "paragraph"]
        )
        lines = _lines(head, _span(objectives), _span(scope), _span(shown[:14]))
        if objectives:
            title = f"{name}: วัตถุประสงค์และขอบเขต" if scope else f"{name}: วัตถุประสงค์"
            templates = (
                "{name} คืออะไร",
                "{name} มีวัตถุประสงค์อะไร",
                "{name} ทำอะไรบ้างคะ",
                "ขอบเขตของ{name} ครอบคลุมอะไรบ้าง",
            )
        else:
            title = f"{name}: รายละเอียดงาน"
            templates = (
                "{name} คืออะไร",
                "{name} ทำอะไรบ้างคะ",
                "{name} มีขอบข่ายงานอะไรบ้าง",
                "ขอรายละเอียด{name} หน่อยครับ",
            )
        article(
            "overview",
            title,
            _questions(templates, name, full),
            "\n".join(parts),
            lines or f"{process.start}-{process.end}",
        )

    # 2. Steps: one draft per steps section (a manual may describe two procedures, e.g. AMSS++ and รับ-ส่ง).
    groups = _step_groups(process) if origin == "steps" else [("", steps)]
    for position, (topic, items) in enumerate(groups):
        listed = _numbered(items)
        quoted = topic.replace("{", "{{").replace("}", "}}")  # the templates go through str.format
        if position == 0:
            intro = f"{according}ขั้นตอนการปฏิบัติงานของ{full}" + (f" ({topic})" if topic else "") + " มีดังนี้"
            templates = [
                "{name} มีขั้นตอนอย่างไร",
                "ขั้นตอนการปฏิบัติ{name}",
                "{name} ต้องทำอะไรบ้างคะ",
                "ขอขั้นตอน{name} หน่อยครับ",
            ]
            if topic:
                templates.append(f"ขั้นตอน{quoted} ทำอย่างไร")
            title = f"ขั้นตอน{name}" + (f" ({topic})" if topic else "")
        else:
            intro = f"{according}ขั้นตอน{topic}ใน{full} มีดังนี้"
            templates = [
                f"{quoted} มีขั้นตอนอย่างไร",
                f"ขั้นตอน{quoted}ใน{{name}}",
                f"{quoted} ต้องทำอะไรบ้างคะ",
                f"ขอขั้นตอน{quoted} หน่อยครับ",
            ]
            title = f"ขั้นตอน{topic} ({name})"
        article(
            "steps",
            title,
            _questions(templates, name, full),
            "\n".join([intro, *listed]),
            _lines(_span(items)) or f"{process.start}-{process.end}",
        )

    # 3. Forms.
    forms = [i for i in process.forms if _clean_item(i.text)]
    if forms:
        answer = "\n".join([f"{according}{full} ใช้แบบฟอร์มดังนี้", *_numbered(forms)])
        article(
            "forms",
            f"แบบฟอร์มที่ใช้ใน{name}",
            _questions(
                (
                    "ต้องใช้แบบฟอร์มอะไรใน{name}",
                    "{name} ใช้แบบฟอร์มอะไรบ้าง",
                    "ขอแบบฟอร์ม{name} ค่ะ",
                    "เอกสารที่ต้องกรอกสำหรับ{name} มีอะไรบ้าง",
                ),
                name,
                full,
            ),
            answer,
            _lines(_span(forms)) or f"{process.start}-{process.end}",
        )

    # 4. Time standards.
    times = process.time_standards
    if times and any(t.duration or t.time_text for t in times):
        rows = []
        for number, standard in enumerate(times, start=1):
            when = standard.time_text or "ไม่ได้ระบุเวลา"
            rows.append(f"{number}. {_clean_item(standard.step)}: {when}")
        answer = "\n".join([f"{according}เวลาดำเนินงานของแต่ละขั้นตอนใน{full} มีดังนี้", *rows])
        article(
            "times",
            f"ระยะเวลาดำเนินการของ{name}",
            _questions(
                (
                    "{name} ใช้เวลากี่วัน",
                    "{name} ใช้เวลานานเท่าไหร่คะ",
                    "มาตรฐานระยะเวลาของ{name}",
                    "แต่ละขั้นตอนของ{name} ใช้เวลาเท่าไร",
                ),
                name,
                full,
            ),
            answer,
            f"{min(t.line for t in times)}-{max(t.line for t in times)}",
        )

    # 5. Laws and reference documents.
    laws = [i for i in process.laws if _clean_item(i.text)]
    references = [i for i in process.references if _clean_item(i.text)]
    if laws or references:
        parts = [f"{according}{full} อ้างอิงกฎหมายและเอกสารดังนี้", *_numbered(laws + references)]
        article(
            "laws",
            f"กฎหมายและเอกสารอ้างอิงของ{name}",
            _questions(
                (
                    "{name} อ้างอิงกฎหมายอะไรบ้าง",
                    "กฎหมายที่เกี่ยวข้องกับ{name} มีอะไรบ้าง",
                    "{name} มีระเบียบหรือเอกสารอ้างอิงอะไร",
                ),
                name,
                full,
            ),
            "\n".join(parts),
            _lines(_span(laws), _span(references)) or f"{process.start}-{process.end}",
        )
    return drafts


def build_drafts(manual: Manual, today: dt.date | None = None, path: str | None = None) -> ManualDrafts:
    """All draft articles of a manual, numbered draft-<office-slug>-<n> in manual order."""
    today = today or dt.date.today()
    slug = office_slug(manual.office)
    drafts: list[Draft] = []
    number = 0
    for index, process in enumerate(manual.processes):
        for kind, body in draft_process(process, manual, today):
            number += 1
            drafts.append(Draft({"id": f"draft-{slug}-{number}", **body}, index, kind))
    return ManualDrafts(path or manual.file or "", manual, drafts)


def _comparable_name(process: Process) -> str:
    name = normalise_for_comparison(process.name)
    name = re.sub(r"^งาน", "", name)
    return re.sub(r"ของสำนักงานเขต.*$", "", name)


def _comparable(items: Sequence[Item]) -> str:
    return normalise_for_comparison(" ".join(item.text for item in items))


def same_process(a: Process, b: Process) -> bool:
    """Near-identical processes (the same template text in two manuals, OCR differences aside)."""
    name_a, name_b = _comparable_name(a), _comparable_name(b)
    if min(len(name_a), len(name_b)) >= 10:
        names = fuzz.partial_ratio(name_a, name_b)
    else:
        names = fuzz.ratio(name_a, name_b)
    steps = fuzz.ratio(_comparable(a.steps), _comparable(b.steps))
    if a.objectives and b.objectives:
        objectives = fuzz.ratio(_comparable(a.objectives), _comparable(b.objectives))
    else:
        objectives = None
    if names >= 90 and steps >= 85 and (objectives is None or objectives >= 90):
        return True
    return names >= 75 and steps >= 95 and objectives is not None and objectives >= 95


def deduplicate(sets: Sequence[ManualDrafts]) -> int:
    """Drop the drafts of processes that repeat an earlier one (within a manual or across manuals).

    The first occurrence is kept; later ones are listed in ``ManualDrafts.skipped``. Returns the count.
    """
    kept: list[tuple[ManualDrafts, Process]] = []
    removed = 0
    for drafts in sets:
        duplicate_of: dict[int, str] = {}
        for index, process in enumerate(drafts.manual.processes):
            match = next(((owner, p) for owner, p in kept if same_process(p, process)), None)
            if match is None:
                kept.append((drafts, process))
                continue
            owner, original = match
            duplicate_of[index] = f"{Path(owner.path).name} บรรทัด {original.start}-{original.end}"
            drafts.skipped.append((process, duplicate_of[index]))
            removed += 1
        drafts.drafts = [d for d in drafts.drafts if d.process_index not in duplicate_of]
    return removed


# ---------------------------------------------------------------------------------------------
# Checks and YAML
# ---------------------------------------------------------------------------------------------


def check_article(article: dict[str, object], line_count: int | None = None) -> list[str]:
    """Problems with one article against the format of knowledge/articles/README.md (empty = fine)."""
    problems: list[str] = []
    for name in REQUIRED_FIELDS:
        if name not in article:
            problems.append(f"missing field {name}")
    if problems:
        return problems
    if not isinstance(article["id"], str) or not _ID_RE.match(article["id"]):
        problems.append(f"bad id {article['id']!r}")
    if not isinstance(article["title"], str) or not article["title"].strip():
        problems.append("empty title")
    if article["category"] not in CATEGORIES:
        problems.append(f"unknown category {article['category']!r}")
    questions = article["questions"]
    if not isinstance(questions, list) or len(questions) < 3:
        problems.append("fewer than 3 questions")
    elif not all(isinstance(q, str) and q.strip() for q in questions) or len(set(questions)) != len(
        questions
    ):
        problems.append("empty or repeated question")
    if not isinstance(article["answer"], str) or not article["answer"].strip():
        problems.append("empty answer")
    source = article["source"]
    if not isinstance(source, dict) or not {"file", "lines", "office", "section"} <= set(source):
        problems.append("source needs file, lines, office, section")
    else:
        match = _LINES_RE.match(str(source["lines"]))
        if not match:
            problems.append(f"bad line range {source['lines']!r}")
        else:
            start, end = int(match.group(1)), int(match.group(2))
            if not 1 <= start <= end or (line_count is not None and end > line_count):
                problems.append(f"line range {source['lines']} outside the file")
    if article["scope"] not in ("general", "office"):
        problems.append(f"bad scope {article['scope']!r}")
    if article["scope"] == "office" and not article["office"]:
        problems.append("scope office without an office")
    if article["action"] not in ("answer", "handoff"):
        problems.append(f"bad action {article['action']!r}")
    if not isinstance(article["reviewed"], dt.date):
        problems.append("reviewed is not a date")
    if article["status"] != "draft":
        problems.append("status is not draft")
    if "keywords" in article and not isinstance(article["keywords"], list):
        problems.append("keywords is not a list")
    return problems


class _DraftDumper(yaml.SafeDumper):
    """Block style for multi-line answers, Thai kept readable, no anchors/aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_DraftDumper.add_representer(str, _represent_str)


def render_yaml(drafts: ManualDrafts) -> str:
    manual = drafts.manual
    header = [
        f"# ร่างบทความจากคู่มือ {Path(drafts.path).name or manual.file or ''}",
        f"# สำนักงาน: {manual.office_name or UNKNOWN_OFFICE}",
        "# สถานะ: ร่าง รอตรวจทานก่อนนำไปใช้ (ตรวจข้อความกับบรรทัดที่อ้างอิงทุกบทความ)",
        f"# กระบวนการที่พบ {len(manual.processes)} | ร่างบทความ {len(drafts.drafts)}"
        f" | ลบข้อมูลส่วนบุคคล {len(manual.redactions)} รายการ",
    ]
    for process, original in drafts.skipped:
        header.append(
            f"# ข้าม (ซ้ำกับ {original}): {_trim(process.name, 60)} บรรทัด {process.start}-{process.end}"
        )
    body = yaml.dump(
        drafts.articles,
        Dumper=_DraftDumper,
        allow_unicode=True,
        sort_keys=False,
        width=1000,
        default_flow_style=False,
    )
    return "\n".join(header) + "\n" + body


# ---------------------------------------------------------------------------------------------
# Reading files and the command
# ---------------------------------------------------------------------------------------------


class ManualReadError(Exception):
    """A manual that cannot be read as text; the message is for the person running the import."""


def read_manual_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ManualReadError(f"อ่านไฟล์ไม่ได้: {path} (ไม่พบไฟล์)") from exc
    except IsADirectoryError as exc:
        raise ManualReadError(f"อ่านไฟล์ไม่ได้: {path} (เป็นโฟลเดอร์ ไม่ใช่ไฟล์)") from exc
    except OSError as exc:
        raise ManualReadError(f"อ่านไฟล์ไม่ได้: {path} ({exc.strerror or exc})") from exc
    if b"\x00" in data:
        raise ManualReadError(f"อ่านไฟล์ไม่ได้: {path} (ไม่ใช่ไฟล์ข้อความ)")
    for encoding in ("utf-8-sig", "cp874"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ManualReadError(f"อ่านไฟล์ไม่ได้: {path} (ไม่ใช่ข้อความ UTF-8 หรือ TIS-620)")


@dataclass
class ImportReport:
    sets: list[ManualDrafts]
    written: list[Path]
    duplicates: int

    @property
    def processes(self) -> int:
        return sum(len(s.manual.processes) for s in self.sets)

    @property
    def drafts(self) -> int:
        return sum(len(s.drafts) for s in self.sets)

    @property
    def redactions(self) -> int:
        return sum(len(s.manual.redactions) for s in self.sets)


def import_manuals(
    paths: Sequence[Path],
    out_dir: Path,
    office: str | None = None,
    today: dt.date | None = None,
    dedupe: bool = True,
    on_parsed: Callable[[Path], None] | None = None,
    texts: Sequence[str] | None = None,
) -> ImportReport:
    """Read, parse and draft every manual, then write ``<out_dir>/<manual stem>.yaml`` for each.

    All files are read before anything is written, so an unreadable file leaves the folder untouched
    (:class:`ManualReadError`). ``texts`` may give the files' contents when the caller has read them.
    """
    if texts is None:
        texts = [read_manual_text(path) for path in paths]
    pairs = list(zip(paths, texts, strict=True))
    sets: list[ManualDrafts] = []
    slugs: dict[str, str] = {}
    for path, text in pairs:
        manual = parse_manual(text, file=path.name, office=office)
        drafts = build_drafts(manual, today=today, path=str(path))
        slug = office_slug(manual.office)
        if slugs.setdefault(slug, str(path.resolve())) != str(path.resolve()):
            # Two manuals of one office in one run: keep their ids apart.
            suffix = format(zlib.crc32(path.name.encode("utf-8")), "08x")[:6]
            for draft in drafts.drafts:
                draft.article["id"] = str(draft.article["id"]).replace(
                    f"draft-{slug}-", f"draft-{slug}-{suffix}-"
                )
        sets.append(drafts)
        if on_parsed is not None:
            on_parsed(path)
    duplicates = deduplicate(sets) if dedupe else 0
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for drafts in sets:
        target = out_dir / f"{Path(drafts.path).stem}.yaml"
        target.write_text(render_yaml(drafts), encoding="utf-8")
        written.append(target)
    return ImportReport(sets, written, duplicates)


def _default_out_dir() -> Path:
    instance = os.environ.get("HELPDESK_INSTANCE_DIR")
    return Path(instance) / "kb-drafts" if instance else DEFAULT_OUT_DIR


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=True))
@click.option(
    "-o",
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="โฟลเดอร์ปลายทางของร่างบทความ (ค่าเริ่มต้น instance/kb-drafts)",
)
@click.option("--office", default=None, help="ชื่อสำนักงานเจ้าของคู่มือ (ถ้าไม่ระบุจะหาจากเนื้อหาคู่มือ)")
@click.option("--keep-duplicates", is_flag=True, help="ไม่ตัดกระบวนการที่ซ้ำกับคู่มืออื่น")
def import_command(
    files: tuple[Path, ...], out_dir: Path | None, office: str | None, keep_duplicates: bool
) -> None:
    """นำเข้าคู่มือการปฏิบัติงาน แล้วเขียนร่างบทความฐานความรู้ (ไฟล์ YAML หนึ่งไฟล์ต่อหนึ่งคู่มือ)"""
    target = out_dir or _default_out_dir()
    try:
        texts = [read_manual_text(path) for path in files]
    except ManualReadError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    with click.progressbar(length=len(files), label="วิเคราะห์คู่มือ", file=sys.stderr) as bar:
        report = import_manuals(
            list(files),
            target,
            office=office,
            dedupe=not keep_duplicates,
            on_parsed=lambda _: bar.update(1),
            texts=texts,
        )
    for drafts, path in zip(report.sets, report.written, strict=True):
        manual = drafts.manual
        click.echo(
            f"{Path(drafts.path).name}: {manual.office_name or UNKNOWN_OFFICE} | กระบวนการ {len(manual.processes)}"
            f" | ร่างบทความ {len(drafts.drafts)} | ลบข้อมูลส่วนบุคคล {len(manual.redactions)} รายการ"
            f" | ข้ามกระบวนการซ้ำ {len(drafts.skipped)} -> {path}"
        )
        if manual.office is None:
            click.echo(f"  ไม่พบชื่อสำนักงานในคู่มือ {Path(drafts.path).name} ระบุได้ด้วย --office", err=True)
    click.echo(
        f"รวม: พบกระบวนการ {report.processes} | เขียนร่างบทความ {report.drafts}"
        f" | ลบข้อมูลส่วนบุคคล {report.redactions} รายการ | ข้ามกระบวนการซ้ำ {report.duplicates}"
    )


__all__ = [
    "CATEGORIES",
    "ImportReport",
    "ManualDrafts",
    "ManualReadError",
    "build_drafts",
    "check_article",
    "deduplicate",
    "draft_process",
    "guess_category",
    "import_command",
    "import_manuals",
    "office_slug",
    "read_manual_text",
    "render_yaml",
    "same_process",
]

if __name__ == "__main__":
    import_command()

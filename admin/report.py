"""The director's report (แบบ 7.2 สรุปรายงานสถิติการให้คำปรึกษา...) for a month or a fiscal year, as PDF
and XLSX, and the `helpdesk report` command.

The PDF is typeset by fpdf2 with HarfBuzz text shaping (uharfbuzz) and the Thai TLWG fonts (Debian
fonts-thai-tlwg, Laksaman = a Sarabun-style face), so tone marks and vowels sit where they belong.
Thai has no spaces between words: text is segmented with PyThaiNLP and zero-width spaces mark the
break opportunities fpdf2 wraps at. Charts are drawn with fpdf2's own rectangles and text, so every
label goes through the same shaping (a charting library would render Thai labels without shaping and
add a heavy dependency for a few bars).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin import labels as L
from admin import stats as S
from admin.templating import duration_th
from helpdesk.thaidate import MONTHS_SHORT, format_date, format_datetime
from tickets.models import KbArticle, utcnow

FONT_DIRS = (Path("/usr/share/fonts/truetype/tlwg"), Path("/usr/share/fonts/truetype/thai"))
FONT_REGULAR = "Laksaman.ttf"
FONT_BOLD = "Laksaman-Bold.ttf"
FAMILY = "Laksaman"
ZWSP = "\u200b"
_THAI = re.compile(r"[\u0e00-\u0e7f]")

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


class ReportError(RuntimeError):
    """The report cannot be produced (a Thai message for staff)."""


def font_paths() -> tuple[Path, Path]:
    custom = os.environ.get("HELPDESK_REPORT_FONT_DIR")
    dirs = (Path(custom),) if custom else FONT_DIRS
    for folder in dirs:
        regular, bold = folder / FONT_REGULAR, folder / FONT_BOLD
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise ReportError("ไม่พบฟอนต์ภาษาไทย Laksaman (ติดตั้งแพ็กเกจ fonts-thai-tlwg)")


# -- data ------------------------------------------------------------------------------------------------

@dataclass
class ReportData:
    office_name: str
    period: S.Period
    stats: S.Stats
    previous_total: int
    open_count: int
    overdue_count: int
    backlog: list[Any]
    low: dict[str, int]
    article_titles: dict[str, str] = field(default_factory=dict)
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def partial(self) -> bool:
        return self.period.end_utc > self.generated_at


def article_titles(session: Session, office_id: int) -> dict[str, str]:
    """Titles of the knowledge articles (files with this office's database edits applied)."""
    from knowledge.articles import apply_overrides, load_articles

    overrides = [{**row.data, "id": row.article_id, "enabled": row.enabled}
                 for row in session.scalars(select(KbArticle).where(KbArticle.office_id == office_id))]
    try:
        return {a.id: a.title for a in apply_overrides(load_articles(), overrides)}
    except Exception:  # a broken override must not stop the report
        return {a.id: a.title for a in load_articles()}


def gather(session: Session, office_id: int, office_name: str, period: S.Period,
           now: datetime | None = None) -> ReportData:
    now = now or utcnow()
    stats = S.compute(session, office_id, period, now=now, top_schools=10)
    open_count, overdue = S.open_overdue(session, office_id, now)
    return ReportData(
        office_name=office_name,
        period=period,
        stats=stats,
        previous_total=S.total_in(session, office_id, period.previous()),
        open_count=open_count,
        overdue_count=overdue,
        backlog=S.open_backlog(session, office_id, now, limit=10),
        low=S.low_ratings(session, office_id, period),
        article_titles=article_titles(session, office_id),
        generated_at=now,
    )


def pct(part: float | int | None, whole: float | int | None) -> str:
    if not whole:
        return "-"
    return f"{(part or 0) * 100 / whole:.1f}"


def rate_text(value: float | None) -> str:
    return "-" if value is None else f"ร้อยละ {value * 100:.1f}"


def issues_summary(d: ReportData) -> list[str]:
    """The issues and suggestions, in Thai sentences, derived only from the data."""
    st = d.stats
    out: list[str] = []
    if st.total == 0:
        return ["ไม่มีการขอรับคำปรึกษาในช่วงเวลานี้"]
    line = f"มีการขอรับคำปรึกษาทั้งหมด {st.total:,} เรื่อง"
    if d.previous_total:
        change = (st.total - d.previous_total) * 100 / d.previous_total
        word = "เพิ่มขึ้น" if change > 0 else "ลดลง"
        line += (f" {word}ร้อยละ {abs(change):.1f} จากช่วงก่อนหน้า ({d.previous_total:,} เรื่อง)"
                 if abs(change) >= 0.05 else " เท่ากับช่วงก่อนหน้า")
    out.append(line)
    top = [c for c in st.by_category if c["key"]][:3]
    if top:
        parts = [f"{L.CATEGORY_TH.get(c['key'], c['key'])} ({c['n']:,} เรื่อง ร้อยละ {pct(c['n'], st.total)})"
                 for c in top]
        out.append("ประเด็นที่ขอรับคำปรึกษามากที่สุด ได้แก่ " + " ".join(parts))
    if st.top_articles:
        titles = [d.article_titles.get(a, a) for a, _ in st.top_articles[:3]]
        out.append("คำถามที่พบบ่อยที่สุดในคลังความรู้ ได้แก่ " + " / ".join(titles))
    out.append(f"ระบบตอบคำถามได้เองโดยไม่ต้องส่งต่อเจ้าหน้าที่ {st.self_served:,} เรื่อง "
               f"({rate_text(st.self_service_rate)}) ส่งต่อเจ้าหน้าที่ {st.handoff:,} เรื่อง")
    fr, res = st.sla_rate("first_response"), st.sla_rate("resolution")
    if fr is not None or res is not None:
        out.append(f"ตอบกลับครั้งแรกทันกำหนด {rate_text(fr)} และแก้ไขเสร็จทันกำหนด {rate_text(res)}"
                   + (f" (เวลาตอบกลับครั้งแรกมัธยฐาน {duration_th(st.median_first_response_s)})"
                      if st.median_first_response_s is not None else ""))
    if d.open_count:
        out.append(f"ณ วันที่ออกรายงาน มีเรื่องที่ยังไม่แล้วเสร็จ {d.open_count:,} เรื่อง"
                   + (f" ในจำนวนนี้เกินกำหนดแล้ว {d.overdue_count:,} เรื่อง ควรเร่งติดตาม"
                      if d.overdue_count else ""))
    unanswered = [(k, n) for k, n in st.unanswered_by_category if n]
    if unanswered:
        total_un = sum(n for _, n in unanswered)
        k0 = unanswered[0][0]
        out.append(f"คำถามที่ระบบยังตอบไม่ได้และต้องส่งต่อเจ้าหน้าที่โดยไม่มีบทความรองรับ {total_un:,} เรื่อง "
                   f"ส่วนใหญ่อยู่ในหมวด{L.CATEGORY_TH.get(k0, k0 or L.NO_CATEGORY)} "
                   "ควรจัดทำบทความในคลังความรู้เพิ่มเติม")
    r = st.ratings
    if r.get("n"):
        avg = r.get("score_avg")
        out.append(f"ผลการติดตามหลังให้คำปรึกษา {r['n']:,} ราย ผู้ขอรับคำปรึกษาเข้าใจคำแนะนำ "
                   f"{rate_text(st.understanding_rate)} ความพึงพอใจเฉลี่ย "
                   f"{'-' if avg is None else f'{avg:.2f}'} จาก 5 คะแนน")
        if d.low.get("not_solved") or d.low.get("low_score"):
            out.append(f"มีผู้ตอบว่ายังแก้ปัญหาไม่ได้ {d.low.get('not_solved', 0):,} ราย และให้คะแนนความพึงพอใจ"
                       f"ระดับน้อย (1-2) {d.low.get('low_score', 0):,} ราย ควรทบทวนการให้คำปรึกษาในเรื่องดังกล่าว")
    else:
        out.append("ยังไม่มีผลการติดตามความเข้าใจและความพึงพอใจในช่วงเวลานี้")
    return out


# -- PDF -------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
    from pythainlp.tokenize import word_tokenize

    return word_tokenize


@lru_cache(maxsize=4096)
def breakable(text: str) -> str:
    """Thai text with zero-width spaces between words, where the PDF may wrap lines."""
    if not _THAI.search(text):
        return text
    words = _tokenizer()(text, engine="newmm", keep_whitespace=True)
    out: list[str] = []
    for word in words:
        if out and _THAI.search(out[-1][-1:]) and _THAI.match(word[:1] or " "):
            out.append(ZWSP)
        out.append(word)
    return "".join(out)


def _pdf_class() -> Any:
    from fpdf import FPDF

    class ReportPDF(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FAMILY, "", 10)
            self.set_text_color(110, 110, 110)
            self.cell(0, 6, f"{self.footer_text}   หน้า {self.page_no()}/{{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    return ReportPDF


class Writer:
    """Small layout helpers over fpdf2 for the report."""

    def __init__(self, title: str) -> None:
        regular, bold = font_paths()
        pdf = _pdf_class()(orientation="P", unit="mm", format="A4")
        pdf.add_font(FAMILY, "", str(regular))
        pdf.add_font(FAMILY, "B", str(bold))
        try:
            pdf.set_text_shaping(True)
        except Exception as exc:  # uharfbuzz missing
            raise ReportError("ต้องติดตั้งแพ็กเกจ uharfbuzz เพื่อจัดวางอักษรไทย") from exc
        pdf.set_margins(20, 18, 20)
        pdf.set_auto_page_break(True, margin=18)
        pdf.set_title(title)
        pdf.set_creator(L.APP_TITLE)
        pdf.set_lang("th")
        pdf.alias_nb_pages()
        self.pdf = pdf

    @property
    def width(self) -> float:
        return float(self.pdf.epw)

    def font(self, size: float = 14, bold: bool = False) -> None:
        self.pdf.set_font(FAMILY, "B" if bold else "", size)

    def para(self, text: str, size: float = 14, bold: bool = False, align: str = "L", h: float = 7.0,
             indent: float = 0.0) -> None:
        self.font(size, bold)
        if indent:
            self.pdf.set_x(self.pdf.l_margin + indent)
        self.pdf.multi_cell(self.width - indent, h, breakable(text), align=align, new_x="LMARGIN", new_y="NEXT")

    def heading(self, text: str) -> None:
        self.ensure(22)
        self.pdf.ln(2)
        self.para(text, size=15, bold=True)
        self.pdf.ln(1)

    def bullet(self, text: str) -> None:
        self.font(14)
        self.pdf.set_x(self.pdf.l_margin + 4)
        self.pdf.cell(5, 7, "•")
        self.pdf.multi_cell(self.width - 9, 7, breakable(text), new_x="LMARGIN", new_y="NEXT")

    def ensure(self, height: float) -> None:
        if self.pdf.get_y() + height > self.pdf.h - self.pdf.b_margin:
            self.pdf.add_page()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float],
              align: Sequence[str], size: float = 12.5) -> None:
        from fpdf.fonts import FontFace

        self.font(size)
        self.ensure(8 * min(len(rows) + 1, 4))
        self.pdf.set_fill_color(247, 249, 252)
        style = FontFace(emphasis="BOLD", fill_color=(226, 234, 244))
        with self.pdf.table(col_widths=tuple(widths), text_align=tuple(align), line_height=6.2,
                            headings_style=style, width=self.width, padding=(0.6, 1.2),
                            cell_fill_color=(247, 249, 252), cell_fill_mode="ROWS") as table:
            head = table.row()
            for h in headers:
                head.cell(breakable(h))
            for r in rows:
                row = table.row()
                for value in r:
                    row.cell(breakable(str(value)))
        self.pdf.ln(3)

    def hbar_chart(self, items: Sequence[tuple[str, int]], label_w: float = 72.0, bar_h: float = 6.0) -> None:
        """Horizontal bars with a label and the value, drawn with rectangles."""
        if not items:
            return
        pdf = self.pdf
        self.ensure(bar_h * len(items) + 6)
        top = pdf.get_y() + 1
        x0 = pdf.l_margin + label_w
        avail = self.width - label_w - 16
        peak = max(v for _, v in items) or 1
        self.font(11)
        for i, (label, value) in enumerate(items):
            y = top + i * (bar_h + 1.2)
            pdf.set_xy(pdf.l_margin, y)
            pdf.cell(label_w - 2, bar_h, _clip(label, 44), align="R")
            r, g, b = PALETTE[i % len(PALETTE)]
            pdf.set_fill_color(r, g, b)
            w = max(0.4, avail * value / peak)
            pdf.rect(x0, y + 0.6, w, bar_h - 1.2, style="F")
            pdf.set_xy(x0 + w + 1.5, y)
            pdf.cell(14, bar_h, f"{value:,}")
        pdf.set_fill_color(255, 255, 255)
        pdf.set_y(top + len(items) * (bar_h + 1.2) + 3)

    def vbar_chart(self, labels: Sequence[str], values: Sequence[int], height: float = 55.0,
                   title: str | None = None) -> None:
        """Vertical bars with a light grid (daily or monthly counts)."""
        if not values:
            return
        pdf = self.pdf
        self.ensure(height + 18)
        if title:
            self.para(title, size=12, bold=True)
        x0, y0 = pdf.l_margin + 10, pdf.get_y() + 2
        w, h = self.width - 12, height
        peak = max(values) or 1
        step = _nice_step(peak)
        top_value = step * max(1, -(-peak // step))
        self.font(9)
        pdf.set_draw_color(210, 214, 220)
        pdf.set_line_width(0.2)
        v = 0
        while v <= top_value:
            y = y0 + h - h * v / top_value
            pdf.line(x0, y, x0 + w, y)
            pdf.set_xy(pdf.l_margin - 2, y - 2)
            pdf.cell(11, 4, f"{v:,}", align="R")
            v += step
        n = len(values)
        slot = w / n
        bar_w = max(0.8, slot * 0.68)
        pdf.set_fill_color(*PALETTE[0])
        every = max(1, -(-n // 16))
        for i, value in enumerate(values):
            bh = h * value / top_value
            x = x0 + i * slot + (slot - bar_w) / 2
            if bh > 0:
                pdf.rect(x, y0 + h - bh, bar_w, bh, style="F")
            if i % every == 0 or n <= 16:
                pdf.set_xy(x0 + i * slot - 2, y0 + h + 0.8)
                pdf.cell(slot + 4, 4, labels[i], align="C")
        pdf.set_draw_color(0, 0, 0)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_y(y0 + h + 7)

    def dotted_lines(self, count: int, gap: float = 9.0) -> None:
        """Lines to write on by hand (the director's comments)."""
        pdf = self.pdf
        self.ensure(count * gap + 2)
        pdf.set_draw_color(120, 120, 120)
        pdf.set_line_width(0.2)
        with pdf.local_context():
            pdf.set_dash_pattern(dash=0.6, gap=1.2)
            for i in range(count):
                y = pdf.get_y() + (i + 1) * gap
                pdf.line(pdf.l_margin, y, pdf.l_margin + self.width, y)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_y(pdf.get_y() + count * gap + 3)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000):
        if peak / step <= 6:
            return step
    return max(1, peak // 5)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def render_pdf(d: ReportData) -> bytes:
    st = d.stats
    w = Writer(L.REPORT_TITLE)
    pdf = w.pdf
    pdf.footer_text = f"{d.office_name} · ออกรายงานเมื่อ {format_datetime(d.generated_at)}"
    pdf.add_page()

    w.para(L.REPORT_TITLE, size=18, bold=True, align="C", h=8.5)
    w.para(d.period.label, size=15, bold=True, align="C")
    if d.partial:
        w.para(f"(ข้อมูลถึงวันที่ {format_date(d.generated_at, True)})", size=12, align="C")
    w.para(f"{L.REPORT_GROUP} {d.office_name}", size=14, align="C")
    pdf.ln(3)
    w.para(f"เรียน ผู้อำนวยการ{d.office_name}", size=14)
    w.para(f"{L.REPORT_GROUP} ขอรายงานสรุปสถิติการให้คำปรึกษา แนะนำ ด้านระบบข้อมูลสารสนเทศและเทคโนโลยีดิจิทัล"
           f"เพื่อการศึกษา {d.period.label} ซึ่งบันทึกไว้ในทะเบียนคุมการให้คำปรึกษา รายละเอียดดังนี้", indent=0)

    w.heading("1. ภาพรวม")
    r = st.ratings
    kpis = [
        ("จำนวนเรื่องที่ขอรับคำปรึกษาทั้งหมด", f"{st.total:,} เรื่อง"),
        ("ระบบตอบได้เองโดยไม่ต้องส่งต่อเจ้าหน้าที่", f"{st.self_served:,} เรื่อง ({rate_text(st.self_service_rate)})"),
        ("ส่งต่อเจ้าหน้าที่ดำเนินการ", f"{st.handoff:,} เรื่อง"),
        ("เรื่องด่วน", f"{st.urgent:,} เรื่อง"),
        ("ดำเนินการแล้วเสร็จ", f"{st.done:,} เรื่อง"),
        ("ยังไม่แล้วเสร็จ (จากเรื่องในช่วงนี้)", f"{st.open_now:,} เรื่อง"),
        ("ลงทะเบียนรับเรื่องภายใน 30 นาที", rate_text(st.sla_rate("registration"))),
        ("ตอบกลับครั้งแรกทันกำหนด", rate_text(st.sla_rate("first_response"))),
        ("แก้ไขเสร็จทันกำหนด", rate_text(st.sla_rate("resolution"))),
        ("เวลาถึงการตอบกลับครั้งแรก (มัธยฐาน)", duration_th(st.median_first_response_s)),
        ("เวลาถึงการแก้ไขเสร็จ เรื่องที่เจ้าหน้าที่ดำเนินการ (มัธยฐาน)", duration_th(st.median_resolution_s)),
        ("ผู้ขอรับคำปรึกษาเข้าใจคำแนะนำ", f"{rate_text(st.understanding_rate)} (ตอบ {r.get('understood_n', 0):,} ราย)"),
        ("ความพึงพอใจ (ระดับ 4-5)", f"{rate_text(st.satisfaction_rate)} (ตอบ {r.get('score_n', 0):,} ราย)"),
        ("ความพึงพอใจเฉลี่ย", "-" if r.get("score_avg") is None else f"{r['score_avg']:.2f} จาก 5"),
    ]
    w.table(("รายการ", "ผล"), kpis, widths=(62, 38), align=("LEFT", "RIGHT"))

    w.heading("2. จำแนกตามประเภทการให้คำปรึกษา")
    rows = []
    for c in st.by_category:
        name = L.CATEGORY_TH.get(c["key"], c["key"]) if c["key"] else L.NO_CATEGORY
        rows.append((name, f"{c['n']:,}", pct(c["n"], st.total), f"{c['self_served']:,}", f"{c['handoff']:,}",
                     f"{c['done']:,}", f"{c['breached']:,}"))
    rows.append(("รวม", f"{st.total:,}", "100.0" if st.total else "-", f"{st.self_served:,}", f"{st.handoff:,}",
                 f"{st.done:,}", f"{sum(c['breached'] for c in st.by_category):,}"))
    w.table(("ประเภท", "จำนวน", "ร้อยละ", "ระบบตอบเอง", "ส่งต่อ", "เสร็จ", "เกินกำหนด"), rows,
            widths=(42, 11, 10, 12, 9, 9, 14), align=("LEFT",) + ("RIGHT",) * 6, size=11.5)
    w.hbar_chart([(L.CATEGORY_TH.get(c["key"], c["key"]) if c["key"] else L.NO_CATEGORY, c["n"])
                  for c in st.by_category[:10]])

    w.heading("3. จำแนกตามช่องทางและลักษณะคำขอ")
    ch_rows = [(L.CHANNEL_TH.get(k, k), f"{n:,}", pct(n, st.total)) for k, n in st.by_channel]
    w.table(("ช่องทาง", "จำนวน", "ร้อยละ"), ch_rows or [("-", "0", "-")], widths=(60, 20, 20),
            align=("LEFT", "RIGHT", "RIGHT"))
    in_rows = [(L.INTENT_TH.get(k, k or L.NOT_SET), f"{n:,}", pct(n, st.total)) for k, n in st.by_intent]
    w.table(("ลักษณะคำขอ", "จำนวน", "ร้อยละ"), in_rows or [("-", "0", "-")], widths=(60, 20, 20),
            align=("LEFT", "RIGHT", "RIGHT"))

    w.heading("4. แนวโน้ม")
    if d.period.kind == "fiscal_year":
        keys = S.months_of(d.period)
        w.vbar_chart([MONTHS_SHORT[int(k[5:7]) - 1] for k in keys], S.fill(st.by_month, keys),
                     title=f"จำนวนเรื่องรายเดือน ({S.month_label(keys[0])} – {S.month_label(keys[-1])})")
    else:
        keys = S.days_of(d.period)
        labels = [str(int(k[8:10])) for k in keys]
        w.vbar_chart(labels, S.fill(st.by_day, keys), title="จำนวนเรื่องรายวัน (วันที่ของเดือน)")
    if len(st.by_fiscal_year) > 1:
        w.table(("ปีงบประมาณ", "จำนวนเรื่อง"), [(f"พ.ศ. {fy}", f"{n:,}") for fy, n in st.by_fiscal_year],
                widths=(60, 40), align=("LEFT", "RIGHT"))

    w.heading("5. สถานศึกษาที่ขอรับคำปรึกษามากที่สุด")
    sc_rows = [(k or L.NO_SCHOOL, f"{n:,}", pct(n, st.total)) for k, n in st.by_school]
    w.table(("สถานศึกษา", "จำนวน", "ร้อยละ"), sc_rows or [("-", "0", "-")], widths=(60, 20, 20),
            align=("LEFT", "RIGHT", "RIGHT"))

    w.heading("6. สรุปประเด็นปัญหาและข้อเสนอแนะ")
    for line in issues_summary(d):
        w.bullet(line)
    pdf.ln(2)
    if st.top_articles:
        w.para("หัวข้อความรู้ที่ใช้ตอบบ่อยที่สุด", size=13, bold=True)
        w.table(("หัวข้อ", "จำนวนครั้ง"),
                [(d.article_titles.get(a, a), f"{n:,}") for a, n in st.top_articles],
                widths=(82, 18), align=("LEFT", "RIGHT"))
    if d.backlog:
        w.para("เรื่องค้างที่เก่าที่สุด ณ วันที่ออกรายงาน", size=13, bold=True)
        w.table(("เลขที่", "รับเรื่องเมื่อ", "ประเภท", "ความด่วน", "SLA"),
                [(b.number, format_date(b.received_at), L.CATEGORY_TH.get(b.category or "", L.NO_CATEGORY),
                  L.URGENCY_TH.get(b.urgency, b.urgency), "เกินกำหนด" if b[4] else "อยู่ในกำหนด") for b in d.backlog],
                widths=(22, 16, 36, 12, 14), align=("LEFT", "LEFT", "LEFT", "CENTER", "CENTER"), size=11.5)

    w.ensure(90)
    pdf.ln(6)
    w.para("จึงเรียนมาเพื่อโปรดทราบ", size=14, indent=20)
    pdf.ln(10)
    for line in ("ลงชื่อ ........................................................ ผู้รายงาน",
                 "(........................................................)",
                 "ตำแหน่ง ........................................................",
                 "วันที่ ........ เดือน ........................ พ.ศ. ..........."):
        w.para(line, size=14, align="C")
    pdf.ln(6)
    w.para("ความเห็นของผู้อำนวยการสำนักงานเขตพื้นที่การศึกษา", size=14, bold=True)
    w.dotted_lines(3)
    return w.output()


# -- XLSX ------------------------------------------------------------------------------------------------

def render_xlsx(d: ReportData, path: str, ticket_rows: Iterator[list[Any]] | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from admin.exports import HEADERS, append_ticket_rows, xlsx_value

    st = d.stats
    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[int]) -> Any:
        ws = wb.create_sheet(title[:31])
        for i, width in enumerate(widths):
            ws.column_dimensions[chr(ord("A") + i)].width = width
        head = []
        for text in headers:
            cell = WriteOnlyCell(ws, value=text)
            cell.font = bold
            head.append(cell)
        ws.append(head)
        for r in rows:
            ws.append([xlsx_value(ws, v) for v in r])
        return ws

    summary = [
        ("รายงาน", L.REPORT_TITLE),
        ("ช่วงเวลา", d.period.label),
        ("หน่วยงาน", d.office_name),
        ("ออกรายงานเมื่อ", format_datetime(d.generated_at)),
        ("จำนวนเรื่องทั้งหมด", st.total),
        ("ระบบตอบได้เอง", st.self_served),
        ("ส่งต่อเจ้าหน้าที่", st.handoff),
        ("เรื่องด่วน", st.urgent),
        ("แล้วเสร็จ", st.done),
        ("ยังไม่แล้วเสร็จ", st.open_now),
        ("อัตราระบบตอบได้เอง (%)", _pct_num(st.self_service_rate)),
        ("ลงทะเบียนทันกำหนด (%)", _pct_num(st.sla_rate("registration"))),
        ("ตอบกลับครั้งแรกทันกำหนด (%)", _pct_num(st.sla_rate("first_response"))),
        ("แก้ไขเสร็จทันกำหนด (%)", _pct_num(st.sla_rate("resolution"))),
        ("เวลาตอบกลับครั้งแรก มัธยฐาน (ชั่วโมง)", _hours(st.median_first_response_s)),
        ("เวลาแก้ไขเสร็จ มัธยฐาน (ชั่วโมง)", _hours(st.median_resolution_s)),
        ("เข้าใจคำแนะนำ (%)", _pct_num(st.understanding_rate)),
        ("พึงพอใจระดับ 4-5 (%)", _pct_num(st.satisfaction_rate)),
        ("ความพึงพอใจเฉลี่ย (1-5)", round(st.ratings["score_avg"], 2) if st.ratings.get("score_avg") else None),
    ]
    sheet("สรุป", ("รายการ", "ค่า"), summary, (44, 60))
    sheet("ประเด็นปัญหา", ("สรุปประเด็นปัญหาและข้อเสนอแนะ",), [(x,) for x in issues_summary(d)], (120,))
    sheet("ประเภท", ("ประเภท", "จำนวน", "ระบบตอบเอง", "ส่งต่อ", "แล้วเสร็จ", "เกินกำหนด"),
          [(L.CATEGORY_TH.get(c["key"], c["key"]) if c["key"] else L.NO_CATEGORY, c["n"], c["self_served"],
            c["handoff"], c["done"], c["breached"]) for c in st.by_category], (50, 10, 12, 10, 10, 10))
    sheet("ช่องทาง", ("ช่องทาง", "จำนวน"), [(L.CHANNEL_TH.get(k, k), n) for k, n in st.by_channel], (24, 10))
    sheet("ลักษณะคำขอ", ("ลักษณะคำขอ", "จำนวน"), [(L.INTENT_TH.get(k, k or L.NOT_SET), n) for k, n in st.by_intent],
          (24, 10))
    sheet("สถานศึกษา", ("สถานศึกษา", "จำนวน"), [(k or L.NO_SCHOOL, n) for k, n in st.by_school], (44, 10))
    if d.period.kind == "fiscal_year":
        keys = S.months_of(d.period)
        sheet("รายเดือน", ("เดือน", "จำนวน"), list(zip([S.month_label(k) for k in keys],
                                                       S.fill(st.by_month, keys), strict=True)), (16, 10))
    else:
        keys = S.days_of(d.period)
        sheet("รายวัน", ("วันที่", "จำนวน"),
              [(format_date(datetime.fromisoformat(k).date()), n)
               for k, n in zip(keys, S.fill(st.by_day, keys), strict=True)], (18, 10))
    sheet("ปีงบประมาณ", ("ปีงบประมาณ (พ.ศ.)", "จำนวน"), st.by_fiscal_year, (18, 10))
    if ticket_rows is not None:
        ws = wb.create_sheet("ทะเบียนเรื่อง")
        head = []
        for text in HEADERS:
            cell = WriteOnlyCell(ws, value=text)
            cell.font = bold
            head.append(cell)
        ws.append(head)
        append_ticket_rows(ws, ticket_rows)
    wb.save(path)


def _pct_num(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def period_tickets(services: Any, period: S.Period) -> Iterator[list[Any]]:
    """The period's tickets as export rows (every status), for the XLSX report."""
    from datetime import timedelta

    from admin.exports import stream_rows
    from admin.queries import QueueFilter

    f = QueueFilter(statuses=[], date_from=period.start, date_to=period.end - timedelta(days=1), sort="oldest")
    return stream_rows(services, f, None)


def build(services: Any, period: S.Period, fmt: str, path: str | None = None) -> bytes | None:
    """Produce the report; PDF bytes are returned, an XLSX is written to `path`."""
    from helpdesk.db import session_scope

    with session_scope(services.session_factory) as session:
        data = gather(session, services.office_id, services.settings.office_name, period)
    if fmt == "pdf":
        content = render_pdf(data)
        if path:
            _atomic_write(path, content)
        return content
    if path is None:
        raise ValueError("an XLSX report needs a path")
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)) or ".", suffix=".xlsx.tmp")
    os.close(fd)
    try:
        render_xlsx(data, tmp, period_tickets(services, period))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return None


def _atomic_write(path: str, content: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def period_from_options(month: str | None, fiscal_year: str | None) -> S.Period:
    if bool(month) == bool(fiscal_year):
        raise click.UsageError("ระบุ --month (เช่น 2569-11) หรือ --fiscal-year (เช่น 2569) อย่างใดอย่างหนึ่ง")
    try:
        return S.parse_month(month) if month else S.parse_fiscal_year(fiscal_year or "")
    except ValueError:
        raise click.BadParameter("ใช้ปี พ.ศ. เช่น --month 2569-11 หรือ --fiscal-year 2569") from None


@click.command("report")
@click.option("--month", default=None, help="เดือนของรายงาน ปี พ.ศ.-เดือน เช่น 2569-11")
@click.option("--fiscal-year", "fiscal_year", default=None, help="ปีงบประมาณ พ.ศ. เช่น 2569 (1 ต.ค. – 30 ก.ย.)")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx"]), default="pdf", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="ไฟล์ที่จะบันทึก")
def report_command(month: str | None, fiscal_year: str | None, fmt: str, output: str) -> None:
    """The monthly or fiscal-year statistics report for the director (PDF or XLSX)."""
    from helpdesk.config import load_settings
    from helpdesk.services import Services

    period = period_from_options(month, fiscal_year)
    services = Services.from_settings(load_settings())
    try:
        build(services, period, fmt, output)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.dispose()
    click.echo(f"บันทึกรายงาน{period.short_label} ({fmt.upper()}) แล้ว: {output}")

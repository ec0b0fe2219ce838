"""Statistics in SQL (both engines), the dashboard, the CSV/XLSX exports, the PDF/XLSX report and its CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from admin import report as R
from admin import stats as S
from helpdesk.db import write_session
from tests.test_admin_support import make_ticket
from tickets.models import Rating, Ticket

H = timedelta(hours=1)
D = timedelta(days=1)

pytest_plugins = ("tests.test_admin_support",)


def _set(services, number: str, **values) -> int:  # type: ignore[no-untyped-def]
    """Set columns directly (bypassing the SLA hook), to get exact times and due times."""
    with write_session(services.engine) as s:
        tid = s.query(Ticket.id).filter(Ticket.office_id == services.office_id, Ticket.number == number).scalar()
        s.execute(update(Ticket).where(Ticket.id == tid).values(**values))
        return tid


@pytest.fixture
def seeded(admin_app):  # type: ignore[no-untyped-def]
    """November 2568 (2025) with known times, plus tickets on both sides of the fiscal-year boundary."""
    services = admin_app.extensions["helpdesk"]
    base = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)  # 09:00 Bangkok
    rows = [
        # (category, channel, first response after, resolved after, fr due after, res due after, school, extra)
        ("hardware_repair", "line", 1 * H, 1 * D, 4 * H, 2 * D, "โรงเรียนบ้านหนองบัว", {}),
        ("hardware_repair", "line", 2 * H, 2 * D, 4 * H, 3 * D, "โรงเรียนบ้านหนองบัว", {}),
        ("network_internet", "email", 3 * H, 4 * D, 2 * H, 3 * D, "โรงเรียนวัดป่า", {}),  # fr late, res late
        ("student_data_dmc", "web", 10 * H, None, 4 * H, 400 * D, None, {}),  # fr late, resolution pending
    ]
    ids = []
    for i, (cat, ch, fr, res, fr_due, res_due, school, _extra) in enumerate(rows):
        received = base + i * D
        number = make_ticket(services, text=f"เรื่องที่ {i}", category=cat, channel=ch, school=school,
                             received_at=received)
        ids.append(_set(services, number, received_at=received, created_at=received + timedelta(minutes=5),
                        registration_due_at=received + timedelta(minutes=30),
                        first_response_at=received + fr, first_response_due_at=received + fr_due,
                        resolved_at=received + res if res else None, resolution_due_at=received + res_due,
                        status="resolved" if res else "open"))
    for i in range(2):  # answered by the bot alone
        received = base + (10 + i) * D
        number = make_ticket(services, text=f"ถามรอบ DMC {i}", category="student_data_dmc", handoff=False,
                             self_served=True, received_at=received, intent="question", status="resolved")
        ids.append(_set(services, number, received_at=received, created_at=received,
                        registration_due_at=received + timedelta(minutes=30), resolved_at=received,
                        first_response_due_at=None, resolution_due_at=None))
    merged = make_ticket(services, text="ซ้ำ", received_at=base)
    _set(services, merged, merged_into_id=ids[0], received_at=base)
    # 1 Oct 2025 01:00 Bangkok is fiscal year 2569; 30 Sep 2025 23:00 Bangkok is still 2568
    october = make_ticket(services, text="ต้นปีงบ", received_at=datetime(2025, 9, 30, 18, 0, tzinfo=UTC))
    _set(services, october, received_at=datetime(2025, 9, 30, 18, 0, tzinfo=UTC))
    september = make_ticket(services, text="ปลายปีงบ", received_at=datetime(2025, 9, 30, 16, 0, tzinfo=UTC))
    _set(services, september, received_at=datetime(2025, 9, 30, 16, 0, tzinfo=UTC))
    with write_session(services.engine) as s:
        for tid, understood, score, solved in ((ids[0], True, 5, True), (ids[1], True, 4, True),
                                               (ids[2], False, 2, False)):
            s.add(Rating(office_id=services.office_id, ticket_id=tid, understood=understood, score=score,
                         solved=solved, channel="line", comment="=cmd|' /C calc'!A0"))
    return services


def test_statistics_are_computed_in_sql(seeded) -> None:  # type: ignore[no-untyped-def]
    services = seeded
    now = datetime(2026, 1, 5, tzinfo=UTC)
    with write_session(services.engine) as s:
        st = S.compute(s, services.office_id, S.parse_month("2568-11"), now=now)
        fy = S.compute(s, services.office_id, S.parse_fiscal_year("๒๕๖๙"), now=now)
        fy68 = S.compute(s, services.office_id, S.fiscal_year_period(2568), now=now)
    assert st.total == 6 and st.self_served == 2 and st.handoff == 4 and st.done == 5 and st.open_now == 1
    assert st.self_service_rate == pytest.approx(2 / 6)
    assert st.sla["first_response"] == {"met": 2, "breached": 2, "pending": 0}
    assert st.sla["resolution"] == {"met": 2, "breached": 1, "pending": 1}
    assert st.sla["registration"] == {"met": 6, "breached": 0, "pending": 0}
    assert st.sla_rate("first_response") == pytest.approx(0.5)
    assert st.median_first_response_s == pytest.approx(2.5 * 3600, abs=1)  # 1h 2h 3h 10h
    assert st.median_resolution_s == pytest.approx(2 * 86400, abs=1)  # 1d 2d 4d (staff-handled only)
    assert st.ratings["n"] == 3 and st.understanding_rate == pytest.approx(2 / 3)
    assert st.satisfaction_rate == pytest.approx(2 / 3) and st.ratings["score_avg"] == pytest.approx(11 / 3)
    cats = {c["key"]: c for c in st.by_category}
    assert cats["hardware_repair"]["n"] == 2 and cats["student_data_dmc"]["n"] == 3
    assert cats["student_data_dmc"]["self_served"] == 2 and cats["network_internet"]["breached"] == 1
    assert dict(st.by_channel) == {"line": 4, "email": 1, "web": 1}
    assert dict(st.by_school)["โรงเรียนบ้านหนองบัว"] == 2 and dict(st.by_school)[""] == 3
    assert dict(st.by_day)["2025-11-03"] == 1 and sum(dict(st.by_day).values()) == 6
    assert dict(st.by_month) == {"2025-11": 6}
    # the fiscal year starts on 1 October in Bangkok time
    assert fy.total == 7 and dict(fy.by_month)["2025-10"] == 1
    assert fy68.total == 1
    assert dict(fy.by_fiscal_year) == {2568: 1, 2569: 7}


def test_periods_and_labels() -> None:
    p = S.parse_month("2569-11")
    assert (p.start.isoformat(), p.end.isoformat(), p.label) == ("2026-11-01", "2026-12-01",
                                                                 "ประจำเดือนพฤศจิกายน พ.ศ. 2569")
    fy = S.parse_fiscal_year("2569")
    assert (fy.start.isoformat(), fy.end.isoformat()) == ("2025-10-01", "2026-10-01")
    assert "1 ตุลาคม 2568 – 30 กันยายน 2569" in fy.label
    assert S.parse_month("๒๕๖๙-๐๑").previous().key == "2568-12"
    assert S.current_fiscal_year(datetime(2026, 9, 30, 16, 59, tzinfo=UTC)) == 2569
    assert S.current_fiscal_year(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == 2570
    for bad in ("2026-11", "2569-13", "abc"):
        with pytest.raises(ValueError):
            S.parse_month(bad)


def test_dashboard_page(seeded, signed_in) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed_in("viewer")
    page = client.get("/admin/stats?period=month&month=2568-11").get_data(as_text=True)
    assert "ประจำเดือนพฤศจิกายน พ.ศ. 2568" in page
    assert "vendor/chart.umd.min.js" in page and 'id="chart-data"' in page
    data = page.split('id="chart-data">')[1].split("</script>")[0]
    charts = json.loads(data.replace("&#34;", '"'))
    assert "แจ้งซ่อมคอมพิวเตอร์และอุปกรณ์" in charts["category"]["labels"]
    assert sum(charts["trend"]["values"]) == 6 and len(charts["trend"]["values"]) == 30
    assert "33.3%" in page  # self-service rate 2/6
    fy = client.get("/admin/stats?period=fy&fy=2569").get_data(as_text=True)
    assert "ประจำปีงบประมาณ พ.ศ. 2569" in fy
    rng = client.get("/admin/stats?period=range&from=1/11/2568&to=5/11/2568").get_data(as_text=True)
    assert "ระหว่างวันที่ 1 พฤศจิกายน 2568 ถึง 5 พฤศจิกายน 2568" in rng
    bad = client.get("/admin/stats?period=month&month=2025-11").get_data(as_text=True)
    assert "ช่วงเวลาไม่ถูกต้อง" in bad


def test_csv_and_xlsx_exports(seeded, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = seeded
    evil = make_ticket(services, text="=HYPERLINK(\"http://evil.example\",\"click\")\x07",
                       received_at=datetime(2025, 11, 20, 3, 0, tzinfo=UTC))
    client, _ = signed_in("viewer")
    query = "?status=all&date_from=1/11/2568&date_to=30/11/2568&sort=oldest"
    response = client.get("/admin/queue/export.csv" + query)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:5] == ["เลขที่", "วันเวลารับเรื่อง", "ลงทะเบียน", "ตอบกลับครั้งแรก", "แก้ไขเสร็จ"]
    assert len(rows) == 1 + 7
    first = rows[1]
    assert first[1] == "2568-11-03 09:00" and first[3] == "2568-11-03 10:00"
    assert first[6] == "แจ้งซ่อมคอมพิวเตอร์และอุปกรณ์" and first[10] == "โรงเรียนบ้านหนองบัว"
    assert first[14] == "ทันกำหนด" and first[16] == "เข้าใจ" and first[17] == "5"
    assert rows[3][14] == "เกินกำหนด" and rows[3][16] == "ไม่เข้าใจ"
    evil_row = next(r for r in rows if r[0] == evil)
    assert evil_row[11].startswith("'=HYPERLINK")  # neutralised for spreadsheets

    xlsx = client.get("/admin/queue/export.xlsx" + query)
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.data))
    ws = wb.worksheets[0]
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "เลขที่" and len(values) == 8
    cell = next(c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value)
    assert cell.data_type == "s" and "\x07" not in cell.value  # text, not a formula; control characters dropped
    xlsx.close()
    # the export follows the filter
    only = client.get("/admin/queue/export.csv?status=all&channel=email").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(only[1:])))) == 2


def _pdf_text_codepoints(pdf: bytes) -> set[int]:
    """Unicode code points named in the PDF's ToUnicode maps (the text a reader can copy out)."""
    found: set[int] = set()
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            data = zlib.decompress(m.group(1))
        except zlib.error:
            data = m.group(1)
        if b"beginbfchar" in data or b"beginbfrange" in data:
            found.update(int(h, 16) for h in re.findall(rb"<([0-9A-Fa-f]{4})>", data))
    return found


def test_pdf_report_and_downloads(seeded, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = seeded
    pdf = R.build(services, S.parse_month("2568-11"), "pdf")
    assert pdf is not None and pdf.startswith(b"%PDF-")
    assert b"Laksaman" in pdf  # the Thai TLWG font is embedded
    assert len(re.findall(rb"/Type /Page\b", pdf)) >= 2
    codepoints = _pdf_text_codepoints(pdf)
    assert {0x0E2A, 0x0E16, 0x0E34, 0x0E48} <= codepoints  # ส ถ ิ ่ : Thai letters, vowels and tone marks
    with write_session(services.engine) as s:
        data = R.gather(s, services.office_id, "สพป.ทดสอบ", S.parse_month("2568-11"))
    lines = R.issues_summary(data)
    assert lines[0].startswith("มีการขอรับคำปรึกษาทั้งหมด 6 เรื่อง")
    assert any("ตอบกลับครั้งแรกทันกำหนด ร้อยละ 50.0" in x for x in lines)
    assert R.breakable("ระบบสารสนเทศเพื่อการศึกษา").count(R.ZWSP) >= 2

    client, _ = signed_in("viewer")
    response = client.get("/admin/reports/download?kind=month&month=2568-11&format=pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    xlsx = client.get("/admin/reports/download?kind=fy&fy=2569&format=xlsx")
    wb = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert wb.sheetnames[:3] == ["สรุป", "ประเด็นปัญหา", "ประเภท"] and "ทะเบียนเรื่อง" in wb.sheetnames
    summary = {row[0]: row[1] for row in wb["สรุป"].iter_rows(values_only=True)}
    assert summary["จำนวนเรื่องทั้งหมด"] == 7
    assert len(list(wb["ทะเบียนเรื่อง"].iter_rows(values_only=True))) == 8
    assert len(list(wb["รายเดือน"].iter_rows(values_only=True))) == 13
    wb.close()
    xlsx.close()
    assert client.get("/admin/reports/download?kind=month&month=bad&format=pdf").status_code == 400
    assert "2569-" in client.get("/admin/reports").get_data(as_text=True)


def test_report_command(seeded, runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from admin import report_command

    out = tmp_path / "nov.pdf"
    result = runner.invoke(report_command, ["--month", "2568-11", "--format", "pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF-") and "พฤศจิกายน 2568" in result.output
    xlsx = tmp_path / "fy.xlsx"
    result = runner.invoke(report_command, ["--fiscal-year", "2569", "--format", "xlsx", "-o", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert load_workbook(xlsx, read_only=True).sheetnames[0] == "สรุป"
    bad = runner.invoke(report_command, ["--month", "2025-11", "-o", str(out)])
    assert bad.exit_code == 2 and "พ.ศ." in bad.output
    both = runner.invoke(report_command, ["--month", "2568-11", "--fiscal-year", "2569", "-o", str(out)])
    assert both.exit_code == 2

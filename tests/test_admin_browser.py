"""The admin app in a real headless Chromium (Debian's chromium, driven by Playwright): login -> queue ->
ticket -> reply -> dashboard charts -> exports -> report download -> logout, on a desktop and a phone
screen, with no script errors and no Content-Security-Policy violations."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.serving import make_server

from helpdesk.db import write_session
from tests.test_admin_support import PASSWORD, make_ticket
from tickets.models import Attachment, Message, OutboxMessage, Ticket

CHROMIUM = os.environ.get("HELPDESK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

pytestmark = pytest.mark.slow

pytest_plugins = ("tests.test_admin_support",)


@pytest.fixture
def live_server(admin_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, admin_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/queue")


def test_staff_workflow_in_a_real_browser(admin_app, staff, live_server, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    number = make_ticket(services, text="จอคอมห้องพักครูไม่ติดค่ะ <b>ด่วน</b>", who="browser-user",
                         display_name="ครูทดสอบ", school="โรงเรียนบ้านหนองบัว", urgency="urgent")
    with write_session(services.engine) as s:
        t = s.scalar(select(Ticket).where(Ticket.number == number))
        first = s.scalar(select(Message).where(Message.ticket_id == t.id))
        s.add(Attachment(office_id=t.office_id, message_id=first.id, filename="screen.png", content_type="image/png",
                         size=len(PNG), data=PNG))

    context = browser.new_context(accept_downloads=True, locale="th-TH", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = _watch(page)
    base = live_server

    _login(page, base, "agent1")
    row = page.locator("table.queue tbody tr", has_text=number)
    assert row.count() == 1 and "ด่วน" in row.inner_text()
    assert page.locator("b", has_text="ด่วน").count() == 0  # requester markup is shown as text
    page.fill("input[name=q]", "จอคอม")
    page.click(".searchbar button[type=submit]")
    assert page.locator("a.number", has_text=number).count() == 1

    page.click(f"a.number:text('{number}')")
    page.wait_for_url(f"**/admin/tickets/{number}")
    image_ok = page.eval_on_selector(".attachments img", "img => img.complete && img.naturalWidth > 0")
    assert image_ok
    assert "นาฬิกา SLA" in page.content()
    page.fill("form[action$='/reply'] textarea[name=text]", "กำลังส่งเจ้าหน้าที่ไปตรวจเช็กค่ะ")
    page.select_option("form[action$='/reply'] select[name=after]", "waiting")
    page.click("form[action$='/reply'] button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "ส่งเข้าคิวส่งทางLINEแล้ว" in page.inner_text(".flash-success")
    assert page.locator(".msg.out .badge.delivery-pending").count() == 1
    with write_session(services.engine) as s:
        item = s.scalar(select(OutboxMessage).where(OutboxMessage.ticket_id == t.id))
        assert item.recipient == "Ubrowser-user" and item.payload["messages"][0]["text"].startswith("กำลังส่ง")

    page.goto(f"{base}/admin/stats")
    page.wait_for_selector("body[data-charts-ready='1']")
    drawn = page.eval_on_selector_all("canvas[data-chart]", "cs => cs.filter(c => window.Chart.getChart(c)).length")
    assert drawn == 6
    assert "เรื่องทั้งหมด" in page.inner_text(".kpis")

    page.goto(f"{base}/admin/queue?status=all")
    with page.expect_download() as info:
        page.click("a[data-export=xlsx]")
    xlsx = tmp_path / "tickets.xlsx"
    info.value.save_as(xlsx)
    rows = list(load_workbook(xlsx, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "เลขที่" and rows[1][0] == number
    with page.expect_download() as info:
        page.click("a[data-export=csv]")
    csv_file = tmp_path / "tickets.csv"
    info.value.save_as(csv_file)
    assert number in csv_file.read_text(encoding="utf-8-sig")

    page.goto(f"{base}/admin/reports")
    with page.expect_download() as info:
        page.click("form:has(input[value=month]) button[value=pdf]")
    pdf = tmp_path / "report.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-") and info.value.suggested_filename.startswith("report-25")

    page.click("summary:text('เมนู')")
    page.click("button:text('ออกจากระบบ')")
    page.wait_for_url(f"{base}/admin/login")
    page.goto(f"{base}/admin/queue")
    assert "/admin/login" in page.url

    # a phone: the queue fits the screen width, the ticket page too
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    problems += _watch(mobile)
    _login(mobile, base, "viewer1")
    for url in ("/admin/queue", f"/admin/tickets/{number}", "/admin/stats"):
        mobile.goto(base + url)
        overflow = mobile.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (url, overflow)
    assert mobile.locator("form[action$='/reply']").count() == 0  # a viewer cannot reply
    phone.close()
    context.close()
    assert problems == [], problems

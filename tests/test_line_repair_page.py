"""The online repair form at /repair: standalone in a browser and as a LIFF app inside LINE."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from helpdesk.db import session_scope, write_session
from tests.fake_line_api import LineHarness, user_id
from tickets.models import Attachment, Requester, School, Ticket

JPEG = b"\xff\xd8\xff\xe0" + b"\x02" * 3000 + b"\xff\xd9"


def form_page(line: LineHarness) -> dict[str, str]:
    response = line.client.get("/repair")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]
            for name in ("csrf", "form_id")}


def submit(line: LineHarness, hidden: dict[str, str], **fields):  # type: ignore[no-untyped-def]
    data = {"equipment": "ปริ้นเตอร์", "symptom": "พิมพ์ไม่ออก ไฟแดงกระพริบ", "place": "ห้องธุรการ",
            "school": "โรงเรียนบ้านหนองบัว", **hidden, **fields}
    return line.client.post("/repair", data=data, content_type="multipart/form-data")


def count_tickets(line: LineHarness) -> int:
    with session_scope(line.services.session_factory) as s:
        return int(s.scalar(select(func.count()).select_from(Ticket)) or 0)


def test_form_page_is_thai_mobile_and_lists_the_schools(line: LineHarness) -> None:
    with write_session(line.services.engine) as s:
        s.add(School(office_id=line.services.office_id, name="โรงเรียนบ้านหนองบัว"))
    html = line.client.get("/repair").get_data(as_text=True)
    assert "แบบแจ้งซ่อมออนไลน์" in html and 'name="viewport"' in html
    assert '<option value="โรงเรียนบ้านหนองบัว">' in html
    assert "liff/edge/2/sdk.js" in html  # LINE_LIFF_ID is set in the tests
    assert line.client.get("/repair/static/repair.js").status_code == 200


def test_standalone_report_with_photo_registers_a_web_ticket(line: LineHarness) -> None:
    hidden = form_page(line)
    response = submit(line, hidden, urgent="1", name="ครูสมใจ", phone="0",
                      photo=(io.BytesIO(JPEG), "IMG_0001.JPG"))
    assert response.status_code == 200, response.get_data(as_text=True)
    with session_scope(line.services.session_factory) as s:
        ticket = s.scalar(select(Ticket))
        assert ticket.number in response.get_data(as_text=True)
        assert ticket.channel == "web" and ticket.urgency == "urgent" and ticket.handoff
        assert ticket.category == "hardware_repair" and ticket.subject.startswith("แจ้งซ่อม: ปริ้นเตอร์")
        att = s.scalar(select(Attachment))
        assert att.data == JPEG and att.content_type == "image/jpeg"
        assert ticket.requester.web_id is not None
    # The same form sent twice registers one ticket.
    again = submit(line, hidden, photo=(io.BytesIO(JPEG), "IMG_0001.JPG"))
    assert again.status_code == 200 and count_tickets(line) == 1


def test_liff_report_belongs_to_the_line_user_and_is_confirmed_in_the_chat(line: LineHarness) -> None:
    uid = user_id("liff")
    hidden = form_page(line)
    response = submit(line, hidden, id_token=f"fake-id-token:{uid}")
    assert response.status_code == 200
    assert "แชต LINE" in response.get_data(as_text=True)
    with session_scope(line.services.session_factory) as s:
        ticket = s.scalar(select(Ticket))
        assert ticket.channel == "line" and ticket.requester.line_user_id == uid
        number = ticket.number
    verify = line.fake.requests("/oauth2/v2.1/verify")
    assert len(verify) == 1 and b"client_id=1650000000" in verify[0].body
    pushes = line.fake.requests("/v2/bot/message/push")
    assert len(pushes) == 1 and pushes[0].json["to"] == uid
    assert number in line.fake.texts(pushes)[0]
    assert submit(line, hidden, id_token=f"fake-id-token:{uid}").status_code == 200
    assert count_tickets(line) == 1 and len(line.fake.requests("/v2/bot/message/push")) == 1
    # The same report by the guided chat gives the same kind of ticket.
    for text in ("แจ้งซ่อม", "ปริ้นเตอร์", "พิมพ์ไม่ออก ไฟแดงกระพริบ", "ห้องธุรการ", "ข้าม"):
        line.say(uid, text)
    with session_scope(line.services.session_factory) as s:
        web, chat = s.scalars(select(Ticket).order_by(Ticket.id)).all()
        fields = ("channel", "category", "intent", "urgency", "handoff", "status", "requester_id")
        assert [getattr(web, f) for f in fields] == [getattr(chat, f) for f in fields]
        assert web.subject == chat.subject


def test_bad_submissions_are_refused(line: LineHarness) -> None:
    hidden = form_page(line)
    r = submit(line, hidden, id_token="forged")
    assert r.status_code == 400 and "ยืนยันตัวตนกับ LINE ไม่สำเร็จ" in r.get_data(as_text=True)
    r = submit(line, {**hidden, "csrf": "wrong"})
    assert r.status_code == 400 and "หมดอายุ" in r.get_data(as_text=True)
    r = submit(line, hidden, symptom="", equipment="")
    assert r.status_code == 400 and "กรุณากรอกอาการที่พบ" in r.get_data(as_text=True)
    r = submit(line, hidden, photo=(io.BytesIO(b"MZ\x90\x00 not an image"), "virus.exe"))
    assert r.status_code == 400 and "JPEG" in r.get_data(as_text=True)
    r = submit(line, hidden, photo=(io.BytesIO(b"\xff\xd8\xff" + b"0" * (9 * 1024 * 1024)), "huge.jpg"))
    assert r.status_code == 413
    r = submit(line, hidden, symptom="<script>alert(1)</script>", equipment="")
    assert "<script>alert(1)" not in r.get_data(as_text=True)
    assert count_tickets(line) == 0
    with session_scope(line.services.session_factory) as s:
        assert s.scalar(select(Requester)) is None


def test_a_flood_of_reports_is_throttled_per_sender_without_blocking_other_senders(line: LineHarness) -> None:
    from bot.line import repair_page

    for i in range(repair_page.PER_SENDER):
        r = submit(line, form_page(line), symptom=f"เครื่องที่ {i} เปิดไม่ติด")
        assert r.status_code == 200, r.get_data(as_text=True)
    hidden = form_page(line)
    r = submit(line, hidden)
    assert r.status_code == 429 and "ส่งแบบแจ้งซ่อมบ่อยเกินไป" in r.get_data(as_text=True)
    assert "นาที" in r.get_data(as_text=True)
    assert count_tickets(line) == repair_page.PER_SENDER
    # The reports keep no address or user id in the clear, only keyed hashes to count with.
    with session_scope(line.services.session_factory) as s:
        from tickets.models import InboundEvent

        metas = list(s.scalars(select(InboundEvent.meta).where(InboundEvent.source == "repair_form")))
        assert metas and all(set(m) == {"sender", "address"} and "127.0.0.1" not in str(m) for m in metas)
    # Another browser (a new session) at the same school address may still report.
    other = line.client.application.test_client()
    r = submit_from(other, symptom="จอดับ")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert count_tickets(line) == repair_page.PER_SENDER + 1


def submit_from(client, headers: dict[str, str] | None = None, **fields):  # type: ignore[no-untyped-def]
    """A report from its own browser session (and, with headers, its own forwarded address)."""
    page = client.get("/repair", headers=headers or {}).get_data(as_text=True)
    hidden = {name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
              for name in ("csrf", "form_id")}
    data = {"equipment": "จอ", "symptom": "จอดับ", **hidden, **fields}
    return client.post("/repair", data=data, content_type="multipart/form-data", headers=headers or {})


def test_one_address_is_throttled_and_a_trusted_proxy_tells_addresses_apart(line: LineHarness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.middleware.proxy_fix import ProxyFix

    from bot.line import repair_page

    monkeypatch.setattr(repair_page, "PER_ADDRESS", 2)
    app = line.client.application
    assert not isinstance(app.wsgi_app, ProxyFix)  # HELPDESK_PROXY_HOPS unset: the connection's address
    for _ in range(2):
        assert submit_from(app.test_client(), {"X-Forwarded-For": "203.0.113.7"}).status_code == 200
    # A forged X-Forwarded-For does not get around the limit when no proxy is trusted.
    assert submit_from(app.test_client(), {"X-Forwarded-For": "198.51.100.9"}).status_code == 429

    # Behind one trusted proxy (HELPDESK_PROXY_HOPS=1) each school's address counts on its own.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # as create_app wraps it
    assert submit_from(app.test_client(), {"X-Forwarded-For": "198.51.100.9"}).status_code == 200
    assert count_tickets(line) == 3


def test_proxy_hops_setting_wraps_the_app(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.middleware.proxy_fix import ProxyFix

    from helpdesk.app import create_app

    for key, value in {**env, "HELPDESK_PROXY_HOPS": "1"}.items():
        monkeypatch.setenv(key, value)
    app = create_app({"TESTING": True})
    try:
        assert isinstance(app.wsgi_app, ProxyFix) and app.wsgi_app.x_for == 1
    finally:
        app.extensions["helpdesk"].dispose()

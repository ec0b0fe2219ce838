"""Knowledge editing: articles saved in the database change the bot's answers without a restart (also in
other processes), drafts can be tried first; unanswered questions are grouped for new articles."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from sqlalchemy import select

from admin import kbsync
from helpdesk.db import write_session
from helpdesk.services import Services
from tests.test_admin_support import make_ticket
from tickets.models import AuditLog, KbArticle

QUESTION = "ปากกากระดานอัจฉริยะเขียนไม่ติดทำยังไง"
NEW_ARTICLE = {
    "id": "smart-board-pen",
    "title": "ปากกากระดานอัจฉริยะเขียนไม่ติด",
    "category": "hardware_repair",
    "questions": "ปากกากระดานอัจฉริยะเขียนไม่ติดทำยังไง\nสมาร์ทบอร์ดปากกาใช้ไม่ได้\nกระดานอัจฉริยะปากกาไม่ตอบสนอง",
    "answer": "ลองเปลี่ยนถ่านปากกาและจับคู่ปากกากับกระดานใหม่ หากยังใช้ไม่ได้ให้แจ้งซ่อมพร้อมรุ่นของกระดาน",
    "source_file": "",
    "source_lines": "",
    "source_office": "",
    "source_section": "",
    "scope": "general",
    "office": "",
    "action": "answer",
    "keywords": "สมาร์ทบอร์ด, smart board",
}

pytest_plugins = ("tests.test_admin_support",)


def test_articles_edited_in_the_database_change_answers(admin_app, signed_in, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A private model cache (edits must not evict the shared one), seeded with the shared default models.
    cache = tmp_path / "cache"
    cache.mkdir()
    for pickle in Path(os.environ["HELPDESK_CACHE_DIR"]).glob("knowledge-*.pickle"):
        shutil.copy(pickle, cache / pickle.name)
    monkeypatch.setenv("HELPDESK_CACHE_DIR", str(cache))
    services = admin_app.extensions["helpdesk"]
    other = Services.from_settings(services.settings)  # another process (a second worker) on the same database
    assert other.knowledge().article("smart-board-pen") is None
    kbsync.mark_built(other)
    client, token = signed_in("agent")

    listing = client.get("/admin/kb").get_data(as_text=True)
    total = int(re.search(r"\((\d+) บทความที่ใช้งาน\)", listing).group(1))
    assert total > 50
    assert "dmc" in client.get("/admin/kb?q=DMC").get_data(as_text=True).lower()

    bad = client.post("/admin/kb/save", data={**NEW_ARTICLE, "id": "Bad Id!", "csrf_token": token})
    assert bad.status_code == 400 and "รหัสบทความใช้ได้เฉพาะ" in bad.get_data(as_text=True)
    file_id = services.knowledge().articles[0].id
    taken = client.post("/admin/kb/save", data={**NEW_ARTICLE, "id": file_id, "csrf_token": token})
    assert taken.status_code == 400 and "มีอยู่แล้ว" in taken.get_data(as_text=True)

    # try the draft first: nothing is stored, the answer already uses it
    preview = client.post("/admin/kb/preview", data={**NEW_ARTICLE, "question": QUESTION, "csrf_token": token})
    assert preview.status_code == 200 and "smart-board-pen" in preview.get_data(as_text=True)
    with write_session(services.engine) as s:
        assert s.scalar(select(KbArticle)) is None

    saved = client.post("/admin/kb/save", data={**NEW_ARTICLE, "csrf_token": token})
    assert saved.status_code == 303
    with write_session(services.engine) as s:
        row = s.scalar(select(KbArticle).where(KbArticle.article_id == "smart-board-pen"))
        assert row.enabled and row.updated_by is not None
        assert set(row.data) >= {"title", "category", "questions", "answer", "source", "scope", "office", "action",
                                 "keywords", "reviewed"}
        assert row.data["questions"][1] == "สมาร์ทบอร์ดปากกาใช้ไม่ได้" and row.data["keywords"] == ["สมาร์ทบอร์ด",
                                                                                                 "smart board"]
        assert s.scalar(select(AuditLog.action).where(AuditLog.action == "kb_saved")) == "kb_saved"
    assert services.knowledge().answer(QUESTION).article.id == "smart-board-pen"  # no restart
    tried = client.get("/admin/kb/try", query_string={"q": QUESTION}).get_data(as_text=True)
    assert "smart-board-pen" in tried

    # the other process notices the change and rebuilds its own engine
    assert kbsync.refresh_if_stale(other, interval=0, background=False)
    assert other.knowledge().article("smart-board-pen") is not None
    assert not kbsync.refresh_if_stale(other, interval=0, background=False)

    # editing a file article overrides it; disabling removes it; reverting brings the file copy back
    edit = client.get(f"/admin/kb/{file_id}/edit").get_data(as_text=True)
    assert "readonly" in edit
    original = services.knowledge().article(file_id)
    form = {**NEW_ARTICLE, "id": file_id, "title": original.title, "category": original.category,
            "questions": "\n".join(original.questions), "answer": original.answer + " (ปรับปรุงโดยเจ้าหน้าที่)",
            "editing": "1", "csrf_token": token}
    assert client.post("/admin/kb/save", data=form).status_code == 303
    assert services.knowledge().article(file_id).answer.endswith("(ปรับปรุงโดยเจ้าหน้าที่)")
    assert client.post(f"/admin/kb/{file_id}/toggle", data={"csrf_token": token}).status_code == 303
    assert services.knowledge().article(file_id) is None
    assert "ปิดใช้" in client.get("/admin/kb").get_data(as_text=True)
    assert client.post(f"/admin/kb/{file_id}/revert", data={"csrf_token": token}).status_code == 303
    assert services.knowledge().article(file_id).answer == original.answer
    other.dispose()


def test_unanswered_questions_are_grouped(admin_app, signed_in) -> None:  # type: ignore[no-untyped-def]
    services = admin_app.extensions["helpdesk"]
    similar = [
        "โปรแกรมสแกนเอกสารหายไปจากเครื่องค่ะ",
        "โปรแกรมสแกนเอกสารหายไปจากคอมครับ",
        "โปรแกรมสแกนเอกสารหายไปไหนคะ ใช้ไม่ได้เลย",
    ]
    numbers = [make_ticket(services, text=t, category="hardware_repair", handoff=True) for t in similar]
    make_ticket(services, text="ขอรหัสผ่าน wifi ห้องสมุดค่ะ", category="network_internet", handoff=True)
    make_ticket(services, text="ขอรหัสผ่าน wifi ห้องสมุดหน่อยครับ", category="network_internet", confidence=0.3,
                handoff=False)
    make_ticket(services, text="รอบส่งข้อมูล DMC", handoff=False, article_id="dmc-data-rounds", confidence=0.95)
    make_ticket(services, text="สวัสดีค่ะ", intent="greeting", handoff=True)
    client, _ = signed_in("agent")
    page = client.get("/admin/kb/unanswered").get_data(as_text=True)
    assert "(5 เรื่อง)" in page
    assert "รอบส่งข้อมูล DMC" not in page and "สวัสดีค่ะ" not in page
    first = page.split("กลุ่มที่ 1")[1].split("กลุ่มที่ 2")[0]
    assert "3 คำถาม" in first and all(n in first for n in numbers)
    second = page.split("กลุ่มที่ 2")[1].split("กลุ่มที่ 3")[0]
    assert "2 คำถาม" in second and "wifi" in second
    link = re.search(r'href="(/admin/kb/new\?[^"]+)"', first).group(1).replace("&amp;", "&")
    form = client.get(link).get_data(as_text=True)
    assert "โปรแกรมสแกนเอกสารหายไปจากเครื่องค่ะ" in form
    assert '<option value="hardware_repair" selected>' in form

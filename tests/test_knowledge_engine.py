"""The engine: classifier on clear cases, retrieval from paraphrases, the composer's kinds, overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")

from knowledge import messages_th as M
from knowledge.articles import Article, Source, apply_overrides, load_articles, validate_articles
from knowledge.engine import (
    CATEGORIES,
    CATEGORY_LABELS_TH,
    INTENTS,
    URGENCIES,
    Answer,
    KnowledgeEngine,
    Understanding,
)

KINDS = {"answer", "choices", "handoff", "out_of_scope", "greeting", "feedback"}

MINI_KB = [
    {
        "id": "dmc-rounds",
        "title": "รอบการส่งข้อมูลนักเรียนในระบบ DMC",
        "category": "student_data_dmc",
        "questions": ["DMC ต้องส่งข้อมูลรอบไหนบ้างคะ", "ข้อมูลนักเรียนรายบุคคลเก็บกี่รอบ", "ยอดนักเรียน 10 มิ.ย. คือรอบอะไร"],
        "answer": "ระบบ DMC มีรอบข้อมูลนักเรียน 3 รอบ คือ 10 มิถุนายน 10 พฤศจิกายน และสิ้นปีการศึกษา",
        "source": {"file": "000_8aab4534b9640525.txt", "lines": "99-101", "office": "สพป.สุโขทัย เขต 2",
                   "section": "งานพัฒนาระบบข้อมูลสารสนเทศ"},
        "scope": "general", "office": None, "action": "answer", "keywords": ["DMC", "ดีเอ็มซี"],
        "reviewed": "2026-11-23",
    },
    {
        "id": "amss-attach-limit",
        "title": "AMSS++ แนบไฟล์ได้ครั้งละกี่ไฟล์ และไฟล์ชนิดใด",
        "category": "saraban_amss",
        "questions": ["ส่งหนังสือใน AMSS แนบไฟล์ได้กี่ไฟล์", "แนบไฟล์เกิน 5 ไฟล์ได้ไหม", "smart area รับไฟล์อะไรบ้าง"],
        "answer": "แนบได้ครั้งละไม่เกิน 5 ไฟล์ เฉพาะไฟล์ doc, docx, pdf, xls, xlsx, gif, jpg, zip, rar",
        "source": {"file": "004_5deac952307f1ef2.txt", "lines": "880-884", "office": "สพป.อุบลราชธานี เขต 1",
                   "section": "สารบรรณ"},
        "scope": "general", "office": None, "action": "answer", "keywords": ["แนบไฟล์", "AMSS++"],
    },
    {
        "id": "repair-report",
        "title": "วิธีแจ้งซ่อมคอมพิวเตอร์และอุปกรณ์",
        "category": "hardware_repair",
        "questions": ["คอมเสียต้องแจ้งซ่อมยังไงคะ", "แจ้งซ่อมปริ้นเตอร์ใช้ฟอร์มไหน", "อุปกรณ์พังต้องแจ้งใคร"],
        "answer": "ใช้แบบแจ้งซ่อมวัสดุอุปกรณ์หรือแบบแจ้งซ่อมออนไลน์ แล้วเจ้าหน้าที่จะติดต่อกลับ",
        "source": {"file": "004_5deac952307f1ef2.txt", "lines": "552-555", "office": "สพป.อุบลราชธานี เขต 1",
                   "section": "ซ่อมบำรุง"},
        "scope": "general", "office": None, "action": "handoff", "keywords": ["แจ้งซ่อม", "ซ่อมคอม"],
    },
    {
        "id": "dltv-no-signal",
        "title": "ทีวี DLTV ไม่มีสัญญาณ จานดาวเทียมเอียง",
        "category": "dltv_satellite",
        "questions": ["ทีวี dltv ขึ้น no signal", "จานดาวเทียมเอียง ภาพไม่ขึ้น", "ห้องเรียน DLTV ดูไม่ได้"],
        "answer": "แจ้งชื่อโรงเรียนและอาการ เจ้าหน้าที่จะตรวจสอบอุปกรณ์รับสัญญาณให้",
        "source": {"file": "002_x.txt", "lines": "150-151", "office": "สพป.ชัยภูมิ เขต 3", "section": "DLTV"},
        "action": "handoff", "keywords": ["จานดาวเทียม", "LNB"],
    },
    {
        "id": "zoom-meeting",
        "title": "ขอใช้ระบบประชุมทางไกล Zoom / Google Meet",
        "category": "digital_comms_web",
        "questions": ["ขอห้อง zoom ประชุมหน่อยค่ะ", "มีลิงก์ google meet ให้ไหม", "จะจัดประชุมทางไกลต้องทำยังไง"],
        "answer": "กลุ่ม ICT ดูแลระบบ Video Conference, Zoom และ Google Meet แจ้งวันเวลาประชุมได้เลย",
        "source": {"file": "004_5deac952307f1ef2.txt", "lines": "1762-1762", "office": "สพป.อุบลราชธานี เขต 1",
                   "section": "ประชุมทางไกล"},
        "action": "answer", "keywords": ["zoom", "meet", "vc"],
    },
    {
        "id": "oos-salary",
        "title": "เรื่องเงินเดือนและสลิปเงินเดือน",
        "category": "out_of_scope",
        "questions": ["ขอสลิปเงินเดือนหน่อย", "เงินเดือนออกวันไหน", "ขอหนังสือรับรองเงินเดือน"],
        "answer": "เรื่องเงินเดือนเป็นงานของกลุ่มบริหารงานการเงินและสินทรัพย์ กรุณาติดต่อกลุ่มดังกล่าวโดยตรง",
        "source": {"file": "004_5deac952307f1ef2.txt", "lines": "1200-1201", "office": "สพป.อุบลราชธานี เขต 1",
                   "section": "โครงสร้าง"},
        "action": "answer", "keywords": ["เงินเดือน", "สลิป"],
    },
]


@pytest.fixture(scope="module")
def mini_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kb")
    (folder / "mini.yaml").write_text(yaml.safe_dump(MINI_KB, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def mini(mini_dir: Path) -> KnowledgeEngine:
    return KnowledgeEngine.load(articles_dir=mini_dir, train_files=[], use_cache=False, office_name="สพป.ทดสอบ เขต 1")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeEngine:
    os.environ["HELPDESK_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    return KnowledgeEngine.load()


# ------------------------------------------------------------------ articles
def test_bundled_articles_load_and_validate() -> None:
    articles = load_articles()
    assert len(articles) >= 10
    assert len({a.id for a in articles}) == len(articles)
    assert all(a.category in CATEGORIES for a in articles)
    assert validate_articles() == []


def test_citation_line() -> None:
    art = Article(
        id="x", title="t", category="student_data_dmc", questions=("q",), answer="a",
        source=Source(file="000_8aab4534b9640525.txt", lines="99-101", office="สพป.สุโขทัย เขต 2"),
    )
    assert art.citation_th() == "ที่มา: คู่มือการปฏิบัติงาน สพป.สุโขทัย เขต 2 (000_8aab4534b9640525.txt บรรทัด 99-101)"


def test_constants() -> None:
    assert len(CATEGORIES) == 15 and CATEGORIES[-1] == "out_of_scope"
    assert set(CATEGORY_LABELS_TH) == set(CATEGORIES)
    assert INTENTS == ("question", "incident", "request", "followup", "feedback", "greeting")
    assert URGENCIES == ("urgent", "normal")


# ------------------------------------------------------------------ overrides
def test_overrides_replace_add_remove(mini_dir: Path) -> None:
    base = load_articles(mini_dir)
    out = apply_overrides(base, [
        {"id": "dmc-rounds", "answer": "คำตอบที่แก้ไขแล้ว", "enabled": True},
        {"id": "zoom-meeting", "enabled": False},
        {"id": "new-article", "title": "บทความใหม่", "category": "general_consult", "questions": ["ถามอะไร"],
         "answer": "ตอบ", "source": {"file": "001_x.txt", "lines": "1-2", "office": "สพม.ทดสอบ"}},
        {"id": "broken", "title": "ไม่มีคำตอบ", "category": "nope"},
        "not a dict",
    ])
    ids = [a.id for a in out]
    assert "zoom-meeting" not in ids and "broken" not in ids
    assert ids[-1] == "new-article"
    edited = next(a for a in out if a.id == "dmc-rounds")
    assert edited.answer == "คำตอบที่แก้ไขแล้ว"
    assert edited.title == MINI_KB[0]["title"]  # untouched fields come from the file copy


def test_engine_uses_overrides(mini_dir: Path) -> None:
    engine = KnowledgeEngine.load(
        articles_dir=mini_dir, train_files=[], use_cache=False,
        overrides=[{"id": "zoom-meeting", "enabled": False},
                   {"id": "dmc-rounds", "answer": "รอบข้อมูลตามที่แก้ไขในฐานข้อมูล"}],
    )
    assert engine.article("zoom-meeting") is None
    assert engine.article("dmc-rounds").answer == "รอบข้อมูลตามที่แก้ไขในฐานข้อมูล"
    ans = engine.answer("DMC ส่งข้อมูลนักเรียนกี่รอบคะ")
    ranked = ([ans.article] if ans.article else []) + ans.alternatives
    assert "zoom-meeting" not in [a.id for a in ranked]


# ------------------------------------------------------------------ retrieval from paraphrases
@pytest.mark.parametrize(
    ("text", "article_id"),
    [
        ("ดีเอ็มซีมีกี่รอบที่ต้องส่งข้อมูลเด็กคะ", "dmc-rounds"),
        ("สมาร์ทแอเรีย แนบไฟล์ได้สูงสุดกี่ไฟล์ครับ", "amss-attach-limit"),
        ("เครื่องพริ้นเตอร์พัง แจ้งซ่อมที่ไหนคะ", "repair-report"),
        ("จานดาวเทียมdltvเอียงค่ะ ทีวีไม่มีภาพ", "dltv-no-signal"),
        ("อยากได้ลิงก์ซูมสำหรับประชุมพรุ่งนี้", "zoom-meeting"),
    ],
)
def test_retrieval_from_paraphrases(mini: KnowledgeEngine, text: str, article_id: str) -> None:
    ans = mini.answer(text)
    ranked = ([ans.article] if ans.article else []) + ans.alternatives
    assert article_id in [a.id for a in ranked[:3]]


def test_bundled_retrieval_paraphrases(bundled: KnowledgeEngine) -> None:
    cases = [
        ("ลืมพาสเวิร์ดเข้าระบบค่ะ ทำไงดี", {"account_access", "student_data_dmc", "saraban_amss"}),
        ("คอมพ์ในห้องธุรการเปิดไม่ติดเลยค่ะ", {"hardware_repair"}),
        ("เน็ตโรงเรียนหลุดบ่อยมาก", {"network_internet"}),
    ]
    for text, cats in cases:
        ans = bundled.answer(text)
        ranked = ([ans.article] if ans.article else []) + ans.alternatives
        assert ranked, text
        assert {a.category for a in ranked[:3]} & cats, text


# ------------------------------------------------------------------ classifier on clear cases
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("คอมพิวเตอร์ห้องธุรการเปิดไม่ติดค่ะ", "hardware_repair"),
        ("เน็ตโรงเรียนใช้ไม่ได้ทั้งวันเลยครับ wifi ไม่มีสัญญาณ", "network_internet"),
        ("ระบบ DMC ยืนยันข้อมูลนักเรียนไม่ได้ค่ะ", "student_data_dmc"),
        ("ส่งหนังสือราชการใน AMSS++ ไม่ได้ค่ะ", "saraban_amss"),
    ],
)
def test_category_clear_cases(bundled: KnowledgeEngine, text: str, category: str) -> None:
    u = bundled.understand(text)
    assert u.category == category
    assert 0.0 <= u.category_confidence <= 1.0


def test_understanding_shape(bundled: KnowledgeEngine) -> None:
    u = bundled.understand("  คอมเสียค่ะ ด่วนนนน!! ICT-๒๕๖๙-๐๐๐๑๒๓ ", subject=None)
    assert isinstance(u, Understanding)
    assert u.text == u.text.strip() and "๒" not in u.text
    assert u.tokens and all(isinstance(t, str) for t in u.tokens)
    assert u.category in CATEGORIES and u.intent in INTENTS and u.urgency in URGENCIES
    assert u.ticket_numbers == ["ICT-2569-000123"]
    for c in (u.category_confidence, u.intent_confidence, u.urgency_confidence):
        assert 0.0 <= c <= 1.0


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("คอมเสียค่ะ ด่วนมากกกก", "urgent"),
        ("ด่วนที่สุดค่ะ เน็ตใช้ไม่ได้", "urgent"),
        ("ไม่ด่วนค่ะ ขอสอบถามเรื่องอบรมเฉย ๆ", "normal"),
        ("สอบถามวิธีใช้งานระบบค่ะ", "normal"),
    ],
)
def test_urgency_rules(bundled: KnowledgeEngine, text: str, urgency: str) -> None:
    assert bundled.understand(text).urgency == urgency


@pytest.mark.parametrize(
    ("text", "intent", "kind"),
    [
        ("สวัสดีค่ะ", "greeting", "greeting"),
        ("ขอบคุณมากค่ะ 🙏", "feedback", "feedback"),
        ("ขอบคุณครับ", "feedback", "feedback"),
    ],
)
def test_smalltalk(bundled: KnowledgeEngine, text: str, intent: str, kind: str) -> None:
    ans = bundled.answer(text)
    assert ans.understanding.intent == intent
    assert ans.kind == kind
    assert not ans.handoff
    assert ans.understanding.category == "general_consult"


def test_followup_with_ticket_number(bundled: KnowledgeEngine) -> None:
    ans = bundled.answer("เรื่อง ICT-2569-000123 ถึงไหนแล้วคะ")
    assert ans.understanding.intent == "followup"
    assert ans.understanding.ticket_numbers == ["ICT-2569-000123"]
    assert ans.handoff and ans.kind == "handoff"


# ------------------------------------------------------------------ composer kinds
def _check(ans: Answer) -> None:
    assert ans.kind in KINDS
    assert isinstance(ans.text, str) and ans.text.strip()
    assert 0.0 <= ans.confidence <= 1.0
    assert len(ans.alternatives) <= 3
    data = ans.to_json()
    assert set(data) == {"category", "intent", "urgency", "confidence", "article_id", "answer", "alternatives",
                         "handoff"}
    assert data["article_id"] == (ans.article.id if ans.article else None)


def test_answer_kind_cites_source(mini: KnowledgeEngine) -> None:
    ans = mini.answer("AMSS แนบไฟล์ได้กี่ไฟล์คะ")
    _check(ans)
    if ans.kind == "answer":
        assert ans.article is not None
        assert ans.article.answer.splitlines()[0] in ans.text
        assert ans.article.citation_th() in ans.text


def test_choices_kind_lists_titles(mini: KnowledgeEngine) -> None:
    from knowledge.compose import compose_choices

    text = compose_choices(mini.articles[:3])
    assert text.startswith(M.CHOICES_HEADER)
    for a in mini.articles[:3]:
        assert a.title in text


def test_handoff_kind(bundled: KnowledgeEngine) -> None:
    ans = bundled.answer("ปริ้นเตอร์ห้องวิชาการกระดาษติด ดึงไม่ออก ช่วยส่งช่างมาดูให้หน่อยค่ะ")
    _check(ans)
    assert ans.handoff


def test_out_of_scope_kind(mini: KnowledgeEngine) -> None:
    from knowledge.compose import compose_out_of_scope

    text = compose_out_of_scope(None, "สพป.ทดสอบ เขต 1")
    assert "สพป.ทดสอบ เขต 1" in text
    art = mini.article("oos-salary")
    assert art is not None and art.answer in compose_out_of_scope(art, None)


def test_greeting_names_office(mini: KnowledgeEngine) -> None:
    ans = mini.answer("สวัสดีครับ")
    _check(ans)
    assert ans.kind == "greeting" and "สพป.ทดสอบ เขต 1" in ans.text


def test_every_kind_is_well_formed(bundled: KnowledgeEngine) -> None:
    samples = [
        "สวัสดีค่ะ", "ขอบคุณค่ะ", "บริการช้ามาก รอนานแล้วไม่มีใครตอบเลย", "ขอสลิปเงินเดือนเดือนนี้หน่อยค่ะ",
        "DMC ส่งข้อมูลกี่รอบ", "คอมเปิดไม่ติดค่ะ ด่วน", "ขอยืมโปรเจคเตอร์ไปใช้ประชุมวันศุกร์ค่ะ", "อะไรนะ",
        "ICT-2569-000001", "hello can you help me with the printer",
    ]
    for s in samples:
        _check(bundled.answer(s))


def test_article_lookup(bundled: KnowledgeEngine) -> None:
    first = bundled.articles[0]
    assert bundled.article(first.id) is first
    assert bundled.article("no-such-article") is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rows_dot_matches_slicing_the_matrix(dtype: str) -> None:
    import numpy as np
    from scipy import sparse

    from knowledge.classify import Tfidf, rows_dot

    rng = np.random.default_rng(7)
    m = sparse.random(300, 40, density=0.08, format="csr", random_state=11, dtype=dtype)
    keep = np.ones(300)
    keep[5] = 0  # an empty row among the selected ones
    m = (sparse.diags(keep).astype(dtype) @ m).tocsr()
    m.eliminate_zeros()
    for idx in ([5, 17, 3, 250, 0], [299], [5], []):
        val = rng.random(len(idx))
        want = np.asarray(m[idx].T @ val).ravel() if idx else np.zeros(40)
        np.testing.assert_allclose(rows_dot(m, idx, val), want, rtol=1e-12, atol=1e-12)
        plain = np.asarray(m[idx].sum(axis=0)).ravel() if idx else np.zeros(40)
        tol = 1e-12 if dtype == "float64" else 1e-6  # scipy sums float32 rows in float32
        np.testing.assert_allclose(rows_dot(m, np.asarray(idx, dtype=np.int64)), plain, rtol=tol, atol=tol)

    # one document's vector counts its features in first-seen order, unknown features left out
    t = Tfidf("features")
    t.vocab, t.idf = {"b": 0, "a": 1, "c": 2}, np.ones(3)
    idx, val = t.one(["a", "zz", "b", "a", "a"])
    assert idx.tolist() == [1, 0]
    np.testing.assert_allclose(val, np.array([1 + np.log(3), 1.0]) / np.hypot(1 + np.log(3), 1.0))

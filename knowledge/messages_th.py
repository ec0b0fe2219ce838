"""Every Thai string the knowledge engine shows to users: labels, citations and reply templates."""

from __future__ import annotations

CATEGORY_LABELS_TH: dict[str, str] = {
    "hardware_repair": "แจ้งซ่อมคอมพิวเตอร์และอุปกรณ์",
    "network_internet": "อินเทอร์เน็ตและเครือข่าย",
    "account_access": "บัญชีผู้ใช้และสิทธิ์เข้าระบบ",
    "security_data_protection": "ความปลอดภัยสารสนเทศและข้อมูลส่วนบุคคล",
    "student_data_dmc": "ข้อมูลนักเรียนรายบุคคล (DMC, GCODE, CCT)",
    "edu_info_systems": "ระบบข้อมูลสารสนเทศทางการศึกษาอื่น (EMIS, M-OBEC, B-OBEC และอื่น ๆ)",
    "saraban_amss": "สารบรรณอิเล็กทรอนิกส์ (AMSS++ / Smart Area)",
    "dltv_satellite": "ทีวีการศึกษาทางไกลผ่านดาวเทียม (DLTV)",
    "dlit_media_lms": "DLIT สื่อ นวัตกรรม ศูนย์สื่อ และ LMS",
    "digital_comms_web": "ประชุมทางไกล อีเมล สื่อสังคม และเว็บไซต์",
    "equipment_borrow": "ยืม/ขอใช้วัสดุอุปกรณ์และสื่อ Software",
    "procurement_spec": "จัดหาและกำหนดคุณลักษณะเฉพาะ (สเปก)",
    "training_request": "อบรมและพัฒนาทักษะด้าน ICT",
    "general_consult": "ปรึกษา/สอบถามทั่วไปด้านระบบสารสนเทศและเทคโนโลยีดิจิทัล",
    "out_of_scope": "นอกขอบเขตงานของกลุ่ม ICT",
}

INTENT_LABELS_TH: dict[str, str] = {
    "question": "สอบถาม",
    "incident": "แจ้งปัญหา",
    "request": "ขอรับบริการ",
    "followup": "ติดตามเรื่อง",
    "feedback": "ความคิดเห็น/ขอบคุณ",
    "greeting": "ทักทาย",
}

URGENCY_LABELS_TH: dict[str, str] = {"urgent": "ด่วน", "normal": "ปกติ"}

KIND_LABELS_TH: dict[str, str] = {
    "answer": "ตอบจากคลังความรู้",
    "choices": "เสนอหัวข้อให้เลือก",
    "handoff": "ส่งต่อเจ้าหน้าที่",
    "out_of_scope": "นอกขอบเขตงาน",
    "greeting": "ทักทาย",
    "feedback": "ความคิดเห็น",
}

# Citations: "ที่มา: คู่มือการปฏิบัติงาน สพป.สุโขทัย เขต 2 (000_8aab4534b9640525.txt บรรทัด 99-101)"
CITATION = "ที่มา: คู่มือการปฏิบัติงาน {office} ({where})"
CITATION_LINES = "{file} บรรทัด {lines}"
CITATION_NO_SOURCE = "ที่มา: ข้อมูลจากกลุ่ม ICT {office}"

OFFICE_DEFAULT = "สำนักงานเขตพื้นที่การศึกษา"
GROUP_NAME = "กลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร (กลุ่ม ICT)"

# Replies
CHOICES_HEADER = "เรื่องที่ถามน่าจะเป็นเรื่องใดต่อไปนี้"
CHOICES_FOOTER = "ตอบหมายเลขหรือพิมพ์รายละเอียดเพิ่มได้เลย หากไม่ตรงกับเรื่องใด เจ้าหน้าที่จะช่วยดูให้"
CHOICE_ITEM = "{n}. {title}"

HANDOFF_LINE = "เรื่องนี้ต้องให้เจ้าหน้าที่กลุ่ม ICT ดำเนินการ ระบบส่งต่อให้เจ้าหน้าที่รับเรื่องแล้ว"
HANDOFF_URGENT_LINE = "รับทราบว่าเป็นเรื่องด่วน ส่งต่อให้เจ้าหน้าที่กลุ่ม ICT รีบดำเนินการแล้ว"
HANDOFF_SELF_HELP = "ระหว่างรอเจ้าหน้าที่ ข้อมูลที่อาจช่วยได้:"
HANDOFF_NO_ARTICLE = (
    "ขอบคุณที่แจ้งเข้ามา เรื่องนี้ยังไม่มีคำตอบในคลังความรู้ เจ้าหน้าที่กลุ่ม ICT จะรับเรื่องและตอบกลับให้"
)
HANDOFF_DETAILS_HINT = "หากมีรายละเอียดเพิ่มเติม เช่น ชื่อโรงเรียน อาการที่พบ หรือรูปหน้าจอ ตอบกลับข้อความนี้ได้เลย"
FOLLOWUP_LINE = "รับทราบการติดตามเรื่อง เจ้าหน้าที่จะตรวจสอบความคืบหน้าและแจ้งกลับ"
FOLLOWUP_NUMBER = "เรื่องที่อ้างถึง: {numbers}"

OUT_OF_SCOPE = (
    "ขออภัย เรื่องนี้อยู่นอกขอบเขตงานของ{group} ซึ่งดูแลเรื่องคอมพิวเตอร์ อินเทอร์เน็ต ระบบสารสนเทศ "
    "(DMC, EMIS, AMSS++ ฯลฯ) DLTV/DLIT การประชุมทางไกล เว็บไซต์ และความปลอดภัยข้อมูล"
)
OUT_OF_SCOPE_WHERE = "เรื่องอื่นของสำนักงาน กรุณาติดต่อกลุ่มงานที่รับผิดชอบของ{office}โดยตรง"

GREETING = "สวัสดีค่ะ ยินดีให้บริการจาก{group} {office}"
GREETING_HELP = (
    "สอบถามหรือแจ้งเรื่องได้เลย เช่น แจ้งซ่อมคอมพิวเตอร์ อินเทอร์เน็ตใช้ไม่ได้ ลืมรหัสผ่าน "
    "ระบบ DMC/EMIS/M-OBEC สารบรรณ AMSS++ DLTV การประชุมทางไกล หรือขอยืมอุปกรณ์"
)
GREETING_TICKET_HINT = "ติดตามเรื่องเดิมได้โดยพิมพ์เลขที่เรื่อง เช่น ICT-2569-000123"

FEEDBACK_THANKS = "ขอบคุณสำหรับข้อความค่ะ ยินดีให้บริการเสมอ หากมีปัญหาเพิ่มเติมแจ้งได้ตลอดนะคะ"
FEEDBACK_COMPLAINT = (
    "ขออภัยในความไม่สะดวกค่ะ ได้ส่งความคิดเห็นนี้ให้เจ้าหน้าที่กลุ่ม ICT พิจารณาและติดต่อกลับแล้ว"
)

EMPTY = "ขออภัย ไม่ได้รับข้อความที่อ่านได้ กรุณาพิมพ์คำถามหรือปัญหาที่พบอีกครั้ง"

# CLI display
CLI_CATEGORY = "หมวด"
CLI_INTENT = "เจตนา"
CLI_URGENCY = "ความเร่งด่วน"
CLI_KIND = "ประเภทคำตอบ"
CLI_CONFIDENCE = "ความมั่นใจ"
CLI_ARTICLE = "บทความ"
CLI_ALTERNATIVES = "หัวข้อใกล้เคียง"
CLI_HANDOFF = "ส่งต่อเจ้าหน้าที่"
CLI_YES = "ใช่"
CLI_NO = "ไม่"
CLI_TICKETS = "เลขที่เรื่องที่พบ"
CLI_ERROR_JSON = "ข้อมูลบรรทัดนี้ไม่ใช่ JSON ที่ถูกต้อง"
CLI_ERROR_TEXT = "ต้องมีช่อง text เป็นข้อความ"

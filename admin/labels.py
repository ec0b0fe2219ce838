"""Every Thai word and sentence the admin app shows (labels, flash messages, report headings)."""

from __future__ import annotations

from bot.messages_th import CHANNEL_TH as _CHANNEL_TH
from knowledge.messages_th import CATEGORY_LABELS_TH, INTENT_LABELS_TH, KIND_LABELS_TH, URGENCY_LABELS_TH

CATEGORY_TH: dict[str, str] = dict(CATEGORY_LABELS_TH)
INTENT_TH: dict[str, str] = dict(INTENT_LABELS_TH)
URGENCY_TH: dict[str, str] = dict(URGENCY_LABELS_TH)
KIND_TH: dict[str, str] = dict(KIND_LABELS_TH)
CHANNEL_TH: dict[str, str] = dict(_CHANNEL_TH)

STATUS_TH = {
    "new": "ใหม่",
    "open": "กำลังดำเนินการ",
    "waiting": "รอข้อมูลจากผู้แจ้ง",
    "resolved": "แก้ไขเสร็จแล้ว",
    "closed": "ปิดเรื่อง",
}
ROLE_TH = {"admin": "ผู้ดูแลระบบ", "agent": "เจ้าหน้าที่", "viewer": "ผู้บริหาร/ผู้ดูข้อมูล"}
DELIVERY_TH = {"pending": "รอส่ง", "sent": "ส่งแล้ว", "failed": "ส่งไม่สำเร็จ"}
AUTHOR_TH = {"requester": "ผู้แจ้ง", "bot": "ระบบตอบอัตโนมัติ", "staff": "เจ้าหน้าที่", "system": "ระบบ"}

SLA_TARGET_TH = {
    "registration": "ลงทะเบียนรับเรื่อง",
    "first_response": "ตอบกลับครั้งแรก",
    "resolution": "แก้ไขเสร็จ",
    "followup": "ติดตามผล",
}
SLA_STATE_TH = {
    "met": "ทันกำหนด",
    "breached": "เกินกำหนด",
    "at_risk": "ใกล้ครบกำหนด",
    "running": "อยู่ในกำหนด",
}
SLA_FILTER_TH = {
    "breached": "เกินกำหนด",
    "at_risk": "ใกล้ครบกำหนด",
    "running": "อยู่ในกำหนด (ยังไม่เสร็จ)",
    "met": "เสร็จทันกำหนด",
}
SORT_TH = {
    "newest": "รับเรื่องล่าสุดก่อน",
    "oldest": "รับเรื่องเก่าสุดก่อน",
    "updated": "อัปเดตล่าสุดก่อน",
    "due": "ใกล้ครบกำหนดก่อน",
    "urgent": "เรื่องด่วนก่อน",
}

AUDIT_ACTION_TH = {
    "created": "ลงทะเบียนรับเรื่อง",
    "message_in": "ข้อความจากผู้แจ้ง",
    "message_out": "ส่งข้อความตอบกลับ",
    "note": "บันทึกภายใน",
    "status": "เปลี่ยนสถานะ",
    "reopened": "เปิดเรื่องอีกครั้ง",
    "assigned": "มอบหมายผู้รับผิดชอบ",
    "reclassified": "แก้ไขการจัดประเภท",
    "merged": "รวมเข้ากับเรื่องอื่น",
    "merged_from": "รับรวมเรื่องซ้ำ",
    "delivery_failed": "ส่งข้อความไม่สำเร็จ",
    "followup_answer": "ผู้แจ้งตอบแบบติดตามผล",
    "followup_sent": "ส่งแบบติดตามผล",
    "pdpa_erase": "ลบข้อมูลส่วนบุคคล (PDPA)",
    "pdpa_export": "ส่งออกข้อมูลส่วนบุคคล (PDPA)",
}
FIELD_TH = {"category": "หมวด", "intent": "ประเภท", "urgency": "ความเร่งด่วน", "status": "สถานะ"}

# -- pages and navigation
APP_TITLE = "ระบบรับเรื่องและให้คำปรึกษา กลุ่ม ICT"
NAV_QUEUE = "คิวงาน"
NAV_STATS = "สถิติ"
NAV_REPORTS = "รายงาน"
NAV_KB = "คลังความรู้"
NAV_UNANSWERED = "คำถามที่ยังตอบไม่ได้"
NAV_PDPA = "ข้อมูลส่วนบุคคล"
NAV_USERS = "ผู้ใช้งาน"
NAV_LOGOUT = "ออกจากระบบ"

# -- flash messages and errors
LOGIN_REQUIRED = "กรุณาเข้าสู่ระบบก่อน"
LOGIN_FAILED = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"
LOGIN_LOCKED = "เข้าสู่ระบบผิดหลายครั้งเกินไป กรุณารอประมาณ {minutes} นาทีแล้วลองใหม่"
LOGGED_OUT = "ออกจากระบบแล้ว"
SESSION_EXPIRED = "หมดเวลาการใช้งาน กรุณาเข้าสู่ระบบใหม่"
FORBIDDEN = "บัญชีของท่านไม่มีสิทธิ์ใช้งานส่วนนี้"
NOT_FOUND = "ไม่พบหน้าหรือข้อมูลที่ต้องการ"
BAD_REQUEST = "คำขอไม่ถูกต้อง"
CSRF_FAILED = "แบบฟอร์มหมดอายุหรือไม่ถูกต้อง กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง"
SAVED = "บันทึกแล้ว"
REPLY_QUEUED = "บันทึกข้อความและส่งเข้าคิวส่งทาง{channel}แล้ว"
REPLY_WEB = "บันทึกข้อความแล้ว ผู้แจ้งจะเห็นในหน้าแชตบนเว็บไซต์"
REPLY_EMPTY = "กรุณาพิมพ์ข้อความ"
REPLY_TOO_LONG = "ข้อความยาวเกิน {limit:,} ตัวอักษร"
REPLY_NO_ADDRESS = "ส่งทาง{channel}ไม่ได้ เพราะไม่มีช่องทางติดต่อของผู้แจ้ง (อาจถูกลบตาม PDPA) ใช้บันทึกภายในแทน"
NOTE_SAVED = "บันทึกภายในแล้ว (ผู้แจ้งไม่เห็นข้อความนี้)"
STATUS_CHANGED = "เปลี่ยนสถานะเป็น “{status}” แล้ว"
STATUS_INVALID = "เปลี่ยนสถานะจาก “{old}” เป็น “{new}” ไม่ได้"
ASSIGNED = "มอบหมายให้ {name} แล้ว"
UNASSIGNED = "ยกเลิกผู้รับผิดชอบแล้ว"
RECLASSIFIED = "แก้ไขการจัดประเภทแล้ว"
MERGED = "รวมเรื่องนี้เข้ากับ {number} แล้ว"
MERGE_NOT_FOUND = "ไม่พบเรื่องเลขที่ {number}"
MERGE_SELF = "รวมเรื่องเข้ากับตัวเองไม่ได้"
MERGE_ALREADY = "เรื่องนี้ถูกรวมเข้ากับเรื่องอื่นแล้ว"
BULK_DONE = "ดำเนินการแล้ว {done} เรื่อง"
BULK_SKIPPED = " (ข้ามไป {skipped} เรื่องที่เปลี่ยนสถานะไม่ได้)"
BULK_NOTHING = "กรุณาเลือกเรื่องอย่างน้อย 1 เรื่อง และเลือกการดำเนินการ"
KB_SAVED = "บันทึกบทความ {id} แล้ว ระบบตอบคำถามใช้ฉบับใหม่แล้ว"
KB_ENABLED = "เปิดใช้บทความ {id} แล้ว"
KB_DISABLED = "ปิดใช้บทความ {id} แล้ว"
KB_REVERTED = "ยกเลิกการแก้ไข กลับไปใช้ฉบับในไฟล์ของบทความ {id} แล้ว"
KB_REBUILT = "สร้างแบบจำลองการตอบคำถามใหม่แล้ว ({count} บทความ)"
KB_INVALID = "ข้อมูลบทความไม่ถูกต้อง: {detail}"
KB_ID_TAKEN = "รหัสบทความ {id} มีอยู่แล้ว กรุณาแก้ไขบทความเดิมหรือใช้รหัสอื่น"
USER_ADDED = "เพิ่มผู้ใช้ {name} แล้ว"
USER_UPDATED = "ปรับปรุงผู้ใช้ {name} แล้ว"
USER_ERROR = "เพิ่มผู้ใช้ไม่ได้: {detail}"
USER_SELF = "ลดสิทธิ์หรือปิดบัญชีของตนเองไม่ได้"
PASSWORD_SHORT = "รหัสผ่านต้องยาวอย่างน้อย {n} ตัวอักษร"
PASSWORD_CHANGED = "เปลี่ยนรหัสผ่านแล้ว"
PDPA_ERASED = "ลบข้อมูลส่วนบุคคลของผู้แจ้งแล้ว ({tickets} เรื่อง, {messages} ข้อความ) สถิติยังคงอยู่"
PDPA_CONFIRM_MISMATCH = "กรุณาพิมพ์คำว่า “ลบข้อมูล” เพื่อยืนยัน"
PDPA_ALREADY = "ข้อมูลของผู้แจ้งรายนี้ถูกลบไปแล้ว"
DATE_INVALID = "รูปแบบวันที่ไม่ถูกต้อง ใช้ วว/ดด/ปปปป (พ.ศ.) เช่น 23/11/2569"
PERIOD_INVALID = "ช่วงเวลาไม่ถูกต้อง"

ERASED_TEXT = "[ลบข้อมูลตาม พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล]"
ERASED_LABEL = "(ลบข้อมูลแล้ว)"
NO_SCHOOL = "ไม่ระบุโรงเรียน"
NO_CATEGORY = "ยังไม่จัดหมวด"
NOT_SET = "-"

# -- report
REPORT_TITLE = (
    "สรุปรายงานสถิติการให้คำปรึกษาด้านระบบข้อมูลสารสนเทศและเทคโนโลยีดิจิทัลเพื่อการศึกษา"
)
REPORT_GROUP = "กลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร"
REPORT_PERIOD_MONTH = "ประจำเดือน{month} พ.ศ. {year}"
REPORT_PERIOD_FY = "ประจำปีงบประมาณ พ.ศ. {year} (1 ตุลาคม {start} – 30 กันยายน {year})"
REPORT_PERIOD_FY_PARTIAL = "ปีงบประมาณ พ.ศ. {year} (ข้อมูลถึงวันที่ {until})"
REPORT_PERIOD_RANGE = "ระหว่างวันที่ {start} ถึง {end}"

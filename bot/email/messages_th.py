"""Every Thai sentence of the e-mail channel (replies to requesters and notes staff read)."""

from __future__ import annotations

SUBJECT_FALLBACK = "เรื่องที่แจ้งกลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร"
SUBJECT_REPLY = "Re: {subject} [{number}]"
SUBJECT_NO_TICKET = "Re: {subject}"

GREETING_NAMED = "เรียน คุณ{name}"
GREETING = "เรียน ผู้แจ้ง"
RECEIVED_AT = "ได้รับอีเมลของท่านเมื่อ {when}"
SOURCE_LINE = "{citation}"
REPLY_HINT = (
    "หากต้องการแจ้งข้อมูลเพิ่มเติม ตอบกลับอีเมลฉบับนี้ได้ทันที ระบบจะบันทึกต่อในเรื่องเดิมโดยอัตโนมัติ"
)
REPLY_HINT_NUMBER = "โปรดอ้างอิงเลขที่ {number} ทุกครั้งที่ติดต่อเรื่องนี้"
AUTOMATIC_NOTICE = "อีเมลฉบับนี้ส่งโดยระบบรับเรื่องอัตโนมัติ"
SIGNATURE_GROUP = "กลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร"
FROM_NAME = "กลุ่ม ICT {office}"

SKIPPED_HEADER = "ไฟล์แนบต่อไปนี้ไม่ได้บันทึกไว้ เนื่องจากขนาดรวมเกิน {limit} MB ต่ออีเมล:"
SKIPPED_ITEM = "• {name} ({size})"
SKIPPED_HINT = "กรุณาส่งไฟล์ผ่านลิงก์ Google Drive / OneDrive หรือแบ่งส่งทีละฉบับ"
DANGEROUS_HEADER = "ไฟล์แนบต่อไปนี้อาจเป็นอันตราย เจ้าหน้าที่จะไม่เปิดไฟล์ดังกล่าว:"
DANGEROUS_HINT = "หากเป็นเอกสารสำคัญ กรุณาส่งเป็นไฟล์ PDF หรือรูปภาพแทน"
LINKED_NOTE = (
    "เรื่องเลขที่ {linked} ที่อ้างถึงไม่ได้อยู่ในรายการของท่าน จึงบันทึกเป็นเรื่องใหม่และแจ้งเจ้าหน้าที่ให้พิจารณาร่วมกัน"
)

ATTACHMENTS_ONLY = "(ส่งไฟล์แนบโดยไม่มีข้อความ: {names})"  # the text of a mail that is only attachments

SKIPPED_REASON = {
    "too_large": "ไฟล์มีขนาดเกิน {limit} MB",
    "limit": "ขนาดไฟล์แนบรวมเกิน {limit} MB ต่ออีเมล",
}

# Notes on the ticket (staff read these in the admin app).
BOUNCE_NOTE = "อีเมลที่ส่งถึง {recipient} ส่งไม่สำเร็จ (สถานะ {status})"
BOUNCE_NOTE_DELAYED = "อีเมลที่ส่งถึง {recipient} ยังส่งไม่ถึง ระบบปลายทางกำลังลองส่งใหม่ (สถานะ {status})"
BOUNCE_DIAGNOSTIC = "รายละเอียดจากเซิร์ฟเวอร์ปลายทาง: {diagnostic}"
BOUNCE_UNKNOWN = "-"

STAFF_GREETING = GREETING_NAMED

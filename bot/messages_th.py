"""Every Thai sentence the bot's channels send that does not come from the knowledge engine."""

from __future__ import annotations

STATUS_TH = {
    "new": "รับเรื่องแล้ว รอเจ้าหน้าที่",
    "open": "เจ้าหน้าที่กำลังดำเนินการ",
    "waiting": "รอข้อมูลเพิ่มเติมจากผู้แจ้ง",
    "resolved": "ดำเนินการเสร็จแล้ว",
    "closed": "ปิดเรื่องแล้ว",
}

CHANNEL_TH = {"line": "LINE", "email": "อีเมล", "web": "เว็บไซต์", "phone": "โทรศัพท์", "walk_in": "ติดต่อด้วยตนเอง"}

URGENCY_TH = {"urgent": "ด่วน", "normal": "ปกติ"}


def size_th(n: int, mb_decimals: int = 0) -> str:
    """A file size as people read it: "6 MB", "250 KB", "12 ไบต์"."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.{mb_decimals}f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} ไบต์"

TICKET_HANDOFF = (
    "รับเรื่องไว้แล้ว เลขที่ {number} เจ้าหน้าที่กลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร "
    "จะติดต่อกลับในเวลาราชการ"
)
TICKET_HANDOFF_URGENT = "รับเรื่องด่วนไว้แล้ว เลขที่ {number} แจ้งเจ้าหน้าที่ให้รีบดำเนินการแล้ว"
TICKET_ANSWERED = "บันทึกการให้คำปรึกษาไว้แล้ว เลขที่ {number} หากยังไม่หาย/ยังไม่เข้าใจ ตอบกลับมาได้เลย"
TICKET_THREADED = "เพิ่มข้อความในเรื่องเลขที่ {number} แล้ว"
TICKET_STATUS = "เรื่องเลขที่ {number}: {status}\nหัวข้อ: {subject}\nแจ้งเมื่อ: {created}"
TICKET_NOT_FOUND = "ไม่พบเรื่องเลขที่ {number} ในรายการของท่าน กรุณาตรวจสอบเลขที่อีกครั้ง"
NO_OPEN_TICKETS = "ขณะนี้ท่านไม่มีเรื่องที่ค้างอยู่"
OPEN_TICKETS_HEADER = "เรื่องที่ยังดำเนินการอยู่ของท่าน:"
EMPTY_MESSAGE = "ขออภัย ไม่ได้รับข้อความ กรุณาพิมพ์คำถามหรือปัญหาที่พบอีกครั้ง"
ENGINE_UNAVAILABLE = "ระบบตอบคำถามอัตโนมัติขัดข้องชั่วคราว เจ้าหน้าที่จะตอบกลับโดยเร็ว"

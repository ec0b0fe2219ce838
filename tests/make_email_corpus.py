"""Writes tests/email_corpus/*.eml: the nasty messages the e-mail channel must read.

Exact bytes matter (wrong charsets, 8-bit headers, broken MIME), so the messages are assembled from
byte strings rather than with the email package. Run it again after changing a case:

    .venv/bin/python tests/make_email_corpus.py

People, schools and addresses in the corpus are made up; example.* domains only.
"""

from __future__ import annotations

import base64
import io
import quopri
import sys
import zipfile
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "email_corpus"
OUR_OUTBOUND_ID = "ict.test-office.1.0a1b2c3d.00000000000000000000@helpdesk.example.go.th"

REQUEST = (
    "เรียน หัวหน้ากลุ่มส่งเสริมการศึกษาทางไกล เทคโนโลยีสารสนเทศและการสื่อสาร\n"
    "\n"
    "ด้วยโรงเรียนบ้านหนองตัวอย่าง ไม่สามารถเข้าระบบ DMC ได้ ขึ้นข้อความว่ารหัสผ่านไม่ถูกต้อง "
    "ทั้งที่ใช้รหัสเดิม จึงขอความอนุเคราะห์รีเซ็ตรหัสผ่าน\n"
    "\n"
    "จึงเรียนมาเพื่อโปรดพิจารณา\n"
)
SIGNATURE = "ขอแสดงความนับถือ\nครูธุรการ โรงเรียนบ้านหนองตัวอย่าง\n"
PRINTER = "เครื่องพิมพ์ห้องธุรการพิมพ์ไม่ออก ไฟกระพริบสีส้ม ลองปิดเปิดแล้วยังเหมือนเดิม"


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def qp(data: bytes) -> bytes:
    return quopri.encodestring(data).replace(b"\n", b"\r\n")


def ew(text: str, charset: str = "utf-8", kind: str = "B") -> str:
    data = text.encode("cp874" if charset.lower() in ("tis-620", "windows-874", "iso-8859-11") else charset)
    if kind == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    return f"=?{charset}?Q?{''.join(f'={c:02X}' if c > 127 or c in b' =?_' else chr(c) for c in data)}?="


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def headers(**fields: str) -> bytes:
    order = ["From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References"]
    lines = []
    for key in order:
        name = key.replace("_", "-")
        value = fields.pop(key.replace("-", "_"), None)
        if value is not None:
            lines.append(f"{name}: {value}")
    for key, value in fields.items():
        lines.append(f"{key.replace('_', '-')}: {value}")
    return crlf("\n".join(lines) + "\n")


STD = {"From": "ครูทดสอบ <teacher@school.example.ac.th>", "To": "ict@helpdesk.example.go.th",
       "Date": "Mon, 23 Nov 2026 09:15:00 +0700"}


def std(**kw: str) -> dict[str, str]:
    return {**STD, **kw}


def case_utf8_plain() -> bytes:
    return headers(**std(Subject=ew("ขอรีเซ็ตรหัสผ่านระบบ DMC"), Message_ID="<utf8-plain@school.example.ac.th>",
                         MIME_Version="1.0", Content_Type="text/plain; charset=utf-8",
                         Content_Transfer_Encoding="quoted-printable")) + b"\r\n" + qp(
        (REQUEST + "\n" + SIGNATURE).encode())


def case_tis620() -> bytes:
    body = ("\u201cด่วน\u201d " + PRINTER + " \u2013 ห้องธุรการ\n").encode("cp874")
    return headers(**std(Subject=ew("เครื่องพิมพ์เสีย", "TIS-620"), Message_ID="<tis620@school.example.ac.th>",
                         MIME_Version="1.0", Content_Type='text/plain; charset="TIS-620"',
                         Content_Transfer_Encoding="8bit")) + b"\r\n" + body.replace(b"\n", b"\r\n")


def case_windows874_qp() -> bytes:
    body = (PRINTER + "\n").encode("cp874")
    return headers(**std(Subject=ew("เครื่องพิมพ์เสีย", "windows-874", "Q"),
                         Message_ID="<win874@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=windows-874",
                         Content_Transfer_Encoding="quoted-printable")) + b"\r\n" + qp(body)


def case_iso885911_base64() -> bytes:
    return headers(**std(Subject=ew("เครื่องพิมพ์เสีย", "iso-8859-11"), Message_ID="<iso885911@school.example.ac.th>",
                         MIME_Version="1.0", Content_Type="text/plain; charset=iso-8859-11",
                         Content_Transfer_Encoding="base64")) + b"\r\n" + b64((PRINTER + "\n").encode("cp874"))


def case_latin1_declared_thai() -> bytes:
    return headers(**std(Subject="printer", Message_ID="<latin1-lie@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=iso-8859-1",
                         Content_Transfer_Encoding="8bit")) + b"\r\n" + (PRINTER + "\r\n").encode("cp874")


def case_utf8_declared_cp874() -> bytes:
    return headers(**std(Subject="printer", Message_ID="<utf8-lie@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=utf-8",
                         Content_Transfer_Encoding="8bit")) + b"\r\n" + (PRINTER + "\r\n").encode("cp874")


def case_tis620_declared_utf8() -> bytes:
    return headers(**std(Subject="printer", Message_ID="<tis-lie@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=tis-620",
                         Content_Transfer_Encoding="8bit")) + b"\r\n" + crlf(PRINTER + "\n")


def case_missing_charset_8bit() -> bytes:
    # No charset anywhere, raw UTF-8 in the Subject and From headers (no RFC 2047).
    return (b"From: \xe0\xb8\x84\xe0\xb8\xa3\xe0\xb8\xb9 <teacher@school.example.ac.th>\r\n"
            b"To: ict@helpdesk.example.go.th\r\n"
            + "Subject: เน็ตช้ามาก\r\n".encode()
            + b"Message-ID: <no-charset@school.example.ac.th>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain\r\n\r\n" + crlf("อินเทอร์เน็ตในห้องคอมช้ามากตั้งแต่เมื่อวาน\n"))


def case_missing_charset_cp874() -> bytes:
    return (headers(**std(Message_ID="<no-charset-874@school.example.ac.th>")) + b"Subject: "
            + "ไวไฟหลุด".encode("cp874") + b"\r\n\r\n" + ("ไวไฟห้องประชุมหลุดบ่อยครับ\r\n").encode("cp874"))


def case_unknown_charset() -> bytes:
    return headers(**std(Subject="=?x-thai-unknown?B?" + base64.b64encode("แจ้งปัญหา".encode()).decode() + "?=",
                         Message_ID="<unknown-cs@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type='text/plain; charset="x-thai-unknown"',
                         Content_Transfer_Encoding="base64")) + b"\r\n" + b64(
        "จอคอมพิวเตอร์ไม่มีภาพ\n".encode())


def case_rfc2047_split() -> bytes:
    subject = "ขอรีเซ็ตรหัสผ่าน e-mail ของโรงเรียน".encode()
    a, b, c = subject[:7], subject[7:20], subject[20:]  # cuts inside Thai characters
    q = "".join(f"={x:02X}" for x in b)
    value = (f"Re: =?UTF-8?B?{base64.b64encode(a).decode()}?=\r\n =?utf-8?Q?{q}?=\r\n"
             f"\t=?UTF-8?B?{base64.b64encode(c).decode()}?= [ICT-2569-000042]")
    return headers(**std(Subject=value, Message_ID="<split-2047@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=utf-8")) + b"\r\n" + crlf("ช่วยดูให้ด้วยครับ\n")


def case_rfc2231_filenames() -> bytes:
    name1 = "หนังสือราชการ ที่ ศธ 04001.pdf"
    enc1 = "".join(f"%{c:02X}" for c in name1.encode())
    half = len(enc1) // 2
    while enc1[half] != "%":
        half -= 1
    name2 = "ใบแจ้งซ่อม.docx"
    name3 = "รูปเครื่อง.jpg"
    name4 = "รายชื่อ.xlsx"
    enc4 = "".join(f"%{c:02X}" for c in name4.encode("cp874"))
    parts = [
        crlf("Content-Type: text/plain; charset=utf-8\n\nส่งเอกสารตามแนบครับ\n"),
        crlf(f"Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*0*=utf-8''{enc1[:half]};\n"
             f" filename*1*={enc1[half:]}\nContent-Transfer-Encoding: base64\n\n") + b64(b"%PDF-1.4 test\n"),
        crlf("Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\n"
             f" name=\"{ew(name2)}\"\nContent-Disposition: attachment; filename=\"{ew(name2)}\"\n"
             "Content-Transfer-Encoding: base64\n\n") + b64(b"PK\x03\x04 docx bytes"),
        crlf("Content-Type: image/jpeg\nContent-Disposition: attachment; filename=\"") + name3.encode()
        + crlf("\"\nContent-Transfer-Encoding: base64\n\n") + b64(b"\xff\xd8\xff\xe0 jpeg"),
        crlf(f"Content-Type: application/vnd.ms-excel\nContent-Disposition: attachment; filename*=tis-620'th'{enc4}\n"
             "Content-Transfer-Encoding: base64\n\n") + b64(b"xls bytes"),
    ]
    return multipart("mixed", "b2231", parts, **std(Subject=ew("ส่งหนังสือราชการ"),
                                                    Message_ID="<rfc2231@school.example.ac.th>"))


def multipart(sub: str, boundary: str, parts: list[bytes], *, preamble: bytes = b"", end: bool = True,
              **fields: str) -> bytes:
    out = headers(**fields, MIME_Version="1.0", Content_Type=f'multipart/{sub}; boundary="{boundary}"') + b"\r\n"
    out += preamble
    for p in parts:
        out += f"--{boundary}\r\n".encode() + p + b"\r\n"
    if end:
        out += f"--{boundary}--\r\n".encode()
    return out


def part_bytes(sub: str, boundary: str, parts: list[bytes], extra: str = "") -> bytes:
    out = crlf(f'Content-Type: multipart/{sub}; boundary="{boundary}"{extra}\n\n')
    for p in parts:
        out += f"--{boundary}\r\n".encode() + p + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


HTML_ONLY = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-874">
<style>p {{ margin: 0 }} .x {{ color: red }}</style><script>alert('x')</script></head>
<body lang="TH"><div class="WordSection1"><p class="MsoNormal">เรียน&nbsp;เจ้าหน้าที่&nbsp;ICT</p>
<p class="MsoNormal">&nbsp;</p><p class="MsoNormal">{printer}</p>
<table border="1"><tr><td>ห้อง</td><td>ธุรการ</td></tr><tr><td>ยี่ห้อ</td><td>Brother</td></tr></table>
<ul><li>ลองเปลี่ยนหมึกแล้ว</li><li>ลองปิดเปิดแล้ว</li></ul><p>ขอบคุณค่ะ &lt;ด่วน&gt;</p></div></body></html>"""


def case_html_only() -> bytes:
    html = HTML_ONLY.format(printer=PRINTER).encode("cp874")
    return headers(**std(Subject=ew("เครื่องพิมพ์", "windows-874"), Message_ID="<html-only@school.example.ac.th>",
                         MIME_Version="1.0", Content_Type="text/html",
                         Content_Transfer_Encoding="quoted-printable")) + b"\r\n" + qp(html)


def case_gmail_reply() -> bytes:
    plain = ("ลองตามขั้นตอนแล้วค่ะ ยังเข้าไม่ได้เหมือนเดิม\n\n"
             "เมื่อ วันจันทร์ที่ 23 พ.ย. 2569 เวลา 10:00 กลุ่ม ICT <ict@helpdesk.example.go.th> เขียนว่า:\n\n"
             "> รับเรื่องไว้แล้ว เลขที่ ICT-2569-000001\n> ลองล้างแคชเบราว์เซอร์\n")
    html = ("<div dir=\"ltr\">ลองตามขั้นตอนแล้วค่ะ ยังเข้าไม่ได้เหมือนเดิม</div><br>"
            "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">เมื่อ วันจันทร์ที่ 23 พ.ย. 2569 "
            "เวลา 10:00 กลุ่ม ICT &lt;<a href=\"mailto:ict@helpdesk.example.go.th\">ict@helpdesk.example.go.th</a>"
            "&gt; เขียนว่า:<br></div><blockquote class=\"gmail_quote\">รับเรื่องไว้แล้ว เลขที่ ICT-2569-000001<br>"
            "ลองล้างแคชเบราว์เซอร์</blockquote></div>")
    parts = [crlf("Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n") + b64(plain.encode()),
             crlf("Content-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n")
             + qp(html.encode())]
    return multipart("alternative", "000000000000gmail", parts, **std(
        Subject="Re: " + ew("ขอรีเซ็ตรหัสผ่านระบบ DMC") + " [ICT-2569-000001]",
        Message_ID="<CAGmail-reply-1@mail.example.com>", In_Reply_To=f"<{OUR_OUTBOUND_ID}>",
        References=f"<utf8-plain@school.example.ac.th> <{OUR_OUTBOUND_ID}>"))


def case_outlook_reply() -> bytes:
    text = ("เรียน เจ้าหน้าที่\n\nเครื่องยังเปิดไม่ติดครับ แนบรูปมาให้ดูครับ\n\n" + SIGNATURE + "\n"
            "________________________________\n"
            "จาก: กลุ่ม ICT <ict@helpdesk.example.go.th>\n"
            "ส่ง: 23 พฤศจิกายน 2569 10:00\n"
            "ถึง: ครูทดสอบ <teacher@school.example.ac.th>\n"
            "เรื่อง: Re: คอมเปิดไม่ติด [ICT-2569-000002]\n\n"
            "รับเรื่องไว้แล้ว เลขที่ ICT-2569-000002\n")
    return headers(**std(Subject="RE: " + ew("คอมเปิดไม่ติด") + " [ICT-2569-000002]",
                         Message_ID="<outlook-reply@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=\"utf-8\"", Content_Transfer_Encoding="base64",
                         Thread_Topic="คอมเปิดไม่ติด")) + b"\r\n" + b64(text.encode())


def case_inline_reply() -> bytes:
    text = ("> ขอทราบยี่ห้อและรุ่นของเครื่องพิมพ์\n"
            "Brother รุ่น HL-1110 ค่ะ\n\n"
            "> เครื่องอยู่ห้องไหน\n"
            "ห้องธุรการค่ะ\n")
    return headers(**std(Subject="Re: [ICT-2569-000003] เครื่องพิมพ์", Message_ID="<inline@school.example.ac.th>",
                         MIME_Version="1.0", Content_Type="text/plain; charset=utf-8")) + b"\r\n" + crlf(text)


def case_mobile_signature() -> bytes:
    text = "โปรเจคเตอร์ห้องประชุมไม่ติดค่ะ ด่วนมาก มีประชุมบ่ายนี้\n\nส่งจาก iPhone ของฉัน\n"
    return headers(**std(Subject=ew("โปรเจคเตอร์"), Message_ID="<mobile@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=utf-8")) + b"\r\n" + crlf(text)


def case_forwarded_inline() -> bytes:
    text = ("ส่งต่อเรื่องจากครูในโรงเรียนครับ\n\n"
            "---------- ข้อความที่ส่งต่อ ---------\n"
            "จาก: ครูประจำชั้น <class.teacher@school.example.ac.th>\n"
            "Date: อา. 22 พ.ย. 2569 เวลา 20:11\n"
            "Subject: จานดาวเทียม DLTV ไม่มีสัญญาณ\n"
            "To: ครูทดสอบ <teacher@school.example.ac.th>\n\n"
            "ทีวี DLTV ห้อง ป.4 ขึ้นว่าไม่มีสัญญาณ ตั้งแต่ฝนตกเมื่อวาน\n")
    return headers(**std(Subject="Fwd: " + ew("จานดาวเทียม DLTV ไม่มีสัญญาณ"), Message_ID="<fwd-inline@school.example.ac.th>",
                         MIME_Version="1.0", Content_Type="text/plain; charset=utf-8")) + b"\r\n" + crlf(text)


def case_forwarded_rfc822() -> bytes:
    inner = headers(From="ผู้อำนวยการ <director@school.example.ac.th>", To="teacher@school.example.ac.th",
                    Subject=ew("ขอรายงานครุภัณฑ์คอมพิวเตอร์"), Date="Sun, 22 Nov 2026 08:00:00 +0700",
                    Message_ID="<inner@school.example.ac.th>", MIME_Version="1.0",
                    Content_Type='multipart/mixed; boundary="inner"') + b"\r\n" + (
        b"--inner\r\n" + crlf("Content-Type: text/plain; charset=utf-8\n\nขอให้ส่งรายงานครุภัณฑ์คอมพิวเตอร์ภายในวันศุกร์\n")
        + b"\r\n--inner\r\n" + crlf("Content-Type: application/pdf; name=\"report.pdf\"\n"
                                    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
                                    "Content-Transfer-Encoding: base64\n\n") + b64(b"%PDF-1.4 inner") + b"\r\n--inner--\r\n")
    parts = [crlf("Content-Type: text/plain; charset=utf-8\n\nFYI\n"),
             crlf("Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"fwd.eml\"\n\n") + inner]
    return multipart("mixed", "outer", parts, **std(Subject="FW: " + ew("ขอรายงานครุภัณฑ์คอมพิวเตอร์"),
                                                    Message_ID="<fwd-822@school.example.ac.th>"))


def case_outlook_forward() -> bytes:
    text = ("รบกวนตรวจสอบครับ\n\n"
            "From: ระบบแจ้งเตือน <alerts@example.com>\n"
            "Sent: Monday, November 23, 2026 8:01 AM\n"
            "To: teacher@school.example.ac.th\n"
            "Subject: บัญชีของคุณถูกระงับ\n\n"
            "กรุณายืนยันตัวตนที่ลิงก์นี้ภายใน 24 ชั่วโมง\n")
    return headers(**std(Subject="FW: " + ew("บัญชีของคุณถูกระงับ"), Message_ID="<outlook-fwd@school.example.ac.th>",
                         MIME_Version="1.0", Content_Type="text/plain; charset=utf-8")) + b"\r\n" + crlf(text)


def _zip(names: dict[str, bytes], encrypted: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in names.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 23, 9, 0, 0)), data)
    data = bytearray(buf.getvalue())
    if encrypted:  # set the "encrypted" flag bit in the local and the central directory headers
        data[6] |= 0x01
        central = bytes(data).find(b"PK\x01\x02")
        data[central + 8] |= 0x01
    return bytes(data)


def attachment(ctype: str, filename: str, data: bytes) -> bytes:
    return crlf(f"Content-Type: {ctype}; name=\"{filename}\"\nContent-Disposition: attachment; "
                f"filename=\"{filename}\"\nContent-Transfer-Encoding: base64\n\n") + b64(data)


def case_dangerous_attachments() -> bytes:
    rtlo = "invoice\u202efdp.exe"
    parts = [
        crlf("Content-Type: text/plain; charset=utf-8\n\nเอกสารตามแนบ\n"),
        attachment("application/octet-stream", "setup.exe", b"MZ\x90\x00 fake"),
        attachment("application/pdf", "ใบเสร็จ.pdf.exe", b"MZ fake"),
        attachment("application/vnd.ms-word.document.macroEnabled.12", "form.docm", b"PK\x03\x04"),
        attachment("application/zip", "photos.zip", _zip({"photo1.jpg": b"x", "photo2.scr": b"MZ"})),
        attachment("application/zip", "locked.zip", _zip({"doc.pdf": b"x"}, encrypted=True)),
        attachment("text/html", "login.html", b"<form action=http://example.com>"),
        crlf("Content-Type: application/octet-stream\nContent-Disposition: attachment; filename*=utf-8''"
             + "".join(f"%{c:02X}" for c in rtlo.encode()) + "\nContent-Transfer-Encoding: base64\n\n")
        + b64(b"MZ"),
        attachment("application/octet-stream", "report.pdf", b"\x7fELF fake"),
        attachment("image/jpeg", "printer.jpg", b"\xff\xd8\xff\xe0 photo"),
        attachment("application/pdf", "memo.pdf", b"%PDF-1.7 memo"),
    ]
    return multipart("mixed", "danger", parts, **std(Subject=ew("เอกสาร"), Message_ID="<danger@school.example.ac.th>"))


def case_attachments_sizes() -> bytes:
    parts = [crlf("Content-Type: text/plain; charset=utf-8\n\nส่งรูปและวิดีโอครับ\n"),
             attachment("image/jpeg", "small.jpg", b"\xff\xd8" + b"a" * 3000),
             attachment("video/mp4", "big.mp4", b"\x00\x00\x00\x18ftyp" + b"b" * 60_000),
             attachment("image/png", "medium.png", b"\x89PNG" + b"c" * 5000)]
    return multipart("mixed", "sizes", parts, **std(Subject=ew("รูปและวิดีโอ"), Message_ID="<sizes@school.example.ac.th>"))


def case_bounce_dsn() -> bytes:
    human = crlf("Content-Type: text/plain; charset=us-ascii\n\nThis is the mail system at host mx.example.net.\n\n"
                 "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
                 "<nobody@school.example.ac.th>: host mx.school.example.ac.th said: 550 5.1.1 User unknown\n")
    status = crlf("Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n"
                  "Arrival-Date: Mon, 23 Nov 2026 10:00:02 +0700 (ICT)\n\n"
                  "Final-Recipient: rfc822; nobody@school.example.ac.th\nOriginal-Recipient: rfc822;nobody@school.example.ac.th\n"
                  "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.school.example.ac.th\n"
                  "Diagnostic-Code: smtp; 550 5.1.1 <nobody@school.example.ac.th>: Recipient address\n"
                  "    rejected: User unknown in virtual mailbox table\n")
    original = crlf("Content-Type: text/rfc822-headers\n\nFrom: ict@helpdesk.example.go.th\n"
                    "To: nobody@school.example.ac.th\nSubject: =?utf-8?B?4Lij4Lix4Lia4LmA4Lij4Li34LmI4Lit4LiH?=\n"
                    f"Message-ID: <{OUR_OUTBOUND_ID}>\nAuto-Submitted: auto-replied\n")
    return multipart("report", "dsn", [human, status, original],
                     **{"From": "MAILER-DAEMON@mx.example.net (Mail Delivery System)",
                        "To": "ict@helpdesk.example.go.th", "Subject": "Undelivered Mail Returned to Sender",
                        "Date": "Mon, 23 Nov 2026 10:00:03 +0700", "Message_ID": "<dsn-1@mx.example.net>",
                        "Auto-Submitted": "auto-replied"}).replace(
        b'multipart/report; boundary="dsn"', b'multipart/report; report-type=delivery-status; boundary="dsn"')


def case_bounce_plain() -> bytes:
    text = ("Hi. This is the qmail-send program at mail.example.net.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
            "<old.teacher@school.example.ac.th>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
            "--- Below this line is a copy of the message.\n\n"
            f"Message-ID: <{OUR_OUTBOUND_ID}>\nSubject: Re: test\n")
    return headers(From="MAILER-DAEMON@mail.example.net", To="ict@helpdesk.example.go.th",
                   Subject="failure notice", Date="Mon, 23 Nov 2026 10:05:00 +0700",
                   Message_ID="<qmail-bounce@mail.example.net>") + b"\r\n" + crlf(text)


def case_auto_reply_ooo() -> bytes:
    return headers(**std(Subject=ew("ตอบกลับอัตโนมัติ: ") + " [ICT-2569-000001]", Message_ID="<ooo@school.example.ac.th>",
                         In_Reply_To=f"<{OUR_OUTBOUND_ID}>", Auto_Submitted="auto-replied",
                         X_Auto_Response_Suppress="All", MIME_Version="1.0",
                         Content_Type="text/plain; charset=utf-8")) + b"\r\n" + crlf(
        "ขณะนี้ข้าพเจ้าไม่อยู่ที่สำนักงาน จะกลับวันที่ 30 พ.ย. 2569\n")


def case_list_bulk() -> bytes:
    return headers(**{"From": "ข่าวสาร <news@lists.example.org>", "To": "ict@helpdesk.example.go.th",
                      "Subject": ew("จดหมายข่าวประจำเดือน"), "Date": "Mon, 23 Nov 2026 07:00:00 +0700",
                      "Message_ID": "<news-11@lists.example.org>", "Precedence": "bulk",
                      "List-Id": "<news.lists.example.org>", "List-Unsubscribe": "<mailto:leave@lists.example.org>",
                      "MIME_Version": "1.0", "Content_Type": "text/plain; charset=utf-8"}) + b"\r\n" + crlf(
        "ข่าวประจำเดือนพฤศจิกายน\n")


def case_noreply_notification() -> bytes:
    return headers(**{"From": "Cloud Service <no-reply@accounts.example.com>", "To": "ict@helpdesk.example.go.th",
                      "Subject": "Security alert", "Date": "Mon, 23 Nov 2026 07:30:00 +0700",
                      "Message_ID": "<alert-77@accounts.example.com>", "Auto-Submitted": "auto-generated",
                      "MIME_Version": "1.0", "Content_Type": "text/plain; charset=utf-8"}) + b"\r\n" + crlf(
        "A new sign-in was detected.\n")


def case_exchange_suppress() -> bytes:
    return headers(**std(Subject=ew("ขอใช้ห้องประชุมออนไลน์"), Message_ID="<suppress@school.example.ac.th>",
                         X_Auto_Response_Suppress="All", MIME_Version="1.0",
                         Content_Type="text/plain; charset=utf-8")) + b"\r\n" + crlf(
        "ขอลิงก์ประชุม Zoom สำหรับประชุมครูวันพรุ่งนี้ครับ\n")


def case_no_message_id() -> bytes:
    return (b"From: teacher@school.example.ac.th\r\nTo: ict@helpdesk.example.go.th\r\n"
            + "Subject: ไม่มี message id\r\n".encode() + b"\r\n" + crlf("ระบบ EMIS เข้าไม่ได้\n"))


def case_malformed_headers() -> bytes:
    return (b"From: \"\xe0\xb8\x84\xe0\xb8\xa3\xe0\xb8\xb9 <not an address\n"
            b"From: teacher@school.example.ac.th\n"
            b"To: ;;;,,, ict@helpdesk.example.go.th,\n"
            b"Subject: =?utf-8?B?broken base64!!?= =?unknown?Q?=ZZ?=\n"
            b"Date: yesterday at noon\n"
            b"Message-ID: <malformed@@school.example.ac.th>\n"
            b"This line has no colon\n"
            b"MIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed\n"
            b"Content-Transfer-Encoding: base64\n\n"
            + "บอดี้ที่ไม่ได้เข้ารหัส base64 จริง\n".encode())


def case_truncated_multipart() -> bytes:
    parts = [crlf("Content-Type: text/plain; charset=utf-8\n\nข้อความก่อนไฟล์แนบที่ขาดหาย\n"),
             crlf("Content-Type: application/pdf; name=cut.pdf\nContent-Transfer-Encoding: base64\n\n")
             + b"JVBERi0xLjQK\r\nJVBER"]
    return multipart("mixed", "cut", parts, end=False, **std(Subject="cut", Message_ID="<truncated@school.example.ac.th>"))


def case_apple_mixed_inline() -> bytes:
    img = crlf("Content-Type: image/png; name=screen.png\nContent-Disposition: inline; filename=screen.png\n"
               "Content-ID: <img1@apple>\nContent-Transfer-Encoding: base64\n\n") + b64(b"\x89PNG screenshot")
    parts = [crlf("Content-Type: text/plain; charset=utf-8\n\nหน้าจอขึ้นแบบนี้ครับ\n"), img,
             crlf("Content-Type: text/plain; charset=utf-8\n\nกดตกลงแล้วก็ขึ้นอีก\n")]
    return multipart("mixed", "apple", parts, **std(Subject=ew("หน้าจอแจ้งเตือน"), Message_ID="<apple@school.example.ac.th>"))


def case_related_html_with_plain() -> bytes:
    alt = part_bytes("alternative", "alt", [
        crlf("Content-Type: text/plain; charset=utf-8\n\n"),  # an empty plain alternative
        crlf("Content-Type: text/html; charset=utf-8\n\n<p>กล้องวงจรปิดดับทั้งหมด <b>ด่วน</b></p>"
             "<img src=\"cid:logo\" alt=\"โลโก้\">"),
    ])
    logo = crlf("Content-Type: image/gif\nContent-ID: <logo>\nContent-Transfer-Encoding: base64\n\n") + b64(b"GIF89a")
    related = part_bytes("related", "rel", [alt, logo])
    return multipart("mixed", "mix", [related], **std(Subject=ew("กล้องวงจรปิด"), Message_ID="<related@school.example.ac.th>"))


def case_broken_base64() -> bytes:
    return headers(**std(Subject="b64", Message_ID="<bad-b64@school.example.ac.th>", MIME_Version="1.0",
                         Content_Type="text/plain; charset=utf-8", Content_Transfer_Encoding="base64")) + b"\r\n" + (
        base64.b64encode("สแกนเนอร์ใช้ไม่ได้".encode())[:-3] + b"!!@@\r\n")


def case_empty_body() -> bytes:
    return headers(**std(Subject=ew("ขอแบบฟอร์มยืมอุปกรณ์"), Message_ID="<empty@school.example.ac.th>")) + b"\r\n"


def case_bare_lf_utf16() -> bytes:
    body = "ระบบสารบรรณอิเล็กทรอนิกส์เข้าไม่ได้\n".encode("utf-16")
    return (b"From: teacher@school.example.ac.th\nTo: ict@helpdesk.example.go.th\nSubject: utf16\n"
            b"Message-ID: <utf16@school.example.ac.th>\nMIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n"
            + base64.encodebytes(body))


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_") and callable(fn)}


def build(target: Path = CORPUS) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fn in CASES.items():
        path = target / f"{name}.eml"
        path.write_bytes(fn())
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS):
        print(p.name, p.stat().st_size)

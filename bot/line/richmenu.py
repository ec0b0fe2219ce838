"""The rich menu: a 2500×1686 image in four Thai tiles (Pillow with a Thai font from fonts-thai-tlwg,
shaped with libraqm) and its area definition, installed as the default menu through the Messaging API."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, features

from bot.line import messages_th as T

WIDTH, HEIGHT = 2500, 1686
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/tlwg/Laksaman-Bold.ttf"),
    Path("/usr/share/fonts/truetype/tlwg/Laksaman.ttf"),
    Path("/usr/share/fonts/truetype/tlwg/Garuda-Bold.ttf"),
    Path("/usr/share/fonts/truetype/tlwg/Loma-Bold.ttf"),
)
TILE_COLOURS = ("#1E4E8C", "#C2410C", "#047857", "#6D28D9")
MAX_IMAGE_BYTES = 1024 * 1024


class RichMenuError(RuntimeError):
    pass


def find_font(explicit: Path | None = None) -> Path:
    for path in ([explicit] if explicit else []) + list(FONT_CANDIDATES):
        if path is not None and path.is_file():
            return path
    raise RichMenuError("no Thai font found: install Debian's fonts-thai-tlwg or pass --font FILE.ttf")


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(path), size, layout_engine=layout)


def _icon(draw: ImageDraw.ImageDraw, kind: int, cx: int, cy: int, r: int, colour: str) -> None:
    """Simple line icons: question bubble, wrench, list, person."""
    white, w = "#FFFFFF", max(8, r // 7)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=white)
    if kind == 0:  # a speech bubble with a question mark
        draw.rounded_rectangle((cx - r * 0.6, cy - r * 0.5, cx + r * 0.6, cy + r * 0.3), radius=r * 0.2, fill=colour)
        draw.polygon([(cx - r * 0.3, cy + r * 0.25), (cx - r * 0.05, cy + r * 0.25), (cx - r * 0.35, cy + r * 0.6)],
                     fill=colour)
        draw.arc((cx - r * 0.2, cy - r * 0.4, cx + r * 0.2, cy - r * 0.02), 180, 90, fill=white, width=w // 2)
        draw.ellipse((cx - w * 0.4, cy + r * 0.06, cx + w * 0.4, cy + r * 0.06 + w * 0.8), fill=white)
    elif kind == 1:  # a wrench
        angle = math.radians(45)
        dx, dy = math.cos(angle) * r * 0.55, math.sin(angle) * r * 0.55
        draw.line((cx - dx, cy + dy, cx + dx * 0.4, cy - dy * 0.4), fill=colour, width=int(r * 0.22))
        hx, hy = cx + dx * 0.55, cy - dy * 0.55
        draw.ellipse((hx - r * 0.3, hy - r * 0.3, hx + r * 0.3, hy + r * 0.3), fill=colour)
        draw.ellipse((hx - r * 0.05, hy - r * 0.32, hx + r * 0.32, hy + r * 0.05), fill=white)
    elif kind == 2:  # a checklist
        for i in range(3):
            y = cy - r * 0.4 + i * r * 0.4
            draw.ellipse((cx - r * 0.55, y - w * 0.7, cx - r * 0.55 + w * 1.4, y + w * 0.7), fill=colour)
            draw.line((cx - r * 0.3, y, cx + r * 0.55, y), fill=colour, width=w)
    else:  # a person
        draw.ellipse((cx - r * 0.25, cy - r * 0.6, cx + r * 0.25, cy - r * 0.1), fill=colour)
        draw.pieslice((cx - r * 0.55, cy - r * 0.05, cx + r * 0.55, cy + r * 1.0), 180, 360, fill=colour)


def build_image(font_path: Path | None = None) -> bytes:
    """The menu image as PNG bytes (well under LINE's 1 MB limit)."""
    font_file = find_font(font_path)
    big, small = _font(font_file, 128), _font(font_file, 72)
    image = Image.new("RGB", (WIDTH, HEIGHT), "#FFFFFF")
    draw = ImageDraw.Draw(image)
    cell_w, cell_h = WIDTH // 2, HEIGHT // 2
    gap = 12
    for i, (title, subtitle) in enumerate(T.RICHMENU_ITEMS):
        col, row = i % 2, i // 2
        x0, y0 = col * cell_w, row * cell_h
        colour = TILE_COLOURS[i]
        draw.rounded_rectangle((x0 + gap, y0 + gap, x0 + cell_w - gap, y0 + cell_h - gap), radius=48, fill=colour)
        cx = x0 + cell_w // 2
        _icon(draw, i, cx, y0 + int(cell_h * 0.32), 150, colour)
        draw.text((cx, y0 + int(cell_h * 0.66)), title, font=big, fill="#FFFFFF", anchor="mm")
        draw.text((cx, y0 + int(cell_h * 0.84)), subtitle, font=small, fill="#E5E7EB", anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        raise RichMenuError(f"rich menu image is {len(data)} bytes; LINE accepts at most 1 MB")
    return data


def menu_definition() -> dict[str, Any]:
    """Four areas matching the image; actions send the same commands a user could type."""
    cell_w, cell_h = WIDTH // 2, HEIGHT // 2
    actions = [
        {"type": "postback", "label": T.CMD_ASK, "data": "a=ask", "displayText": T.CMD_ASK},
        {"type": "message", "label": T.CMD_REPAIR, "text": T.CMD_REPAIR},
        {"type": "message", "label": "สถานะเรื่อง", "text": T.CMD_STATUS},
        {"type": "message", "label": T.CMD_HUMAN, "text": T.CMD_HUMAN},
    ]
    areas = [{"bounds": {"x": (i % 2) * cell_w, "y": (i // 2) * cell_h, "width": cell_w, "height": cell_h},
              "action": action} for i, action in enumerate(actions)]
    return {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": T.RICHMENU_NAME,
            "chatBarText": T.RICHMENU_CHAT_BAR, "areas": areas}

"""`helpdesk line richmenu`: the Thai menu image and its installation as the default through the API."""

from __future__ import annotations

import io
import json
from pathlib import Path

from click.testing import CliRunner
from linebot.v3.messaging import RichMenuRequest
from PIL import Image

from bot.line.cli import line_group
from bot.line.richmenu import HEIGHT, WIDTH, build_image, find_font, menu_definition
from tests.fake_line_api import TEST_ACCESS_TOKEN, TEST_CHANNEL_SECRET, FakeLineApi


def cli_env(tmp_path: Path, fake: FakeLineApi | None = None) -> dict[str, str]:
    env = {"HELPDESK_INSTANCE_DIR": str(tmp_path), "HELPDESK_DOTENV": str(tmp_path / "none"),
           "SECRET_KEY": "test-secret-key-0123456789abcdef", "LINE_CHANNEL_SECRET": "",
           "LINE_CHANNEL_ACCESS_TOKEN": ""}
    if fake is not None:
        env.update(LINE_CHANNEL_SECRET=TEST_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN=TEST_ACCESS_TOKEN,
                   LINE_API_BASE_URL=fake.url, LINE_DATA_API_BASE_URL=fake.url)
    return env


def test_image_is_a_thai_menu_within_line_limits() -> None:
    assert "tlwg" in str(find_font())
    data = build_image()
    assert len(data) < 1024 * 1024
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    # Each tile carries white lettering on its colour.
    for x, y in ((625, 560), (1875, 560), (625, 1403), (1875, 1403)):
        tile = image.crop((x - 400, y - 60, x + 400, y + 60)).convert("L")
        low, high = tile.getextrema()
        assert high > 240 and low < 160


def test_menu_definition_is_valid_for_the_sdk() -> None:
    menu = menu_definition()
    request = RichMenuRequest.from_dict(menu)
    assert len(request.areas) == 4 and request.chat_bar_text == "เมนูบริการ"
    texts = [a["action"].get("text") or a["action"].get("data") for a in menu["areas"]]
    assert texts == ["a=ask", "แจ้งซ่อม", "สถานะ", "ติดต่อเจ้าหน้าที่"]


def test_command_installs_the_menu_as_default_and_replaces_the_old_one(tmp_path: Path, fake: FakeLineApi) -> None:
    runner = CliRunner(env=cli_env(tmp_path, fake))
    first = runner.invoke(line_group, ["richmenu", "-o", str(tmp_path / "menu.png")])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "menu.png").stat().st_size > 10_000
    uploads = fake.requests("/v2/bot/richmenu/")
    image_upload = [r for r in uploads if r.path.endswith("/content")]
    assert image_upload and image_upload[0].headers["Content-Type"] == "image/png"
    assert fake.state.default_rich_menu in first.output
    old = fake.state.default_rich_menu
    second = runner.invoke(line_group, ["richmenu"])
    assert second.exit_code == 0, second.output
    assert fake.state.default_rich_menu != old and list(fake.state.rich_menus) == [fake.state.default_rich_menu]


def test_dry_run_and_missing_credentials(tmp_path: Path) -> None:
    runner = CliRunner(env=cli_env(tmp_path))
    dry = runner.invoke(line_group, ["richmenu", "--dry-run"])
    assert dry.exit_code == 0 and json.loads(dry.output)["size"] == {"width": 2500, "height": 1686}
    result = runner.invoke(line_group, ["richmenu"])
    assert result.exit_code != 0 and "LINE is not configured" in result.output
    bad_font = runner.invoke(line_group, ["richmenu", "--dry-run", "--font", str(tmp_path / "none.ttf")])
    assert bad_font.exit_code != 0 and "none.ttf" in bad_font.output

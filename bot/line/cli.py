"""`helpdesk line ...`: the LINE channel's commands (the main CLI adds `line_group`)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("line")
def line_group() -> None:
    """The LINE official account."""


@line_group.command("richmenu")
@click.option("--font", "font", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="a Thai TrueType font (default: Laksaman from fonts-thai-tlwg)")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the menu image to this PNG file")
@click.option("--dry-run", is_flag=True, help="build the image and the menu only; do not call LINE")
def richmenu(font: Path | None, output: Path | None, dry_run: bool) -> None:
    """Build the Thai rich menu (ถามคำถาม / แจ้งซ่อม / สถานะเรื่อง / ติดต่อเจ้าหน้าที่) and install it as the
    default menu of the LINE account."""
    from bot.line.options import load_options
    from bot.line.richmenu import RichMenuError, build_image, menu_definition
    from helpdesk.config import load_settings

    try:
        image = build_image(font)
    except RichMenuError as exc:
        raise click.ClickException(str(exc)) from None
    menu = menu_definition()
    if output is not None:
        output.write_bytes(image)
        click.echo(f"image: {output} ({len(image):,} bytes)")
    if dry_run:
        click.echo(json.dumps(menu, ensure_ascii=False, indent=1))
        return
    options = load_options(load_settings())
    if not options.enabled:
        raise click.ClickException("LINE is not configured: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN")
    from bot.line.client import LineApiError, LineClient

    client = LineClient(options)
    try:
        rich_menu_id = client.install_rich_menu(menu, image)
    except LineApiError as exc:
        raise click.ClickException(f"LINE refused the rich menu: {exc}") from None
    finally:
        client.close()
    click.echo(f"rich menu installed as the default: {rich_menu_id}")

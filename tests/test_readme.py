"""The README's quick start is what CI and a newcomer run: keep it first, true and readable."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_a_two_command_quick_start() -> None:
    text = _readme()
    assert text.startswith("# "), "the README opens with its title"
    sections = re.findall(r"^## (.+)$", text, flags=re.M)
    assert sections and sections[0].startswith("Quick start")
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", text, flags=re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["scripts/quickstart", "scripts/test"]
    for command in commands:
        path = ROOT / command
        assert path.is_file() and path.stat().st_mode & 0o111, f"{command} exists and is executable"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^scripts/test\b", ci, flags=re.M)


def test_readme_has_no_repeated_sections() -> None:
    """Guard against an edit that duplicates blocks: every heading appears once and the file stays small."""
    text = _readme()
    headings = re.findall(r"^#{1,4} .+$", text, flags=re.M)
    assert len(headings) == len(set(headings)), "a heading appears twice"
    assert len(text.encode("utf-8")) < 200_000

"""Docs as tests: every setting and every command is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click

from beatmap.cli import cli
from storage.config import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "beatmap") -> list[str]:
    out = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        out.append(path)
        if isinstance(command, click.Group):
            out.extend(_commands(command, path))
    return out


def test_every_setting_is_in_the_readme_table():
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", README, flags=re.M))
    missing = [s.name for s in SETTINGS if s.name not in rows]
    assert not missing, f"settings missing from README.md settings table: {missing}"


def test_settings_table_is_current():
    from storage.config import settings_table

    assert settings_table() in README, "run `make docs` to regenerate the README settings table"


def test_every_command_is_in_the_readme():
    missing = [c for c in _commands(cli) if f"`{c}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_command_has_help():
    def walk(group):
        for command in group.commands.values():
            assert (command.help or "").strip(), f"{command.name} has no help text"
            if isinstance(command, click.Group):
                walk(command)

    walk(cli)


def test_readme_opens_with_the_two_commands():
    head = README.split("\n## ")[0]
    assert "make demo" in head and "make test" in head

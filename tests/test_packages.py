"""Our top-level package names are generic (geo, graph, nlp, crawler): make sure the modules
imported under those names are this project's and not something else on the path."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_declared_packages_are_ours():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    for name in declared:
        module = importlib.import_module(name)
        origin = Path(module.__file__).resolve()
        assert ROOT in origin.parents, f"{name} imported from {origin}, not this project"


def test_every_package_directory_is_declared():
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top in ("beatmap", "crawler", "geo", "nlp", "graph"):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            if "__pycache__" not in rel.parts:
                found.add(".".join(rel.parts))
    assert found <= declared, f"undeclared packages: {sorted(found - declared)}"

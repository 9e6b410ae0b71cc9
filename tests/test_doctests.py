"""Docstring examples are tests: pytest collects them from every package (``--doctest-modules``
over the layered packages in ``testpaths``), so no module's examples can be left out of a list."""

from __future__ import annotations

import doctest
import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PYTEST = PYPROJECT["tool"]["pytest"]["ini_options"]
LAYERED = [package for layer in PYPROJECT["tool"]["beatmap"]["layers"] for package in layer]
# Modules pytest must not import to collect (they run something), kept in the root conftest.
SKIPPED = {"beatmap.__main__", "sampleweb.__main__", "bench.__main__", "storage.migrations.env"}
# Docstring examples in the tree when collection replaced the hand-kept lists (2026-12-06: 116).
MIN_EXAMPLES = 100


def test_pytest_collects_doctests_from_every_package():
    assert "--doctest-modules" in PYTEST["addopts"].split()
    assert set(LAYERED) <= set(PYTEST["testpaths"])


def test_the_packages_still_carry_their_examples():
    finder = doctest.DocTestFinder()
    examples = 0
    for package in LAYERED:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if "__pycache__" in parts or name in SKIPPED:
                continue
            module = importlib.import_module(name)
            examples += sum(len(test.examples) for test in finder.find(module))
    assert examples >= MIN_EXAMPLES

"""Our top-level package names are generic (geo, graph, nlp, crawler): make sure the modules
imported under those names are this project's and not something else on the path."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The installed top-level packages: what a wheel of the project carries.
INSTALLED_TOPS = ("storage", "geo", "nlp", "crawler", "graph", "beatmap")


def declared_packages() -> set[str]:
    return set(PYPROJECT["tool"]["setuptools"]["packages"])


def test_declared_packages_are_ours():
    for name in sorted(declared_packages()):
        module = importlib.import_module(name)
        # Data folders are namespace packages: no __file__, only a __path__.
        origin = Path(module.__file__ or next(iter(module.__path__))).resolve()
        assert ROOT in origin.parents, f"{name} imported from {origin}, not this project"


def test_every_package_directory_is_declared():
    found = set()
    for top in INSTALLED_TOPS:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            if "__pycache__" not in rel.parts:
                found.add(".".join(rel.parts))
    assert set(INSTALLED_TOPS) <= found, "an installed top-level package has no __init__.py"
    assert found <= declared_packages(), f"undeclared packages: {sorted(found - declared_packages())}"


def test_the_sample_web_is_not_installed():
    """The sample web is a harness of the clone (demo, tests, benchmarks), not the product."""
    declared = declared_packages()
    assert not {n for n in declared if n.split(".")[0] in ("sampleweb", "tests", "bench")}
    assert {n.split(".")[0] for n in declared} == set(INSTALLED_TOPS)

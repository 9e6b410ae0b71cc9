"""The layout holds: no import circles among our modules, and no import from a lower layer to a
higher one. The layers are declared once, in ``pyproject.toml`` (``[tool.beatmap] layers``).

Every import is read from the source (``ast``), including imports inside functions, so a circle
held open by a deferred import is still a circle. An import inside a function is allowed only for
a heavy or optional third-party dependency, with its reason in a ``# deferred: …`` comment.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["beatmap"]
LAYERS: list[list[str]] = CONFIG["layers"]
RANK = {package: level for level, packages in enumerate(LAYERS) for package in packages}
DEFERRED_MARK = "# deferred:"


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module of ours, or the third-party name
    line: int
    in_function: bool
    ours: bool


def module_files() -> dict[str, Path]:
    """Every module of the layered packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in RANK:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = module_files()


def resolve(name: str) -> str | None:
    """The longest module of ours that ``name`` names (``pkg.mod.func`` → ``pkg.mod``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _function_nodes(tree: ast.AST) -> set[int]:
    """ids of every node that sits inside a function body."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for child in ast.walk(node):
                if child is not node:
                    inside.add(id(child))
    return inside


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = package[: len(package) - node.level + 1]
        stem = ".".join(base + ([node.module] if node.module else []))
    else:
        stem = node.module or ""
    # "from pkg import sub" imports the submodule when there is one, else a name of pkg.
    return [f"{stem}.{alias.name}" if resolve(f"{stem}.{alias.name}") == f"{stem}.{alias.name}"
            else stem for alias in node.names]


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = _function_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        for name in _targets(module, path, node):
            ours = resolve(name)
            found.append(Import(module, ours or name, node.lineno, id(node) in inside,
                                ours is not None))
    return found


ALL_IMPORTS = [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def _layer(module: str) -> int:
    return RANK[module.split(".")[0]]


def test_layers_declare_every_top_level_package():
    tops = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert tops <= set(RANK), f"packages missing from [tool.beatmap] layers: {tops - set(RANK)}"


def test_no_import_goes_up_a_layer_or_sideways():
    wrong = []
    for imp in ALL_IMPORTS:
        if not imp.ours:
            continue
        src, dst = imp.source.split(".")[0], imp.target.split(".")[0]
        if src != dst and _layer(imp.target) >= _layer(imp.source):
            wrong.append(f"{imp.source}:{imp.line} imports {imp.target} "
                         f"(layer {_layer(imp.source)} → {_layer(imp.target)})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative).

    >>> find_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    >>> find_cycles({"a": {"b"}, "b": set()})
    []
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles():
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in ALL_IMPORTS:
        if imp.ours and imp.target != imp.source:
            edges[imp.source].add(imp.target)
    cycles = find_cycles(edges)
    assert not cycles, "import circles:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def test_imports_inside_functions_only_defer_heavy_dependencies():
    wrong = []
    for imp in ALL_IMPORTS:
        if not imp.in_function:
            continue
        lines = MODULES[imp.source].read_text(encoding="utf-8").splitlines()
        here = lines[imp.line - 1]
        above = lines[imp.line - 2] if imp.line > 1 else ""
        if imp.ours:
            wrong.append(f"{imp.source}:{imp.line} imports our {imp.target} inside a function")
        elif DEFERRED_MARK not in here and DEFERRED_MARK not in above:
            wrong.append(f"{imp.source}:{imp.line} defers {imp.target} without a "
                         f"'{DEFERRED_MARK} reason' comment")
    assert not wrong, "imports inside functions:\n" + "\n".join(wrong)


@pytest.mark.parametrize("source, expected", [
    ("import a.b\n", ["a.b"]),
    ("def f():\n    from x import y\n", ["x"]),
])
def test_the_walker_sees_module_and_function_imports(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    found = imports_of("m", path)
    assert [imp.target for imp in found] == expected
    assert [imp.in_function for imp in found] == ["def" in source]

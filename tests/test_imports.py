"""Issue 13: the package's imports form no cycle, and only ``pipeline`` knows the stage modules.

The graph is read from the source (every ``import`` statement, at module
level or inside functions, except under ``if TYPE_CHECKING:``), so a lazy
import that only dodges a cycle counts as the cycle it is.  An edge goes to the module named (``from ..core import
X`` -> ``pipeline.core``; ``from . import x`` -> the submodule ``x``), not to
the packages above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import minecarbon

ROOT = Path(minecarbon.__file__).parent
PKG = "minecarbon"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    is_pkg = path.name == "__init__.py"
    here = name if is_pkg else name.rsplit(".", 1)[0]
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.dump(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # ``if TYPE_CHECKING:`` imports are not run
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == PKG}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != PKG:
                continue
            subs = {f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known}
            out |= subs if len(subs) == len(node.names) else subs | {mod}
    return {m for m in out if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    import sys

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_package_imports_form_no_cycle() -> None:
    cycles = _cycles(import_graph())
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_detector_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_only_the_pipeline_imports_the_stage_modules() -> None:
    graph = import_graph()
    outside = {m: sorted(t for t in ts if t.startswith("minecarbon.pipeline.stages"))
               for m, ts in graph.items() if not m.startswith("minecarbon.pipeline")}
    assert {m: t for m, t in outside.items() if t} == {}


def test_provenance_catalog_and_report_do_not_import_the_pipeline() -> None:
    graph = import_graph()
    for m, targets in graph.items():
        if m.startswith(("minecarbon.provenance", "minecarbon.catalog", "minecarbon.report", "minecarbon.inputs",
                         "minecarbon.config", "minecarbon.errors")):
            assert not [t for t in targets if t.startswith("minecarbon.pipeline")], m


def test_stage_order_is_the_explicit_tuple() -> None:
    from minecarbon.pipeline import STAGES, STAGES_BY_NAME
    from minecarbon.stage_names import STAGE_NAMES

    assert tuple(s.name for s in STAGES) == STAGE_NAMES
    assert list(STAGES_BY_NAME) == list(STAGE_NAMES)
    catalog = STAGES_BY_NAME["catalog"]
    assert catalog.upstream == STAGE_NAMES[:STAGE_NAMES.index("catalog")]

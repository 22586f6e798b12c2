"""The import graph of ``pmm_lib`` runs one way through the layers and has no cycle.

Every ``import`` / ``from ... import`` of a ``pmm_lib`` module is read from the source with
:mod:`ast` (including imports inside functions, which are still dependencies), so a lazy
import cannot hide a layer violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "pmm_lib"

#: rank of each layer: a module may import only from layers of lower or equal rank
#: (equal rank only inside the same subpackage; ``analysis`` and ``uncertainty`` are siblings)
RANK = {"base": 0, "inputs": 1, "core": 2, "analysis": 3, "uncertainty": 3, "reporting": 4, "workshop": 5,
        "plots": 6, "cli": 7}
#: the top-level helpers (errors, io, paths, seed, vocab, provenance, labels, ...): any module file
#: directly in pmm_lib/; they may import only each other
BASE = {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"  # pmm_lib/__init__.py: the curated public API, imported by nobody in the package
    return "base" if parts[1] in BASE else parts[1]


def _imports(path: Path, known: set[str]) -> set[str]:
    """pmm_lib modules imported by the file at ``path`` (``from pkg import mod`` resolves to pkg.mod)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("pmm_lib")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pmm_lib"):
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            out |= subs or {node.module}
    return {m for m in out if m in known and m != "pmm_lib"}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {m: _imports(p, known) - {m} for m, p in mods.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checker_sees_a_planted_cycle_and_a_planted_violation():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    assert _layer("pmm_lib.core.build") == "core" and _layer("pmm_lib.vocab") == "base"


def test_every_module_is_parsed():
    graph = _graph()
    assert {"pmm_lib.core.build", "pmm_lib.cli", "pmm_lib.vocab", "pmm_lib.provenance"} <= set(graph)
    assert "pmm_lib.core.spec" in graph["pmm_lib.core.build"]


def test_imports_run_one_way_through_the_layers():
    bad = []
    for mod, targets in _graph().items():
        src = _layer(mod)
        for tgt in targets:
            dst = _layer(tgt)
            if dst == "top":
                bad.append(f"{mod} -> {tgt} (the public API module is for users, not the package)")
            elif src == "top":
                continue
            elif dst == "cli" and src != "cli":
                bad.append(f"{mod} -> {tgt} (nothing imports the CLI)")
            elif RANK[dst] > RANK[src] or (RANK[dst] == RANK[src] and dst != src):
                bad.append(f"{mod} ({src}) -> {tgt} ({dst})")
    assert not bad, "layer violations:\n" + "\n".join(sorted(bad))


def test_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", ["pmm_lib.cli"])
def test_cli_help_imports_nothing_heavy(module):
    import subprocess
    import sys

    code = (f"import sys; import {module}; "
            "heavy = [m for m in ('pandas', 'numpy', 'scipy', 'matplotlib', 'yaml') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_api_is_small_lazy_and_resolves():
    import subprocess
    import sys

    import pmm_lib

    assert 10 <= len(pmm_lib.__all__) <= 25
    for name in pmm_lib.__all__:
        assert getattr(pmm_lib, name) is not None, name
    code = ("import sys, pmm_lib; print(','.join(m for m in ('pandas', 'numpy', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = pmm_lib.nope

"""The package layers hold: ``cli -> api/run -> predict, variants -> io, zoo, genome -> model``.

Parses every import statement in ``grelu_cli`` (module level and inside functions, since the
heavy imports are lazy) and fails on an import that points up or sideways where the map
below does not allow it, on a cycle in the map itself (so that following the map cannot make
a cycle between packages), on any import cycle between two or more *modules*, and on
third-party imports in the bottom layers. The checkers are tested on small synthetic package
trees. See the README's architecture section for the map in words.
"""

from __future__ import annotations

import ast
import itertools
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grelu_cli"

# Which grelu_cli packages each package may import. A package may always import itself and
# ``errors`` (the exception hierarchy, which imports nothing). Everything not listed is a
# violation: a new edge has to be added here on purpose.
ALLOWED: dict[str, set[str]] = {
    "__main__": {"cli"},
    "__init__": set(),
    "errors": set(),
    "cli": {"api", "run", "core", "viz"},
    "api": {
        "run",
        "predict",
        "variants",
        "genes",
        "ism",
        "attribute",
        "io",
        "zoo",
        "genome",
        "model",
        "core",
    },
    "run": {
        "predict",
        "variants",
        "genes",
        "ism",
        "attribute",
        "io",
        "zoo",
        "genome",
        "model",
        "core",
    },
    "variants": {"predict", "io", "zoo", "genome", "model", "core"},
    "genes": {"predict", "io", "zoo", "genome", "model", "core"},
    "ism": {"predict", "io", "zoo", "genome", "model", "core"},
    "attribute": {"predict", "io", "zoo", "genome", "model", "core"},
    "predict": {"io", "zoo", "genome", "model", "core"},
    "viz": {"io", "core"},
    # genome reads its inputs through io's readers; io never imports genome.
    "genome": {"io", "core"},
    "io": {"core"},
    # zoo writes checkpoints with io's helpers (write errors); io never imports zoo.
    "zoo": {"model", "io", "core"},
    "model": {"core"},
    "core": set(),
}

# Third-party modules the bottom layers may import (besides the standard library).
THIRD_PARTY = {"model": {"torch"}, "core": {"numpy"}}

# Module import cycles tolerated while a fix is on its way (none now). Each entry is the exact
# set of modules of one cycle: the test fails on any other cycle, and on an entry that is no
# longer a cycle, so that this list cannot outlive the fix.
KNOWN_CYCLES: list[frozenset[str]] = []


def _package(path: Path, root: Path = PACKAGE) -> str:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _import_statements(path: Path, root: Path = PACKAGE) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module name, names) of every import in ``path``, relative ones
    resolved; ``names`` are what a ``from`` import takes from the module (empty for a plain
    ``import``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = ["grelu_cli", *path.relative_to(root).with_suffix("").parts][:-1]  # its package
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((node.lineno, mod, [a.name for a in node.names]))
    return found


def _imports(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    return [(line, mod) for line, mod, _ in _import_statements(path, root)]


def _edges(root: Path = PACKAGE) -> list[tuple[str, str, str]]:
    """(from package, to module, 'file:line') for every import in the package at ``root``."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        src = _package(path, root)
        for line, mod in _imports(path, root):
            edges.append((src, mod, f"{path.relative_to(root.parent)}:{line}"))
    return edges


def _internal(mod: str) -> str | None:
    parts = mod.split(".")
    return parts[1] if parts[0] == "grelu_cli" and len(parts) > 1 else None


def test_every_package_is_in_the_map() -> None:
    packages = {_package(p) for p in PACKAGE.rglob("*.py")}
    assert packages <= set(ALLOWED), f"add {sorted(packages - set(ALLOWED))} to ALLOWED"


def _violations(root: Path = PACKAGE) -> list[str]:
    bad = []
    for src, mod, where in _edges(root):
        dst = _internal(mod)
        if dst is None or dst in (src, "errors", "__init__"):
            continue
        if dst not in ALLOWED.get(src, set()):
            bad.append(f"{where}: {src} imports {mod}")
    return bad


def test_imports_follow_the_layers() -> None:
    bad = _violations()
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_nothing_imports_cli() -> None:
    bad = [
        f"{where}: {mod}"
        for src, mod, where in _edges()
        if _internal(mod) == "cli" and src not in ("cli", "__main__")
    ]
    assert not bad, "only grelu_cli.cli and __main__ may import grelu_cli.cli:\n" + "\n".join(bad)


# --- cycles ----------------------------------------------------------------------------------
def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (each sorted), by Tarjan's
    algorithm; self-edges are ignored."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Module name -> file for every module of the package at ``root`` (a package is its
    ``__init__.py``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _module_graph(root: Path = PACKAGE) -> dict[str, dict[str, str]]:
    """Module -> {imported module of the package: 'file:line' of the first such import}.

    Module-level and function-level imports both count. ``from grelu_cli.x import y`` points
    at the module ``grelu_cli.x.y`` when ``y`` is a submodule, else at ``grelu_cli.x``; a name
    that is no module points at its longest prefix that is one.
    """
    modules = _modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, str]] = {}
    for src, path in modules.items():
        out = graph.setdefault(src, {})
        for line, mod, names in sorted(_import_statements(path, root)):
            targets = [f"{mod}.{n}" for n in names] if names else [mod]
            for target in targets:
                dst = resolve(target)
                if dst is not None and dst != src:
                    out.setdefault(dst, f"{path.relative_to(root.parent)}:{line}")
    return graph


def _describe_cycle(component: list[str], graph: dict[str, dict[str, str]]) -> str:
    """One closed path through ``component``, each step with the import that makes it:
    ``a -> b (a.py:3) -> a (b.py:7)``."""
    members, start = set(component), component[0]
    came_from: dict[str, str] = {}
    todo = [start]
    while todo and start not in came_from:  # breadth-first back to start, inside the cycle
        node = todo.pop(0)
        for nxt in sorted(graph[node]):
            if nxt in members and nxt not in came_from:
                came_from[nxt] = node
                todo.append(nxt)
    path, node = [start], came_from[start]
    while node != start:
        path.append(node)
        node = came_from[node]
    path.append(start)
    path.reverse()  # start -> ... -> start
    steps = [f"{a} -> {b} ({graph[a][b]})" for a, b in itertools.pairwise(path)]
    return f"cycle of {len(component)} modules: " + "; ".join(steps)


def _cycle_problems(graph: dict[str, dict[str, str]], known: list[frozenset[str]]) -> list[str]:
    """A message for every cycle not in ``known`` and every ``known`` entry that is no
    longer a cycle."""
    cycles = _cycles({m: set(out) for m, out in graph.items()})
    found = {frozenset(c) for c in cycles}
    problems = [_describe_cycle(c, graph) for c in cycles if frozenset(c) not in known]
    problems += [
        f"KNOWN_CYCLES lists {sorted(k)}, which is no longer an import cycle: remove the entry"
        for k in known
        if k not in found
    ]
    return problems


def _map_cycles(allowed: dict[str, set[str]]) -> list[list[str]]:
    """Cycles between packages in a layer map (a package importing itself is no cycle)."""
    return _cycles({src: dsts - {src} for src, dsts in allowed.items()})


def test_the_map_has_no_cycle() -> None:
    """``ALLOWED`` is a layering: with no cycle in it, imports that follow it (the test
    above) cannot make a cycle between packages."""
    cycles = _map_cycles(ALLOWED)
    assert not cycles, f"ALLOWED has cycles between packages: {cycles}"


def test_no_import_cycle_between_modules() -> None:
    problems = _cycle_problems(_module_graph(), KNOWN_CYCLES)
    assert not problems, "module import cycles:\n" + "\n".join(problems)


@pytest.mark.parametrize("layer", sorted(THIRD_PARTY))
def test_bottom_layers_import_only_stdlib_and_their_one_library(layer: str) -> None:
    allowed = THIRD_PARTY[layer] | set(sys.stdlib_module_names) | {"__future__", "grelu_cli"}
    bad = [
        f"{where}: {mod}"
        for src, mod, where in _edges()
        if src == layer and mod.split(".")[0] not in allowed
    ]
    assert not bad, (
        f"{layer} may import only {sorted(THIRD_PARTY[layer])} and stdlib:\n" + "\n".join(bad)
    )


def test_the_check_sees_a_reintroduced_genome_to_model_import(tmp_path: Path) -> None:
    """A lazy, function-level ``genome -> model`` import (what broke the rule) is caught, and
    so are relative imports."""
    root = tmp_path / "grelu_cli"
    (root / "genome").mkdir(parents=True)
    (root / "genome" / "bins.py").write_text(
        "def f():\n    from grelu_cli.model.layers import Crop\n"
    )
    (root / "io").mkdir()
    (root / "io" / "bed.py").write_text("from ..genome import plan\n")
    bad = _violations(root)
    assert len(bad) == 2
    assert "genome imports grelu_cli.model.layers" in bad[0]
    assert "io imports grelu_cli.genome" in bad[1]


# --- the cycle checks, tested on synthetic package trees -----------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path inside the package -> source) as a package ``grelu_cli`` under
    ``tmp_path``; returns the package root."""
    root = tmp_path / "grelu_cli"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# Two modules that import each other: one through ``from package import submodule``, the
# other lazily, inside a function, with a relative import.
_TWO_CYCLE = {
    "run/__init__.py": "",
    "run/chunked.py": "from grelu_cli.run import workers\n",
    "run/workers.py": "import os\n\n\ndef f():\n    from .chunked import run_chunked\n",
    "core/__init__.py": "",
    "core/block.py": "import numpy\n",
}


def test_the_cycle_check_finds_a_cycle_and_says_where(tmp_path: Path) -> None:
    root = _tree(tmp_path, _TWO_CYCLE)
    assert _cycle_problems(_module_graph(root), []) == [
        "cycle of 2 modules: "
        "grelu_cli.run.chunked -> grelu_cli.run.workers (grelu_cli/run/chunked.py:1); "
        "grelu_cli.run.workers -> grelu_cli.run.chunked (grelu_cli/run/workers.py:5)"
    ]


def test_the_cycle_check_passes_a_tree_without_cycles(tmp_path: Path) -> None:
    """The same modules with the lazy import gone; ``from grelu_cli.run import helper``
    takes a name of the package, not a submodule, so it points at ``run/__init__.py``."""
    root = _tree(
        tmp_path,
        {
            **_TWO_CYCLE,
            "run/__init__.py": "from grelu_cli.core import block\n\nhelper = 1\n",
            "run/workers.py": "from grelu_cli.run import helper\n",
        },
    )
    graph = _module_graph(root)
    assert graph["grelu_cli.run.workers"] == {"grelu_cli.run": "grelu_cli/run/workers.py:1"}
    assert graph["grelu_cli.run"] == {"grelu_cli.core.block": "grelu_cli/run/__init__.py:1"}
    assert _cycle_problems(graph, []) == []


def test_the_cycle_check_finds_a_longer_cycle_through_a_package(tmp_path: Path) -> None:
    """a -> b -> package io (its ``__init__``) -> a: three modules, one closed path."""
    root = _tree(
        tmp_path,
        {
            "a.py": "import grelu_cli.b\n",
            "b.py": "from grelu_cli.io import read\n",
            "io/__init__.py": "from grelu_cli.a import x\n\n\ndef read():\n    pass\n",
            "c.py": "import grelu_cli.a\n",  # into the cycle, not on it
        },
    )
    assert _cycle_problems(_module_graph(root), []) == [
        "cycle of 3 modules: "
        "grelu_cli.a -> grelu_cli.b (grelu_cli/a.py:1); "
        "grelu_cli.b -> grelu_cli.io (grelu_cli/b.py:1); "
        "grelu_cli.io -> grelu_cli.a (grelu_cli/io/__init__.py:1)"
    ]


def test_known_cycles_are_allowed_only_while_they_exist(tmp_path: Path) -> None:
    known = [frozenset({"grelu_cli.run.chunked", "grelu_cli.run.workers"})]
    assert _cycle_problems(_module_graph(_tree(tmp_path / "with", _TWO_CYCLE)), known) == []
    fixed = _tree(tmp_path / "fixed", {**_TWO_CYCLE, "run/workers.py": "import os\n"})
    assert _cycle_problems(_module_graph(fixed), known) == [
        "KNOWN_CYCLES lists ['grelu_cli.run.chunked', 'grelu_cli.run.workers'], which is no "
        "longer an import cycle: remove the entry"
    ]


def test_the_map_check_finds_a_cycle_in_the_map() -> None:
    allowed = {**ALLOWED, "core": {"core", "io"}}  # io -> core -> io
    assert _map_cycles(allowed) == [["core", "io"]]
    assert _map_cycles({"a": {"a", "b"}, "b": set()}) == []  # importing itself is no cycle

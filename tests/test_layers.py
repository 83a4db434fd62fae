"""The package layers hold: ``cli -> api/run -> predict, variants -> io, zoo, genome -> model``.

Parses every import statement in ``grelu_cli`` (module level and inside functions, since the
heavy imports are lazy) and fails on an import that points up or sideways where the map
below does not allow it, on any cycle between packages, and on third-party imports in the
bottom layers. See the README's architecture section for the map in words.
"""

from __future__ import annotations

import ast
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
    "cli": {"api", "run", "predict", "variants", "viz", "io", "zoo", "genome", "model", "core"},
    "api": {"run", "predict", "variants", "io", "zoo", "genome", "model", "core"},
    "run": {"predict", "variants", "io", "zoo", "genome", "model", "core"},
    "variants": {"predict", "io", "zoo", "genome", "model", "core"},
    "ism": {"predict", "io", "zoo", "genome", "model", "core"},
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


def _package(path: Path, root: Path = PACKAGE) -> str:
    rel = path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = ["grelu_cli", *path.relative_to(root).with_suffix("").parts][:-1]  # its package
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
    return found


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


def test_no_cycles_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for src, mod, _ in _edges():
        dst = _internal(mod)
        if dst is not None and dst != src:
            graph.setdefault(src, set()).add(dst)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted(p for p in graph if p in reach(p))
    assert not cycles, f"packages on an import cycle: {cycles}"


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
        "def f():\n    from grelu_cli.model.geometry import Geometry\n"
    )
    (root / "io").mkdir()
    (root / "io" / "bed.py").write_text("from ..genome import plan\n")
    bad = _violations(root)
    assert len(bad) == 2
    assert "genome imports grelu_cli.model.geometry" in bad[0]
    assert "io imports grelu_cli.genome" in bad[1]

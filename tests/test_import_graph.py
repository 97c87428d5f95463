"""The import graph of src/eqlab has no circle and points only downward, imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: list[set[str]] = [
    {"_arguments", "_version", "_tracing"},
    {"_files"},
    {"_options"},
    {"groups"},
    {"testing"},
    {"sharing", "gconv"},
    {"nn"},
    {"trace"},
    {"exactness"},
    {"activations", "layerwise"},
    {"_audit", "_export"},
    {"data", "runs"},
    {"train"},
    {"bayes"},  # train_marglik resumes from run-folder checkpoints and shares the loop's DDP helpers
    {"studies"},
    {"_runner"},
    {"_cli"},
    {"__main__"},
]
"""Each part of eqlab, lowest first: a part imports only itself and parts of lower layers."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every eqlab module ``path`` imports, at module level or inside functions: ``from P import M``
    names the module ``P.M`` where that is a module, and ``P`` otherwise."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("eqlab"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("eqlab"))
    return found


def module_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    files = {_module_name(p): p for p in (SRC / "eqlab").rglob("*.py")}
    for name, path in files.items():
        graph.add_node(name)
        for target in _imports(path, set(files)):
            if target in files and target != name:
                graph.add_edge(name, target)
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "eqlab"


def _layer(part: str) -> int:
    for i, layer in enumerate(LAYERS):
        if part in layer:
            return i
    raise AssertionError(f"eqlab.{part} is in no layer of LAYERS; add it where it belongs")


def test_no_module_imports_itself_through_a_circle() -> None:
    graph = module_graph()
    inner = graph.subgraph(n for n in graph if n != "eqlab")  # the top package only re-exports
    cycles = list(nx.simple_cycles(inner))
    assert not cycles, f"import circles: {cycles[:5]}"


def test_imports_point_only_downward() -> None:
    upward = []
    for source, target in module_graph().edges:
        if source == "eqlab":
            continue
        a, b = _part(source), _part(target)
        if a != b and _layer(b) >= _layer(a):
            upward.append(f"{source} -> {target}")
    assert not upward, upward


def test_no_module_imports_its_own_package() -> None:
    """A module reaching its own package's ``__init__`` would import every sibling, itself included."""
    inward = [
        f"{s} -> {t}"
        for s, t in module_graph().edges
        if s.count(".") >= 2 and t == s.rsplit(".", 1)[0] and not s.endswith("__main__")
    ]
    assert not inward, inward

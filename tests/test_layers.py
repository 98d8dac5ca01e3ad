"""The house's shape (docs/architecture.md, "The house in one picture"): layers
import downwards only, no module imports itself round a loop, and every
domain offers the same typed surface.

Imports are read from the source (ast), at any depth: an import inside a
function is a dependency as much as one at the top, and so is a module named
in a string for importlib ("envmon.air.domain").
"""

from __future__ import annotations

import ast
import dataclasses
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "envmon"

# Lowest first. A package may import only packages of lower layers: never
# one above it, and never a sibling of its own layer (the three domains do
# not know each other; alerts and reporting do not know each other).
LAYERS: list[set[str]] = [
    {"core"},
    {"air", "water", "hazwaste"},
    {"domains", "registry", "alerts", "reporting"},
    {"demo", "orchestration"},
    {"cli"},
]


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _named(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
        if text.startswith("envmon.") and text.replace(".", "").replace("_", "").isalnum():
            return [text]
    return []


def _graph() -> dict[str, set[str]]:
    """Module -> envmon modules it imports (a name that is not a module: its package)."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _named(node):
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                # A package's own __init__ is its children's namespace, not a dependency.
                if name and name != module and not module.startswith(name + "."):
                    graph[module].add(name)
    return graph


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_loop() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_sees_a_loop() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_package_has_a_layer() -> None:
    units = {_unit(m) for m in _modules()} - {"envmon"}
    assert units == set().union(*LAYERS)


def test_layers_import_downwards_only() -> None:
    rank = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
    wrong = sorted(f"{module} -> {target}"
                   for module, targets in _graph().items() for target in targets
                   if _unit(module) != _unit(target) and _unit(module) in rank
                   and rank.get(_unit(target), -1) >= rank[_unit(module)])
    assert wrong == []


def test_the_product_imports_no_benchmark_or_test() -> None:
    strays = sorted(f"{m}: {n}" for m, path in _modules().items()
                    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                    for n in _named(node) if n.split(".")[0] in ("benchmarks", "tests"))
    assert strays == []


def _domains() -> dict:
    from envmon.domains import domains

    return domains()


@pytest.mark.parametrize("name", ["air", "water", "hazwaste"])
def test_every_domain_offers_the_typed_contract(name: str) -> None:
    from envmon.core.requests import Flag
    from envmon.domains import Domain

    domain = _domains()[name]
    missing = [attr for attr in [*Domain.__annotations__, "ingest", "pull", "lake_tables"]
               if not hasattr(domain, attr)]
    assert missing == []
    assert domain.NAME == name and domain.FORMATS and isinstance(domain.PARALLEL_INGEST, bool)
    for options in (domain.IngestOptions, domain.PullOptions):
        assert dataclasses.is_dataclass(options)
        assert all(isinstance(f.metadata.get("flag"), Flag) for f in dataclasses.fields(options))
    # Nothing below the command line takes argparse objects.
    source = Path(domain.__file__).read_text(encoding="utf-8")
    assert "argparse" not in source


def test_the_demo_has_a_part_for_every_domain_in_order() -> None:
    from envmon.demo.run import DEMOS

    assert list(DEMOS) == list(_domains())

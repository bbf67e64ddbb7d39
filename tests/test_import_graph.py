"""Imports go one way: no import cycle among a package's own modules, and nemo-core's layers only import down.

Every module under ``packages/<package>/src`` is parsed with :mod:`ast`; nothing is imported. An edge
``a -> b`` (both modules of the same package) is recorded for

- every ``import`` / ``from ... import`` statement anywhere in ``a``: module level, inside functions and
  classes, under ``if TYPE_CHECKING:``; relative imports are resolved against ``a``'s package;
- every module named by the lazy re-export table that ``a`` (a package ``__init__``) passes to
  ``nemo.utils.lazy_exports.lazy_exports``: a re-export is an import of the module that defines the name.

``from pkg import name`` is an edge to the module that ``name`` comes from: the module the lazy table
of ``pkg`` maps it to, the module ``pkg``'s ``__init__`` imports it from, the submodule ``pkg.name``,
or else ``pkg`` itself. The parent packages that Python runs before any submodule are not edges: every
module has them and they decide nothing about layering.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = sorted(path.parent.name for path in (REPO / "packages").glob("*/src"))

# Cycles that another change is removing. Each entry is the set of modules of one cycle; the test accepts a
# cycle (a strongly connected component) only when all its modules are in one entry, and warns that it is
# still there. Remove an entry once its cycle is gone; a new cycle, or one that grows, fails the test.
KNOWN_CYCLES: dict[str, list[frozenset[str]]] = {}

# Imports that go up a layer and that another change is removing: (importer, imported). The layering test
# accepts exactly these and warns while they remain; remove an entry once its import is gone.
KNOWN_UPWARD_IMPORTS: set[tuple[str, str]] = set()

# nemo-core's layers, lowest first: a module may import modules of its own layer and of the layers below.
# A module belongs to the layer of the longest entry naming it or a package above it; an entry ending in
# ".__init__" names only that package's own module (its __init__.py), not the modules inside it.
NEMO_CORE_LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        # Imports nothing of nemo.core. exp_manager and its callbacks stay here (the issue drew them in the
        # top layer): they take the trainer and the model as arguments and import nothing of nemo.core.
        # The `_target_` policy (nemo.utils.target_allowlist) lives here because
        # nemo.utils.model_utils.import_class_by_path enforces it; `import nemo.core` connects the registry's
        # plugin prefixes to it (set_plugin_prefix_source).
        "utils",
        ("nemo.constants", "nemo.utils"),
    ),
    (
        "neural types, plugin specs, config dataclasses",
        (
            "nemo.core.neural_types",
            "nemo.core.utils",  # support checks (numba_utils) that import nothing of nemo
            "nemo.core.version",
            "nemo.core.plugins.errors",
            "nemo.core.plugins.hookspecs",
            "nemo.core.plugins.targets",
            "nemo.core.plugins.types",
            "nemo.core.config.hydra_runner",
            "nemo.core.config.name_registry",
            "nemo.core.config.optimizers",
            "nemo.core.config.param_overrides",
            "nemo.core.config.pytorch_lightning",
            "nemo.core.config.schedulers",
        ),
    ),
    ("plugins, registry", ("nemo.core.plugins", "nemo.core.registry")),
    # Adapter and access mixins (nemo.core.classes.mixins) import only nemo.utils.
    ("classes, connectors", ("nemo.core.classes", "nemo.core.classes.mixins", "nemo.core.connectors")),
    (
        # Package roots that re-export ModelPT (lazily) sit with it.
        "ModelPT, optim, CLI",
        (
            "nemo.core.__init__",
            "nemo.core.classes.__init__",
            "nemo.core.classes.modelPT",
            "nemo.core.config",
            "nemo.core.optim",
            "nemo.core.cli",
            # The conformance kit checks models built on everything below it (tests import it; nothing else does).
            "nemo.core.conformance",
        ),
    ),
    # Shared by the domain collections; nothing in nemo.core imports it.
    ("collections.common", ("nemo.collections.common",)),
]


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``path:line``."""

    source: str
    target: str
    path: Path
    line: int

    def where(self) -> str:
        return f"{_shown(self.path)}:{self.line}"


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


@dataclass
class ModuleInfo:
    """One module of a package: its file, whether it is a package ``__init__``, its parsed tree."""

    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    assignments: dict[str, ast.expr] = field(default_factory=dict)
    imported_names: dict[str, tuple[str, str]] = field(default_factory=dict)


class StaticValueError(ValueError):
    """A lazy re-export table holds something that cannot be read without running the module."""


def discover_modules(src: Path) -> dict[str, ModuleInfo]:
    """Every module under ``src`` by dotted name (a package by its own name, not ``pkg.__init__``)."""
    modules: dict[str, ModuleInfo] = {}
    for path in sorted(src.rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        tree = ast.parse(path.read_text(), filename=str(path))
        modules[name] = info = ModuleInfo(name, path, is_package, tree)
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        info.assignments[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
                info.assignments[node.target.id] = node.value
            elif isinstance(node, ast.ImportFrom):
                base = _resolve_from(info, node)
                for alias in node.names:
                    info.imported_names[alias.asname or alias.name] = (base, alias.name)
    return modules


def _resolve_from(info: ModuleInfo, node: ast.ImportFrom) -> str:
    """The absolute module of ``from <module> import ...`` written in ``info``."""
    if not node.level:
        return node.module or ""
    package = info.name.split(".") if info.is_package else info.name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _static_value(expr: ast.expr, info: ModuleInfo, modules: dict[str, ModuleInfo], env: dict[str, object]):
    """Evaluate a lazy re-export table: literals, names, ``__name__``, f-strings, ``str.split()``, dicts.

    Raises:
        StaticValueError: anything else; the message names the file and line.
    """

    def value(node: ast.expr, scope: dict[str, object]) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [value(item, scope) for item in node.elts]
        if isinstance(node, ast.Name):
            if node.id == "__name__":
                return info.name
            if node.id in scope:
                return scope[node.id]
            if node.id in info.assignments:
                return value(info.assignments[node.id], scope)
            if node.id in info.imported_names:
                module, name = info.imported_names[node.id]
                if module in modules and name in modules[module].assignments:
                    return _static_value(modules[module].assignments[name], modules[module], modules, {})
        if isinstance(node, ast.JoinedStr):
            return "".join(
                str(value(part.value, scope)) if isinstance(part, ast.FormattedValue) else str(part.value)
                for part in node.values
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "split"
            and not node.args
            and not node.keywords
        ):
            return str(value(node.func.value, scope)).split()
        if isinstance(node, ast.Dict):
            result: dict[object, object] = {}
            for key, item in zip(node.keys, node.values):
                if key is None:
                    result.update(value(item, scope))  # type: ignore[arg-type]
                else:
                    result[value(key, scope)] = value(item, scope)
            return result
        if isinstance(node, ast.DictComp) and len(node.generators) == 1 and not node.generators[0].ifs:
            generator = node.generators[0]
            if isinstance(generator.target, ast.Name):
                return {
                    value(node.key, {**scope, generator.target.id: item}): value(
                        node.value, {**scope, generator.target.id: item}
                    )
                    for item in value(generator.iter, scope)  # type: ignore[union-attr]
                }
        raise StaticValueError(
            f"{_shown(info.path)}:{node.lineno}: cannot read {ast.unparse(node)!r} without running the "
            "module. Write lazy re-export tables with literals, module-level names, str.split() and dict "
            "comprehensions only."
        )

    return value(expr, env)


def lazy_table(info: ModuleInfo, modules: dict[str, ModuleInfo]) -> tuple[dict[str, str], int]:
    """The ``{public name: defining module}`` table ``info`` passes to ``lazy_exports``, and its line."""
    for node in ast.walk(info.tree):
        if not isinstance(node, ast.Call) or len(node.args) != 2:
            continue
        func = node.func
        if (isinstance(func, ast.Name) and func.id == "lazy_exports") or (
            isinstance(func, ast.Attribute) and func.attr == "lazy_exports"
        ):
            table = _static_value(node.args[1], info, modules, {})
            return {str(name): str(target).partition(":")[0] for name, target in table.items()}, node.lineno
    return {}, 0


def _owner(name: str, modules: dict[str, ModuleInfo]) -> str | None:
    """``name`` if it is a module of the package, else its longest dotted prefix that is; ``None`` if none."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def build_graph(src: Path) -> tuple[dict[str, ModuleInfo], list[Edge]]:
    """The modules under ``src`` and every import edge between them (see the module docstring)."""
    modules = discover_modules(src)
    tables = {name: lazy_table(info, modules) for name, info in modules.items() if info.is_package}

    def origin(package: str, name: str, seen: frozenset[str] = frozenset()) -> str | None:
        """The module that ``from package import name`` takes ``name`` from."""
        info = modules.get(package)
        if info is None:
            return None
        table, _ = tables.get(package, ({}, 0))
        if name in table:
            return _owner(table[name], modules)
        if info.is_package and name in info.imported_names and package not in seen:
            base, original = info.imported_names[name]
            return origin(base, original, seen | {package}) or _owner(base, modules)
        if f"{package}.{name}" in modules and name not in info.assignments:
            return f"{package}.{name}"
        return package

    edges: list[Edge] = []
    for name, info in modules.items():
        for node in ast.walk(info.tree):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_owner(alias.name, modules) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve_from(info, node)
                targets = [
                    origin(base, alias.name) if alias.name != "*" else _owner(base, modules)
                    for alias in node.names
                ]
            edges += [
                Edge(name, target, info.path, node.lineno) for target in targets if target and target != name
            ]
        table, line = tables.get(name, ({}, 0))
        edges += [
            Edge(name, target, info.path, line)
            for target in {_owner(module, modules) for module in table.values()}
            if target and target != name
        ]
    return modules, list(dict.fromkeys(edges))


def strongly_connected_components(nodes: list[str], edges: list[Edge]) -> list[list[str]]:
    """Tarjan's algorithm; returns the components with more than one module, each sorted."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        successors[edge.source].append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in successors[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return sorted(components)


def shortest_cycle(component: list[str], edges: list[Edge]) -> list[Edge]:
    """One shortest cycle through the first module of ``component``, as the edges that make it."""
    members = set(component)
    inside = [edge for edge in edges if edge.source in members and edge.target in members]
    start = component[0]
    came_by: dict[str, Edge] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for edge in inside:
            if edge.source != node or edge.target in came_by:
                continue
            came_by[edge.target] = edge
            if edge.target == start:
                path = [edge]
                while path[0].source != start:
                    path.insert(0, came_by[path[0].source])
                return path
            queue.append(edge.target)
    raise AssertionError(f"{component} is not strongly connected")


def describe_cycles(components: list[list[str]], edges: list[Edge]) -> str:
    lines = []
    for component in components:
        lines.append(f"cycle among {len(component)} modules: {', '.join(component)}")
        lines += [f"    {e.source} -> {e.target}  ({e.where()})" for e in shortest_cycle(component, edges)]
    return "\n".join(lines)


def layer_of(module: str, is_package: bool) -> int | None:
    """Index in ``NEMO_CORE_LAYERS`` of ``module``'s layer (its ``__init__`` when ``is_package``)."""
    best: tuple[int, int] | None = None
    for position, (_, entries) in enumerate(NEMO_CORE_LAYERS):
        for entry in entries:
            if entry.endswith(".__init__"):
                matches = is_package and module == entry.removesuffix(".__init__")
            else:
                matches = module == entry or module.startswith(entry + ".")
            if matches and (best is None or len(entry) > best[0]):
                best = (len(entry), position)
    return None if best is None else best[1]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_has_no_import_cycle(package: str) -> None:
    modules, edges = build_graph(REPO / "packages" / package / "src")
    components = strongly_connected_components(list(modules), edges)
    known = KNOWN_CYCLES.get(package, [])
    unknown = [c for c in components if not any(set(c) <= cycle for cycle in known)]
    assert not unknown, (
        f"{package} has import cycles. Move the shared names down into a module that imports none of the "
        "others, or pass what is needed in as an argument:\n" + describe_cycles(unknown, edges)
    )
    if components:
        warnings.warn(
            f"{package} still has known import cycles (KNOWN_CYCLES in {Path(__file__).name}):\n"
            + describe_cycles(components, edges),
            stacklevel=1,
        )


def test_nemo_core_layers_import_only_downward() -> None:
    modules, edges = build_graph(REPO / "packages" / "nemo-core" / "src")
    layers = {name: layer_of(name, info.is_package) for name, info in modules.items()}
    unplaced = sorted(name for name, layer in layers.items() if layer is None)
    assert not unplaced, f"modules in no layer of NEMO_CORE_LAYERS in {Path(__file__).name}: {unplaced}"
    upward = [e for e in edges if layers[e.source] < layers[e.target]]  # type: ignore[operator]
    unknown = [
        f"{e.source} (layer {NEMO_CORE_LAYERS[layers[e.source]][0]!r}) imports {e.target} "
        f"(layer {NEMO_CORE_LAYERS[layers[e.target]][0]!r}) at {e.where()}"
        for e in upward
        if (e.source, e.target) not in KNOWN_UPWARD_IMPORTS
    ]
    assert not unknown, "nemo-core imports that go up a layer:\n" + "\n".join(sorted(unknown))
    known = [
        f"{e.source} -> {e.target} ({e.where()})"
        for e in upward
        if (e.source, e.target) in KNOWN_UPWARD_IMPORTS
    ]
    if known:
        warnings.warn(
            f"nemo-core still has known upward imports (KNOWN_UPWARD_IMPORTS in {Path(__file__).name}):\n"
            + "\n".join(known),
            stacklevel=1,
        )


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_graph_sees_local_type_checking_relative_and_lazy_imports(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "pkg/__init__.py": (
                "from nemo.utils.lazy_exports import lazy_exports\n"
                "_NAMES = 'Low Other'.split()\n"
                "__getattr__, __dir__ = lazy_exports(__name__, {**{n: f'pkg.low:{n}' for n in _NAMES}, "
                "'High': 'pkg.high'})\n"
            ),
            "pkg/low.py": "def f():\n    from pkg.mid import g\n",
            "pkg/mid.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .high import High\n",
            "pkg/high.py": "from pkg import Low\n",
            "pkg/user.py": "from pkg import High\nfrom . import low\n",
            "pkg/alone.py": "import os\n",
        },
    )
    modules, edges = build_graph(src)
    pairs = {(e.source, e.target) for e in edges}
    assert pairs == {
        ("pkg", "pkg.low"),
        ("pkg", "pkg.high"),
        ("pkg.low", "pkg.mid"),
        ("pkg.mid", "pkg.high"),
        ("pkg.high", "pkg.low"),
        ("pkg.user", "pkg.high"),
        ("pkg.user", "pkg.low"),
    }
    assert strongly_connected_components(list(modules), edges) == [["pkg.high", "pkg.low", "pkg.mid"]]


def test_graph_refuses_a_lazy_table_it_cannot_read(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        {
            "pkg/__init__.py": "import os\nlazy_exports(__name__, {'X': os.environ['MODULE']})\n",
            "pkg/x.py": "",
        },
    )
    with pytest.raises(StaticValueError, match=re.escape("pkg/__init__.py:2")):
        build_graph(src)

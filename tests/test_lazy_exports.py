"""Every name a package advertises resolves: no stub can sit in a lazy-export table or ``__all__``.

The modules checked are every package ``__init__.py`` under ``packages/*/src`` and every other module that
builds a table with ``lazy_exports``. One fresh interpreter imports them all (parents first, so each
``dir()`` is read before anything resolved), then resolves every name that ``dir()`` or ``__all__``
lists. The files named in docs/architecture.md's module maps are checked to exist too.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC_ROOTS = sorted(REPO.glob("packages/*/src"))
ARCHITECTURE = REPO / "docs" / "architecture.md"
# Heading of each module map in docs/architecture.md -> the folder its paths are relative to.
MODULE_MAPS = {
    "## nemo-core module map": REPO / "packages/nemo-core/src",
    "## nemo-asr module map": REPO / "packages/nemo-asr/src/nemo/collections/asr",
    "## nemo-tts module map": REPO / "packages/nemo-tts/src/nemo/collections/tts",
    "## nemo-nlp module map": REPO / "packages/nemo-nlp/src/nemo/collections/nlp",
}

_PROBE = """
import importlib, json, sys
report = {}
for name in sorted(sys.argv[1:]):
    module = importlib.import_module(name)
    public_all = getattr(module, "__all__", None)
    report[name] = {
        "dir": sorted(dir(module)),
        "bound": sorted(vars(module)),
        "all": None if public_all is None else list(public_all),
    }
for name, entry in report.items():
    module = sys.modules[name]
    errors = {}
    for attr in sorted(set(entry["dir"]) | set(entry["all"] or [])):
        try:
            getattr(module, attr)
        except Exception as error:
            errors[attr] = f"{type(error).__name__}: {error}"
    entry["errors"] = errors
print(json.dumps(report))
"""


def _declares_lazy_exports(path: Path) -> bool:
    """Whether the module assigns the result of a ``lazy_exports(...)`` call at top level."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return any(
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "lazy_exports"
        for node in tree.body
    )


def _module_name(src_root: Path, path: Path) -> str:
    parts = path.relative_to(src_root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def exporting_modules() -> list[str]:
    """Every package, and every module with a lazy-export table, under ``packages/*/src``."""
    names = set()
    for src_root in SRC_ROOTS:
        for path in src_root.rglob("*.py"):
            if path.name == "__init__.py" or _declares_lazy_exports(path):
                names.add(_module_name(src_root, path))
    return sorted(names)


MODULES = exporting_modules()


@pytest.fixture(scope="module")
def report() -> dict[str, dict]:
    """What each module advertised on import, and the names that failed to resolve."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *MODULES], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert result.returncode == 0, f"importing the packages failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout.splitlines()[-1])


def test_every_package_is_found() -> None:
    expected = {
        "nemo.core",
        "nemo.utils",
        "nemo.collections.common",
        "nemo.collections.common.metrics",
        "nemo.collections.asr",
        "nemo.collections.nlp",
        "nemo.collections.tts",
        "nemo.core.classes.common",
    }
    assert expected <= set(MODULES), f"not discovered: {sorted(expected - set(MODULES))}"
    assert "nemo" not in MODULES and "nemo.collections" not in MODULES, (
        "nemo and nemo.collections are PEP 420"
    )


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_every_advertised_name_resolves(report: dict[str, dict], module: str) -> None:
    errors = report[module]["errors"]
    assert not errors, (
        f"{module} advertises names (in dir() or __all__) that do not resolve: "
        + "; ".join(f"{name} -> {error}" for name, error in errors.items())
        + ". Implement them, or remove them from the module's export table and __all__."
    )


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_all_and_dir_agree(report: dict[str, dict], module: str) -> None:
    entry = report[module]
    lazy = {name for name in set(entry["dir"]) - set(entry["bound"]) if not name.startswith("_")}
    if entry["all"] is None:
        assert not lazy, (
            f"{module} exports {sorted(lazy)} lazily but has no __all__. Add __all__ listing them."
        )
        return
    missing_from_all = lazy - set(entry["all"])
    missing_from_dir = set(entry["all"]) - set(entry["dir"])
    assert not missing_from_all, f"{module}: lazily exported but not in __all__: {sorted(missing_from_all)}"
    assert not missing_from_dir, f"{module}: in __all__ but not in dir(): {sorted(missing_from_dir)}"


def module_map_paths(heading: str, root: Path) -> list[tuple[str, Path]]:
    """``(token, path)`` for every path one module map names.

    Every backticked token of the first column counts, and those of the second column that end in
    ``.py`` or ``/``. A token with a ``/`` inside is relative to ``root``; a bare name (``dataset.py``
    after ``nemo/core/classes/loss.py``) is relative to the folder of the path before it in the row.
    """
    section = ARCHITECTURE.read_text(encoding="utf-8").split(heading, 1)[1].split("\n## ", 1)[0]
    paths = []
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) < 4 or not cells[1].strip().startswith("`"):
            continue
        tokens = re.findall(r"`([^`]+)`", cells[1])
        tokens += [
            token for token in re.findall(r"`([^`]+)`", cells[2]) if re.fullmatch(r"[\w/.]+(\.py|/)", token)
        ]
        folder = root
        for token in tokens:
            path = (root if "/" in token.rstrip("/") else folder) / token
            folder = path if token.endswith("/") else path.parent
            paths.append((token, path))
    return paths


@pytest.mark.parametrize("heading", sorted(MODULE_MAPS))
def test_module_map_paths_exist(heading: str) -> None:
    paths = module_map_paths(heading, MODULE_MAPS[heading])
    assert paths, f"docs/architecture.md has no rows under {heading!r}"
    missing = [f"`{token}` ({path.relative_to(REPO)})" for token, path in paths if not path.exists()]
    assert not missing, (
        f"docs/architecture.md {heading!r} names files that do not exist: {', '.join(missing)}"
    )

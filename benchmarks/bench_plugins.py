"""Cost of plugin discovery: `nemo models` with 50 extra plugin distributions versus none.

Each fake distribution is a real ``*.dist-info`` folder plus a tiny plugin module registering one
``ModelSpec`` whose target module raises if imported. The script times ``python -m nemo.core.cli.main
models`` in fresh interpreters, checks with ``-X importtime`` that no model module (and not torch) was
imported, and prints one JSON line.

Run: python benchmarks/bench_plugins.py [--plugins 50] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nemo.core.plugins.testing import plugin_environment, plugin_source, write_distribution
from nemo.core.plugins.types import ModelSpec

_COMMAND = [sys.executable, "-m", "nemo.core.cli.main", "models"]
_MODEL_MODULE = "raise RuntimeError('`nemo models` must not import model modules')\n"


def write_fake_plugins(root: Path, count: int) -> list[str]:
    """Write ``count`` plugin distributions into ``root``; return their model module names."""
    modules = []
    for index in range(count):
        module = f"bench_model_{index:03d}"
        spec = ModelSpec(f"bench.model{index:03d}", f"{module}:Model", "bench", f"benchmark model {index}")
        write_distribution(
            root,
            f"nemo-bench-{index:03d}",
            plugins={f"bench{index:03d}": f"bench_plugin_{index:03d}"},
            files={
                f"bench_plugin_{index:03d}.py": plugin_source(models=[spec]),
                f"{module}.py": _MODEL_MODULE,
            },
        )
        modules.append(module)
    return modules


def time_models_command(paths: list[Path], repeats: int) -> list[float]:
    """Wall-clock seconds of ``nemo models`` in ``repeats`` fresh interpreters."""
    env = plugin_environment(paths)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(_COMMAND, env=env, check=True, capture_output=True)
        seconds.append(time.perf_counter() - start)
    return seconds


def imported_modules(paths: list[Path]) -> set[str]:
    """Every module ``nemo models`` imports, from ``python -X importtime``."""
    env = plugin_environment(paths)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *_COMMAND[1:]],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return {
        line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=50, help="number of fake plugin distributions")
    parser.add_argument("--repeats", type=int, default=7, help="runs per configuration (median reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nemo-bench-plugins-") as tmp:
        site = Path(tmp)
        model_modules = write_fake_plugins(site, args.plugins)
        listed = subprocess.run(
            _COMMAND, env=plugin_environment([site]), check=True, capture_output=True, text=True
        )
        registered = sum(line.startswith("bench.model") for line in listed.stdout.splitlines())
        assert registered == args.plugins, f"`nemo models` listed {registered} of {args.plugins} fake models"
        imported = imported_modules([site])
        leaked = sorted(set(model_modules) & imported)
        assert not leaked, f"`nemo models` imported model modules: {leaked}"
        baseline = time_models_command([], args.repeats)
        with_plugins = time_models_command([site], args.repeats)

    print(
        json.dumps(
            {
                "benchmark": "nemo models",
                "plugins": args.plugins,
                "repeats": args.repeats,
                "median_s_without": round(statistics.median(baseline), 4),
                "median_s_with": round(statistics.median(with_plugins), 4),
                "overhead_s_per_plugin": round(
                    (statistics.median(with_plugins) - statistics.median(baseline)) / args.plugins, 5
                ),
                "model_modules_imported": len(leaked),
                "torch_imported": "torch" in imported,
            }
        )
    )


if __name__ == "__main__":
    main()

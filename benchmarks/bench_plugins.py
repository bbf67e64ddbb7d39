"""Cost of plugin discovery: `nemo models` with 50 extra plugin distributions versus none.

Each fake distribution is a real ``*.dist-info`` folder plus a tiny plugin module registering one
``ModelSpec`` whose target module raises if imported. The script times ``python -m nemo.core.cli.main
models`` in fresh interpreters, alternating without and with the plugins, checks with ``-X importtime``
that no model module (and not torch) was imported, and prints one JSON line: the samples of each timed
figure (an ``overhead_per_plugin_s`` sample is one pair's difference over the plugin count).

Run: python benchmarks/bench_plugins.py [--plugins 50] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nemo.core.plugins.testing import plugin_environment, plugin_source, write_distribution
from nemo.core.plugins.types import ModelSpec
from spread import rounded

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


def time_models_command(paths: list[Path]) -> float:
    """Wall-clock seconds of ``nemo models`` in a fresh interpreter that sees the plugins under ``paths``."""
    env = plugin_environment(paths)
    start = time.perf_counter()
    subprocess.run(_COMMAND, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


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
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per configuration")
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
        pairs = [(time_models_command([]), time_models_command([site])) for _ in range(args.repeats)]

    print(
        json.dumps(
            {
                "plugins": args.plugins,
                "nemo_models_without_plugins_s": rounded((without for without, _ in pairs), 4),
                "nemo_models_with_plugins_s": rounded((with_ for _, with_ in pairs), 4),
                "overhead_per_plugin_s": rounded(
                    ((with_ - without) / args.plugins for without, with_ in pairs), 5
                ),
                "model_modules_imported": len(leaked),
                "torch_imported": "torch" in imported,
            }
        )
    )


if __name__ == "__main__":
    main()

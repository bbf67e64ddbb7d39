"""Fake installed distributions, for testing and benchmarking plugin discovery without ``pip install``.

``write_distribution`` writes what an installer leaves on ``sys.path``: a ``NAME-VERSION.dist-info``
folder (``METADATA``, ``entry_points.txt``) next to the plugin's modules. Put that folder on
``PYTHONPATH`` of a fresh interpreter (``run_python``) and ``importlib.metadata`` lists its entry points
exactly as for a real install, while the calling process's plugin registry stays untouched.

Example:
    >>> source = plugin_source(models=[ModelSpec("fake.m", "nemo_fake_models:M", "fake")])
    >>> root = write_distribution(
    ...     tmp_path, "nemo-fake", plugins={"fake": "nemo_fake_plugin"}, files={"nemo_fake_plugin.py": source}
    ... )
    >>> run_python(["-m", "nemo.core.cli.main", "plugins"], paths=[root]).stdout
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from nemo.core.plugins.hookspecs import ENTRY_POINT_GROUP, PLUGIN_API_VERSION
from nemo.core.plugins.manager import ENV_DISABLE_AUTOLOAD, ENV_DISABLED_PLUGINS, ENV_STRICT
from nemo.core.plugins.types import CommandSpec, ConfigPathSpec, ModelSpec


def plugin_source(
    *,
    models: Iterable[ModelSpec] = (),
    config_paths: Iterable[ConfigPathSpec] = (),
    target_prefixes: Iterable[str] = (),
    commands: Iterable[CommandSpec] = (),
    api: str = PLUGIN_API_VERSION,
) -> str:
    """Python source of a plugin module whose hooks return exactly these items (hooks with none are left out).

    Args:
        models: returned by ``nemo_register_models``.
        config_paths: returned by ``nemo_register_config_paths``.
        target_prefixes: returned by ``nemo_register_target_prefixes``.
        commands: returned by ``nemo_register_commands``.
        api: the module's ``NEMO_PLUGIN_API``.
    """
    lines = [
        "from nemo.core.plugins import CommandSpec, ConfigPathSpec, ModelSpec, hookimpl",
        "",
        f"NEMO_PLUGIN_API = {api!r}",
    ]
    hooks = {
        "nemo_register_models": list(models),
        "nemo_register_config_paths": list(config_paths),
        "nemo_register_target_prefixes": list(target_prefixes),
        "nemo_register_commands": list(commands),
    }
    for hook, items in hooks.items():
        if items:
            lines += ["", "", "@hookimpl", f"def {hook}():", f"    return {items!r}"]
    return "\n".join(lines) + "\n"


def write_distribution(
    root: Path,
    name: str,
    version: str = "0.1.0",
    *,
    plugins: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write a distribution's metadata and files into ``root`` (created if missing).

    Args:
        root: the folder that will go on ``sys.path``.
        name: distribution name, e.g. ``"nemo-fake"``.
        version: its version.
        plugins: entry points of the group ``nemo.plugins``: plugin name -> module.
        files: path relative to ``root`` -> text, e.g. ``{"nemo_fake_plugin.py": "..."}``.

    Returns:
        ``root``.
    """
    dist_info = root / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    entry_points = "".join(f"{plugin} = {module}\n" for plugin, module in (plugins or {}).items())
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}")
    for relative, text in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def plugin_environment(paths: Iterable[Path] = (), **variables: str) -> dict[str, str]:
    """``os.environ`` for a child interpreter that sees ``paths`` first on ``sys.path``.

    The plugin switches (``NEMO_DISABLE_PLUGIN_AUTOLOAD``, ``NEMO_DISABLED_PLUGINS``,
    ``NEMO_PLUGINS_STRICT``) are cleared, then ``variables`` are set on top.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in (ENV_DISABLE_AUTOLOAD, ENV_DISABLED_PLUGINS, ENV_STRICT)
    }
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(variables)
    return env


def run_python(
    args: Sequence[str], *, paths: Iterable[Path] = (), timeout: float = 120, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run ``sys.executable *args`` with ``plugin_environment(paths, **variables)``; output is captured as text."""
    return subprocess.run(
        [sys.executable, *args],
        env=plugin_environment(paths, **variables),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

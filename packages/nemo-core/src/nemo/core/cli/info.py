"""``nemo info``: versions of the nemo distributions and their main dependencies, plugin API, cache dir."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform

from nemo.core import registry
from nemo.core.cli.table import format_table
from nemo.core.plugins.hookspecs import PLUGIN_API_VERSION
from nemo.utils.model_utils import resolve_cache_dir

_DEPENDENCIES = ("torch", "pytorch-lightning", "hydra-core", "omegaconf", "pluggy")


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def run(argv: list[str]) -> int:
    """Print ``name  value`` lines; versions are read from package metadata, so torch is not imported."""
    argparse.ArgumentParser(
        prog="nemo info", description="Show versions, the plugin API version and the cache directory."
    ).parse_args(argv)
    distributions = {info.distribution: info.version for info in registry.plugin_status()}
    rows = [
        *distributions.items(),
        *((name, _installed_version(name)) for name in _DEPENDENCIES),
        ("python", platform.python_version()),
        ("plugin API", PLUGIN_API_VERSION),
        ("cache dir", resolve_cache_dir()),
    ]
    print(format_table(rows))
    return 0

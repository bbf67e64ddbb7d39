"""``nemo plugins``: every plugin found, with its distribution, version and status or error, then any name that
several plugins register and which of them is used."""

from __future__ import annotations

import argparse

from nemo.core import registry
from nemo.core.cli.table import format_table


def run(argv: list[str]) -> int:
    """Print one row per plugin: name, distribution, version, status (``failed: <error>`` on failure)."""
    argparse.ArgumentParser(
        prog="nemo plugins",
        description="List the nemo plugins found in the 'nemo.plugins' entry-point group and whether each loaded.",
    ).parse_args(argv)
    rows = [
        (
            info.name,
            info.distribution,
            info.version,
            info.status if info.error is None else f"{info.status}: {info.error}",
        )
        for info in registry.plugin_status()
    ]
    print(format_table(rows, headers=("NAME", "DISTRIBUTION", "VERSION", "STATUS")))
    conflicts = registry.conflicts()
    if conflicts:
        print("\nconflicts:")
        for conflict in conflicts:
            print(f"  {conflict.message()}")
    return 0

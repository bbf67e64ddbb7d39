"""``nemo models [--domain D]``: the registered models, without importing any of them."""

from __future__ import annotations

import argparse

from nemo.core import registry
from nemo.core.cli.table import format_table


def run(argv: list[str]) -> int:
    """Print one row per registered model: name, domain, distribution, default config, description."""
    parser = argparse.ArgumentParser(
        prog="nemo models", description="List the models the installed plugins register."
    )
    parser.add_argument("--domain", help="only models of this domain, e.g. asr")
    args = parser.parse_args(argv)
    specs = registry.list_models(domain=args.domain)
    if not specs:
        domains = sorted({spec.domain for spec in registry.list_models()})
        where = (
            f" in domain {args.domain!r} (domains with models: {', '.join(domains) or 'none'})"
            if args.domain
            else ""
        )
        print(f"no models registered{where}.")
        return 0
    rows = [
        (
            spec.name,
            spec.domain,
            registry.get_model_provider(spec.name).distribution,
            spec.config,
            spec.description,
        )
        for spec in specs
    ]
    print(format_table(rows, headers=("NAME", "DOMAIN", "DISTRIBUTION", "CONFIG", "DESCRIPTION")))
    return 0

"""``nemo plugin new NAME``: write a ready plugin distribution (model, config, pretrained entry, tests)."""

from __future__ import annotations

import argparse
import keyword
import re
from pathlib import Path

from nemo.core.cli.errors import CommandError
from nemo.core.plugins.hookspecs import PLUGIN_API_VERSION
from nemo.core.version import CORE_DISTRIBUTION, __version__

_NAME = re.compile(r"[a-z][a-z0-9_]*")


def template_values(name: str) -> dict[str, str]:
    """The placeholders of ``nemo.core.cli.plugin_template`` for the plugin ``name`` (e.g. ``acme``)."""
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise CommandError(
            f"plugin name {name!r} is not valid: use lowercase letters, digits and underscores, starting with a "
            "letter (it becomes the entry-point name, the domain and part of the package name), e.g. `acme`."
        )
    model_class = "".join(part.capitalize() for part in name.split("_") if part) + "Model"
    major, minor = (__version__.split(".") + ["0", "0"])[:2]
    return {
        "name": name,
        "package": f"nemo_{name}",
        "distribution": f"nemo-{name.replace('_', '-')}",
        "model_class": model_class,
        "model_name": f"{name}.{model_class}",
        "config": f"{name}_model",
        "plugin_api": PLUGIN_API_VERSION,
        "core_version": f"{major}.{minor}",
        "core_distribution": CORE_DISTRIBUTION,
    }


def write_plugin(name: str, parent: Path, force: bool = False) -> Path:
    """Write the plugin ``name`` into ``parent/nemo-<name>`` and return that folder.

    Raises:
        CommandError: ``name`` is not valid, or the folder exists and is not empty (unless ``force``).
    """
    from nemo.core.cli.plugin_template import FILES, render

    values = template_values(name)
    root = parent / values["distribution"]
    if root.exists() and any(root.iterdir()) and not force:
        raise CommandError(
            f"{root} exists and is not empty. Choose another --dir, or pass --force to overwrite."
        )
    for relative, text in FILES.items():
        path = root / render(relative, values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(text, values), encoding="utf-8")
    return root


def run(argv: list[str]) -> int:
    """``nemo plugin new NAME [--dir DIR] [--force]``."""
    parser = argparse.ArgumentParser(prog="nemo plugin", description="Create nemo plugins.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="write a ready plugin package: pyproject, hooks, a model with its config, a pretrained entry, tests",
    )
    new.add_argument("name", help="plugin name: lowercase letters, digits, underscores (e.g. acme)")
    new.add_argument("--dir", type=Path, default=Path("."), help="parent folder (default: here)")
    new.add_argument("--force", action="store_true", help="overwrite a folder that is not empty")
    args = parser.parse_args(argv)
    root = write_plugin(args.name, args.dir, force=args.force)
    values = template_values(args.name)
    print(
        f"wrote {root}\n"
        f"  pip install -e {root}[test] && pytest {root / 'tests'}\n"
        f"  nemo models --domain {values['name']}     # lists {values['model_name']}"
    )
    return 0

"""The ``nemo`` console script: ``nemo COMMAND [ARGS...]``.

nemo-core provides ``plugins``, ``models``, ``info`` and ``train``; plugins add commands through the
``nemo_register_commands`` hook (``nemo --help`` lists them all). A command's module is imported only
when that command runs, so ``nemo models`` never imports torch.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable

from nemo.core import __version__, registry
from nemo.core.cli.errors import CommandError
from nemo.core.cli.table import format_table
from nemo.core.plugins.builtin import CORE_COMMANDS
from nemo.core.plugins.errors import PluginError
from nemo.core.plugins.targets import import_target
from nemo.core.version import CORE_DISTRIBUTION

_DESCRIPTION = "NeMo models from the command line: list plugins and models, show versions, train."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nemo", description=_DESCRIPTION, add_help=False)
    parser.add_argument("-h", "--help", action="store_true", help="show this help and the commands")
    parser.add_argument("--version", action="version", version=f"{CORE_DISTRIBUTION} {__version__}")
    parser.add_argument("command", nargs="?", metavar="COMMAND", help="the command to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments of the command")
    return parser


def _help(parser: argparse.ArgumentParser) -> str:
    commands = textwrap.indent(
        format_table((spec.name, spec.help) for spec in registry.list_commands()), "  "
    )
    return (
        f"{parser.format_usage()}\n{_DESCRIPTION}\n\ncommands:\n{commands}\n\n"
        "Run `nemo COMMAND --help` for the options of a command."
    )


def _load_command(name: str) -> Callable[[list[str]], int]:
    core = CORE_COMMANDS.get(name)
    if core is not None:
        return import_target(core.target)
    return registry.load_command(name)


def _fail(where: str, exc: BaseException, status: int) -> int:
    print(f"{where}: error: {exc}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run ``nemo`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Errors meant for the user (an unknown command, a failing plugin, a ``CommandError`` such as a bad
    config) print ``nemo COMMAND: error: ...`` to stderr and return 2 for an unknown command, else 1.
    Other exceptions propagate with their traceback.
    """
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.help or args.command is None:
        try:
            text = _help(parser)
        except PluginError as exc:
            return _fail("nemo", exc, 1)
        print(text, file=sys.stdout if args.help else sys.stderr)
        return 0 if args.help else 2
    try:
        command = _load_command(args.command)
    except registry.UnknownCommandError as exc:
        return _fail("nemo", exc, 2)
    except (PluginError, ImportError) as exc:
        return _fail(f"nemo {args.command}", exc, 1)
    try:
        status = command(list(args.args))
    except (CommandError, PluginError) as exc:
        return _fail(f"nemo {args.command}", exc, 1)
    return 0 if status is None else int(status)


if __name__ == "__main__":
    sys.exit(main())

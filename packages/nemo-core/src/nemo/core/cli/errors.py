"""The error a subcommand raises to stop with a message instead of a traceback."""

from __future__ import annotations


class CommandError(Exception):
    """A user-facing failure of a ``nemo`` subcommand: ``nemo`` prints the message and exits with status 1.

    Plugin commands may raise it too: ``from nemo.core.cli.errors import CommandError``.
    """

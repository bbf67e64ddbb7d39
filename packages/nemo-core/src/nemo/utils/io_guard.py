"""Run a block of code under two checks: it writes no file outside a given folder, and it does not hang.

For tests of readers and parsers fed hostile input (the property tests of every package use it): a Python audit
hook records each file opened for writing, created, renamed or removed outside the folder, and a ``SIGALRM``
timer interrupts a block that runs too long with :class:`CallHangs` (not an ``OSError``, which code under test may
catch). The hook is installed once, on first use, and only records while a :func:`guarded` block runs.

Example:
    >>> with guarded(tmp_path):
    ...     read_manifest(tmp_path / "manifest.json")

Unix only (``signal.setitimer``); one block at a time, in the main thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = frozenset(
    {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.symlink", "os.link"}
)


class CallHangs(Exception):
    """Raised inside a :func:`guarded` block that runs longer than its time limit."""


class _Watch:
    """The audit hook's state: while ``root`` is set, writes outside it are appended to ``outside``."""

    root: str | None = None
    outside: list[str] = []
    hook_installed: bool = False


def _audit(event: str, args: tuple) -> None:
    root = _Watch.root
    if root is None:
        return
    if event == "open":
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(
            (flags or 0) & _WRITE_FLAGS
        )
    elif event in _WRITE_EVENTS:
        path, writes = args[0], True
    else:
        return
    if writes and isinstance(path, (str, bytes, os.PathLike)):
        full = os.path.abspath(os.fsdecode(path))
        if os.path.commonpath([full, root]) != root:
            _Watch.outside.append(f"{event} {full}")


@contextlib.contextmanager
def guarded(root: str | os.PathLike[str], time_limit_s: float = 10.0) -> Iterator[None]:
    """Run the block; fail if it writes outside ``root`` or runs longer than ``time_limit_s`` seconds.

    Args:
        root: the only folder the block may write to (its sub-folders included).
        time_limit_s: seconds after which the block is interrupted with :class:`CallHangs`.

    Raises:
        CallHangs: the block ran past ``time_limit_s`` (raised inside it).
        AssertionError: after the block, when it wrote outside ``root``; the message lists each write.
    """
    if not _Watch.hook_installed:
        sys.addaudithook(_audit)  # audit hooks cannot be removed: one, for the whole process
        _Watch.hook_installed = True

    def interrupt(signum: int, frame: object) -> None:
        raise CallHangs(f"still running after {time_limit_s} s: the code under test hangs")

    _Watch.root, _Watch.outside = os.path.realpath(Path(root)), []
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, time_limit_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _Watch.root = None
    assert not _Watch.outside, f"written outside {root}: {_Watch.outside}"

"""The git commit and diff of the working directory, recorded by ``exp_manager`` in ``git-info.log``."""

from __future__ import annotations

import subprocess


def get_git_hash() -> tuple[bool, str]:
    """Commit hash of ``HEAD`` in the current directory.

    Returns:
        ``(True, hash)`` inside a git work tree with at least one commit; ``(False, reason)`` otherwise,
        including when git is not installed.
    """
    try:
        output = subprocess.check_output(["git", "rev-parse", "HEAD"], stderr=subprocess.STDOUT)
    except subprocess.CalledProcessError as error:
        return False, f"{error.output.decode('utf-8', errors='replace')}\n"
    except OSError as error:
        return False, f"git could not be run: {error}\n"
    return True, output.decode("utf-8", errors="replace")


def get_git_diff() -> str:
    """Output of ``git diff`` in the current directory (uncommitted changes), or why it could not be read."""
    try:
        output = subprocess.check_output(["git", "diff"], stderr=subprocess.STDOUT)
    except subprocess.CalledProcessError as error:
        return f"{error.output.decode('utf-8', errors='replace')}\n"
    except OSError as error:
        return f"git could not be run: {error}\n"
    return output.decode("utf-8", errors="replace")

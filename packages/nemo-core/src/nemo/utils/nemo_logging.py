"""NeMo's logger: ``from nemo.utils import logging`` then ``logging.info(...)``.

A thin wrapper over one stdlib logger named ``nemo`` that prints ``[NeMo I 2024-01-01 12:00:00 file:line] msg``
to stderr, honours ``NEMO_LOGGING_LEVEL`` (a level name or number), and lets tests and scripts change
verbosity temporarily.
"""

from __future__ import annotations

import contextlib
import logging as _std_logging
import os
import sys
from collections.abc import Iterator
from enum import Enum

_LEVEL_LETTERS = {"DEBUG": "D", "INFO": "I", "WARNING": "W", "ERROR": "E", "CRITICAL": "C"}


class LogMode(Enum):
    """``mode=`` of a logging call: ``EACH`` logs every time, ``ONCE`` logs a given message only the first time."""

    EACH = "each"
    ONCE = "once"


class _NemoFormatter(_std_logging.Formatter):
    def format(self, record: _std_logging.LogRecord) -> str:
        record.level_letter = _LEVEL_LETTERS.get(record.levelname, record.levelname[:1])
        return super().format(record)


class Logger:
    """NeMo-style logger; every stdlib logging method is available (``info``, ``warning``, ...)."""

    CRITICAL = _std_logging.CRITICAL
    ERROR = _std_logging.ERROR
    WARNING = _std_logging.WARNING
    INFO = _std_logging.INFO
    DEBUG = _std_logging.DEBUG

    def __init__(self, name: str = "nemo") -> None:
        self._logger = _std_logging.getLogger(name)
        if not self._logger.handlers:
            handler = _std_logging.StreamHandler(sys.stderr)
            handler.setFormatter(
                _NemoFormatter(
                    "[NeMo %(level_letter)s %(asctime)s %(module)s:%(lineno)d] %(message)s",
                    datefmt="%Y-%m-%d %H:%M:%S",
                )
            )
            self._logger.addHandler(handler)
            self._logger.propagate = False
        level = os.environ.get("NEMO_LOGGING_LEVEL", "INFO")
        self._logger.setLevel(int(level) if level.isdigit() else level.upper())
        self._logged_once: set[tuple[int, str]] = set()

    def _first_time(self, level: int, msg: object, mode: LogMode) -> bool:
        """False for a ``LogMode.ONCE`` message already logged at ``level``; records it otherwise."""
        if mode is LogMode.EACH:
            return True
        key = (level, str(msg))
        if key in self._logged_once:
            return False
        self._logged_once.add(key)
        return True

    def __getattr__(self, name: str):
        return getattr(self._logger, name)

    def add_file_handler(self, path: str | os.PathLike[str]) -> _std_logging.FileHandler:
        """Also write every record to ``path`` (used by ``exp_manager`` for its log file)."""
        handler = _std_logging.FileHandler(path)
        handler.setFormatter(self._logger.handlers[0].formatter)
        self._logger.addHandler(handler)
        return handler

    def remove_handler(self, handler: _std_logging.Handler) -> None:
        self._logger.removeHandler(handler)
        handler.close()

    def get_verbosity(self) -> int:
        return self._logger.level

    def set_verbosity(self, level: int) -> None:
        self._logger.setLevel(level)

    @contextlib.contextmanager
    def temp_verbosity(self, level: int) -> Iterator[None]:
        """Run a block at another level, then restore the previous one."""
        previous = self._logger.level
        self._logger.setLevel(level)
        try:
            yield
        finally:
            self._logger.setLevel(previous)

    # Explicit methods so that `%(module)s:%(lineno)d` names the caller, not this wrapper. `mode=LogMode.ONCE`
    # logs a message only the first time.
    def debug(self, msg: object, *args: object, mode: LogMode = LogMode.EACH, **kwargs) -> None:
        if self._first_time(_std_logging.DEBUG, msg, mode):
            self._logger.debug(msg, *args, stacklevel=2, **kwargs)

    def info(self, msg: object, *args: object, mode: LogMode = LogMode.EACH, **kwargs) -> None:
        if self._first_time(_std_logging.INFO, msg, mode):
            self._logger.info(msg, *args, stacklevel=2, **kwargs)

    def warning(self, msg: object, *args: object, mode: LogMode = LogMode.EACH, **kwargs) -> None:
        if self._first_time(_std_logging.WARNING, msg, mode):
            self._logger.warning(msg, *args, stacklevel=2, **kwargs)

    def error(self, msg: object, *args: object, mode: LogMode = LogMode.EACH, **kwargs) -> None:
        if self._first_time(_std_logging.ERROR, msg, mode):
            self._logger.error(msg, *args, stacklevel=2, **kwargs)

    def critical(self, msg: object, *args: object, mode: LogMode = LogMode.EACH, **kwargs) -> None:
        if self._first_time(_std_logging.CRITICAL, msg, mode):
            self._logger.critical(msg, *args, stacklevel=2, **kwargs)

    def exception(self, msg: object, *args: object, mode: LogMode = LogMode.EACH, **kwargs) -> None:
        if self._first_time(_std_logging.ERROR, msg, mode):
            self._logger.exception(msg, *args, stacklevel=2, **kwargs)


logging = Logger()

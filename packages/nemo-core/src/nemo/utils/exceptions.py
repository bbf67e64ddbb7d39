"""The root of NeMo's own exceptions: ``except NeMoBaseException`` catches every error NeMo raises on purpose."""

from __future__ import annotations

__all__ = ["LightningNotInstalledException", "NeMoBaseException"]


class NeMoBaseException(Exception):
    """Base class of the exceptions NeMo defines (errors of use, not bugs)."""


class LightningNotInstalledException(NeMoBaseException):
    """``obj`` needs pytorch-lightning, hydra-core and omegaconf, and one of them is missing."""

    def __init__(self, obj: object) -> None:
        super().__init__(
            f"{obj} needs pytorch-lightning, hydra-core and omegaconf; install them "
            "(pip install pytorch-lightning hydra-core omegaconf) and try again."
        )

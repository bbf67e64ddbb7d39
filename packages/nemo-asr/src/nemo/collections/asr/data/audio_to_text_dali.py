"""NVIDIA DALI audio-text pipelines (NeMo 1.23's ``audio_to_text_dali``): not provided by this package.

The names exist so that code importing them keeps working: :func:`is_dali_supported` answers ``False`` (this
package has no DALI pipelines, whatever DALI version is installed), and the DALI dataset classes raise a
``NotImplementedError`` naming the config key to change. Use the regular datasets (``use_dali: false``).
"""

from __future__ import annotations

from typing import Any

from nemo.utils import logging

__all__ = ["AudioToBPEDALIDataset", "AudioToCharDALIDataset", "DALIOutputs", "is_dali_supported"]

__DALI_MINIMUM_VERSION__ = "1.11"


def is_dali_supported(min_version: str, verbose: bool = False) -> bool:
    """Whether DALI datasets can be used: never here (this package has no DALI pipelines).

    Args:
        min_version: the DALI version a caller needs (reported with ``verbose``).
        verbose: log why DALI is unavailable.
    """
    if verbose:
        logging.info(
            f"DALI (>= {min_version}) datasets are not provided by this package; the regular audio datasets are "
            "used instead."
        )
    return False


class _UnsupportedDALIDataset:
    """Refuses construction: DALI pipelines are not part of this package."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} (NVIDIA DALI audio loading) is not provided by this package. Set "
            "`use_dali: false` in the dataset config to use the regular audio datasets."
        )


class AudioToCharDALIDataset(_UnsupportedDALIDataset):
    """NeMo's DALI character dataset; refuses construction (see the module docstring)."""


class AudioToBPEDALIDataset(_UnsupportedDALIDataset):
    """NeMo's DALI subword dataset; refuses construction (see the module docstring)."""


class DALIOutputs(_UnsupportedDALIDataset):
    """NeMo's DALI output wrapper; refuses construction (see the module docstring)."""

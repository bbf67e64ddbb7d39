"""NeMo 1.23's numba support checks, which NeMo's tests and users call before numba-backed code paths.

numba is not a dependency here: nothing in these packages runs numba kernels (the RNN-T loss is torchaudio's), so
the checks answer whether an installed numba could, without importing it for the CPU check. The strictness switch
(``set_numba_compat_strictness``; NeMo's test option ``--relax_numba_compat``) decides whether CUDA support also
needs numba's CUDA compatibility check to pass, or only a CUDA device.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
from collections.abc import Iterator

__all__ = [
    "NUMBA_INSTALLATION_MESSAGE",
    "is_numba_compat_strict",
    "is_numba_cuda_fp16_supported",
    "numba_cpu_is_supported",
    "numba_cuda_is_supported",
    "set_numba_compat_strictness",
    "skip_numba_cuda_test_if_unsupported",
    "with_numba_compat_strictness",
]

NUMBA_DEFAULT_MINIMUM_VERSION = "0.53.0"
NUMBA_MINIMUM_VERSION = os.environ.get("NEMO_NUMBA_MINVER", NUMBA_DEFAULT_MINIMUM_VERSION)
__NUMBA_MINIMUM_VERSION__ = NUMBA_MINIMUM_VERSION  # NeMo 1.23's name, imported by its tests
NUMBA_MINIMUM_VERSION_FP16_SUPPORTED = "0.57.0"
NUMBA_INSTALLATION_MESSAGE = (
    "numba is not installed, or older than the version this code path needs. Install it with "
    f"`pip install 'numba>={NUMBA_MINIMUM_VERSION}'` (CUDA kernels also need a CUDA device and driver)."
)

_strict_compat_check = True


def is_numba_compat_strict() -> bool:
    """True: CUDA support needs numba's CUDA compatibility check to pass; False: a CUDA device is enough."""
    return _strict_compat_check


def set_numba_compat_strictness(strict: bool) -> None:
    """Set the strictness that ``numba_cuda_is_supported`` applies (see ``is_numba_compat_strict``)."""
    global _strict_compat_check
    _strict_compat_check = bool(strict)


@contextlib.contextmanager
def with_numba_compat_strictness(strict: bool) -> Iterator[None]:
    """Apply ``strict`` inside the ``with`` block and restore the previous strictness after it, even on error."""
    previous = is_numba_compat_strict()
    set_numba_compat_strictness(strict)
    try:
        yield
    finally:
        set_numba_compat_strictness(previous)


def _installed_at_least(min_version: str) -> bool:
    from packaging.version import Version

    try:
        installed = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        return False
    return Version(installed) >= Version(min_version)


def numba_cpu_is_supported(min_version: str) -> bool:
    """Whether numba of at least ``min_version`` is installed (read from its metadata; numba is not imported)."""
    return _installed_at_least(min_version)


def numba_cuda_is_supported(min_version: str) -> bool:
    """Whether numba of at least ``min_version`` can run CUDA kernels here (a device; under the strict check also
    numba's own CUDA compatibility check)."""
    if not numba_cpu_is_supported(min_version):
        return False
    try:
        from numba import cuda
    except ImportError:
        return False
    if not hasattr(cuda, "is_supported_version"):
        return False
    try:
        available = bool(cuda.is_available())
        if not is_numba_compat_strict():
            return available
        return available and bool(cuda.is_supported_version())
    except OSError:
        return False


def is_numba_cuda_fp16_supported(return_reason: bool = False) -> bool | tuple[bool, str]:
    """Whether numba's CUDA kernels can use fp16: numba >= 0.57 and ``NUMBA_CUDA_USE_NVIDIA_BINDING=1``."""
    binding = os.environ.get("NUMBA_CUDA_USE_NVIDIA_BINDING", "").lower() == "1"
    version_ok = _installed_at_least(NUMBA_MINIMUM_VERSION_FP16_SUPPORTED)
    reason = (
        "NUMBA_CUDA_USE_NVIDIA_BINDING is set to 1. "
        if binding
        else "NUMBA_CUDA_USE_NVIDIA_BINDING is not set to 1. "
    ) + (
        f"The installed numba is {NUMBA_MINIMUM_VERSION_FP16_SUPPORTED} or newer."
        if version_ok
        else f"numba {NUMBA_MINIMUM_VERSION_FP16_SUPPORTED} or newer is not installed."
    )
    supported = binding and version_ok
    return (supported, reason) if return_reason else supported


def skip_numba_cuda_test_if_unsupported(min_version: str) -> None:
    """``pytest.skip`` the calling test when numba's CUDA support (``numba_cuda_is_supported``) is missing."""
    if not numba_cuda_is_supported(min_version):
        import pytest

        pytest.skip(
            f"numba CUDA kernels are not supported here (numba >= {min_version} with a CUDA device needed)"
        )

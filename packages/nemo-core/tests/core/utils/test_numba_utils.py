"""numba_utils: NeMo's support checks and strictness switch, with numba absent (it is not a dependency)."""

import importlib.util

import pytest
from nemo.core.utils import numba_utils

NUMBA_INSTALLED = importlib.util.find_spec("numba") is not None


def test_strictness_defaults_to_strict_and_the_context_restores_it_even_on_error():
    assert numba_utils.is_numba_compat_strict() is True
    with numba_utils.with_numba_compat_strictness(False):
        assert numba_utils.is_numba_compat_strict() is False
    assert numba_utils.is_numba_compat_strict() is True
    with pytest.raises(RuntimeError), numba_utils.with_numba_compat_strictness(False):
        raise RuntimeError("inside")
    assert numba_utils.is_numba_compat_strict() is True
    numba_utils.set_numba_compat_strictness(False)
    try:
        assert numba_utils.is_numba_compat_strict() is False
    finally:
        numba_utils.set_numba_compat_strictness(True)


@pytest.mark.skipif(NUMBA_INSTALLED, reason="checks the answers without numba")
def test_without_numba_nothing_is_supported_and_cuda_tests_skip():
    assert numba_utils.numba_cpu_is_supported("0.53.0") is False
    assert numba_utils.numba_cuda_is_supported("0.53.0") is False
    supported, reason = numba_utils.is_numba_cuda_fp16_supported(return_reason=True)
    assert supported is False and "0.57.0 or newer is not installed" in reason
    with pytest.raises(pytest.skip.Exception, match="numba CUDA kernels are not supported"):
        numba_utils.skip_numba_cuda_test_if_unsupported("0.53.0")


def test_an_installed_distribution_is_judged_by_its_version(monkeypatch):
    # The version comparison itself, on a distribution that is installed (packaging's own metadata).
    monkeypatch.setattr(numba_utils.importlib.metadata, "version", lambda name: "0.58.1")
    assert numba_utils.numba_cpu_is_supported("0.53.0") is True
    assert numba_utils.numba_cpu_is_supported("0.60.0") is False
    monkeypatch.setenv("NUMBA_CUDA_USE_NVIDIA_BINDING", "1")
    assert numba_utils.is_numba_cuda_fp16_supported() is True


@pytest.mark.skipif(not NUMBA_INSTALLED, reason="checks the answers with numba installed")
def test_with_numba_the_cpu_check_passes_and_cuda_needs_a_device():
    import torch

    assert numba_utils.numba_cpu_is_supported("0.53.0") is True
    assert numba_utils.numba_cpu_is_supported("999.0") is False
    if not torch.cuda.is_available():
        with numba_utils.with_numba_compat_strictness(False):
            assert numba_utils.numba_cuda_is_supported("0.53.0") is False

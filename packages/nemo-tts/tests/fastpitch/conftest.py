"""Fixtures of the FastPitch tests: NeMo 1.23's tiny FastPitch archive and the tensors NeMo computed with it
(``data/fastpitch_chars_tiny.*``, copied from ``/work/shared/fixtures/nemo-1.23``; see its README)."""

import tarfile
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig, OmegaConf

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def single_torch_thread():
    """One intra-op thread: the models are tiny and the cores are shared, so threads only spin."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def fixture_io() -> dict:
    """What NeMo 1.23 computed with ``fastpitch_chars_tiny.nemo`` (texts, tokens, spectrograms, losses)."""
    return torch.load(DATA / "fastpitch_chars_tiny.io.pt", weights_only=True)


@pytest.fixture()
def nemo_fastpitch():
    """NeMo 1.23's tiny FastPitch archive restored here, in eval mode."""
    from nemo.collections.tts.models import FastPitchModel

    return FastPitchModel.restore_from(str(DATA / "fastpitch_chars_tiny.nemo")).eval()


@pytest.fixture()
def fastpitch_config() -> DictConfig:
    """The model config inside ``fastpitch_chars_tiny.nemo`` (NeMo's fastpitch_align_v1.05 keys, resolved)."""
    with tarfile.open(DATA / "fastpitch_chars_tiny.nemo") as archive:
        member = archive.extractfile("./model_config.yaml")
        return OmegaConf.create(member.read().decode("utf-8"))

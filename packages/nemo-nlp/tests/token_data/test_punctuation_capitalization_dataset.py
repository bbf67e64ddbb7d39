"""``BertPunctuationCapitalizationDataset``: NeMo 1.23's batches, hand-worked packing and masks, files, errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_batching import (
    adjust_number_of_batches,
    mark_up_batches,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_dataset import (
    LABEL_ID_DIR_FOR_NEMO_CHECKPOINT,
    BertPunctuationCapitalizationDataset,
    PunctuationCapitalizationDataConfigBase,
    PunctuationCapitalizationEvalDataConfig,
    PunctuationCapitalizationTrainDataConfig,
    create_masks_and_segment_ids,
    encode_queries,
    is_legacy_data_config,
    legacy_data_config_to_new_data_config,
)
from omegaconf import OmegaConf

# NeMo 1.23's PunctuationCapitalizationDataConfigBase fields, in order.
NEMO_CONFIG_KEYS = [
    "use_audio", "audio_file", "sample_rate", "use_bucketing", "batch_size", "preload_audios", "use_tarred_dataset",
    "label_info_save_dir", "text_file", "labels_file", "tokens_in_batch", "max_seq_length", "num_samples",
    "use_cache", "cache_dir", "get_label_frequences", "verbose", "n_jobs", "tar_metadata_file", "tar_shuffle_n",
    "shard_strategy", "shuffle", "drop_last", "pin_memory", "num_workers", "persistent_workers",
]  # fmt: skip
PUNCT_IDS = {"O": 0, ",": 1, ".": 2, "?": 3}
CAPIT_IDS = {"O": 0, "U": 1}


@pytest.fixture
def bbc_files(tmp_path: Path, write_lines, nemo_reference: dict) -> tuple[Path, Path]:
    data = nemo_reference["punctuation_data"]
    directory = tmp_path / "data"
    return write_lines(directory / "text.txt", data["text"]), write_lines(
        directory / "labels.txt", data["labels"]
    )


@pytest.fixture
def small_files(tmp_path: Path, write_lines) -> tuple[Path, Path]:
    # alice 5650, live 2444, in 1999, london 2414, token 19204 ##ization 3989, hello 7592, how 2129
    text = write_lines(tmp_path / "data" / "text.txt", ["alice live in london tokenization", "hello how"])
    labels = write_lines(tmp_path / "data" / "labels.txt", ["OU OO OO ,U .O", "OU ?O"])
    return text, labels


@pytest.mark.parametrize(
    "name", ["t512", "t512_multiple3", "t300_clip24_multiple7", "t64_seed5", "t2000_start_end"]
)
def test_batches_match_nemo_over_two_epochs(
    bbc_files, tokenizer, nemo_reference, nemo_arrays, name: str
) -> None:
    expected = nemo_reference["punctuation_batches"][name]
    dataset = BertPunctuationCapitalizationDataset(
        *bbc_files, tokenizer=tokenizer, verbose=False, **expected["kwargs"]
    )
    assert dataset.punct_label_ids == expected["punct_label_ids"]
    assert dataset.capit_label_ids == expected["capit_label_ids"]
    epochs = [list(dataset.batches)]
    dataset.repack_batches_with_shuffle()
    epochs.append(list(dataset.batches))
    assert [len(batches) for batches in epochs] == expected["num_batches"]
    for epoch, batches in enumerate(epochs):
        for index, batch in enumerate(batches):
            prefix = f"pc/{name}/{epoch}/{index}/"
            keys = [key[len(prefix) :] for key in nemo_arrays if key.startswith(prefix)]
            assert list(batch) == keys
            for key in keys:
                assert batch[key].dtype == nemo_arrays[prefix + key].dtype, key
                np.testing.assert_array_equal(batch[key], nemo_arrays[prefix + key], err_msg=prefix + key)
    collated = dataset.collate_fn([dataset[0]])
    assert {key: str(value.dtype) for key, value in collated.items()} == expected["collate_dtypes"]


def test_mark_up_batches_by_hand() -> None:
    # Padded lengths round up to 8; 8 samples of 8 tokens fill 64 tokens.
    assert mark_up_batches(np.full(20, 3), 64) == ([0, 8, 16], [8, 8, 4], [8, 8, 8])
    # No multiple of 8 fits: batches shrink to what fits (3 samples of 8, then 2 of 16), the rest last.
    assert mark_up_batches(np.array([5, 5, 5, 9, 9, 20]), 40) == ([0, 3, 5], [3, 2, 1], [8, 16, 24])
    # A sample longer than tokens_in_batch still gets a batch of its own.
    assert mark_up_batches(np.array([4, 100]), 50) == ([0, 1], [1, 1], [8, 104])
    assert mark_up_batches(np.array([100, 100]), 50) == ([0, 1], [1, 1], [104, 104])


def test_adjust_number_of_batches_by_hand() -> None:
    lengths = np.full(20, 3)
    markup = ([0, 8, 16], [8, 8, 4], [8, 8, 8])
    # One batch missing for a multiple of 2: batches of 8 cannot give a piece of 8, so one sample is cut off the last.
    assert adjust_number_of_batches(lengths, markup, 2, "data") == (
        [0, 8, 16, 17],
        [8, 8, 1, 3],
        [8, 8, 8, 8],
    )
    assert adjust_number_of_batches(lengths, markup, 5, "data") == (
        [0, 8, 16, 17, 18],
        [8, 8, 1, 1, 2],
        [8, 8, 8, 8, 8],
    )
    # Pieces of 8 come first when a batch is large enough.
    assert adjust_number_of_batches(np.full(40, 3), ([0], [40], [8]), 3, "data") == (
        [0, 8, 16],
        [8, 8, 24],
        [8, 8, 8],
    )
    # Too few samples: unchanged.
    assert adjust_number_of_batches(np.full(3, 3), ([0, 1, 2], [1, 1, 1], [8, 8, 8]), 2, "data") == (
        [0, 1, 2],
        [1, 1, 1],
        [8, 8, 8],
    )


def test_masks_follow_nemo_effective_rule() -> None:
    input_ids = np.array([[101, 5, 6, 102, 0]])
    subtokens = np.array([[False, True, False, False, False]])
    for ignore_start_end in (False, True):
        segment_ids, input_mask, loss_mask = create_masks_and_segment_ids(
            input_ids, subtokens, 0, 101, 102, ignore_start_end, ignore_extra_tokens=False
        )
        assert segment_ids.dtype == np.int8 and not segment_ids.any()
        assert input_mask.tolist() == [[True, True, True, True, False]]
        # NeMo 1.23 never drops [CLS]/[SEP] from the loss: ignore_start_end has no effect.
        assert loss_mask.tolist() == [[True, True, True, True, False]]
        _, _, loss_mask = create_masks_and_segment_ids(
            input_ids, subtokens, 0, 101, 102, ignore_start_end, True
        )
        assert loss_mask.tolist() == [[False, True, False, False, False]]


def test_encode_queries_keeps_the_start_of_long_sequences(tokenizer) -> None:
    ids, masks, punct, capit = encode_queries(
        ["alice live in london tokenization", ""],
        [tuple("OOO,."), ()],
        [tuple("UOOUO"), ()],
        tokenizer,
        max_seq_length=5,
        punct_label_ids=PUNCT_IDS,
        capit_label_ids=CAPIT_IDS,
    )
    assert [a.tolist() for a in ids] == [[101, 5650, 2444, 1999, 102], [101, 102]]
    assert [m.tolist() for m in masks] == [[False, True, True, True, False], [False, False]]
    assert [p.tolist() for p in punct] == [[0, 0, 0, 0, 0], [0, 0]]
    assert [c.tolist() for c in capit] == [[0, 1, 0, 0, 0], [0, 0]]
    assert ids[0].dtype == np.int32 and masks[0].dtype == bool and punct[0].dtype == np.int32
    full, _, punct, capit = encode_queries(
        ["alice live in london tokenization"],
        [tuple("OOO,.")],
        [tuple("UOOUO")],
        tokenizer,
        512,
        PUNCT_IDS,
        CAPIT_IDS,
    )
    assert full[0].tolist() == [101, 5650, 2444, 1999, 2414, 19204, 3989, 102]
    assert punct[0].tolist() == [0, 0, 0, 0, 1, 2, 2, 0]  # both tokens of "tokenization" carry "."
    assert capit[0].tolist() == [0, 1, 0, 0, 1, 0, 0, 0]


def test_data_loader_unwraps_batches(small_files, tokenizer, listing) -> None:
    before = listing(small_files[0].parent)
    dataset = BertPunctuationCapitalizationDataset(
        *small_files, max_seq_length=64, tokenizer=tokenizer, verbose=False
    )
    assert dataset.punct_label_ids == PUNCT_IDS and dataset.capit_label_ids == CAPIT_IDS
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=True, collate_fn=dataset.collate_fn)
    [batch] = list(loader)
    assert batch["input_ids"].tolist() == [
        [101, 7592, 2129, 102, 0, 0, 0, 0],
        [101, 5650, 2444, 1999, 2414, 19204, 3989, 102],
    ]
    assert batch["punct_labels"].tolist() == [[0, 0, 3, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 2, 2, 0]]
    assert batch["capit_labels"].tolist() == [[0, 1, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 1, 0, 0, 0]]
    assert batch["loss_mask"].tolist() == batch["input_mask"].tolist()
    assert {key: value.dtype for key, value in batch.items()} == {
        "input_ids": torch.int32,
        "subtokens_mask": torch.bool,
        "punct_labels": torch.int64,
        "capit_labels": torch.int64,
        "segment_ids": torch.int32,
        "input_mask": torch.bool,
        "loss_mask": torch.bool,
    }
    with pytest.raises(ValueError, match="DataLoader's batch_size must be 1"):
        dataset.collate_fn([dataset[0], dataset[0]])
    assert listing(small_files[0].parent) == before


def test_without_bucketing_samples_are_padded_by_collate(small_files, tokenizer) -> None:
    dataset = BertPunctuationCapitalizationDataset(
        *small_files, max_seq_length=64, tokenizer=tokenizer, use_bucketing=False, tokens_in_batch=None
    )
    assert len(dataset) == 2 and dataset[1]["input_ids"].tolist() == [101, 7592, 2129, 102]
    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=dataset.collate_fn)))
    assert batch["input_ids"].tolist() == [
        [101, 5650, 2444, 1999, 2414, 19204, 3989, 102],
        [101, 7592, 2129, 102, 0, 0, 0, 0],
    ]
    assert batch["punct_labels"].tolist() == [[0, 0, 0, 0, 1, 2, 2, 0], [0, 0, 3, 0, 0, 0, 0, 0]]
    assert batch["input_mask"].tolist()[1] == [True] * 4 + [False] * 4
    assert batch["subtokens_mask"].tolist()[1] == [False, True, True, False, False, False, False, False]
    assert batch["input_ids"].dtype == torch.int32 and batch["segment_ids"].dtype == torch.int32


def test_label_files_go_only_to_label_info_save_dir(small_files, tokenizer, tmp_path: Path, listing) -> None:
    data_dir = small_files[0].parent
    before = listing(data_dir)
    run_dir = tmp_path / "run"
    dataset = BertPunctuationCapitalizationDataset(
        *small_files,
        64,
        tokenizer,
        label_info_save_dir=run_dir,
        get_label_frequencies=True,
        cache_dir=tmp_path / "cache",
        verbose=False,
    )
    punct_file, capit_file = dataset.save_labels_and_get_file_paths(
        "punct_label_ids.csv", "capit_label_ids.csv"
    )
    assert punct_file == run_dir / LABEL_ID_DIR_FOR_NEMO_CHECKPOINT / "punct_label_ids.csv"
    assert punct_file.read_text() == "O\n,\n.\n?" and capit_file.read_text() == "O\nU"
    # 12 tokens: [CLS]/[SEP] x2 and 5 "O" words' tokens are O; "," on london, "." on token/##ization, "?" on how
    assert dataset.punct_label_frequencies == {0: 8, 2: 2, 1: 1, 3: 1}
    assert (run_dir / "label_count_punct.tsv").is_file() and (run_dir / "label_count_capit.tsv").is_file()
    assert listing(data_dir) == before and not (tmp_path / "cache").exists()
    quiet = BertPunctuationCapitalizationDataset(*small_files, 64, tokenizer, verbose=False)
    with pytest.raises(ValueError, match="label_info_save_dir is not set"):
        quiet.save_labels_and_get_file_paths("p.csv", "c.csv")


def test_label_vocab_files_and_given_ids(small_files, tokenizer, tmp_path: Path, write_lines) -> None:
    punct_vocab = write_lines(tmp_path / "punct.csv", ["O", ",", ".", "?", "!"])
    dataset = BertPunctuationCapitalizationDataset(
        *small_files,
        64,
        tokenizer,
        punct_label_vocab_file=punct_vocab,
        capit_label_ids=OmegaConf.create(CAPIT_IDS),
    )
    assert dataset.punct_label_ids == {**PUNCT_IDS, "!": 4} and dataset.capit_label_ids == CAPIT_IDS
    with pytest.raises(
        ValueError, match=r"1 FIRST LABELS are missing in the SECOND LABELS, for example \{';': 5\}"
    ):
        BertPunctuationCapitalizationDataset(
            *small_files,
            64,
            tokenizer,
            punct_label_ids={**PUNCT_IDS, "!": 4, ";": 5},
            punct_label_vocab_file=punct_vocab,
        )
    bad_vocab = write_lines(tmp_path / "bad.csv", [",", "O", ".", "?"])
    with pytest.raises(ValueError, match=r"Pad label 'O' is id 1 in the label ids from .*bad\.csv"):
        BertPunctuationCapitalizationDataset(*small_files, 64, tokenizer, punct_label_vocab_file=bad_vocab)
    with pytest.raises(ValueError, match=r"labels\.txt:2: unknown punctuation label '\?' \(word 2\)"):
        BertPunctuationCapitalizationDataset(
            *small_files, 64, tokenizer, punct_label_ids={"O": 0, ",": 1, ".": 2}
        )


def test_bad_files_name_file_and_line(tmp_path: Path, write_lines, tokenizer) -> None:
    text = write_lines(tmp_path / "text.txt", ["a b", "c d e"])
    bad_pair = write_lines(tmp_path / "pairs.txt", ["OU OO", "OU O.O OO"])
    with pytest.raises(ValueError, match=r"pairs\.txt:2: label 'O\.O' \(word 2\) is not two characters"):
        BertPunctuationCapitalizationDataset(text, bad_pair, 64, tokenizer)
    short = write_lines(tmp_path / "short.txt", ["OU OO", "OU OO"])
    with pytest.raises(ValueError, match=r"short\.txt:2: 2 labels for 3 words in .*text\.txt:2"):
        BertPunctuationCapitalizationDataset(text, short, 64, tokenizer)
    one = write_lines(tmp_path / "one.txt", ["OU OO"])
    with pytest.raises(ValueError, match=r"one\.txt has 1 lines but .*text\.txt has 2"):
        BertPunctuationCapitalizationDataset(text, one, 64, tokenizer)
    with pytest.raises(FileNotFoundError, match=r"labels file .*missing\.txt was not found"):
        BertPunctuationCapitalizationDataset(text, tmp_path / "missing.txt", 64, tokenizer)
    empty_text, empty_labels = write_lines(tmp_path / "e.txt", []), write_lines(tmp_path / "el.txt", [])
    with pytest.raises(ValueError, match=r"e\.txt with .*el\.txt is empty"):
        BertPunctuationCapitalizationDataset(empty_text, empty_labels, 64, tokenizer)


def test_bad_parameters(small_files, tokenizer) -> None:
    cases = [
        ({"num_samples": 0}, "num_samples=0"),
        ({"number_of_batches_is_multiple_of": 0}, "number_of_batches_is_multiple_of=0"),
        ({"tokens_in_batch": None}, "tokens_in_batch=None"),
        ({"use_audio": True}, "lexical-audio punctuation data"),
        ({"max_seq_length": 2}, "max_seq_length=2"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            BertPunctuationCapitalizationDataset(
                *small_files, **{"max_seq_length": 64, **kwargs}, tokenizer=tokenizer
            )


def test_num_samples_keeps_the_first_lines(small_files, tokenizer) -> None:
    dataset = BertPunctuationCapitalizationDataset(*small_files, 64, tokenizer, num_samples=1, verbose=False)
    assert [ids.tolist() for ids in dataset.input_ids] == [[101, 5650, 2444, 1999, 2414, 19204, 3989, 102]]
    assert dataset.punct_label_ids == PUNCT_IDS  # label ids still come from the whole file, as in NeMo


def test_data_configs_have_nemo_keys() -> None:
    assert [f.name for f in fields(PunctuationCapitalizationDataConfigBase)] == NEMO_CONFIG_KEYS
    assert [f.name for f in fields(PunctuationCapitalizationTrainDataConfig)] == [
        *NEMO_CONFIG_KEYS,
        "ds_item",
    ]
    config = OmegaConf.structured(
        PunctuationCapitalizationEvalDataConfig(use_tarred_dataset=False, ds_item=["a", "b"])
    )
    assert (
        config.tokens_in_batch is None and config.max_seq_length == 512 and list(config.ds_item) == ["a", "b"]
    )
    legacy_ds = OmegaConf.create(
        {"text_file": "text_dev.txt", "labels_file": "labels_dev.txt", "batch_size": 8}
    )
    legacy_dataset = OmegaConf.create({"data_dir": "/data", "max_seq_length": 128})
    assert is_legacy_data_config(legacy_ds) and not is_legacy_data_config(config)
    new = legacy_data_config_to_new_data_config(legacy_ds, legacy_dataset, train=False)
    assert (new.ds_item, new.text_file, new.max_seq_length, new.use_tarred_dataset) == (
        "/data",
        "text_dev.txt",
        128,
        False,
    )
    with pytest.raises(ValueError, match="No data directory in a legacy punctuation config"):
        legacy_data_config_to_new_data_config(legacy_ds, OmegaConf.create({}), train=True)

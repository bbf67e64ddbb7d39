"""``BertTokenClassificationDataset`` / ``...InferDataset`` against NeMo 1.23's arrays and hand-worked masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from nemo.collections.nlp.data.token_classification.token_classification_dataset import (
    BertTokenClassificationDataset,
    BertTokenClassificationInferDataset,
)

KEYS = ("input_ids", "segment_ids", "input_mask", "subtokens_mask", "loss_mask", "labels")
LABEL_IDS = {"O": 0, "B-LOC": 1, "B-PER": 2}


def stacked(dataset, keys=KEYS) -> dict[str, np.ndarray]:
    return {key: np.stack([dataset[i][k] for i in range(len(dataset))]) for k, key in enumerate(keys)}


@pytest.fixture
def hand_files(tmp_path: Path, write_lines) -> tuple[Path, Path]:
    # alice 5650, live 2444, in 1999, london 2414, token 19204 ##ization 3989, hello 7592; [CLS] 101, [SEP] 102
    text = write_lines(tmp_path / "data" / "text.txt", ["alice live in london tokenization", "hello"])
    labels = write_lines(tmp_path / "data" / "labels.txt", ["B-PER O O B-LOC O", "O"])
    return text, labels


@pytest.mark.parametrize(
    "name", ["default", "extra", "start_end", "both", "clip8", "clip8_both", "long"], ids=lambda n: n
)
def test_matches_nemo(tmp_path: Path, write_lines, tokenizer, nemo_reference, nemo_arrays, name: str) -> None:
    data = nemo_reference["token_classification"]
    text = write_lines(tmp_path / "text.txt", data["text"])
    labels = write_lines(tmp_path / "labels.txt", data["labels"])
    dataset = BertTokenClassificationDataset(
        text, labels, tokenizer=tokenizer, label_ids=data["label_ids"], **data["configs"][name]
    )
    for key, array in stacked(dataset).items():
        expected = nemo_arrays[f"tc/{name}/{key}"]
        assert array.dtype == expected.dtype, key
        np.testing.assert_array_equal(array, expected, err_msg=key)


def test_infer_dataset_matches_nemo(tokenizer, nemo_reference, nemo_arrays) -> None:
    dataset = BertTokenClassificationInferDataset(
        nemo_reference["token_classification"]["text"], -1, tokenizer
    )
    for key, array in stacked(dataset, KEYS[:4]).items():
        assert array.dtype == nemo_arrays[f"tc_infer/{key}"].dtype
        np.testing.assert_array_equal(array, nemo_arrays[f"tc_infer/{key}"], err_msg=key)


def test_hand_worked_masks_and_labels(hand_files, tokenizer) -> None:
    text, labels = hand_files
    default = stacked(BertTokenClassificationDataset(text, labels, -1, tokenizer, label_ids=LABEL_IDS))
    np.testing.assert_array_equal(
        default["input_ids"],
        [[101, 5650, 2444, 1999, 2414, 19204, 3989, 102], [101, 7592, 102, 0, 0, 0, 0, 0]],
    )
    np.testing.assert_array_equal(default["segment_ids"], np.zeros((2, 8)))
    np.testing.assert_array_equal(default["input_mask"], [[1] * 8, [1, 1, 1, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(
        default["subtokens_mask"], [[0, 1, 1, 1, 1, 1, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0]]
    )
    np.testing.assert_array_equal(default["loss_mask"], [[1] * 8, [1, 1, 1, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(default["labels"], [[0, 2, 0, 0, 1, 0, 0, 0], [0] * 8])

    strict = stacked(
        BertTokenClassificationDataset(
            text, labels, -1, tokenizer, label_ids=LABEL_IDS, ignore_extra_tokens=True, ignore_start_end=True
        )
    )
    np.testing.assert_array_equal(strict["loss_mask"], [[0, 1, 1, 1, 1, 1, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0]])

    # Too long: [CLS] and the LAST max_seq_length - 1 tokens stay (NeMo's rule).
    clipped = stacked(BertTokenClassificationDataset(text, labels, 5, tokenizer, label_ids=LABEL_IDS))
    np.testing.assert_array_equal(
        clipped["input_ids"], [[101, 2414, 19204, 3989, 102], [101, 7592, 102, 0, 0]]
    )
    np.testing.assert_array_equal(clipped["subtokens_mask"], [[0, 1, 1, 0, 0], [0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(clipped["loss_mask"], [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    np.testing.assert_array_equal(clipped["labels"], [[0, 1, 0, 0, 0], [0, 0, 0, 0, 0]])


def test_label_ids_created_from_file_and_num_samples(hand_files, tokenizer) -> None:
    text, labels = hand_files
    dataset = BertTokenClassificationDataset(text, labels, -1, tokenizer, num_samples=1)
    assert dataset.label_ids == LABEL_IDS
    assert len(dataset) == 1 and dataset[0][0].shape == (8,)


def test_data_loader_and_nothing_written(hand_files, tokenizer, listing) -> None:
    text, labels = hand_files
    before = listing(text.parent)
    dataset = BertTokenClassificationDataset(text, labels, -1, tokenizer, label_ids=LABEL_IDS, use_cache=True)
    batches = list(
        torch.utils.data.DataLoader(dataset, batch_size=2, shuffle=True, collate_fn=dataset.collate_fn)
    )
    [batch] = batches
    assert len(batch) == 6 and all(t.shape == (2, 8) and t.dtype == torch.int64 for t in batch)
    assert [t.neural_type.elements_type.__class__.__name__ for t in batch] == [
        "ChannelType",
        "ChannelType",
        "MaskType",
        "MaskType",
        "MaskType",
        "LabelsType",
    ]
    infer = BertTokenClassificationInferDataset(["alice live in london", "hello"], -1, tokenizer)
    [ids, segments, mask, subtokens] = next(
        iter(torch.utils.data.DataLoader(infer, 2, collate_fn=infer.collate_fn))
    )
    assert ids.tolist() == [[101, 5650, 2444, 1999, 2414, 102], [101, 7592, 102, 0, 0, 0]]
    assert subtokens.tolist() == [[0, 1, 1, 1, 1, 0], [0, 1, 0, 0, 0, 0]]
    assert listing(text.parent) == before


def test_errors_name_file_and_line(tmp_path: Path, write_lines, tokenizer) -> None:
    text = write_lines(tmp_path / "text.txt", ["a b", "c d e"])
    short = write_lines(tmp_path / "short.txt", ["O O", "O O"])
    with pytest.raises(ValueError, match=r"short\.txt:2: 2 labels for 3 words in .*text\.txt:2"):
        BertTokenClassificationDataset(text, short, -1, tokenizer)
    unknown = write_lines(tmp_path / "unknown.txt", ["O O", "O B-XYZ O"])
    with pytest.raises(ValueError, match=r"unknown\.txt:2: unknown label 'B-XYZ'"):
        BertTokenClassificationDataset(text, unknown, -1, tokenizer, label_ids={"O": 0})
    one_line = write_lines(tmp_path / "one.txt", ["O O"])
    with pytest.raises(ValueError, match=r"one\.txt has 1 lines but .*text\.txt has 2"):
        BertTokenClassificationDataset(text, one_line, -1, tokenizer)
    with pytest.raises(FileNotFoundError, match=r"label file .*missing\.txt was not found"):
        BertTokenClassificationDataset(text, tmp_path / "missing.txt", -1, tokenizer)
    tsv = write_lines(tmp_path / "text.tsv", ["a b"])
    with pytest.raises(ValueError, match=r"text\.tsv should have the extension \.txt"):
        BertTokenClassificationDataset(tsv, one_line, -1, tokenizer)
    labels = write_lines(tmp_path / "labels.txt", ["O O", "O O O"])
    with pytest.raises(ValueError, match="num_samples=0"):
        BertTokenClassificationDataset(text, labels, -1, tokenizer, num_samples=0)
    with pytest.raises(ValueError, match="max_seq_length=1"):
        BertTokenClassificationDataset(text, labels, 1, tokenizer)
    with pytest.raises(ValueError, match="Pad label 'PAD' is not in label_ids"):
        BertTokenClassificationDataset(text, labels, -1, tokenizer, label_ids={"O": 0}, pad_label="PAD")

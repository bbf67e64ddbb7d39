"""``create_tarred_dataset`` reads its text and labels files as the rest of the package does: a byte-order mark and
CRLF line endings change nothing, lines end at ``"\\n"`` only, and bad lines are errors naming ``file:line``.

Real files in ``tmp_path`` and the real MiniLM tokenizer (offline); shards are compared through ``read_batches``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from nemo.collections.nlp.data.token_classification.create_tarred_dataset import create_tarred_dataset
from nemo.collections.nlp.data.token_classification.tarred_batch_shards import read_batches

TEXT = [
    "the cat sat on the mat",
    "where is alice going today",
    "bob said hello to everyone in the room",
    "it rained",
    "paris is lovely in spring and in autumn",
    "no",
]
LABELS = [
    "OU OO OO OO OO .O",
    "OU OO OU OO ?O",
    "OU OO OO OO OO OO OO .O",
    "OU .O",
    "OU OO OO OO OO OO OO .O",
    ".U",
]
BOM = b"\xef\xbb\xbf"


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and an empty Hugging Face cache: the tokenizer comes from the local MiniLM folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))


def write(path: Path, lines: list[str], newline: bytes = b"\n", bom: bool = False) -> Path:
    """Write UTF-8 ``lines``, each ending with ``newline``, after a byte-order mark if ``bom``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((BOM if bom else b"") + b"".join(line.encode("utf-8") + newline for line in lines))
    return path


def build(text: Path, labels: Path, output_dir: Path, minilm_dir: Path) -> Path:
    """A tarred dataset of 2-line fragments and one batch per shard, so every batch is kept."""
    return create_tarred_dataset(
        text,
        labels,
        output_dir,
        max_seq_length=16,
        tokens_in_batch=48,
        lines_per_dataset_fragment=2,
        num_batches_per_tarfile=1,
        tokenizer_name=str(minilm_dir),
        n_jobs=1,
    )


def shard_contents(metadata_file: Path) -> list[tuple[str, str, dict[str, np.ndarray]]]:
    """``(shard name, member key, arrays)`` of every batch listed by the metadata file."""
    metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    return [
        (name, key, batch)
        for name in metadata["tar_files"]
        for key, batch in read_batches(metadata_file.parent / name)
    ]


def test_bom_and_crlf_build_the_same_shards_as_plain_lf(tmp_path: Path, minilm_dir: Path) -> None:
    plain = build(
        write(tmp_path / "lf" / "text.txt", TEXT),
        write(tmp_path / "lf" / "labels.txt", LABELS),
        tmp_path / "lf_out",
        minilm_dir,
    )
    windows = build(
        write(tmp_path / "crlf" / "text.txt", TEXT, b"\r\n", bom=True),
        write(tmp_path / "crlf" / "labels.txt", LABELS, b"\r\n", bom=True),
        tmp_path / "crlf_out",
        minilm_dir,
    )
    expected, actual = shard_contents(plain), shard_contents(windows)
    assert len(expected) > 2, "the data must give several shards"
    assert [(name, key) for name, key, _ in actual] == [(name, key) for name, key, _ in expected]
    for (_, key, got), (_, _, want) in zip(actual, expected):
        assert list(got) == list(want), key
        for array in want:
            assert got[array].dtype == want[array].dtype, (key, array)
            np.testing.assert_array_equal(got[array], want[array], err_msg=f"{key} {array}")
    assert windows.read_text(encoding="utf-8") == plain.read_text(encoding="utf-8")
    for vocab in ("punct_label_vocab.csv", "capit_label_vocab.csv"):
        assert (windows.parent / vocab).read_text() == (plain.parent / vocab).read_text()
    assert (plain.parent / "punct_label_vocab.csv").read_text().splitlines()[0] == "O"


@pytest.mark.parametrize("which", ["text", "labels"])
def test_invalid_utf8_on_line_3_names_the_file_and_line(tmp_path: Path, minilm_dir: Path, which: str) -> None:
    files = {
        "text": write(tmp_path / "text.txt", TEXT, b"\r\n", bom=True),
        "labels": write(tmp_path / "labels.txt", LABELS, b"\r\n", bom=True),
    }
    lines = files[which].read_bytes().split(b"\r\n")
    lines[2] = lines[2][:3] + b"\xff" + lines[2][3:]  # line 3 (after the byte-order mark of line 1)
    files[which].write_bytes(b"\r\n".join(lines))
    with pytest.raises(ValueError, match="UTF-8") as caught:
        build(files["text"], files["labels"], tmp_path / "out", minilm_dir)
    assert f"{files[which]}:3:" in str(caught.value)
    assert not (tmp_path / "out").exists(), "nothing is written before the files are checked"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_label_count_differing_from_word_count_names_both_files_and_line(
    tmp_path: Path, minilm_dir: Path, newline: bytes
) -> None:
    labels = list(LABELS)
    labels[2] = labels[2].rsplit(" ", 1)[0]  # line 3 (first line of the second fragment): one label short
    text_file = write(tmp_path / "text.txt", TEXT, newline, bom=True)
    labels_file = write(tmp_path / "labels.txt", labels, newline, bom=True)
    with pytest.raises(ValueError) as caught:
        build(text_file, labels_file, tmp_path / "out", minilm_dir)
    message = str(caught.value)
    assert f"{labels_file}:3:" in message and f"{text_file}:3" in message
    assert "7 labels for 8 words" in message


def test_lone_carriage_return_does_not_shift_label_line_numbers(tmp_path: Path, minilm_dir: Path) -> None:
    labels = list(LABELS)
    labels[0] = labels[0].replace(" ", "\r", 1)  # a lone "\r" between two labels of line 1: still one line
    labels[2] = labels[2].replace("OO", "OOO", 1)  # line 3: a label of three characters
    text_file = write(tmp_path / "text.txt", TEXT)
    labels_file = write(tmp_path / "labels.txt", labels)
    with pytest.raises(ValueError, match="not two characters") as caught:
        build(text_file, labels_file, tmp_path / "out", minilm_dir)
    assert f"{labels_file}:3:" in str(caught.value)


def test_lone_carriage_return_separates_words_as_a_space_does(tmp_path: Path, minilm_dir: Path) -> None:
    spaced = build(
        write(tmp_path / "a" / "text.txt", TEXT),
        write(tmp_path / "a" / "labels.txt", LABELS),
        tmp_path / "a_out",
        minilm_dir,
    )
    text, labels = list(TEXT), list(LABELS)
    text[1], labels[1] = text[1].replace(" ", "\r", 1), labels[1].replace(" ", "\r", 1)
    with_cr = build(
        write(tmp_path / "b" / "text.txt", text),
        write(tmp_path / "b" / "labels.txt", labels),
        tmp_path / "b_out",
        minilm_dir,
    )
    expected, actual = shard_contents(spaced), shard_contents(with_cr)
    assert [key for _, key, _ in actual] == [key for _, key, _ in expected]
    for (_, key, got), (_, _, want) in zip(actual, expected):
        for array in want:
            np.testing.assert_array_equal(got[array], want[array], err_msg=f"{key} {array}")

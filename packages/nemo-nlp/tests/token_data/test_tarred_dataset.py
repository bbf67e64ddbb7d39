"""Tarred punctuation data: real tar shards written by the CLI, read back, split across ranks and workers, and
everything that is not an ``.npz`` batch member refused."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from nemo.collections.nlp.data.token_classification.create_tarred_dataset import (
    build_label_ids_from_list_of_labels,
    create_tarred_dataset,
    main,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_dataset import (
    BertPunctuationCapitalizationDataset,
)
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_tarred_dataset import (
    BertPunctuationCapitalizationTarredDataset,
)
from nemo.collections.nlp.data.token_classification.tarred_batch_shards import (
    BATCH_FORMAT,
    TarredBatchError,
    encode_batch,
    read_batches,
)
from omegaconf import OmegaConf

KEYS = (
    "input_ids",
    "subtokens_mask",
    "punct_labels",
    "capit_labels",
    "segment_ids",
    "input_mask",
    "loss_mask",
)
TOKENS_IN_BATCH, MAX_SEQ_LENGTH = 512, 128


@pytest.fixture
def bbc_files(tmp_path: Path, write_lines, nemo_reference: dict) -> tuple[Path, Path]:
    data = nemo_reference["punctuation_data"]
    return write_lines(tmp_path / "data" / "text.txt", data["text"]), write_lines(
        tmp_path / "data" / "labels.txt", data["labels"]
    )


def run_cli(text: Path, labels: Path, output_dir: Path, minilm_dir: Path, *extra: str) -> Path:
    main(
        [
            *("--text", str(text), "--labels", str(labels), "--output_dir", str(output_dir)),
            *("--tokenizer_name", str(minilm_dir), "--tokens_in_batch", str(TOKENS_IN_BATCH)),
            *("--max_seq_length", str(MAX_SEQ_LENGTH), "--n_jobs", "1"),
            *extra,
        ]
    )
    [metadata] = output_dir.glob("metadata.*.json")
    return metadata


def in_memory_batches(text: Path, labels: Path, tokenizer, **kwargs) -> list[dict[str, np.ndarray]]:
    return BertPunctuationCapitalizationDataset(
        text, labels, MAX_SEQ_LENGTH, tokenizer, tokens_in_batch=TOKENS_IN_BATCH, verbose=False, **kwargs
    ).batches


def assert_same_batches(actual: list[dict], expected: list[dict]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert list(got) == list(KEYS)
        for key in KEYS:
            assert got[key].dtype == want[key].dtype, key
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def fingerprint(batch: dict) -> bytes:
    return np.asarray(batch["input_ids"]).tobytes() + np.asarray(batch["punct_labels"]).tobytes()


def test_one_fragment_gives_the_in_memory_batches(
    bbc_files, tmp_path: Path, minilm_dir, tokenizer, listing
) -> None:
    before = listing(bbc_files[0].parent)
    metadata_file = run_cli(*bbc_files, tmp_path / "tarred", minilm_dir, "--num_batches_per_tarfile", "3")
    expected = in_memory_batches(*bbc_files, tokenizer)  # seed 42, as the writer
    metadata = json.loads(metadata_file.read_text())
    shards = len(expected) // 3
    assert metadata["num_batches"] == 3 * shards and len(metadata["tar_files"]) == shards
    assert metadata["batch_format"] == BATCH_FORMAT
    assert metadata["punct_label_vocab_file"] == "punct_label_vocab.csv"
    assert metadata_file.name.startswith("metadata.punctuation_capitalization.tokens512.max_seq_length128.")
    assert (
        tmp_path / "tarred" / "punct_label_vocab.csv"
    ).read_text() == "O\n,\n."  # no "?" in these articles
    for name in metadata["tar_files"]:
        with tarfile.open(tmp_path / "tarred" / name) as tar:
            members = tar.getmembers()
        assert all(m.isfile() and m.name.endswith(".batch.npz") for m in members) and len(members) == 3
    dataset = BertPunctuationCapitalizationTarredDataset(metadata_file, tokenizer, "O", shuffle_n=0)
    assert len(dataset) == 3 * shards
    assert_same_batches(list(dataset), expected[: 3 * shards])
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, collate_fn=dataset.collate_fn)
    batch = next(iter(loader))
    assert batch["input_ids"].dtype == torch.int32 and batch["segment_ids"].dtype == torch.int32
    assert batch["punct_labels"].dtype == torch.int64 and batch["loss_mask"].dtype == torch.bool
    assert listing(bbc_files[0].parent) == before


def fragment_expectation(
    text: Path, labels: Path, tmp_path: Path, write_lines, tokenizer, lines: int, per_file: int
):
    text_lines = text.read_text(encoding="utf-8").splitlines()
    label_lines = labels.read_text(encoding="utf-8").splitlines()
    whole = BertPunctuationCapitalizationDataset(text, labels, MAX_SEQ_LENGTH, tokenizer, verbose=False)
    full, leftovers = [], []
    for start in range(0, len(text_lines), lines):
        fragment_text = write_lines(
            tmp_path / "fragments" / f"t{start}.txt", text_lines[start : start + lines]
        )
        fragment_labels = write_lines(
            tmp_path / "fragments" / f"l{start}.txt", label_lines[start : start + lines]
        )
        batches = in_memory_batches(
            fragment_text,
            fragment_labels,
            tokenizer,
            punct_label_ids=whole.punct_label_ids,
            capit_label_ids=whole.capit_label_ids,
        )
        cut = len(batches) - len(batches) % per_file
        full += batches[:cut]
        leftovers += batches[cut:]
    repacked = leftovers[: len(leftovers) - len(leftovers) % per_file]
    assert repacked, "the case must exercise the regrouping of leftover batches"
    return full + repacked


def test_fragments_and_leftover_repacking(
    bbc_files, tmp_path: Path, minilm_dir, tokenizer, write_lines
) -> None:
    options = ("--num_batches_per_tarfile", "3", "--lines_per_dataset_fragment", "25")
    metadata_file = run_cli(*bbc_files, tmp_path / "tarred", minilm_dir, *options)
    expected = fragment_expectation(*bbc_files, tmp_path, write_lines, tokenizer, lines=25, per_file=3)
    dataset = BertPunctuationCapitalizationTarredDataset(metadata_file, tokenizer, "O", shuffle_n=0)
    assert_same_batches(list(dataset), expected)
    assert not list((tmp_path / "tarred").glob("*.to_repack")) and not list(
        (tmp_path / "tarred").glob("fragment*")
    )


@pytest.mark.slow
def test_parallel_workers_write_the_same_batches(bbc_files, tmp_path: Path, minilm_dir, tokenizer) -> None:
    args = ("--num_batches_per_tarfile", "2", "--lines_per_dataset_fragment", "40")
    serial = run_cli(*bbc_files, tmp_path / "serial", minilm_dir, *args)
    parallel = run_cli(*bbc_files, tmp_path / "parallel", minilm_dir, *args, "--n_jobs", "2")
    read = [
        list(BertPunctuationCapitalizationTarredDataset(m, tokenizer, "O", shuffle_n=0))
        for m in (serial, parallel)
    ]
    assert_same_batches(read[1], read[0])


@pytest.fixture
def tarred(bbc_files, tmp_path: Path, minilm_dir) -> Path:
    return run_cli(*bbc_files, tmp_path / "tarred", minilm_dir, "--num_batches_per_tarfile", "2")


def test_shards_split_between_ranks_and_workers(tarred: Path, tokenizer) -> None:
    everything = list(BertPunctuationCapitalizationTarredDataset(tarred, tokenizer, "O", shuffle_n=0))
    shards = len(json.loads(tarred.read_text())["tar_files"])
    assert shards >= 4 and shards % 2 == 0
    ranks = [
        BertPunctuationCapitalizationTarredDataset(
            tarred, tokenizer, "O", world_size=2, global_rank=r, shuffle_n=0
        )
        for r in (0, 1)
    ]
    assert [len(r.tar_files) for r in ranks] == [shards // 2, shards // 2]
    assert not set(ranks[0].tar_files) & set(ranks[1].tar_files)
    assert len(ranks[0]) == len(everything)
    assert_same_batches(list(ranks[0]) + list(ranks[1]), everything)
    replicated = BertPunctuationCapitalizationTarredDataset(
        tarred, tokenizer, "O", world_size=2, global_rank=1, shard_strategy="replicate", shuffle_n=0
    )
    assert_same_batches(list(replicated), everything)

    loader = torch.utils.data.DataLoader(
        ranks[1], batch_size=1, num_workers=2, collate_fn=ranks[1].collate_fn
    )
    from_workers = sorted(fingerprint({k: v.numpy() for k, v in b.items()}) for b in loader)
    assert from_workers == sorted(fingerprint(b) for b in list(ranks[1]))


def test_shuffle_buffer_reorders_and_keeps_every_batch(tarred: Path, tokenizer) -> None:
    plain = [
        fingerprint(b)
        for b in BertPunctuationCapitalizationTarredDataset(tarred, tokenizer, "O", shuffle_n=0)
    ]
    dataset = BertPunctuationCapitalizationTarredDataset(tarred, tokenizer, "O", shuffle_n=4)
    torch.manual_seed(0)
    first = [fingerprint(b) for b in dataset]
    second = [fingerprint(b) for b in dataset]
    torch.manual_seed(0)
    again = [fingerprint(b) for b in dataset]
    assert sorted(first) == sorted(plain) == sorted(second)
    assert first != plain and first != second and first == again


def test_label_files_and_consistency_checks(tarred: Path, tokenizer, tmp_path: Path) -> None:
    dataset = BertPunctuationCapitalizationTarredDataset(
        tarred, tokenizer, "O", label_info_save_dir=tmp_path / "run"
    )
    punct, capit = dataset.save_labels_and_get_file_paths("punct_label_ids.csv", "capit_label_ids.csv")
    assert punct == tmp_path / "run" / "label_id_files_for_nemo_checkpoint" / "punct_label_ids.csv"
    assert punct.read_text() == "O\n,\n." and capit.read_text() == "O\nU"
    with pytest.raises(ValueError, match="label_info_save_dir is not set"):
        BertPunctuationCapitalizationTarredDataset(tarred, tokenizer, "O").save_labels_and_get_file_paths(
            "p", "c"
        )
    class_labels = OmegaConf.create(
        {"punct_labels_file": "punct_label_ids.csv", "capit_labels_file": "c.csv"}
    )
    common = OmegaConf.create({"punct_label_ids": None, "capit_label_ids": None, "label_vocab_dir": None})
    dataset.check_for_label_consistency_with_model_config(dataset.punct_label_ids, None, class_labels, common)
    with pytest.raises(ValueError, match="the attribute `capit_label_ids` of the model"):
        dataset.check_for_label_consistency_with_model_config(None, {"O": 0, "X": 1}, class_labels, common)
    common = OmegaConf.create(
        {"punct_label_ids": {"O": 0, ".": 1}, "capit_label_ids": None, "label_vocab_dir": None}
    )
    with pytest.raises(ValueError, match="model.common_dataset_parameters.punct_label_ids"):
        dataset.check_for_label_consistency_with_model_config(None, None, class_labels, common)


def write_tarred(directory: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], **metadata) -> Path:
    """A tarred dataset with one shard holding ``members`` (``(name, bytes)`` or prepared ``TarInfo``)."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(directory / "shard.0.tar", "w") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    (directory / "punct_label_vocab.csv").write_text("O\n,\n.\n?")
    (directory / "capit_label_vocab.csv").write_text("O\nU")
    content = {
        "num_batches": len(members),
        "tar_files": ["shard.0.tar"],
        "punct_label_vocab_file": "punct_label_vocab.csv",
        "capit_label_vocab_file": "capit_label_vocab.csv",
        "batch_format": BATCH_FORMAT,
        **metadata,
    }
    (directory / "metadata.json").write_text(json.dumps(content))
    return directory / "metadata.json"


GOOD = {
    "input_ids": np.array([[101, 7592, 102, 0]], dtype=np.int32),
    "subtokens_mask": np.array([[False, True, False, False]]),
    "punct_labels": np.array([[0, 3, 0, 0]]),
    "capit_labels": np.array([[0, 1, 0, 0]]),
}


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def read_all(metadata: Path, tokenizer) -> list:
    return list(BertPunctuationCapitalizationTarredDataset(metadata, tokenizer, "O", shuffle_n=0))


def test_a_good_hand_made_shard_reads(tmp_path: Path, tokenizer, listing) -> None:
    metadata = write_tarred(tmp_path / "ok", [("b-0.batch.npz", encode_batch(GOOD))])
    before = listing(tmp_path)
    [batch] = read_all(metadata, tokenizer)
    assert batch["input_mask"].tolist() == [[True, True, True, False]]
    assert listing(tmp_path) == before  # nothing extracted to disk


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (
            ("fragment-0-batch-0.batch.pyd", pickle.dumps(GOOD)),
            "is a pickled batch \\(NeMo 1.23's tarred format\\)",
        ),
        (
            ("b-0.batch.npz", npz(**{**GOOD, "input_ids": np.array([[object()]], dtype=object)})),
            "pickled objects",
        ),
        (("b-0.batch.npz", pickle.dumps(GOOD)), "is not a NumPy .npz archive"),
        (("b-0.batch.npz", npz(**GOOD, extra=np.zeros(1))), "holds arrays .*'extra'"),
        (
            ("b-0.batch.npz", npz(**{k: v for k, v in GOOD.items() if k != "capit_labels"})),
            "expected \\['input_ids'",
        ),
        (("b-0.batch.npz", npz(**{**GOOD, "input_ids": GOOD["input_ids"].astype(float)})), "dtype float64"),
        (("b-0.batch.npz", npz(**{**GOOD, "punct_labels": np.zeros((1, 3), int)})), "shape \\(1, 3\\)"),
        (("../evil.batch.npz", encode_batch(GOOD)), "has an unexpected name"),
        (("notes.txt", b"hello"), "has an unexpected name"),
    ],
)
def test_refused_members_name_shard_and_member(tmp_path: Path, tokenizer, member, message: str) -> None:
    metadata = write_tarred(tmp_path / "bad", [member])
    with pytest.raises(TarredBatchError, match=rf"shard .*shard\.0\.tar, member '{member[0][:3]}.*{message}"):
        read_all(metadata, tokenizer)


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.DIRTYPE, tarfile.LNKTYPE])
def test_links_and_directories_are_refused(tmp_path: Path, tokenizer, kind: bytes) -> None:
    info = tarfile.TarInfo("b-0.batch.npz")
    info.type, info.linkname = kind, "/etc/passwd"
    metadata = write_tarred(tmp_path / "links", [info])
    with pytest.raises(TarredBatchError, match="is not a regular file"):
        read_all(metadata, tokenizer)


def test_bad_shards_and_metadata(tmp_path: Path, tokenizer) -> None:
    metadata = write_tarred(tmp_path / "gz", [("b-0.batch.npz", encode_batch(GOOD))])
    (tmp_path / "gz" / "shard.0.tar").write_bytes(
        gzip.compress((tmp_path / "gz" / "shard.0.tar").read_bytes())
    )
    with pytest.raises(TarredBatchError, match="is not an uncompressed tar file"):
        read_all(metadata, tokenizer)
    nemo_made = write_tarred(tmp_path / "nemo", [("b-0.batch.npz", encode_batch(GOOD))], batch_format=None)
    with pytest.raises(TarredBatchError, match="made by NeMo 1.23 and hold pickled batches"):
        BertPunctuationCapitalizationTarredDataset(nemo_made, tokenizer, "O")
    out_of_range = write_tarred(
        tmp_path / "range",
        [("b-7.batch.npz", encode_batch({**GOOD, "punct_labels": np.array([[0, 4, 0, 0]])}))],
    )
    with pytest.raises(
        TarredBatchError, match=r"batch 'b-7': punct_labels has values in \[0, 4\], expected \[0, 4\)"
    ):
        read_all(out_of_range, tokenizer)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="is not valid JSON"):
        BertPunctuationCapitalizationTarredDataset(tmp_path / "broken.json", tokenizer, "O")
    (tmp_path / "keys.json").write_text(json.dumps({"num_batches": 1, "tar_files": ["x.tar"]}))
    with pytest.raises(ValueError, match="key 'punct_label_vocab_file' is None; expected a str"):
        BertPunctuationCapitalizationTarredDataset(tmp_path / "keys.json", tokenizer, "O")
    with pytest.raises(FileNotFoundError, match="metadata file .*absent.json was not found"):
        BertPunctuationCapitalizationTarredDataset(tmp_path / "absent.json", tokenizer, "O")
    good = write_tarred(tmp_path / "pad", [("b-0.batch.npz", encode_batch(GOOD))])
    (tmp_path / "pad" / "capit_label_vocab.csv").write_text("U\nO")
    with pytest.raises(
        ValueError, match="Pad label 'O' is id 1 in the label ids from .*capit_label_vocab.csv"
    ):
        BertPunctuationCapitalizationTarredDataset(good, tokenizer, "O")
    (tmp_path / "pad" / "capit_label_vocab.csv").write_text("O\nU")
    with pytest.raises(ValueError, match="shard_strategy='spread'"):
        BertPunctuationCapitalizationTarredDataset(good, tokenizer, "O", shard_strategy="spread")
    with pytest.raises(ValueError, match="1 shards cannot be scattered over 2 processes"):
        BertPunctuationCapitalizationTarredDataset(good, tokenizer, "O", world_size=2, global_rank=1)
    with pytest.raises(FileNotFoundError, match="shard .*nothing.tar was not found"):
        list(read_batches(tmp_path / "nothing.tar"))


def test_cli_label_options_and_errors(bbc_files, tmp_path: Path, minilm_dir, capsys) -> None:
    metadata = run_cli(
        *bbc_files,
        tmp_path / "t",
        minilm_dir,
        "--num_batches_per_tarfile",
        "2",
        "-p",
        "?",
        ".",
        ",",
        "-x",
        "my_data",
    )
    assert metadata.name.startswith("metadata.my_data.tokens512.")
    assert (tmp_path / "t" / "punct_label_vocab.csv").read_text() == "O\n?\n.\n,"
    bad_runs = [
        (
            ["--special_token_names", "pad_token"],
            "Give both --special_token_names and --special_token_values",
        ),
        (["-n", "pad_token", "cls_token", "-V", "[PAD]"], "has 2 values but --special_token_values has 1"),
        (["-p", ",", ","], "Label ',' is given twice"),
        (["-c", "O"], "equals the pad label 'O'"),
        (["-x", "bad/prefix"], "not allowed in file names: ['/']"),
        (["--use_audio"], "lexical-audio punctuation data is not supported"),
    ]
    for extra, message in bad_runs:
        with pytest.raises(SystemExit):
            run_cli(*bbc_files, tmp_path / "x", minilm_dir, *extra)
        assert message in capsys.readouterr().err
    text, labels = tmp_path / "one_text.txt", tmp_path / "one_labels.txt"
    text.write_text("hello world\n")
    labels.write_text("OUU OO\n")
    with pytest.raises(ValueError, match=r"one_labels\.txt:1: label 'OUU' \(word 1\) is not two characters"):
        create_tarred_dataset(text, labels, tmp_path / "y", 64, 512, 100, 1, str(minilm_dir), n_jobs=1)
    assert build_label_ids_from_list_of_labels("O", ["U"]) == {"O": 0, "U": 1}

"""Label ids, class weights, statistics and NeMo's text/labels conversion, against NeMo 1.23 and by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from nemo.collections.nlp.data.data_utils.data_preprocessing import (
    fill_class_weights,
    get_freq_weights,
    get_label_stats,
    get_labels_to_labels_id_mapping,
)
from nemo.collections.nlp.data.token_classification.label_id_files import (
    check_pad_label_id,
    create_label_ids,
    load_label_ids,
    raise_not_equal_labels_error,
    save_label_ids,
)
from nemo.collections.nlp.data.token_classification.token_classification_utils import (
    create_text_and_labels,
    get_label_ids,
    remove_punctuation,
)


@pytest.fixture
def tc_files(tmp_path: Path, write_lines, nemo_reference: dict) -> tuple[Path, Path]:
    data = nemo_reference["token_classification"]
    return write_lines(tmp_path / "data" / "text.txt", data["text"]), write_lines(
        tmp_path / "data" / "labels.txt", data["labels"]
    )


def test_get_label_ids_matches_nemo(tc_files, tmp_path: Path, nemo_reference: dict, listing) -> None:
    _, labels_file = tc_files
    before = listing(labels_file.parent)
    label_ids, filename, weights = get_label_ids(
        labels_file, is_training=True, label_info_save_dir=tmp_path / "run"
    )
    expected = nemo_reference["token_classification"]
    assert label_ids == expected["label_ids"]
    assert Path(filename) == tmp_path / "run" / "label_ids.csv"
    assert Path(filename).read_text(encoding="utf-8") == expected["label_ids_csv"]
    assert weights == pytest.approx(expected["class_weights"], rel=1e-12)
    assert (tmp_path / "run" / "labels_label_stats.tsv").is_file()
    assert listing(labels_file.parent) == before  # nothing next to the data


def test_get_label_ids_hand_worked(tmp_path: Path, write_lines) -> None:
    labels = write_lines(tmp_path / "labels.txt", ["B-PER O O", "O B-LOC", "O"])
    label_ids, filename, weights = get_label_ids(labels, is_training=True, pad_label="O")
    # pad label first, then sorted: B-LOC, B-PER
    assert label_ids == {"O": 0, "B-LOC": 1, "B-PER": 2}
    assert filename is None  # no directory named: nothing written
    # counts O:4, B-LOC:1, B-PER:1 of 6 -> 6 / (3 * count)
    assert weights == pytest.approx([0.5, 2.0, 2.0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.txt"]


def test_get_label_ids_checks_given_ids_and_skips_weights(tmp_path: Path, write_lines) -> None:
    labels = write_lines(tmp_path / "labels.txt", ["O B-LOC"])
    ids = {"O": 0, "B-LOC": 1, "B-PER": 2}
    label_ids, filename, weights = get_label_ids(labels, label_ids_dict=ids, get_weights=False)
    assert (label_ids, filename, weights) == (ids, None, None)


def test_get_label_ids_unknown_label_names_file_and_line(tmp_path: Path, write_lines) -> None:
    labels = write_lines(tmp_path / "labels.txt", ["O B-LOC", "O B-ORG O"])
    with pytest.raises(ValueError, match=r"labels\.txt:2: label 'B-ORG' is not in the label ids"):
        get_label_ids(labels, label_ids_dict={"O": 0, "B-LOC": 1})


def test_get_label_ids_errors(tmp_path: Path, write_lines) -> None:
    with pytest.raises(FileNotFoundError, match="missing.txt was not found"):
        get_label_ids(tmp_path / "missing.txt", is_training=True)
    labels = write_lines(tmp_path / "labels.txt", ["O"])
    with pytest.raises(ValueError, match="non-training data needs `label_ids_dict`"):
        get_label_ids(labels)


def test_create_text_and_labels_matches_nemo(tmp_path: Path, write_lines, nemo_reference: dict) -> None:
    data = nemo_reference["punctuation_data"]
    raw = write_lines(tmp_path / "raw.txt", data["raw"])
    create_text_and_labels(tmp_path / "out", str(raw))
    assert (tmp_path / "out" / "text_raw.txt").read_text(encoding="utf-8").splitlines() == data["text"]
    assert (tmp_path / "out" / "labels_raw.txt").read_text(encoding="utf-8").splitlines() == data["labels"]


def test_create_text_and_labels_hand_worked(tmp_path: Path, write_lines) -> None:
    raw = write_lines(tmp_path / "in.txt", ["Hello, Mr. Smith! Don't - go?", ""])
    create_text_and_labels(tmp_path / "out", str(raw), punct_marks=",.?")
    assert (tmp_path / "out" / "text_in.txt").read_text(encoding="utf-8") == "hello mr smith don't go\n\n"
    assert (tmp_path / "out" / "labels_in.txt").read_text(encoding="utf-8") == ",U .U OU OU ?O\n\n"
    assert remove_punctuation("U.S.-led,don't") == "USleddon't"
    with pytest.raises(FileNotFoundError, match="nope.txt was not found"):
        create_text_and_labels(tmp_path / "out", str(tmp_path / "nope.txt"))


def test_label_stats_and_weights_by_hand(tmp_path: Path) -> None:
    total, frequencies, max_id = get_label_stats([2, 0, 0, 2, 0, 5], tmp_path / "stats.tsv")
    assert (total, frequencies, max_id) == (6, {0: 3, 2: 2, 5: 1}, 5)
    assert (tmp_path / "stats.tsv").read_text() == "0\t\t0.5\t\t3\n2\t\t0.33333\t\t2\n5\t\t0.16667\t\t1\n"
    weights = get_freq_weights(frequencies)
    assert weights == pytest.approx({0: 6 / 9, 2: 1.0, 5: 2.0})
    assert fill_class_weights(weights, max_id) == pytest.approx([6 / 9, 1.0, 1.0, 1.0, 1.0, 2.0])
    assert fill_class_weights({1: 0.5}) == [1.0, 0.5]
    with pytest.raises(ValueError, match="No labels to count"):
        get_label_stats([])


def test_label_id_files_round_trip_and_errors(tmp_path: Path) -> None:
    assert create_label_ids({".", "O", ",", "?"}, "O") == {"O": 0, ",": 1, ".": 2, "?": 3}
    path = tmp_path / "sub" / "punct_label_ids.csv"
    save_label_ids({"O": 0, ",": 1, ".": 2, "?": 3}, path)
    assert path.read_bytes() == b"O\n,\n.\n?"
    assert load_label_ids(path) == {"O": 0, ",": 1, ".": 2, "?": 3}
    with pytest.raises(ValueError, match="expected ids 0..1"):
        save_label_ids({"O": 0, "U": 2}, tmp_path / "bad.csv")
    (tmp_path / "blank.csv").write_text("O\n\nU\n")
    with pytest.raises(ValueError, match=r"blank\.csv:2: empty line"):
        load_label_ids(tmp_path / "blank.csv")
    (tmp_path / "twice.csv").write_text("O\nU\nO\n")
    with pytest.raises(ValueError, match=r"twice\.csv:3: label 'O' already has id 0"):
        load_label_ids(tmp_path / "twice.csv")
    with pytest.raises(FileNotFoundError, match="absent.csv was not found"):
        load_label_ids(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="Pad label 'O' is id 1 in the label ids from f.csv"):
        check_pad_label_id({"U": 0, "O": 1}, "O", "f.csv")


def test_raise_not_equal_labels_error_describes_differences() -> None:
    with pytest.raises(ValueError) as error:
        raise_not_equal_labels_error(
            {"O": 0, ",": 1, "!": 2}, {"O": 0, ",": 2, "?": 1}, "first source", "second"
        )
    message = str(error.value)
    assert message.startswith("first source (FIRST LABELS) are not equal to second (SECOND LABELS).")
    assert "1 SECOND LABELS are missing in the FIRST LABELS, for example {'?': 1}" in message
    assert "1 FIRST LABELS are missing in the SECOND LABELS, for example {'!': 2}" in message
    assert (
        "1 labels have different ids, for example {',': {'FIRST LABELS': 1, 'SECOND LABELS': 2}}" in message
    )


def test_labels_to_labels_id_mapping(tmp_path: Path) -> None:
    (tmp_path / "label_ids.csv").write_text("O\n\nB-LOC\n  B-PER \n")
    assert get_labels_to_labels_id_mapping(tmp_path / "label_ids.csv") == {"O": 0, "B-LOC": 1, "B-PER": 2}
    (tmp_path / "twice.csv").write_text("O\nB-LOC\nO\n")
    with pytest.raises(ValueError, match=r"twice\.csv:3: label 'O' appears a second time"):
        get_labels_to_labels_id_mapping(tmp_path / "twice.csv")
    with pytest.raises(FileNotFoundError, match="none.csv was not found"):
        get_labels_to_labels_id_mapping(tmp_path / "none.csv")

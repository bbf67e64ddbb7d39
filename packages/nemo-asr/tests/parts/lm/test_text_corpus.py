"""Sentences for n-gram LMs from prose, from a package's text files and from manifests."""

import json

import pytest
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.asr.parts.lm.text_corpus import (
    article_sentences,
    manifest_texts,
    package_text_sentences,
)


def test_articles_become_transcript_like_sentences():
    text = (
        "Shares in the firm rose 5% on Monday.\nIt\u2019s a well-known brand, analysts said! "
        "'Quoted' words\u2019 stay. Too short."
    )
    assert article_sentences(text) == ["it's a well known brand analysts said", "quoted words stay"]
    assert article_sentences("Too short.", min_words=2) == ["too short"]


def test_a_package_folder_is_read_in_sorted_order_without_importing_it(tmp_path, monkeypatch):
    package = tmp_path / "some_texts"
    (package / "data" / "b").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    (package / "data" / "b" / "one.txt").write_text("Second file speaks here. Short.", encoding="utf-8")
    (package / "data" / "a.txt").write_text("The first file comes first!", encoding="utf-8")
    (package / "data" / "notes.md").write_text("Not a text file at all here.", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert package_text_sentences("some_texts", "data") == [
        "the first file comes first",
        "second file speaks here",
    ]
    with pytest.raises(FileNotFoundError, match=r"no \.txt files under .*nowhere"):
        package_text_sentences("some_texts", "nowhere")
    with pytest.raises(ModuleNotFoundError, match=r"'no_such_text_package' is not installed.*pip install"):
        package_text_sentences("no_such_text_package", "data")


def test_manifest_texts_keep_order_and_name_a_bad_line(tmp_path):
    manifest = tmp_path / "m.json"
    lines = [{"audio_filepath": "missing.wav", "duration": 1.0, "text": t} for t in ("one two", "three")]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert manifest_texts([manifest, manifest]) == ["one two", "three", "one two", "three"]

    manifest.write_text(json.dumps(lines[0]) + "\n{not json\n")
    with pytest.raises(ManifestError, match=r"m\.json:2: not valid JSON"):
        manifest_texts([manifest])

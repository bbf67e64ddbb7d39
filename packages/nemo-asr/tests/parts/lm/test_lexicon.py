"""Pronunciation lexicons: reading (plain, gzip, comments, alternatives, errors) and the spelling trie."""

import gzip
from pathlib import Path

import pytest
from nemo.collections.asr.parts.lm.lexicon import (
    LexiconEntry,
    LexiconFormatError,
    SpellingTrie,
    read_lexicon,
    spell_with_token_ids,
)

CMUDICT = Path(__file__).resolve().parents[5] / "data" / "lexicon" / "cmudict_phones.lex.gz"
LEXICON_TEXT = """# phones of a few words
the\tð ʌ
the\tð i

to   t u
two  t u
hello h e l l o |
"""


def test_reads_alternatives_comments_and_trailing_separators(tmp_path):
    path = tmp_path / "words.lex"
    path.write_text(LEXICON_TEXT, encoding="utf-8")
    assert read_lexicon(path) == [
        LexiconEntry("the", ("ð", "ʌ"), 2),
        LexiconEntry("the", ("ð", "i"), 3),
        LexiconEntry("to", ("t", "u"), 5),
        LexiconEntry("two", ("t", "u"), 6),
        LexiconEntry("hello", ("h", "e", "l", "l", "o"), 7),
    ]


def test_gzip_is_detected_from_the_content(tmp_path):
    plain = tmp_path / "words.lex"
    plain.write_text(LEXICON_TEXT, encoding="utf-8")
    compressed = tmp_path / "words.lex.gz"
    compressed.write_bytes(gzip.compress(LEXICON_TEXT.encode("utf-8")))
    renamed = tmp_path / "compressed_without_suffix.lex"
    renamed.write_bytes(compressed.read_bytes())
    assert read_lexicon(compressed) == read_lexicon(renamed) == read_lexicon(plain)


@pytest.mark.parametrize("line", ["lonely", "lonely |"])
def test_a_word_without_spelling_names_file_and_line(tmp_path, line):
    path = tmp_path / "bad.lex"
    path.write_text(f"the ð ʌ\n\n{line}\n", encoding="utf-8")
    with pytest.raises(LexiconFormatError, match=r"bad\.lex:3: expected 'word tok1 tok2 \.\.\.'.*'lonely"):
        read_lexicon(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"lexicon file '.*nowhere\.lex' does not exist"):
        read_lexicon(tmp_path / "nowhere.lex")
    binary = tmp_path / "binary.lex"
    binary.write_bytes(b"the \xff\xfe\n")
    with pytest.raises(LexiconFormatError, match=r"binary\.lex is not UTF-8 text"):
        read_lexicon(binary)


def test_a_token_outside_the_vocabulary_names_line_word_token_and_labels(tmp_path):
    path = tmp_path / "words.lex"
    path.write_text(LEXICON_TEXT, encoding="utf-8")
    vocabulary = [" ", "ð", "ʌ", "i", "t", "u"]
    with pytest.raises(
        LexiconFormatError,
        match=r"words\.lex:7: the spelling of 'hello' uses token 'h', which is not one of the model's 6 labels "
        r"\(' ', 'ð', 'ʌ', 'i', 't', 'u'\)",
    ):
        spell_with_token_ids(read_lexicon(path), vocabulary, source=str(path))


def test_spellings_map_to_token_ids(tmp_path):
    path = tmp_path / "words.lex"
    path.write_text(LEXICON_TEXT, encoding="utf-8")
    vocabulary = [" ", "ð", "ʌ", "i", "t", "u", "h", "e", "l", "o"]
    spelled = spell_with_token_ids(read_lexicon(path), vocabulary, source=str(path))
    assert [(word, "".join(vocabulary[t] for t in ids)) for word, ids in spelled] == [
        ("the", "ðʌ"),
        ("the", "ði"),
        ("to", "tu"),
        ("two", "tu"),
        ("hello", "hello"),
    ]


def test_trie_walks_prefixes_and_groups_homophones():
    trie = SpellingTrie(
        [("two", (4, 5)), ("to", (4, 5)), ("toe", (4, 6)), ("to", (4, 5)), ("t", (4,))], vocab_size=7
    )
    t = trie.child(SpellingTrie.ROOT, 4)
    assert trie.words_at(t) == ("t",)
    assert trie.words_at(trie.child(t, 5)) == ("to", "two")
    assert trie.words_at(trie.child(t, 6)) == ("toe",)
    assert trie.child(SpellingTrie.ROOT, 5) is None
    assert trie.child(trie.child(t, 5), 5) is None
    assert trie.words_at(SpellingTrie.ROOT) == ()
    assert trie.num_nodes == 4


def test_every_cmudict_pronunciation_leads_to_its_word():
    entries = read_lexicon(CMUDICT)
    with gzip.open(CMUDICT, "rt", encoding="utf-8") as lines:
        assert len(entries) == sum(1 for line in lines if line.strip())
    phones = sorted({phone for entry in entries for phone in entry.spelling})
    vocabulary = [" ", *phones]
    spelled = spell_with_token_ids(entries, vocabulary, source=str(CMUDICT))
    trie = SpellingTrie(spelled, vocab_size=len(vocabulary))
    for word, token_ids in spelled:
        node = SpellingTrie.ROOT
        for token in token_ids:
            node = trie.child(node, token)
        assert word in trie.words_at(node)

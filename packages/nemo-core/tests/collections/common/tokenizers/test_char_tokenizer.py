import json

import pytest
from nemo.collections.common.tokenizers import CharTokenizer


@pytest.fixture
def vocab_file(tmp_path):
    path = tmp_path / "vocab.txt"
    lines = [json.dumps({"pad_token": "<pad>"}), "'a'", "'b'", "' '", '"\'"', "'\\n'"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_special_tokens_take_the_first_ids(vocab_file):
    tokenizer = CharTokenizer(str(vocab_file), bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    assert tokenizer.vocab == {
        "<pad>": 0,
        "<s>": 1,
        "</s>": 2,
        "<unk>": 3,
        "a": 4,
        "b": 5,
        " ": 6,
        "'": 7,
        "\n": 8,
    }
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.unk_id) == (0, 1, 2, 3)
    assert tokenizer.mask_token is None and tokenizer.mask_id == -1
    assert tokenizer.vocab_size == 9


def test_round_trip_with_prepend_append_and_unknowns(vocab_file):
    tokenizer = CharTokenizer(
        str(vocab_file),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        special_token_to_prepend="bos",
        special_token_to_append="eos",
    )
    assert tokenizer.text_to_tokens("ab'z") == ["<s>", "a", "b", "'", "<unk>", "</s>"]
    assert tokenizer.text_to_ids("ab a") == [1, 4, 5, 6, 4, 2]
    assert tokenizer.ids_to_text([1, 4, 5, 6, 4, 2]) == "ab a"
    assert tokenizer.tokens_to_text(["a", "<unk>", "b"]) == "ab"


def test_only_listed_special_tokens_are_removed_while_decoding(vocab_file):
    tokenizer = CharTokenizer(
        str(vocab_file), bos_token="<s>", special_tokens_to_remove_while_decoding=["pad"]
    )
    assert tokenizer.ids_to_text([1, 2, 0, 3]) == "<s>ab"


def test_unknown_character_without_unk_is_skipped_with_warning(vocab_file):
    tokenizer = CharTokenizer(str(vocab_file))
    with pytest.warns(UserWarning, match="'z' at position 1"):
        assert tokenizer.text_to_tokens("az") == ["a"]


def test_bad_vocab_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("'a'\n'bc'\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected exactly one character, got 'bc'"):
        CharTokenizer(str(path))
    path.write_text("'a'\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected a quoted"):
        CharTokenizer(str(path))
    path.write_text('{"foo_token": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:1: unknown special token names \['foo_token'\]"):
        CharTokenizer(str(path))


def test_prepend_must_name_a_given_special_token(vocab_file):
    with pytest.raises(ValueError, match="special_token_to_prepend='bos'"):
        CharTokenizer(str(vocab_file), special_token_to_prepend="bos")


def test_build_vocab_orders_by_frequency_and_round_trips(tmp_path):
    path = tmp_path / "built.txt"
    CharTokenizer.build_vocab(str(path), text="abbccc\n", unk_token="<unk>", characters_to_exclude="\n")
    tokenizer = CharTokenizer(str(path))
    assert list(tokenizer.vocab) == ["<unk>", "c", "b", "a"]
    assert tokenizer.unk_id == 0
    assert tokenizer.ids_to_text(tokenizer.text_to_ids("abcx")) == "abc"

"""``get_tokenizer``: NeMo's entry point to tokenizers, here offline and fast by default."""

import pytest
from nemo.collections.common.tokenizers import AutoTokenizer, CharTokenizer
from nemo.collections.nlp.modules import get_tokenizer, get_tokenizer_list


def test_a_local_directory_gives_the_fast_hugging_face_tokenizer(minilm_dir):
    tokenizer = get_tokenizer(tokenizer_name=str(minilm_dir))

    assert isinstance(tokenizer, AutoTokenizer) and tokenizer.tokenizer.is_fast
    assert tokenizer.text_to_ids("i loved this wonderful film") == [1045, 3866, 2023, 6919, 2143]


def test_a_hub_id_with_a_vocab_file_and_special_tokens(minilm_dir):
    tokenizer = get_tokenizer(
        tokenizer_name="sentence-transformers/all-MiniLM-L6-v2",
        vocab_file=str(minilm_dir / "vocab.txt"),
        special_tokens={"bos_token": "<BOS>"},
    )

    assert tokenizer.bos_id == 30522 and tokenizer.vocab_size == 30523
    assert tokenizer.text_to_ids("I LOVED this") == [1045, 3866, 2023]


def test_char_tokenizer_from_its_vocab_file(tmp_path):
    vocab = tmp_path / "chars.txt"
    vocab.write_text("'a'\n'b'\n'c'\n", encoding="utf-8")

    tokenizer = get_tokenizer(tokenizer_name="char", vocab_file=str(vocab))

    assert isinstance(tokenizer, CharTokenizer) and tokenizer.text_to_tokens("cab") == ["c", "a", "b"]


@pytest.mark.parametrize("name", ["yttm", "word", "regex", "megatron-bert-345m-uncased"])
def test_nemo_tokenizer_kinds_not_provided_are_errors_naming_them(name):
    with pytest.raises(ValueError, match=f"tokenizer_name '{name}' is a NeMo tokenizer kind"):
        get_tokenizer(tokenizer_name=name)


def test_the_tokenizer_list_names_the_kinds_and_nemos_models():
    names = get_tokenizer_list()

    assert names[:2] == ["sentencepiece", "char"] and "bert-base-uncased" in names

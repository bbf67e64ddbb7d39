"""AggregateTokenizer / CanaryTokenizer over real sentencepiece models: id blocks, routing, languages."""

import pytest
from nemo.collections.common.tokenizers import AggregateTokenizer, CanaryTokenizer, SentencePieceTokenizer
from nemo.collections.common.tokenizers.canary_tokenizer import SPECIAL_TOKENS, UNUSED_SPECIAL_TOKENS
from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model


@pytest.fixture(scope="module")
def parts(corpus_file, tmp_path_factory):
    special = CanaryTokenizer.build_special_tokenizer(tmp_path_factory.mktemp("spl"))
    model_path, _ = create_spt_model(
        str(corpus_file),
        vocab_size=40,
        sample_size=-1,
        do_lower_case=True,
        tokenizer_type="bpe",
        output_dir=str(tmp_path_factory.mktemp("en")),
    )
    return special, SentencePieceTokenizer(model_path)


def test_each_language_gets_the_next_block_of_ids(parts):
    special, english = parts
    tokenizer = AggregateTokenizer({"spl_tokens": special, "en": english})
    offset = len(special.vocab)

    ids = tokenizer.text_to_ids("hello world", "en")

    assert tokenizer.vocab_size == len(special.vocab) + len(english.vocab)
    assert tokenizer.vocab == special.vocab + english.vocab
    assert ids == [i + offset for i in english.text_to_ids("hello world")]
    assert tokenizer.ids_to_tokens(ids) == english.ids_to_tokens(english.text_to_ids("hello world"))
    assert tokenizer.ids_to_text(ids) == "".join(english.text_to_tokens("hello world")).replace("\u2581", " ")
    assert tokenizer.token_to_id("<|en|>", "spl_tokens") == special.token_to_id("<|en|>")
    assert tokenizer.langs == ["spl_tokens", "en"]


def test_languages_of_ids_words_and_tokens(parts):
    special, english = parts
    tokenizer = AggregateTokenizer({"spl_tokens": special, "en": english})
    words = tokenizer.text_to_ids("hello world", "en")
    marker = tokenizer.token_to_id("<|en|>", "spl_tokens")

    assert tokenizer.ids_to_lang([marker, *words]) == "en"
    assert tokenizer.ids_to_lang([marker]) == "spl_tokens"
    assert [item["lang"] for item in tokenizer.ids_to_text_and_langs([marker, words[0]])] == [
        "spl_tokens",
        "en",
    ]
    assert [item["word"] for item in tokenizer.ids_to_words_and_langs(words)] == ["hello", "world"]
    with pytest.raises(IndexError, match="outside the joint vocabulary"):
        tokenizer.ids_to_tokens([tokenizer.vocab_size])
    with pytest.raises(KeyError, match="no tokenizer for language 'de'"):
        tokenizer.text_to_ids("hallo", "de")


def test_canary_tokenizer_names_its_special_tokens(parts):
    special, english = parts
    tokenizer = CanaryTokenizer({"spl_tokens": special, "en": english})

    assert all(
        special.ids_to_tokens([special.token_to_id(t)]) == [t] for t in SPECIAL_TOKENS + UNUSED_SPECIAL_TOKENS
    )
    assert tokenizer.ids_to_tokens(
        [tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id, tokenizer.pnc_id, tokenizer.nopnc_id]
    ) == ["<|startoftranscript|>", "<|endoftext|>", "<pad>", "<|pnc|>", "<|nopnc|>"]
    assert tokenizer.ids_to_tokens([tokenizer.to_language_id("fr")]) == ["<|fr|>"]
    with pytest.raises(KeyError, match="'xx' not found"):
        tokenizer.to_language_id("xx")
    with pytest.raises(ValueError, match="spl_tokens"):
        CanaryTokenizer({"en": english})

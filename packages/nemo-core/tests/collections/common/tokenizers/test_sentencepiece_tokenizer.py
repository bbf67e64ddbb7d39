import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sentencepiece
from nemo.collections.common.tokenizers import SentencePieceTokenizer, TokenizerSpec, create_spt_model


@pytest.fixture(scope="module")
def unigram_model(corpus_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("spt_unigram")
    return create_spt_model(
        str(corpus_file), vocab_size=40, sample_size=-1, do_lower_case=True, output_dir=str(out)
    )


def test_create_spt_model_writes_model_and_bert_style_vocab(unigram_model):
    model_path, vocab_path = unigram_model
    processor = sentencepiece.SentencePieceProcessor(model_file=model_path)
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    expected = [
        p[1:] or p if p.startswith("▁") else f"##{p}" for p in pieces if p not in ("<unk>", "<s>", "</s>")
    ]
    with open(vocab_path, encoding="utf-8") as f:
        assert f.read().splitlines() == expected


def test_create_spt_model_reuses_existing_model(unigram_model, corpus_file):
    model_path, _ = unigram_model
    before = Path(model_path).read_bytes()
    again = create_spt_model(str(corpus_file), 12, -1, False, output_dir=str(Path(model_path).parent))
    assert again == unigram_model
    assert Path(model_path).read_bytes() == before


def test_round_trip_and_consistency_with_sentencepiece(unigram_model):
    model_path, _ = unigram_model
    tokenizer = SentencePieceTokenizer(model_path)
    processor = sentencepiece.SentencePieceProcessor(model_file=model_path)
    text = "the lazy dog jumps over the brown fox"
    ids = tokenizer.text_to_ids(text)
    assert ids == processor.encode(text)
    assert tokenizer.ids_to_text(ids) == text
    assert tokenizer.ids_to_text(np.asarray(ids)) == text
    tokens = tokenizer.text_to_tokens(text)
    assert tokenizer.tokens_to_ids(tokens) == ids
    assert tokenizer.ids_to_tokens(ids) == tokens
    assert tokenizer.tokens_to_text(tokens) == text
    assert tokenizer.vocab_size == processor.get_piece_size() == len(tokenizer.vocab)
    assert isinstance(tokenizer, TokenizerSpec)


def test_do_lower_case_folds_case(unigram_model):
    tokenizer = SentencePieceTokenizer(unigram_model[0])
    assert tokenizer.text_to_ids("THE Quick DOG") == tokenizer.text_to_ids("the quick dog")


def test_special_ids_follow_training_flags(corpus_file, tmp_path):
    plain = SentencePieceTokenizer(
        create_spt_model(str(corpus_file), 40, -1, False, output_dir=str(tmp_path / "a"))[0]
    )
    assert (plain.unk_id, plain.bos_id, plain.eos_id, plain.pad_id) == (0, -1, -1, -1)
    model = create_spt_model(
        str(corpus_file),
        40,
        -1,
        False,
        tokenizer_type="bpe",
        output_dir=str(tmp_path / "b"),
        bos=True,
        eos=True,
        pad=True,
    )[0]
    full = SentencePieceTokenizer(model)
    assert (full.unk_id, full.bos_id, full.eos_id, full.pad_id) == (0, 1, 2, 3)
    assert full.ids_to_tokens([1, 2, 3]) == ["<s>", "</s>", "<pad>"]


def test_legacy_special_tokens_are_kept_whole(unigram_model):
    tokenizer = SentencePieceTokenizer(unigram_model[0], special_tokens=["[SEP]", "[CLS]"], legacy=True)
    base = SentencePieceTokenizer(unigram_model[0])
    sep, cls = base.vocab_size, base.vocab_size + 1
    assert tokenizer.vocab_size == base.vocab_size + 2
    ids = tokenizer.text_to_ids("[CLS]the dog[SEP]a fox")
    assert ids == [cls, *base.text_to_ids("the dog"), sep, *base.text_to_ids("a fox")]
    assert tokenizer.text_to_tokens("the dog[SEP]") == [*base.text_to_tokens("the dog"), "[SEP]"]
    assert tokenizer.ids_to_tokens([sep, cls]) == ["[SEP]", "[CLS]"]
    assert tokenizer.ids_to_text(ids) == "[CLS] the dog [SEP] a fox"
    assert tokenizer.vocab[-2:] == ["[SEP]", "[CLS]"]


def test_legacy_dict_special_tokens_set_named_ids(unigram_model):
    tokenizer = SentencePieceTokenizer(
        unigram_model[0], special_tokens={"sep_token": "[SEP]", "pad_token": "<pad>"}, legacy=True
    )
    assert tokenizer.sep_token == "[SEP]"
    assert tokenizer.sep_id == tokenizer.original_vocab_size
    assert tokenizer.pad_id == tokenizer.original_vocab_size + 1
    with pytest.raises(AttributeError, match="no mask_token"):
        _ = tokenizer.mask_id


def test_special_tokens_without_legacy_are_refused(unigram_model):
    with pytest.raises(ValueError, match="legacy=False"):
        SentencePieceTokenizer(unigram_model[0], special_tokens=["[SEP]"])
    with pytest.raises(NameError, match="token_to_id"):
        _ = SentencePieceTokenizer(unigram_model[0]).sep_id


def test_missing_model_path_names_it(tmp_path):
    missing = tmp_path / "nope.model"
    with pytest.raises(ValueError, match="nope.model"):
        SentencePieceTokenizer(str(missing))


def test_create_spt_model_errors_name_the_input(tmp_path, corpus_file):
    with pytest.raises(ValueError, match="missing.txt"):
        create_spt_model(str(tmp_path / "missing.txt"), 10, -1, False)
    with pytest.raises(ValueError, match="'wordpiece'"):
        create_spt_model(str(corpus_file), 10, -1, False, tokenizer_type="wordpiece")


def test_missing_sentencepiece_gives_install_hint():
    code = (
        "import sys; sys.modules['sentencepiece'] = None\n"
        "import nemo.collections.common.tokenizers as t\n"
        "try:\n    t.SentencePieceTokenizer\nexcept ImportError as e:\n    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install sentencepiece" in result.stdout

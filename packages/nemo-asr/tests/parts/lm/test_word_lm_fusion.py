"""How tokens build words for the LM, and what the word LM adds to a CTC prefix's score."""

import math

import pytest
from nemo.collections.asr.parts.lm.ngram_lm import BOS, EOS, estimate_ngram_lm
from nemo.collections.asr.parts.lm.word_lm_fusion import WordLMFusion, token_word_parts

CHARS = [" ", "a", "b", "c", "z"]


def test_subword_pieces_spell_the_words_of_the_text(tokenizer_dir):
    from nemo.collections.common.tokenizers import SentencePieceTokenizer

    tokenizer = SentencePieceTokenizer(str(tokenizer_dir / "tokenizer.model"))
    parts = token_word_parts(tokenizer.ids_to_tokens(list(range(tokenizer.vocab_size))), "subword")
    text = "please enter the channel number followed by the pound key"
    words: list[str] = []
    for begins, piece in (parts[i] for i in tokenizer.text_to_ids(text)):
        if begins:
            words.append(piece)
        else:
            words[-1] += piece
    assert words == text.split()


def extend(fusion: WordLMFusion, text: str):
    state = fusion.initial_state()
    for char in text:
        state = fusion.extend(state, CHARS.index(char))
    return state


def test_words_score_when_completed_and_a_non_word_prefix_costs_the_offset_once():
    lm = estimate_ngram_lm(["ab cab", "cab ab"], order=2)
    alpha, beta = 0.8, 1.5
    fusion = WordLMFusion(lm, token_word_parts(CHARS, "char"), alpha=alpha, beta=beta, unk_score_offset=-4.0)
    ln10 = math.log(10.0)

    assert extend(fusion, "ca").score == 0.0  # "ca" begins "cab": no word is complete yet
    after_ab = alpha * ln10 * lm.score((BOS,), "ab") + beta
    assert extend(fusion, "ab ").score == pytest.approx(after_ab)
    # "z" begins no LM word: the offset is paid once, however long the partial word grows.
    assert extend(fusion, "ab z").score == pytest.approx(after_ab - 4.0)
    assert extend(fusion, "ab zzz").score == pytest.approx(after_ab - 4.0)
    expected_final = after_ab + alpha * ln10 * (lm.score((BOS, "ab"), "cab") + lm.score(("cab",), EOS)) + beta
    assert fusion.final_score(extend(fusion, "ab cab")) == pytest.approx(expected_final)


def test_without_lm_weight_no_word_or_offset_is_scored():
    fusion = WordLMFusion(
        estimate_ngram_lm(["ab cab"], order=2), token_word_parts(CHARS, "char"), alpha=0.0, beta=0.0
    )
    assert extend(fusion, "zz ab z").score == 0.0
    assert fusion.final_score(extend(fusion, "zz ab")) == 0.0

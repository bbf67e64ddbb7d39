"""Text to ids with the default CMU dictionary, as a FastPitch dataset uses it."""

import pickle

from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import EnglishPhonemesTokenizer
from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p


def test_phonemes_from_offline_cmudict_and_unknown_words_as_letters():
    g2p = EnglishG2p(ignore_ambiguous_words=False)
    tok = EnglishPhonemesTokenizer(g2p, stresses=True, chars=True, apostrophe=True, pad_with_space=True)
    ids = tok("Speech, zxqv!")
    # cmudict: speech  S P IY1 CH; the made-up word stays as letters.
    assert tok.decode(ids) == " |S|P|IY1|CH|,| |z|x|q|v|!| "
    assert ids[0] == ids[-1] == tok.space
    assert tok(" Speech ") == tok.encode(" Speech ")


def test_tokenizer_with_g2p_pickles_for_dataloader_workers():
    g2p = EnglishG2p(phoneme_dict={"cat": [["K", "AE1", "T"]]}, phoneme_probability=0.5, seed=0)
    tok = EnglishPhonemesTokenizer(g2p)
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.tokens == tok.tokens
    assert [clone("cat cat cat") for _ in range(5)] == [tok("cat cat cat") for _ in range(5)]

"""NeMo 1.23's older import paths (named by older checkpoints' configs) resolve to the same classes."""

import importlib

import pytest
from nemo.collections.common.tokenizers.text_to_speech import tts_tokenizers
from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p


@pytest.mark.parametrize("name", tts_tokenizers.__all__)
def test_torch_tts_tokenizers_reexports(name):
    old = importlib.import_module("nemo.collections.tts.torch.tts_tokenizers")
    assert getattr(old, name) is getattr(tts_tokenizers, name)


@pytest.mark.parametrize("module", ["nemo.collections.tts.torch.g2ps", "nemo.collections.tts.g2p.modules"])
def test_old_g2p_modules_reexport(module):
    old = importlib.import_module(module)
    assert old.EnglishG2p is EnglishG2p
    assert old.IPAG2P is IpaG2p and old.IpaG2p is IpaG2p


def test_lazy_package_exports():
    import nemo.collections.common.tokenizers.text_to_speech as tts_text
    import nemo.collections.tts.g2p.models as g2p_models

    assert tts_text.EnglishCharsTokenizer is tts_tokenizers.EnglishCharsTokenizer
    assert g2p_models.EnglishG2p is EnglishG2p and g2p_models.IpaG2p is IpaG2p


def test_config_target_builds_through_old_path():
    """A FastPitch config of NeMo 1.23 names the tokenizer and G2P by these import strings."""
    from nemo.utils.model_utils import import_class_by_path

    g2p = import_class_by_path("nemo.collections.tts.torch.g2ps.EnglishG2p")(
        phoneme_dict={"cat": [["K", "AE1", "T"]]}
    )
    tok_cls = import_class_by_path("nemo.collections.tts.torch.tts_tokenizers.EnglishPhonemesTokenizer")
    tok = tok_cls(g2p, punct=True, stresses=True, chars=True, apostrophe=True, pad_with_space=True)
    assert tok.decode(tok("Cat!")) == " |K|AE1|T|!| "

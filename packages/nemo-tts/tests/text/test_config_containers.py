"""G2P arguments given as OmegaConf containers, as ``hydra.utils.instantiate`` passes them from a config."""

from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p
from omegaconf import OmegaConf


def test_english_g2p_from_config_containers():
    cfg = OmegaConf.create({"phoneme_dict": {"cat": [["K", "AE1", "T"]]}, "heteronyms": ["dog"]})
    g2p = EnglishG2p(phoneme_dict=cfg.phoneme_dict, heteronyms=cfg.heteronyms)
    assert g2p("cats dog") == ["K", "AE1", "T", "Z", " ", "d", "o", "g"]


def test_ipa_g2p_from_config_containers():
    cfg = OmegaConf.create({"phoneme_dict": {"CAT": [["ˈ", "k", "æ", "t"]]}, "heteronyms": ["DOG"]})
    g2p = IpaG2p(phoneme_dict=cfg.phoneme_dict, heteronyms=cfg.heteronyms)
    assert g2p("cats dog") == ["ˈ", "k", "æ", "t", "s", " ", "D", "O", "G"]

"""Builds our G2P models from the case specs of ``data/generate_expected.py`` (see its docstring)."""

import copy
import pathlib

import pytest
from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p

DATA = pathlib.Path(__file__).parent / "data"


def build_from_spec(spec: dict):
    kwargs = copy.deepcopy(spec["kwargs"])
    for key in ("phoneme_dict", "heteronyms"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = str(DATA / kwargs[key])
    if kwargs.get("apply_to_oov_word") == "upper":
        kwargs["apply_to_oov_word"] = str.upper
    if "seed" in spec:
        kwargs["seed"] = spec["seed"]
    return {"EnglishG2p": EnglishG2p, "IpaG2p": IpaG2p}[spec["model"]](**kwargs)


@pytest.fixture
def build_g2p():
    return build_from_spec

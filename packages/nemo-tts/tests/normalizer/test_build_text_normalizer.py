"""build_text_normalizer: what a FastPitch config's ``text_normalizer`` names, and errors naming the key."""

from __future__ import annotations

import sys
import textwrap

import pytest
from nemo.collections.tts.parts.preprocessing.text_normalizer import (
    NEMO_TEXT_PROCESSING_NORMALIZER,
    OUR_NORMALIZER,
    Normalizer,
    build_text_normalizer,
)
from nemo.core.classes.target_allowlist import UnsafeTargetError, allow_target_prefixes
from omegaconf import OmegaConf

_NTP_PREFIX = "nemo_text_processing."


def _fastpitch_config(**normalizer) -> dict:
    return {"sample_rate": 22050, "text_normalizer": normalizer}


@pytest.fixture
def fake_nemo_text_processing(tmp_path, monkeypatch):
    """An importable stand-in for nemo_text_processing, written as a real package on sys.path."""
    package = tmp_path / "nemo_text_processing" / "text_normalization"
    package.mkdir(parents=True)
    (tmp_path / "nemo_text_processing" / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "normalize.py").write_text(
        textwrap.dedent(
            """
            class Normalizer:
                def __init__(self, input_case, lang="en", **kwargs):
                    self.input_case, self.lang, self.kwargs = input_case, lang, kwargs

                def normalize(self, text, verbose=False, punct_pre_process=False, punct_post_process=False):
                    return "third-party " + text
            """
        ),
        encoding="utf-8",
    )
    for name in [name for name in sys.modules if name.split(".")[0] == "nemo_text_processing"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [name for name in sys.modules if name.split(".")[0] == "nemo_text_processing"]:
        del sys.modules[name]


@pytest.mark.parametrize("config", [{"sample_rate": 22050}, {"text_normalizer": None}, None])
def test_no_text_normalizer_gives_none(config):
    assert build_text_normalizer(config) is None


def test_our_target_builds_ours_from_a_dictconfig(tmp_path):
    whitelist = tmp_path / "whitelist.tsv"
    whitelist.write_text("NeMo\tnemo\n", encoding="utf-8")
    config = OmegaConf.create(_fastpitch_config(_target_=OUR_NORMALIZER, lang="en", input_case="lower_cased"))
    normalizer = build_text_normalizer(config, whitelist=str(whitelist))
    assert isinstance(normalizer, Normalizer)
    assert normalizer.input_case == "lower_cased"
    assert normalizer.normalize("NeMo costs $5") == "nemo costs five dollars"


def test_missing_nemo_text_processing_falls_back_to_ours_with_one_warning(monkeypatch, nemo_log):
    monkeypatch.setitem(sys.modules, "nemo_text_processing", None)
    config = _fastpitch_config(_target_=NEMO_TEXT_PROCESSING_NORMALIZER, lang="en", input_case="cased")
    with allow_target_prefixes(_NTP_PREFIX):
        normalizer = build_text_normalizer(config)
    assert isinstance(normalizer, Normalizer)
    assert normalizer.normalize("Dr. Who at 10:05") == "doctor Who at ten o five"
    warnings = [record for record in nemo_log.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "nemo_text_processing cannot be imported" in warnings[0].getMessage()
    assert OUR_NORMALIZER in warnings[0].getMessage()


def test_installed_nemo_text_processing_is_used(fake_nemo_text_processing, nemo_log):
    config = _fastpitch_config(_target_=NEMO_TEXT_PROCESSING_NORMALIZER, lang="en", input_case="cased")
    with allow_target_prefixes(_NTP_PREFIX):
        normalizer = build_text_normalizer(config, whitelist="w.tsv")
    assert type(normalizer).__module__ == "nemo_text_processing.text_normalization.normalize"
    assert (normalizer.input_case, normalizer.lang, normalizer.kwargs) == (
        "cased",
        "en",
        {"whitelist": "w.tsv"},
    )
    assert normalizer.normalize("$5") == "third-party $5"
    assert not [record for record in nemo_log.records if record.levelname == "WARNING"]


def test_target_that_cannot_be_imported_names_the_key():
    config = _fastpitch_config(
        _target_="nemo.collections.tts.parts.preprocessing.text_normalizer.NoSuchNormalizer"
    )
    with pytest.raises(
        ValueError, match=r"'text_normalizer\._target_' names .*NoSuchNormalizer.*Set text_normalizer"
    ):
        build_text_normalizer(config)


def test_target_of_a_missing_package_names_the_key():
    config = _fastpitch_config(_target_="my_missing_normalizers.Normalizer")
    with allow_target_prefixes("my_missing_normalizers."):
        with pytest.raises(ValueError, match=r"'text_normalizer\._target_' names 'my_missing_normalizers"):
            build_text_normalizer(config)


def test_target_outside_the_allow_list_is_refused_before_import():
    with pytest.raises(
        UnsafeTargetError, match=r"'os\.system' named by config key 'text_normalizer\._target_'"
    ):
        build_text_normalizer(_fastpitch_config(_target_="os.system"))


@pytest.mark.parametrize("node", [{"lang": "en"}, {"_target_": ""}])
def test_missing_target_names_the_key(node):
    with pytest.raises(ValueError, match=r"'text_normalizer\._target_' is missing or empty"):
        build_text_normalizer({"text_normalizer": node})


def test_node_that_is_not_a_mapping_names_the_key():
    with pytest.raises(ValueError, match=r"'text_normalizer' must be a mapping with '_target_'"):
        build_text_normalizer({"text_normalizer": "en"})


def test_arguments_ours_refuses_name_the_key():
    config = _fastpitch_config(_target_=OUR_NORMALIZER, lang="de", input_case="cased")
    with pytest.raises(
        ValueError, match=r"Could not build text_normalizer .*lang='de'.*keys under 'text_normalizer'"
    ):
        build_text_normalizer(config)


def test_other_key_is_read_and_named():
    config = {"normalizer": {"_target_": "nemo.collections.tts.NoSuch"}}
    with pytest.raises(ValueError, match=r"'normalizer\._target_'"):
        build_text_normalizer(config, key="normalizer")

"""NeMo's transcribe_speech.py uses decoding-config instances as dataclass defaults; Python 3.11 allows that only
for hashable classes (NeMo 1.23's own configs fail there)."""

from __future__ import annotations

import dataclasses

import pytest
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCBPEDecodingConfig, CTCDecodingConfig
from nemo.collections.asr.parts.submodules.multitask_decoding import MultiTaskDecodingConfig
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTBPEDecodingConfig, RNNTDecodingConfig


@pytest.mark.parametrize(
    "config_cls",
    [
        CTCDecodingConfig,
        CTCBPEDecodingConfig,
        RNNTDecodingConfig,
        RNNTBPEDecodingConfig,
        MultiTaskDecodingConfig,
    ],
)
def test_an_instance_can_be_a_dataclass_default(config_cls: type) -> None:
    holder = dataclasses.make_dataclass("Holder", [("decoding", config_cls, config_cls())])
    assert holder().decoding == config_cls()

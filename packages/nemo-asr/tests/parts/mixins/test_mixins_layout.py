"""NeMo 1.23's mixin import paths: ``parts.mixins.mixins`` and the package exports."""

import pytest
from nemo.collections.asr.parts import mixins as package
from nemo.collections.asr.parts.mixins import mixins
from nemo.collections.asr.parts.mixins.asr_bpe import ASRBPEMixin
from nemo.collections.asr.parts.submodules import ctc_decoding, ctc_greedy_decoding


def test_import_paths():
    assert mixins.ASRBPEMixin is ASRBPEMixin is package.ASRBPEMixin
    assert package.ASRModuleMixin is mixins.ASRModuleMixin
    assert ctc_decoding.GreedyCTCInfer is ctc_greedy_decoding.GreedyCTCInfer


def test_streaming_is_refused_by_name():
    class Model(mixins.ASRModuleMixin):
        encoder = None

    with pytest.raises(NotImplementedError, match="conformer_stream_step"):
        Model().conformer_stream_step()
    with pytest.raises(NotImplementedError, match="change_subsampling_conv_chunking_factor"):
        Model().change_subsampling_conv_chunking_factor(2)

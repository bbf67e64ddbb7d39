"""nemo-core's conformance kit on the ASR models (tiny configs, the bundled speech as training data)."""

import pytest
import torch
from nemo.collections.asr.models import EncDecCTCModel, EncDecCTCModelBPE, EncDecRNNTModel
from nemo.core.conformance import assert_model_conforms


def _audio_inputs() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    audio = 0.1 * torch.randn(2, 16000, generator=generator)
    return {"input_signal": audio, "input_signal_length": torch.tensor([16000, 11000])}


@pytest.mark.parametrize(
    ("model_class", "kind", "encoder", "bpe"),
    [
        (EncDecCTCModel, "ctc", "conformer", False),
        (EncDecCTCModelBPE, "ctc", "convasr", True),
        (EncDecRNNTModel, "rnnt", "convasr", False),
    ],
    ids=["ctc-conformer-char", "ctc-convasr-bpe", "rnnt-convasr-char"],
)
def test_asr_models_conform(
    model_class, kind, encoder, bpe, tiny_asr_config, speech, tokenizer_dir, tmp_path
):
    cfg = tiny_asr_config(
        kind, encoder=encoder, manifest=speech.manifest, tokenizer=tokenizer_dir if bpe else None
    )
    assert_model_conforms(model_class, cfg, tmp_path, inputs=_audio_inputs())

"""Every model the repository ships or tests with survives a pickle round trip, as ``trainer.strategy=ddp_spawn``
needs (Lightning pickles the model into each spawned process) and DataLoader workers started with ``spawn`` do.

A lambda or a function defined inside another function anywhere in a model (a decoding's confidence measure,
say) makes this fail; ``tests/test_distributed_docs.py`` trains a CTC model with ``ddp_spawn`` end to end.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
ARCHIVES = {
    "nemo.collections.asr.models.EncDecHybridRNNTCTCModel": "packages/nemo-asr/tests/models/data/hybrid_rnnt_ctc_char_tiny.nemo",
    "nemo.collections.asr.models.EncDecMultiTaskModel": "packages/nemo-asr/tests/models/data/aed_multitask_tiny.nemo",
    "nemo.collections.asr.models.EncDecClassificationModel": "packages/nemo-asr/tests/classification/data/matchboxnet_3x1x64_v1_tiny.nemo",
    "nemo.collections.asr.models.EncDecSpeakerLabelModel": "packages/nemo-asr/tests/speaker/data/titanet_small_tiny.nemo",
    "nemo.collections.tts.models.FastPitchModel": "packages/nemo-tts/src/nemo/collections/tts/pretrained/tts_en_fastpitch_asterisk.nemo",
    "nemo.collections.tts.models.HifiGanModel": "packages/nemo-tts/tests/hifigan/data/hifigan_tiny.nemo",
    "nemo.collections.nlp.models.TextClassificationModel": "packages/nemo-nlp/tests/text_classification/data/textclf_minilm_tiny.nemo",
    "nemo.collections.nlp.models.PunctuationCapitalizationModel": "packages/nemo-nlp/tests/punctuation/data/punctcap_minilm_tiny.nemo",
}


def model_class(path: str) -> type:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("class_path", sorted(ARCHIVES))
def test_a_restored_model_pickles_with_its_weights(class_path):
    model = model_class(class_path).restore_from(str(REPO / ARCHIVES[class_path]), map_location="cpu")
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is type(model)
    expected = model.state_dict()
    assert copy.state_dict().keys() == expected.keys()
    assert all(torch.equal(value, expected[key]) for key, value in copy.state_dict().items())


def test_a_ctc_model_built_from_the_demo_config_pickles():
    from nemo.collections.asr.models import EncDecCTCModel
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(REPO / "examples" / "asr" / "conf" / "demo_ctc_char.yaml").model
    for split in ("train_ds", "validation_ds", "test_ds"):
        cfg[split].manifest_filepath = None
    model = EncDecCTCModel(cfg=cfg)
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy.decoding) is type(model.decoding)
    assert all(torch.equal(value, model.state_dict()[key]) for key, value in copy.state_dict().items())

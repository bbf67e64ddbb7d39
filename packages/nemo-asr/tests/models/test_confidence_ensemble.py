"""ConfidenceEnsembleModel: building from model configs, per-utterance confidences, the selector's choice, and
the guarded loading of the pickled selector."""

import os

import joblib
import numpy as np
import pytest
import torch
from nemo.collections.asr.models import ConfidenceEnsembleModel, EncDecCTCModel, EncDecHybridRNNTCTCModel
from nemo.collections.asr.models.confidence_ensemble import ConfidenceSpec, compute_confidence
from nemo.collections.asr.parts.utils.asr_confidence_utils import ConfidenceConfig, ConfidenceMethodConfig
from omegaconf import OmegaConf, open_dict
from sklearn.dummy import DummyClassifier

MAX_PROB_MEAN = {"exclude_blank": True, "aggregation": "mean", "method_cfg": {"name": "max_prob"}}


def _model_configs(tiny_asr_config) -> tuple:
    ctc = tiny_asr_config("ctc")
    hybrid = tiny_asr_config("rnnt")
    with open_dict(hybrid):
        hybrid.aux_ctc = {
            "ctc_loss_weight": 0.3,
            "decoder": {
                "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
                "feat_in": None,
                "num_classes": -1,
            },
            "decoding": {"strategy": "greedy"},
        }
    for cfg, model_class in ((ctc, EncDecCTCModel), (hybrid, EncDecHybridRNNTCTCModel)):
        with open_dict(cfg):
            cfg.target = f"{model_class.__module__}.{model_class.__name__}"
    return ctc, hybrid


def _selector(tmp_path, constant: int) -> str:
    selector = DummyClassifier(strategy="constant", constant=constant).fit(np.zeros((2, 2)), [0, 1])
    path = tmp_path / f"selector{constant}.pkl"
    joblib.dump(selector, path)
    return str(path)


def _ensemble(tmp_path, tiny_asr_config, constant: int) -> ConfidenceEnsembleModel:
    ctc, hybrid = _model_configs(tiny_asr_config)
    torch.manual_seed(0)
    cfg = {
        "model_selection_block": _selector(tmp_path, constant),
        "confidence": MAX_PROB_MEAN,
        "temperature": 1.0,
        "num_models": 2,
        "model0": ctc,
        "model1": hybrid,
    }
    return ConfidenceEnsembleModel(OmegaConf.create(cfg)).eval()


def test_models_keep_alignments_and_the_selector_picks_per_utterance(tmp_path, tiny_asr_config, speech):
    ensemble = _ensemble(tmp_path, tiny_asr_config, constant=0)
    assert ensemble.num_models == 2 and isinstance(ensemble.model1, EncDecHybridRNNTCTCModel)
    assert ensemble.model0.decoding.preserve_alignments and ensemble.model1.ctc_decoding.preserve_alignments
    assert ensemble.model1.cur_decoder == "ctc"  # the last head set up, as in NeMo
    paths = speech.paths[:3]
    chosen = ensemble.transcribe(paths, batch_size=2, verbose=False)
    assert chosen == ensemble.model0.transcribe(paths, batch_size=2, verbose=False)
    ensemble.model_selection_block = DummyClassifier(strategy="constant", constant=1).fit(
        np.zeros((2, 2)), [0, 1]
    )
    hypotheses = ensemble.transcribe(paths, verbose=False, return_hypotheses=True)
    assert [h.text for h in hypotheses] == ensemble.model1.transcribe(paths, verbose=False)[0]


def test_utterance_confidence_is_the_mean_normalised_max_probability_of_non_blank_frames(
    tmp_path, tiny_asr_config, speech
):
    ensemble = _ensemble(tmp_path, tiny_asr_config, constant=0)
    model = ensemble.model0
    (hypothesis,) = model.transcribe(speech.paths[:1], return_hypotheses=True, verbose=False)
    (log_probs,) = model.transcribe(speech.paths[:1], logprobs=True, verbose=False)
    probs = log_probs.exp().numpy()
    best = probs.argmax(-1)
    kept = probs[best != probs.shape[-1] - 1] if (best != probs.shape[-1] - 1).any() else probs[:1]
    # Independent: numpy over the CTC posteriors, with NeMo's max_prob measure (V * p_max - 1) / (V - 1), which
    # maps a uniform frame to 0 and a certain one to 1.
    vocabulary = probs.shape[-1]
    expected = float(np.mean((vocabulary * kept.max(-1) - 1) / (vocabulary - 1)))
    config = ConfidenceSpec(True, "mean", "max_prob", 1.0).to_confidence_config()
    assert compute_confidence(hypothesis, config) == pytest.approx(expected, rel=1e-5)
    entropy = ConfidenceSpec(False, "min", "entropy_renyi_lin", 0.25).to_confidence_config()
    assert entropy.method_cfg.entropy_type == "renyi" and entropy.method_cfg.entropy_norm == "lin"
    assert 0.0 <= compute_confidence(hypothesis, entropy) <= 1.0


def test_selector_that_would_run_code_is_refused(tmp_path, tiny_asr_config):
    class Payload:
        def __reduce__(self):
            return (os.getcwd, ())

    joblib.dump(Payload(), tmp_path / "evil.pkl")
    ctc, hybrid = _model_configs(tiny_asr_config)
    cfg = OmegaConf.create(
        {
            "model_selection_block": str(tmp_path / "evil.pkl"),
            "confidence": ConfidenceConfig(method_cfg=ConfidenceMethodConfig(name="max_prob")),
            "num_models": 1,
            "model0": ctc,
        }
    )
    with pytest.raises(ValueError, match="posix.getcwd|refusing"):
        ConfidenceEnsembleModel(cfg)


def test_ensemble_saves_and_restores_with_its_selector(tmp_path, tiny_asr_config, speech):
    ensemble = _ensemble(tmp_path, tiny_asr_config, constant=1)
    path = tmp_path / "ensemble.nemo"
    ensemble.save_to(str(path))
    os.remove(tmp_path / "selector1.pkl")  # the restored model must use the packed copy
    restored = ConfidenceEnsembleModel.restore_from(str(path), strict=True).eval()
    assert restored.transcribe(speech.paths[:2], verbose=False) == ensemble.transcribe(
        speech.paths[:2], verbose=False
    )

"""Confidence measures, aggregations and configs (asr_confidence_utils) and confidence metrics."""

import math

import numpy as np
import pytest
import torch
from nemo.collections.asr.parts.utils.asr_confidence_utils import (
    ConfidenceConfig,
    ConfidenceMethodConfig,
    get_confidence_aggregation_bank,
    get_confidence_measure_bank,
)
from nemo.collections.asr.parts.utils.confidence_metrics import auc_nt, auc_pr, auc_roc, auc_yc, ece, nce
from scipy.stats import mannwhitneyu

FRAMES = torch.tensor([[0.5, 0.25, 0.125, 0.125], [0.7, 0.1, 0.1, 0.1]]).log()

# produced by NeMo 1.23's get_confidence_measure_bank() on FRAMES (V = 4)
NEMO_MEASURES = {
    ("entropy_gibbs_exp", 0.5): [0.0204221, 0.0519648],
    ("entropy_gibbs_lin", 0.5): [0.0428932, 0.1045048],
    ("entropy_renyi_exp", 0.5): [0.0305464, 0.0849737],
    ("entropy_renyi_lin", 0.5): [0.0632482, 0.1637984],
    ("entropy_tsallis_exp", 0.5): [0.0292955, 0.0839251],
    ("entropy_tsallis_lin", 0.5): [0.0857863, 0.2146566],
    ("max_prob", 0.5): [0.4142135, 0.6733201],
    ("max_prob", 1.0): [1 / 3, 0.6],  # (4 * 0.5 - 1) / 3 by hand
}


@pytest.mark.parametrize(("name", "alpha"), list(NEMO_MEASURES))
def test_measures_match_nemo(name, alpha):
    scores = get_confidence_measure_bank()[name](FRAMES, 4, alpha)
    assert scores.tolist() == pytest.approx(NEMO_MEASURES[name, alpha], abs=1e-6)


@pytest.mark.parametrize("entropy_type", ["gibbs", "tsallis", "renyi"])
def test_every_entropy_is_shannon_at_alpha_one(entropy_type):
    # 1 - H / log V, H of [1/2, 1/4, 1/8, 1/8] = 1.75 bits, by hand
    scores = get_confidence_measure_bank()[f"entropy_{entropy_type}_lin"](FRAMES[:1], 4, 1.0)
    assert scores.item() == pytest.approx(1 - 1.75 / 2)


def test_aggregations():
    bank = get_confidence_aggregation_bank()
    assert sorted(bank) == ["max", "mean", "min", "prod"]
    assert [bank[name]([0.0, 0.5, 1.0]) for name in ("mean", "min", "max", "prod")] == [0.5, 0.0, 1.0, 0.0]


def test_config_validation_names_the_key():
    with pytest.raises(ValueError, match="entropy_type"):
        ConfidenceMethodConfig(entropy_type="shannon")
    with pytest.raises(ValueError, match="alpha"):
        ConfidenceMethodConfig(alpha=0.0)
    with pytest.raises(ValueError, match="aggregation"):
        ConfidenceConfig(aggregation="median")


def test_deprecated_temperature_becomes_alpha():
    config = ConfidenceConfig(method_cfg={"name": "max_prob", "temperature": 0.5})
    assert config.method_cfg.alpha == 0.5
    assert config.method_cfg.temperature == "DEPRECATED"


Y_TRUE = [1, 0, 0, 1, 1]
Y_SCORE = [0.6, 0.7, 0.02, 0.95, 0.8]


def test_confidence_metrics_match_nemo():
    # produced by NeMo 1.23 (its own unit test's values, rounded to 3 digits)
    values = [
        auc_roc(Y_TRUE, Y_SCORE),
        auc_pr(Y_TRUE, Y_SCORE),
        auc_nt(Y_TRUE, Y_SCORE),
        auc_yc(Y_TRUE, Y_SCORE),
    ]
    values += [ece(Y_TRUE, Y_SCORE), nce(Y_TRUE, Y_SCORE)]
    assert [round(v, 3) for v in values] == [0.833, 0.917, 0.833, 0.421, 0.232, 0.403]
    assert auc_roc([1] * 5, Y_SCORE) == 0.5 and nce([0] * 5, Y_SCORE) == -math.inf


def test_auc_roc_with_ties_equals_mann_whitney():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200), 1)  # many ties
    statistic = mannwhitneyu(scores[labels == 1], scores[labels == 0]).statistic
    assert auc_roc(labels, scores) == pytest.approx(statistic / ((labels == 1).sum() * (labels == 0).sum()))

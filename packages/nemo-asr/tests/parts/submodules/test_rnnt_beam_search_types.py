"""BeamRNNTInfer's search types (greedy, default, tsd, alsd, maes) against NeMo 1.23's hypotheses.

The expected token ids, scores and timesteps were produced once by NeMo 1.23's BeamRNNTInfer (the NeMo venv)
on the same deterministic weights and encoder output as built here (``_build`` / ``_encoder_output``).
"""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.modules.rnnt import RNNTDecoder, RNNTJoint
from nemo.collections.asr.parts.submodules.rnnt_beam_decoding import BeamRNNTInfer
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTDecoding
from nemo.collections.asr.parts.utils.rnnt_utils import NBestHypotheses

BLANK = 5


def _fill(module: torch.nn.Module) -> None:
    """Deterministic weights: a sine pattern per parameter (sorted by name); the blank embedding row is zero."""
    state = module.state_dict()
    for n, (name, value) in enumerate(sorted(state.items())):
        data = torch.sin(torch.arange(value.numel(), dtype=torch.float64) * 2.3 + n * 0.37) * 0.6
        state[name] = data.reshape(value.shape).to(value.dtype)
        if name.endswith("embed.weight"):
            state[name][-1] = 0.0  # blank_as_pad: the padding row, zero as in a trained model
    module.load_state_dict(state)


def _build() -> tuple[RNNTDecoder, RNNTJoint]:
    decoder = RNNTDecoder({"pred_hidden": 8, "pred_rnn_layers": 1}, vocab_size=5)
    joint = RNNTJoint(
        {"encoder_hidden": 6, "pred_hidden": 8, "joint_hidden": 8, "activation": "relu"}, num_classes=5
    )
    _fill(decoder)
    _fill(joint)
    return decoder, joint


def _encoder_output() -> torch.Tensor:
    """(1, D=6, T=7)."""
    t = torch.arange(6 * 7, dtype=torch.float64).reshape(1, 6, 7)
    return (torch.cos(t * 1.3) * 2.0).float()


_GREEDY_TOKENS = [3] * 5 + [0] * 5 + [3] * 5 + [0] * 5 + [3] * 15
_ALSD_14 = list(range(14))

# (BeamRNNTInfer arguments, NeMo 1.23's n-best: (token ids, score, timesteps)), produced by NeMo 1.23.
CASES = {
    "greedy": (
        {"beam_size": 1, "search_type": "greedy"},
        [(_GREEDY_TOKENS, -36.54393, [t for t in range(7) for _ in range(5)])],
    ),
    "default": (
        {"beam_size": 3, "search_type": "default", "score_norm": False},
        [([], -20.24124, []), ([0], -20.71877, [3]), ([3], -20.93351, [4])],
    ),
    "default_norm": (
        {"beam_size": 2, "search_type": "default"},
        [([0], -20.71877, [3]), ([], -20.24124, [])],
    ),
    "tsd": (
        {"beam_size": 3, "search_type": "tsd", "tsd_max_sym_exp_per_step": 3},
        [([3], -19.68734, [0]), ([0], -19.93685, [1]), ([], -20.24124, [])],
    ),
    "alsd": (
        {"beam_size": 3, "search_type": "alsd", "alsd_max_target_len": 1.0},
        [
            ([3] * 14, -14.60517, _ALSD_14),
            ([3] * 13, -15.39869, _ALSD_14[:13]),
            ([3] * 13 + [4], -15.41262, _ALSD_14),
        ],
    ),
    "alsd_int": (
        {"beam_size": 2, "search_type": "alsd", "alsd_max_target_len": 3},
        [([3] * 10, -10.42317, _ALSD_14[:10]), ([3] * 9, -11.21623, _ALSD_14[:9])],
    ),
    "maes": (
        {"beam_size": 2, "search_type": "maes", "maes_num_steps": 2, "maes_expansion_beta": 2},
        [
            ([0, 0, 0, 0, 1, 3, 3], -28.05861, [1, 1, 3, 3, 5, 6, 6]),
            ([0, 0, 0, 0, 1, 3, 0], -28.06505, [1, 1, 3, 3, 5, 6, 6]),
        ],
    ),
    "maes3": (
        {
            "beam_size": 3,
            "search_type": "maes",
            "maes_num_steps": 3,
            "maes_expansion_beta": 1,
            "maes_expansion_gamma": 4.0,
        },
        [
            ([0, 3, 0, 0, 0, 0, 3, 3, 3, 3], -30.36732, [1, 1, 1, 3, 3, 3, 5, 6, 6, 6]),
            ([0, 3, 0, 0, 0, 0, 3, 3, 3, 0], -30.39261, [1, 1, 1, 3, 3, 3, 5, 6, 6, 6]),
            ([0, 3, 0, 0, 0, 0, 3, 0, 3, 0], -30.4098, [1, 1, 1, 3, 3, 3, 5, 6, 6, 6]),
        ],
    ),
}


@pytest.fixture(scope="module")
def modules() -> tuple[RNNTDecoder, RNNTJoint]:
    return _build()


@pytest.mark.parametrize("case", sorted(CASES))
def test_search_matches_nemo(modules, case):
    decoder, joint = modules
    kwargs, expected = CASES[case]
    search = BeamRNNTInfer(decoder, joint, return_best_hypothesis=False, **kwargs)
    (results,) = search(encoder_output=_encoder_output(), encoded_lengths=torch.tensor([7]))
    n_best = results[0].n_best_hypotheses if isinstance(results[0], NBestHypotheses) else [results[0]]
    got = [(h.y_sequence.tolist(), h.score, list(h.timestep)) for h in n_best]
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[2] for g in got] == [e[2] for e in expected]
    assert [g[1] for g in got] == pytest.approx([e[1] for e in expected], abs=2e-5)


@pytest.mark.parametrize("kwargs", [{"beam_size": 1, "search_type": "greedy"}, {"beam_size": 3}])
def test_alignments_follow_the_best_path(modules, kwargs):
    """Alignments as NeMo: per frame (log_probs (V+1,), label) pairs whose non-blank labels spell y_sequence."""
    decoder, joint = modules
    search = BeamRNNTInfer(decoder, joint, preserve_alignments=True, **kwargs)
    (results,) = search(encoder_output=_encoder_output(), encoded_lengths=torch.tensor([7]))
    hyp = results[0]
    labels = [int(label) for frame in hyp.alignments for _, label in frame]
    assert [label for label in labels if label != BLANK] == hyp.y_sequence.tolist()
    for frame in hyp.alignments:
        for log_probs, label in frame:
            assert log_probs.shape == (6,) and label.dtype == torch.int32
            assert float(log_probs.exp().sum()) == pytest.approx(1.0, abs=1e-5)
    if kwargs["beam_size"] > 1:
        assert len(hyp.alignments) == 7  # one list per frame, each ended by a blank
        assert all(int(frame[-1][1]) == BLANK for frame in hyp.alignments)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beam_size": 2, "search_type": "greedy"}, "beam_size=1"),
        ({"beam_size": 2, "search_type": "nsc"}, "nsc"),
        ({"beam_size": 2, "search_type": "tsd", "preserve_alignments": True}, "preserve_alignments"),
        (
            {"beam_size": 2, "search_type": "tsd", "tsd_max_sym_exp_per_step": None},
            "tsd_max_sym_exp_per_step",
        ),
        ({"beam_size": 4, "search_type": "maes", "maes_expansion_beta": 2}, "maes_expansion_beta"),
        ({"beam_size": 2, "search_type": "maes", "maes_num_steps": 1}, "maes_num_steps"),
        ({"beam_size": 2, "search_type": "maes", "hat_subtract_ilm": True}, "hat_subtract_ilm"),
    ],
)
def test_refused_settings_name_the_key(modules, kwargs, message):
    decoder, joint = modules
    with pytest.raises(ValueError, match=message):
        BeamRNNTInfer(decoder, joint, **kwargs)


@pytest.mark.parametrize("strategy", ["tsd", "alsd", "maes"])
def test_decoding_strategies_map_to_search_types(modules, strategy):
    decoder, joint = modules
    vocabulary = ["a", "b", "c", "d", "e"]
    decoding = RNNTDecoding({"strategy": strategy, "beam": {"beam_size": 2}}, decoder, joint, vocabulary)
    assert decoding.decoding.search_type == strategy
    texts, _ = decoding.rnnt_decoder_predictions_tensor(_encoder_output(), torch.tensor([7]))
    assert len(texts) == 1


def test_beam_strategy_refuses_another_search_type(modules):
    decoder, joint = modules
    with pytest.raises(ValueError, match="decoding.strategy=tsd"):
        RNNTDecoding({"strategy": "beam", "beam": {"search_type": "tsd"}}, decoder, joint, list("abcde"))

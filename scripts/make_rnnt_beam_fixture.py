"""Record what NeMo 1.23's RNN-T beam search (``BeamRNNTInfer``, ``search_type='default'``) returns.

Run with the Python of a venv where NeMo 1.23 is installed:

    /tmp/nemo-ref/bin/python scripts/make_rnnt_beam_fixture.py [--output tests/data/nemo-1.23/rnnt_beam_tiny.pt]

It builds NeMo's tiny ``RNNTDecoder`` (vocabulary 6 + blank, pred_hidden 16) and ``RNNTJoint`` (encoder dim 12,
joint_hidden 16) from seeded random weights, sharpens them (every weight times ``WEIGHT_SCALE``, the blank's
output bias plus ``BLANK_BIAS``: a fresh init gives near-uniform outputs, where every search looks alike), draws encoder outputs (B=3, D=12, T=9, lengths 9, 7, 4), and runs
the beam search for every setting in ``SETTINGS`` with ``return_best_hypothesis=False``. The output is a
``torch.save`` dict of plain tensors, lists, dicts, numbers and strings (loadable with ``weights_only=True``);
``tests/data/nemo-1.23/README.md`` describes its keys.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "tests" / "data" / "nemo-1.23" / "rnnt_beam_tiny.pt"
SEED = 0
WEIGHT_SCALE = 2.0
BLANK_BIAS = 4.0
VOCAB_SIZE = 6
ENCODER_LENGTHS = [9, 7, 4]
DECODER_CONFIG = {"prednet": {"pred_hidden": 16, "pred_rnn_layers": 1}, "vocab_size": VOCAB_SIZE}
JOINT_CONFIG = {
    "jointnet": {"encoder_hidden": 12, "pred_hidden": 16, "joint_hidden": 16, "activation": "relu"},
    "num_classes": VOCAB_SIZE,
}
SETTINGS = [
    {"beam_size": beam_size, "score_norm": score_norm, "softmax_temperature": 1.0}
    for beam_size in (1, 2, 4)
    for score_norm in (True, False)
] + [
    # wider than the vocabulary: NeMo keeps min(beam_size, 6) hypotheses and extends each with 5 tokens
    {"beam_size": 8, "score_norm": True, "softmax_temperature": 1.0},
    {"beam_size": 4, "score_norm": True, "softmax_temperature": 0.5},
    {"beam_size": 4, "score_norm": True, "softmax_temperature": 2.0},
]


def _as_plain(hypothesis) -> dict:
    """Token ids (NeMo's ``y_sequence``, leading blank included), score and frame of each token."""
    return {
        "y_sequence": [int(token) for token in hypothesis.y_sequence],
        "score": float(hypothesis.score),
        "timestep": [int(frame) for frame in hypothesis.timestep],
    }


def build_modules_and_inputs() -> tuple:
    """NeMo's seeded, sharpened ``RNNTDecoder`` and ``RNNTJoint`` (eval mode), encoder outputs (B, D, T), lengths (B,)."""
    from nemo.collections.asr.modules import RNNTDecoder, RNNTJoint

    torch.manual_seed(SEED)
    decoder = RNNTDecoder(**DECODER_CONFIG).eval()
    joint = RNNTJoint(**JOINT_CONFIG).eval()
    with torch.no_grad():
        for parameter in [*decoder.parameters(), *joint.parameters()]:
            parameter.mul_(WEIGHT_SCALE)
        joint.joint_net[-1].bias[VOCAB_SIZE] += BLANK_BIAS
    encoder_output = torch.randn(len(ENCODER_LENGTHS), 12, max(ENCODER_LENGTHS))
    return decoder, joint, encoder_output, torch.tensor(ENCODER_LENGTHS)


def record() -> dict:
    """Run NeMo's beam search for every setting; return the fixture dict."""
    from nemo.collections.asr.parts.submodules.rnnt_beam_decoding import BeamRNNTInfer

    decoder, joint, encoder_output, encoded_lengths = build_modules_and_inputs()
    results = []
    for setting in SETTINGS:
        search = BeamRNNTInfer(
            decoder_model=decoder,
            joint_model=joint,
            search_type="default",
            return_best_hypothesis=False,
            **setting,
        )
        (n_best_per_utterance,) = search(encoder_output=encoder_output, encoded_lengths=encoded_lengths)
        results.append(
            {
                **setting,
                "n_best": [
                    [_as_plain(h) for h in n_best.n_best_hypotheses] for n_best in n_best_per_utterance
                ],
            }
        )
    return {
        "decoder_config": DECODER_CONFIG,
        "joint_config": JOINT_CONFIG,
        "decoder_state_dict": decoder.state_dict(),
        "joint_state_dict": joint.state_dict(),
        "encoder_output": encoder_output,
        "encoded_lengths": encoded_lengths,
        "blank_id": VOCAB_SIZE,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the .pt file")
    args = parser.parse_args()
    fixture = record()
    torch.save(fixture, args.output)
    torch.load(args.output, weights_only=True)
    for result in fixture["results"]:
        sizes = [len(n_best) for n_best in result["n_best"]]
        best = [n_best[0]["y_sequence"] for n_best in result["n_best"]]
        print(
            f"beam_size={result['beam_size']} score_norm={result['score_norm']} "
            f"T={result['softmax_temperature']}: n-best sizes {sizes}, best {best}"
        )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

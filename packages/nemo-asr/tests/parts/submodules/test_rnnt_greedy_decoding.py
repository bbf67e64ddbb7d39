"""Greedy RNN-T searches: multi-blank frame skipping, the stateless decoder, continuation from partial hypotheses.

Expected tokens and frames were computed once with NeMo 1.23 (/tmp/nemo-ref) on the very same small networks: the
helpers below fill every parameter, in sorted-name order, from ``0.6 * randn`` of a seeded generator (the state-dict
names are NeMo's), zero the embeddings' padding rows, and draw the encoder output from the same generator.
"""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.modules.rnnt import RNNTDecoder, RNNTJoint, StatelessTransducerDecoder
from nemo.collections.asr.parts.submodules import rnnt_greedy_decoding as greedy
from nemo.utils.config_utils import assert_dataclass_signature_match

VOCAB = 4
JOINT_CFG = {"encoder_hidden": 6, "pred_hidden": 8, "joint_hidden": 8, "activation": "relu"}


def _fill(generator: torch.Generator, *modules: torch.nn.Module) -> None:
    """Seeded weights (sorted parameter names), blank embedding rows kept at zero; modules put in eval mode."""
    with torch.no_grad():
        for module in modules:
            for _, parameter in sorted(module.named_parameters()):
                parameter.copy_(0.6 * torch.randn(parameter.shape, generator=generator))
            for sub in module.modules():
                if isinstance(sub, torch.nn.Embedding) and sub.padding_idx is not None:
                    sub.weight[sub.padding_idx].zero_()
            module.eval()


@pytest.fixture(scope="module")
def lstm_nets():
    """LSTM decoder, a multi-blank joint (2 big blanks) and a plain joint; encoder output (3, 6, 13)."""
    generator = torch.Generator().manual_seed(0)
    decoder = RNNTDecoder({"pred_hidden": 8, "pred_rnn_layers": 1}, VOCAB)
    multiblank_joint = RNNTJoint(JOINT_CFG, VOCAB, num_extra_outputs=2)
    plain_joint = RNNTJoint(JOINT_CFG, VOCAB)
    _fill(generator, decoder, multiblank_joint, plain_joint)
    with torch.no_grad():
        multiblank_joint.joint_net[-1].bias[VOCAB : VOCAB + 2] += 0.5  # big blanks more likely
    encoder_output = torch.randn(3, 6, 13, generator=generator)
    return decoder, multiblank_joint, plain_joint, encoder_output


# NeMo 1.23: each utterance skips after its own big blanks
PER_UTTERANCE_TOKENS = [[3] * 15, [3] * 15, [3] * 6 + [0] * 3]
PER_UTTERANCE_FRAMES = [
    [2, 2, 2, 7, 7, 7, 10, 10, 10, 11, 11, 11, 12, 12, 12],
    [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
    [0, 0, 0, 3, 3, 3, 4, 4, 4],
]
# NeMo 1.23: the batch skips together, by the shortest big blank every unfinished utterance emitted
BATCHED_TOKENS = [[3] * 21, [3] * 21, [3] * 9 + [0] * 3]
BATCHED_FRAMES = [
    [2, 2, 2, 4, 4, 4, 7, 7, 7, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12],
    [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 7, 7, 7, 8, 8, 8],
    [0, 0, 0, 2, 2, 2, 3, 3, 3, 4, 4, 4],
]


@pytest.mark.parametrize(
    ("search", "tokens", "frames"),
    [
        (greedy.GreedyMultiblankRNNTInfer, PER_UTTERANCE_TOKENS, PER_UTTERANCE_FRAMES),
        (greedy.GreedyBatchedMultiblankRNNTInfer, BATCHED_TOKENS, BATCHED_FRAMES),
    ],
)
def test_multiblank_search_matches_nemo(lstm_nets, search, tokens, frames):
    decoder, joint, _, encoder_output = lstm_nets
    decode = search(decoder, joint, blank_index=VOCAB + 2, big_blank_durations=[2, 4], max_symbols_per_step=3)
    hypotheses = decode(encoder_output=encoder_output, encoded_lengths=torch.tensor([13, 9, 5]))[0]
    assert [h.y_sequence.tolist() for h in hypotheses] == tokens
    assert [list(h.timestep) for h in hypotheses] == frames


def test_multiblank_durations_must_be_positive(lstm_nets):
    decoder, joint, _, _ = lstm_nets
    with pytest.raises(ValueError, match="big_blank_durations"):
        greedy.GreedyMultiblankRNNTInfer(decoder, joint, blank_index=VOCAB + 2, big_blank_durations=[0, 2])


def test_partial_hypotheses_continue_like_nemo(lstm_nets):
    decoder, _, joint, encoder_output = lstm_nets
    decode = greedy.GreedyRNNTInfer(decoder, joint, blank_index=VOCAB, max_symbols_per_step=3)
    first = decode(encoder_output=encoder_output[:, :, :6], encoded_lengths=torch.tensor([6, 6, 5]))[0]
    assert [h.y_sequence.tolist() for h in first] == [
        [1] * 6 + [0] * 3 + [1] * 9,
        [1] * 9 + [2, 2] + [1] * 7,
        [1, 0, 0] + [1] * 12,
    ]
    second = decode(
        encoder_output=encoder_output[:, :, 6:],
        encoded_lengths=torch.tensor([7, 3, 0]),
        partial_hypotheses=first,
    )[0]
    assert [h.y_sequence.tolist() for h in second] == [
        [1] * 6 + [0] * 3 + [1] * 27 + [2, 1, 1],
        [1] * 9 + [2, 2] + [1] * 13,
        [1, 0, 0] + [1] * 12,
    ]
    assert len(second[1].timestep) == 6  # only the new tokens, as NeMo


def test_partial_hypotheses_must_cover_the_batch(lstm_nets):
    decoder, _, joint, encoder_output = lstm_nets
    decode = greedy.GreedyBatchedRNNTInfer(decoder, joint, blank_index=VOCAB, max_symbols_per_step=3)
    first = decode(encoder_output=encoder_output, encoded_lengths=torch.tensor([13, 9, 5]))[0]
    with pytest.raises(ValueError, match="partial_hypotheses"):
        decode(
            encoder_output=encoder_output,
            encoded_lengths=torch.tensor([13, 9, 5]),
            partial_hypotheses=first[:2],
        )


@pytest.mark.parametrize("search", [greedy.GreedyRNNTInfer, greedy.GreedyBatchedRNNTInfer])
def test_stateless_decoder_matches_nemo(search):
    generator = torch.Generator().manual_seed(1)
    decoder = StatelessTransducerDecoder({"pred_hidden": 8}, VOCAB, context_size=2)
    joint = RNNTJoint(JOINT_CFG, VOCAB)
    _fill(generator, decoder, joint)
    with torch.no_grad():
        joint.joint_net[-1].bias[VOCAB] += 1.0
    encoder_output = torch.randn(3, 6, 10, generator=generator)
    decode = search(decoder, joint, blank_index=VOCAB, max_symbols_per_step=2)
    hypotheses = decode(encoder_output=encoder_output, encoded_lengths=torch.tensor([10, 7, 4]))[0]
    assert [h.y_sequence.tolist() for h in hypotheses] == [
        [1] * 8 + [0, 0] + [1] * 6,
        [1] * 12 + [0, 1],
        [1] * 8,
    ]
    assert [list(h.timestep) for h in hypotheses] == [
        [2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9],
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
        [0, 0, 1, 1, 2, 2, 3, 3],
    ]


@pytest.mark.parametrize(
    ("search", "config"),
    [
        (greedy.GreedyRNNTInfer, greedy.GreedyRNNTInferConfig),
        (greedy.GreedyBatchedRNNTInfer, greedy.GreedyBatchedRNNTInferConfig),
    ],
)
def test_config_fields_name_the_search_arguments(search, config):
    ignore = ["decoder_model", "joint_model", "blank_index"]
    assert assert_dataclass_signature_match(search, config, ignore_args=ignore) == (True, None, None)

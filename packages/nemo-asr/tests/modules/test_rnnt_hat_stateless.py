"""HATJoint, StatelessTransducerDecoder and SampledRNNTJoint: NeMo 1.23's keys and outputs, and their maths.

NeMo's values come from ``tests/models/data/hat_stateless.expected.pt``, written by real NeMo 1.23 with
``tests/models/data/make_hybrid_nemo_fixture.py``.
"""

from pathlib import Path

import pytest
import torch
import torchaudio
from nemo.collections.asr.losses.rnnt import RNNTLoss
from nemo.collections.asr.modules import (
    HATJoint,
    RNNTDecoder,
    RNNTJoint,
    SampledRNNTJoint,
    StatelessTransducerDecoder,
)
from nemo.collections.asr.parts.utils.rnnt_utils import HATJointOutput, Hypothesis

NEMO = Path(__file__).resolve().parents[1] / "models" / "data" / "hat_stateless.expected.pt"
HAT_CFG = {"encoder_hidden": 6, "pred_hidden": 5, "joint_hidden": 7, "activation": "relu"}


@pytest.fixture(scope="module")
def nemo() -> dict:
    return torch.load(NEMO, weights_only=True)


def _hat(nemo) -> HATJoint:
    hat = HATJoint(HAT_CFG, 4).eval()
    hat.load_state_dict(nemo["hat_state_dict"], strict=True)
    return hat


def test_hat_state_dict_keys_and_outputs_are_nemos(nemo):
    hat = _hat(nemo)
    assert sorted(hat.state_dict()) == sorted(nemo["hat_state_dict"])
    assert "blank_pred.2.weight" in nemo["hat_state_dict"]
    with torch.no_grad():
        torch.testing.assert_close(hat.joint(nemo["hat_f"], nemo["hat_g"]), nemo["joint"])
        hat.return_hat_ilm = True
        both = hat.joint(nemo["hat_f"], nemo["hat_g"])
    assert isinstance(both, HATJointOutput)
    torch.testing.assert_close(both.hat_logprobs, nemo["hat_logprobs"])
    torch.testing.assert_close(both.ilm_logprobs, nemo["ilm_logprobs"])


def test_hat_is_a_distribution_with_a_separate_blank_and_leaves_inputs_alone(nemo):
    hat = _hat(nemo)
    hat.return_hat_ilm = True
    f, g = hat.project_encoder(nemo["hat_f"]), hat.project_prednet(nemo["hat_g"])
    g_before = g.clone()
    with torch.no_grad():
        out = hat.joint_after_projection(f, g)
    assert torch.equal(g, g_before)
    assert out.hat_logprobs.shape == (2, 3, 4, 5) and out.ilm_logprobs.shape == (2, 1, 4, 4)
    # Every (t, u) is a distribution over V labels + blank; the labels share 1 - P(blank) (hand-derived).
    torch.testing.assert_close(out.hat_logprobs.exp().sum(-1), torch.ones(2, 3, 4))
    hidden = f.unsqueeze(2) + g.unsqueeze(1)
    w, b = hat.blank_pred[2].weight, hat.blank_pred[2].bias
    p_blank = torch.sigmoid(torch.tanh(hidden) @ w.T + b)
    torch.testing.assert_close(out.hat_logprobs[..., -1:].exp(), p_blank)


def test_hat_runs_in_a_training_graph():
    hat = HATJoint({**HAT_CFG, "dropout": 0.1}, 4)
    out = hat.joint(torch.randn(2, 3, 6), torch.randn(2, 4, 5))
    out.sum().backward()
    assert hat.blank_pred[2].weight.grad is not None and hat.joint_net[-1].weight.grad is not None


def test_stateless_decoder_matches_nemo(nemo):
    decoder = StatelessTransducerDecoder({"pred_hidden": 9}, 4, context_size=3).eval()
    decoder.load_state_dict(nemo["stateless_state_dict"], strict=True)
    assert sorted(nemo["stateless_state_dict"]) == [f"prediction.embeds.{i}.weight" for i in range(3)]
    targets = nemo["targets"]
    with torch.no_grad():
        forward, lengths, _ = decoder(targets=targets, target_length=torch.tensor([4, 4]))
        steps, state = [], None
        for column in range(targets.shape[1]):
            y, state = decoder.predict(targets[:, column : column + 1], state=state, add_sos=False)
            steps.append(y)
    torch.testing.assert_close(forward, nemo["stateless_forward"])
    torch.testing.assert_close(torch.cat(steps, dim=1), nemo["stateless_steps"])
    assert state[0].shape == (2, 2)


def test_stateless_output_is_the_concatenated_history_embeddings():
    decoder = StatelessTransducerDecoder({"pred_hidden": 8}, 5, context_size=2).eval()
    latest, previous = decoder.prediction.embeds
    assert latest.embedding_dim == 6 and previous.embedding_dim == 2  # 8 - 8 // 2 // 2, 8 // 2 // 2
    y = torch.tensor([[1, 4, 2]])
    with torch.no_grad():
        g, _ = decoder.predict(y, add_sos=False)
    expected = torch.cat(
        [latest.weight[[1, 4, 2]], torch.cat([torch.zeros(1, 2), previous.weight[[1, 4]]])], -1
    )
    torch.testing.assert_close(g[0], expected)


def test_hypothesis_scoring_equals_predict_steps():
    torch.manual_seed(0)
    decoder = RNNTDecoder({"pred_hidden": 6, "pred_rnn_layers": 2}, 4).eval()
    with torch.no_grad():
        g1, state1 = decoder.predict(torch.tensor([[2]]), None, add_sos=False)
        g2, _ = decoder.predict(torch.tensor([[3]]), state1, add_sos=False)
        start = Hypothesis(score=0.0, y_sequence=[4], dec_state=None)
        y, _, token = decoder.score_hypothesis(start, {})
        # blank: the zero (start) embedding through the LSTM from a fresh state
        zero_step = decoder.prediction["dec_rnn"](torch.zeros(1, 1, 6))[0]
        torch.testing.assert_close(y, zero_step)
        assert token.tolist() == [4]
        one = Hypothesis(score=0.0, y_sequence=[4, 2], dec_state=None)
        y, state, _ = decoder.score_hypothesis(one, {})
        torch.testing.assert_close(y, g1)
        two = Hypothesis(score=0.0, y_sequence=[4, 2, 3], dec_state=decoder.batch_select_state(state1, 0))
        cache = {}
        batch_y, batch_states, tokens = decoder.batch_score_hypothesis([two, one], cache, None)
    torch.testing.assert_close(batch_y[0], g2[0])
    assert tokens.tolist() == [3, 2] and len(cache) == 2
    assert batch_states[0].shape == (2, 2, 6)


def test_batch_copy_states_with_a_value_fills_it():
    decoder = RNNTDecoder({"pred_hidden": 3, "pred_rnn_layers": 1}, 4)
    states = [torch.ones(1, 3, 3), torch.ones(1, 3, 3)]
    decoder.batch_copy_states(states, None, [1], value=0.5)
    assert torch.equal(states[0][:, 1], torch.full((1, 3), 0.5)) and torch.equal(
        states[1][:, 0], torch.ones(1, 3)
    )


def _sampled_and_full(n_samples: int):
    cfg = {"encoder_hidden": 4, "pred_hidden": 3, "joint_hidden": 5, "activation": "tanh"}
    torch.manual_seed(0)
    sampled = SampledRNNTJoint(cfg, 6, n_samples=n_samples, fuse_loss_wer=True, fused_batch_size=2)
    full = RNNTJoint(cfg, 6)
    full.load_state_dict(sampled.state_dict(), strict=True)
    sampled.set_loss(RNNTLoss(num_classes=6, reduction=None))
    return sampled, full


def test_sampled_joint_is_the_full_joint_without_gradients():
    sampled, full = _sampled_and_full(2)
    sampled.set_fuse_loss_wer(False)
    f, g = torch.randn(2, 4, 3), torch.randn(2, 3, 2)
    with torch.no_grad():
        torch.testing.assert_close(
            sampled(encoder_outputs=f, decoder_outputs=g), full(encoder_outputs=f, decoder_outputs=g)
        )
    with pytest.raises(ValueError, match="fuse_loss_wer"):
        sampled(encoder_outputs=f, decoder_outputs=g)


def test_sampled_loss_with_every_label_sampled_is_the_full_loss():
    sampled, full = _sampled_and_full(n_samples=6)
    f, g = torch.randn(3, 4, 5), torch.randn(3, 3, 4)
    transcripts = torch.tensor([[1, 4, 4], [0, 2, 0], [5, 1, 3]])
    lengths = torch.tensor([3, 2, 3])
    loss, _, _, _ = sampled(
        encoder_outputs=f,
        decoder_outputs=g,
        encoder_lengths=torch.tensor([5, 4, 5]),
        transcripts=transcripts,
        transcript_lengths=lengths,
    )
    with torch.no_grad():
        logits = full.joint(f.transpose(1, 2), g.transpose(1, 2))
    reference = torchaudio.functional.rnnt_loss(
        logits, transcripts.int(), torch.tensor([5, 4, 5]).int(), lengths.int(), blank=6, reduction="none"
    )
    torch.testing.assert_close(loss.detach(), reference)
    loss.sum().backward()
    assert sampled.joint_net[-1].weight.grad is not None

"""RNNTDecoder (prediction network) and RNNTJoint (joint network)."""

from __future__ import annotations

import pytest
import torch
from nemo.collections.asr.losses import RNNTLoss
from nemo.collections.asr.modules import RNNTDecoder, RNNTJoint
from omegaconf import OmegaConf

VOCAB = 5
HIDDEN = 8
LAYERS = 2


def _decoder(**kwargs) -> RNNTDecoder:
    prednet = {"pred_hidden": HIDDEN, "pred_rnn_layers": LAYERS, "dropout": 0.0}
    return RNNTDecoder(prednet=prednet, vocab_size=VOCAB, **kwargs)


def _joint(dropout: float = 0.0, **kwargs) -> RNNTJoint:
    jointnet = {
        "encoder_hidden": 6,
        "pred_hidden": HIDDEN,
        "joint_hidden": 7,
        "activation": "relu",
        "dropout": dropout,
    }
    return RNNTJoint(jointnet=jointnet, num_classes=VOCAB, **kwargs)


def test_decoder_state_dict_keys_are_nemos() -> None:
    decoder = _decoder()
    lstm_keys = {
        f"prediction.dec_rnn.lstm.{kind}_{part}_l{layer}"
        for kind in ("weight", "bias")
        for part in ("ih", "hh")
        for layer in range(LAYERS)
    }
    assert set(decoder.state_dict()) == {"prediction.embed.weight"} | lstm_keys
    assert decoder.prediction["embed"].weight.shape == (VOCAB + 1, HIDDEN)


def test_decoder_builds_from_omegaconf_with_nemo_bias_init() -> None:
    prednet = OmegaConf.create({"pred_hidden": HIDDEN, "pred_rnn_layers": 1, "forget_gate_bias": 1.0})
    lstm = RNNTDecoder(prednet=prednet, vocab_size=VOCAB).prediction["dec_rnn"].lstm
    assert torch.equal(lstm.bias_ih_l0[HIDDEN : 2 * HIDDEN], torch.ones(HIDDEN))
    assert torch.equal(lstm.bias_hh_l0[HIDDEN : 2 * HIDDEN], torch.zeros(HIDDEN))


def test_decoder_chrono_init_links_input_and_forget_gates() -> None:
    prednet = {"pred_hidden": HIDDEN, "pred_rnn_layers": 1, "t_max": 10}
    bias = RNNTDecoder(prednet=prednet, vocab_size=VOCAB).prediction["dec_rnn"].lstm.bias_ih_l0
    forget = bias[HIDDEN : 2 * HIDDEN]
    assert bool(((forget >= 0) & (forget <= torch.log(torch.tensor(9.0)))).all())
    assert torch.equal(bias[:HIDDEN], -forget)
    assert torch.equal(bias[2 * HIDDEN :], torch.zeros(2 * HIDDEN))


def test_decoder_forward_equals_step_by_step_prediction() -> None:
    decoder = _decoder().eval()
    targets = torch.tensor([[1, 4, 2], [3, 0, VOCAB]])
    lengths = torch.tensor([3, 2])

    outputs, out_lengths, (h, c) = decoder(targets=targets, target_length=lengths)

    assert outputs.shape == (2, HIDDEN, 4)
    assert torch.equal(out_lengths, lengths)
    assert h.shape == c.shape == (LAYERS, 2, HIDDEN)
    step, state = decoder.predict(None, state=None, add_sos=False, batch_size=2)
    steps = [step]
    for u in range(targets.size(1)):
        step, state = decoder.predict(targets[:, u : u + 1], state=state, add_sos=False)
        steps.append(step)
    torch.testing.assert_close(outputs, torch.cat(steps, dim=1).transpose(1, 2))
    torch.testing.assert_close(h, state[0])
    zeros = decoder.initialize_state(outputs)
    from_zero_state, _, _ = decoder(targets=targets, target_length=lengths, states=zeros)
    torch.testing.assert_close(from_zero_state, outputs)


def test_decoder_blank_embeds_to_zero_only_with_blank_as_pad() -> None:
    embed = _decoder().prediction["embed"]
    assert torch.equal(embed(torch.tensor([VOCAB])), torch.zeros(1, HIDDEN))
    assert _decoder(blank_as_pad=False).prediction["embed"].num_embeddings == VOCAB


def test_decoder_state_initialisation() -> None:
    decoder = _decoder()
    y = torch.zeros(3, 1, dtype=torch.float64)
    decoder.eval()
    assert all(
        torch.equal(s, torch.zeros(LAYERS, 3, HIDDEN, dtype=torch.float64))
        for s in decoder.initialize_state(y)
    )
    sampling = _decoder(random_state_sampling=True).train()
    assert all(s.abs().sum() > 0 for s in sampling.initialize_state(y))


def test_decoder_rejects_normalised_lstm() -> None:
    with pytest.raises(ValueError, match="normalization_mode='layer'"):
        _decoder(normalization_mode="layer")


def test_decoder_batch_state_helpers() -> None:
    decoder = _decoder()
    h = torch.randn(LAYERS, 3, HIDDEN)
    c = torch.randn(LAYERS, 3, HIDDEN)

    item = decoder.batch_select_state([h, c], 1)
    assert len(item) == 2 and len(item[0]) == LAYERS
    assert torch.equal(item[0][1], h[1, 1]) and torch.equal(item[1][0], c[0, 1])

    packed = decoder.batch_concat_states([decoder.batch_select_state([h, c], i) for i in range(3)])
    assert torch.equal(packed[0], h) and torch.equal(packed[1], c)

    old = [torch.zeros_like(h), torch.zeros_like(c)]
    decoder.batch_copy_states(old, [h, c], [0, 2])
    assert torch.equal(old[0][:, [0, 2]], h[:, [0, 2]]) and torch.equal(
        old[0][:, 1], torch.zeros(LAYERS, HIDDEN)
    )
    decoder.batch_copy_states(old, [h, c], [0], value=0.0)
    assert torch.equal(old[1][:, 0], torch.zeros(LAYERS, HIDDEN))

    mask = torch.tensor([True, False, True])
    selected = decoder.mask_select_states((h, c), mask)
    assert torch.equal(selected[0], h[:, [0, 2]])

    dst = [torch.zeros_like(h), torch.zeros_like(c)]
    decoder.batch_replace_states_mask([h, c], dst, mask)
    assert torch.equal(dst[1][:, 2], c[:, 2]) and torch.equal(dst[1][:, 1], torch.zeros(LAYERS, HIDDEN))
    decoder.batch_replace_states_all([h, c], dst)
    assert torch.equal(dst[0], h) and torch.equal(dst[1], c)


@pytest.mark.parametrize(("dropout", "linear_index"), [(0.0, 1), (0.2, 2)])
def test_joint_state_dict_keys_are_nemos(dropout: float, linear_index: int) -> None:
    joint = _joint(dropout=dropout)
    expected = {
        f"{name}.{kind}"
        for name in ("enc", "pred", f"joint_net.{linear_index}")
        for kind in ("weight", "bias")
    }
    assert set(joint.state_dict()) == expected
    assert joint.num_classes_with_blank == VOCAB + 1


def test_joint_matches_manual_computation() -> None:
    joint = _joint().eval()
    f = torch.randn(2, 6, 4)  # (B, D_enc, T)
    g = torch.randn(2, HIDDEN, 3)  # (B, D_pred, U+1)

    out = joint(encoder_outputs=f, decoder_outputs=g)

    hidden = torch.relu(
        (f.transpose(1, 2) @ joint.enc.weight.T + joint.enc.bias).unsqueeze(2)
        + (g.transpose(1, 2) @ joint.pred.weight.T + joint.pred.bias).unsqueeze(1)
    )
    logits = hidden @ joint.joint_net[1].weight.T + joint.joint_net[1].bias
    assert out.shape == (2, 4, 3, VOCAB + 1)
    torch.testing.assert_close(out, logits.log_softmax(-1))

    raw = _joint(log_softmax=False)
    raw.load_state_dict(joint.state_dict())
    torch.testing.assert_close(raw(encoder_outputs=f, decoder_outputs=g), logits)
    joint.temperature = 2.0
    torch.testing.assert_close(
        joint.joint(f.transpose(1, 2), g.transpose(1, 2)), (logits / 2.0).log_softmax(-1)
    )


def test_joint_rejects_bad_configs() -> None:
    with pytest.raises(ValueError, match="activation='gelu'"):
        RNNTJoint(
            jointnet={"encoder_hidden": 2, "pred_hidden": 2, "joint_hidden": 2, "activation": "gelu"},
            num_classes=3,
        )
    with pytest.raises(ValueError, match="fused_batch_size"):
        _joint(fuse_loss_wer=True)
    with pytest.raises(ValueError, match="decoder_outputs=None"):
        _joint()(encoder_outputs=torch.randn(1, 6, 2), decoder_outputs=None)


def test_fused_joint_loss_equals_full_batch_loss() -> None:
    torch.manual_seed(0)
    fused = _joint(fuse_loss_wer=True, fused_batch_size=2)
    plain = _joint()
    plain.load_state_dict(fused.state_dict())
    fused.set_loss(RNNTLoss(num_classes=VOCAB, reduction="mean_volume"))
    enc = torch.randn(3, 6, 7)
    dec = torch.randn(3, HIDDEN, 5)
    enc_lengths = torch.tensor([7, 4, 5])
    transcripts = torch.tensor([[1, 2, 3, 4], [2, 2, 0, 0], [4, 1, 3, 0]])
    transcript_lengths = torch.tensor([4, 2, 3])

    loss, wer, wer_numer, wer_denom = fused(
        encoder_outputs=enc,
        decoder_outputs=dec,
        encoder_lengths=enc_lengths,
        transcripts=transcripts,
        transcript_lengths=transcript_lengths,
    )

    expected = RNNTLoss(num_classes=VOCAB, reduction="mean_volume")(
        log_probs=plain(encoder_outputs=enc, decoder_outputs=dec),
        targets=transcripts,
        input_lengths=enc_lengths,
        target_lengths=transcript_lengths,
    )
    torch.testing.assert_close(loss, expected)
    assert wer is None and wer_numer is None and wer_denom is None
    assert fused.loss.reduction == "mean_volume"

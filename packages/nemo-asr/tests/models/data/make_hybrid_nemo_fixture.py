"""Write the hybrid RNN-T + CTC and HAT/stateless fixtures by running real NeMo 1.23 (run with NeMo's interpreter).

Usage, from any folder::

    /path/to/nemo-1.23/bin/python make_hybrid_nemo_fixture.py [OUTDIR]    # OUTDIR defaults to this folder

It writes:

- ``hybrid_rnnt_ctc_char_tiny.nemo``: NeMo's ``EncDecHybridRNNTCTCModel`` built from :data:`CONFIG` (a one-layer
  Conformer, 32-feature mels, LSTM prediction network, ConvASRDecoder CTC head) with ``torch.manual_seed(0)``
  weights, saved with ``save_to``.
- ``hybrid_rnnt_ctc_char_tiny.expected.pt`` (``torch.save`` of plain tensors, lists and strings): ``waveform``
  (a seeded 1.2 s tone-and-noise signal), and what NeMo computed on it in eval mode: ``encoded`` (1, 32, T),
  ``encoded_len``, ``ctc_log_probs`` (1, T, 29), the greedy texts and token ids of both heads
  (``rnnt_text``/``rnnt_tokens`` from ``decoding.rnnt_decoder_predictions_tensor``, ``ctc_text``/``ctc_tokens``
  from ``ctc_decoding.ctc_decoder_predictions_tensor`` after the CTC decoder), and ``state_dict_keys``.
- ``hat_stateless.expected.pt``: a seeded ``HATJoint`` (encoder/pred/joint hidden 6/5/7, vocabulary 4, dropout 0)
  with its ``state_dict``, inputs ``hat_f`` (2, 3, 6) and ``hat_g`` (2, 4, 5), ``joint`` output and, with
  ``return_hat_ilm = True``, ``hat_logprobs`` / ``ilm_logprobs``; and a seeded ``StatelessTransducerDecoder``
  (pred_hidden 9, vocabulary 4, context_size 3) with its ``state_dict``, ``targets`` (2, 4), the
  ``forward`` outputs (``stateless_forward``, with the start step) and a step-by-step ``predict`` run
  (``stateless_steps``: outputs of feeding the targets one column at a time, carrying the returned state).
"""

import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

HERE = Path(__file__).resolve().parent
LABELS = [" ", *"abcdefghijklmnopqrstuvwxyz", "'"]
CONFIG = {
    "sample_rate": 16000,
    "labels": LABELS,
    "preprocessor": {
        "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
        "sample_rate": 16000,
        "normalize": "per_feature",
        "window_size": 0.025,
        "window_stride": 0.01,
        "window": "hann",
        "features": 32,
        "n_fft": 512,
        "dither": 0.0,
        "pad_to": 0,
    },
    "encoder": {
        "_target_": "nemo.collections.asr.modules.ConformerEncoder",
        "feat_in": 32,
        "n_layers": 1,
        "d_model": 32,
        "n_heads": 2,
        "subsampling": "striding",
        "subsampling_factor": 4,
        "subsampling_conv_channels": 16,
        "ff_expansion_factor": 2,
        "self_attention_model": "rel_pos",
        "conv_kernel_size": 9,
        "dropout": 0.0,
        "dropout_pre_encoder": 0.0,
        "dropout_emb": 0.0,
        "dropout_att": 0.0,
    },
    "model_defaults": {"enc_hidden": 32, "pred_hidden": 32, "joint_hidden": 32},
    "decoder": {
        "_target_": "nemo.collections.asr.modules.RNNTDecoder",
        "normalization_mode": None,
        "random_state_sampling": False,
        "blank_as_pad": True,
        "prednet": {"pred_hidden": 32, "pred_rnn_layers": 1, "t_max": None, "dropout": 0.0},
    },
    "joint": {
        "_target_": "nemo.collections.asr.modules.RNNTJoint",
        "log_softmax": None,
        "preserve_memory": False,
        "fuse_loss_wer": False,
        "jointnet": {"joint_hidden": 32, "activation": "relu", "dropout": 0.0},
    },
    "decoding": {"strategy": "greedy_batch", "greedy": {"max_symbols": 5}},
    "loss": {"loss_name": "default", "warprnnt_numba_kwargs": {"fastemit_lambda": 0.0, "clamp": -1.0}},
    "aux_ctc": {
        "ctc_loss_weight": 0.3,
        "use_cer": False,
        "ctc_reduction": "mean_batch",
        "decoder": {
            "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
            "feat_in": None,
            "num_classes": -1,
            "vocabulary": LABELS,
        },
        "decoding": {"strategy": "greedy"},
    },
}


def waveform() -> torch.Tensor:
    """A seeded 1.2 s signal: two tones and noise, (1, 19200) float32."""
    rng = np.random.default_rng(20261207)
    t = np.arange(19200) / 16000
    audio = (
        0.3 * np.sin(2 * np.pi * 220 * t)
        + 0.2 * np.sin(2 * np.pi * 1330 * t)
        + 0.1 * rng.standard_normal(t.shape)
    )
    return torch.from_numpy(audio.astype(np.float32))[None]


def plain(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def hybrid(out: Path) -> None:
    from nemo.collections.asr.models import EncDecHybridRNNTCTCModel

    torch.manual_seed(0)
    model = EncDecHybridRNNTCTCModel(cfg=OmegaConf.create(CONFIG)).eval()
    model.save_to(str(out / "hybrid_rnnt_ctc_char_tiny.nemo"))
    signal = waveform()
    with torch.no_grad():
        encoded, encoded_len = model.forward(
            input_signal=signal, input_signal_length=torch.tensor([signal.shape[1]])
        )
        rnnt_hyps, _ = model.decoding.rnnt_decoder_predictions_tensor(
            encoded, encoded_len, return_hypotheses=True
        )
        log_probs = model.ctc_decoder(encoder_output=encoded)
        ctc_hyps, _ = model.ctc_decoding.ctc_decoder_predictions_tensor(
            log_probs, decoder_lengths=encoded_len, return_hypotheses=True
        )
    expected = {
        "waveform": signal,
        "encoded": encoded,
        "encoded_len": encoded_len,
        "ctc_log_probs": log_probs,
        "rnnt_text": rnnt_hyps[0].text,
        "rnnt_tokens": [int(token) for token in rnnt_hyps[0].y_sequence],
        "ctc_text": ctc_hyps[0].text,
        "ctc_tokens": [int(token) for token in ctc_hyps[0].y_sequence],
        "state_dict_keys": sorted(model.state_dict()),
    }
    torch.save(plain(expected), out / "hybrid_rnnt_ctc_char_tiny.expected.pt")
    print("rnnt:", repr(expected["rnnt_text"]), "ctc:", repr(expected["ctc_text"]))


def hat_and_stateless(out: Path) -> None:
    from nemo.collections.asr.modules import HATJoint, StatelessTransducerDecoder

    torch.manual_seed(3)
    hat = HATJoint({"encoder_hidden": 6, "pred_hidden": 5, "joint_hidden": 7, "activation": "relu"}, 4).eval()
    f, g = torch.randn(2, 3, 6), torch.randn(2, 4, 5)
    with torch.no_grad():
        joint = hat.joint(f, g)
        hat.return_hat_ilm = True
        both = hat.joint(f, g)
    decoder = StatelessTransducerDecoder({"pred_hidden": 9}, 4, context_size=3).eval()
    targets = torch.tensor([[0, 2, 1, 3], [3, 3, 0, 1]])
    with torch.no_grad():
        forward, _, _ = decoder(targets=targets, target_length=torch.tensor([4, 4]))
        steps, state = [], None
        for column in range(targets.shape[1]):
            y, state = decoder.predict(targets[:, column : column + 1], state=state, add_sos=False)
            steps.append(y)
    expected = {
        "hat_state_dict": hat.state_dict(),
        "hat_f": f,
        "hat_g": g,
        "joint": joint,
        "hat_logprobs": both.hat_logprobs,
        "ilm_logprobs": both.ilm_logprobs,
        "stateless_state_dict": decoder.state_dict(),
        "targets": targets,
        "stateless_forward": forward,
        "stateless_steps": torch.cat(steps, dim=1),
    }
    torch.save(plain(expected), out / "hat_stateless.expected.pt")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    target.mkdir(parents=True, exist_ok=True)
    hybrid(target)
    hat_and_stateless(target)

"""Speed of a whole FastPitch model: ``generate_spectrogram`` and a training step.

The model has NeMo's fastpitch_align_v1.05 widths (384-d, 6 + 6 FFT layers, d_inner 1536, predictor filters
256, learned alignment), 22050 Hz, 80 mels, characters in (``EnglishCharsTokenizer``, so no G2P), no text
normalizer, seeded random weights; built from a config dict written here with NeMo 1.23's keys. The duration
predictor's output bias is set so that a token lasts about 7 frames, as in trained models (random weights
would predict almost nothing, and the decoder would run on a handful of frames). Each figure is the list of
``--repeats`` samples, in seconds, after ``--warmup`` untimed calls, with torch's default thread count:

* ``generate_spectrogram_s``: eval-mode ``generate_spectrogram`` under ``torch.no_grad``, pace 1.0, of 4 fixed
  sentences of about 120 tokens (``model.parse``, padded with the tokenizer's pad id).
* ``train_step_s``: what NeMo's ``FastPitchModel.training_step`` does for one batch of 4 x 3 s of seeded random
  audio and the same 4 sentences: preprocessor mels, ``forward`` with a beta-binomial alignment prior and a
  random pitch contour, the mel, duration, forward-sum, binarization and pitch losses, backward, AdamW step.
* ``fit_step_s``: the model's own ``training_step`` on the same batch (as the dict a ``TextToSpeechDataset``
  yields, which both sides' ``training_step`` take as it is), run by a real Lightning ``Trainer.fit`` (no
  logger, checkpoint or validation), timed from batch start to batch end: what a user's training run costs
  per step, with each side's own ``configure_optimizers`` (AdamW from ``optim``, no scheduler). The first
  ``--warmup`` steps are not timed.

* ``train_step_kernel_s`` (CPU only): of one ``train_step`` under ``torch.profiler``, the self time of the
  convolution and matrix-product kernels (forward and backward: ``mkldnn_convolution``, ``convolution_backward``,
  ``mm``, ``bmm``, ``addmm``), summed. Those kernels do the work the compute floor counts, at the rates torch
  reaches here; a step can be no faster than them unless it changes the arithmetic. (The profiler's own cost
  is outside these kernels.)

``spectrogram_frames`` (frames of the longest of the 4 generated spectrograms) and ``spectrogram_mean_abs``
show whether ours and NeMo's produced the same output from the same seed.

Uses only NeMo 1.23's public API, so the same script runs under NeMo 1.23 for comparison:

    python benchmarks/bench_tts_fastpitch.py [--repeats 3] [--device cpu]   # prints one JSON line
    python benchmarks/bench_tts_fastpitch.py --profile train                # + torch.profiler table on stderr
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable

import torch
from bench_asr_model import profile
from omegaconf import OmegaConf
from spread import rounded
from timing import fit_step_times, kernel_seconds, time_calls

SAMPLE_RATE = 22050
HOP_LENGTH = 256
D_MODEL = 384
TRAIN_SECONDS = 3.0
# Frames per token the duration predictor's bias aims at (about 12 characters per second of speech).
FRAMES_PER_TOKEN = 7.0
TEXT_TO_SPEECH_DATASET = "nemo.collections.tts.data.text_to_speech_dataset.TextToSpeechDataset"
TEXTS = (
    "The quick brown fox jumps over the lazy dog, while the patient old farmer watches it all "
    "from behind his wooden fence.",
    "She sells seashells by the seashore; the shells she sells are surely seashells, or so the sailors "
    "at the harbor say.",
    "In the middle of the night, a distant train whistled twice, and the whole sleepy valley woke up "
    "to listen for a third.",
    "Speech synthesis turns written words into sound: first a spectrogram, then a waveform that you "
    "can actually hear!",
)


def fft_block(n_embed_keys: bool) -> dict[str, object]:
    """An FFTransformer block's keys (``n_embed_keys``: the encoder's, with ``d_embed``; the model adds
    ``n_embed`` and ``padding_idx``)."""
    block = {
        "n_layer": 6,
        "n_head": 1,
        "d_model": D_MODEL,
        "d_head": 64,
        "d_inner": 1536,
        "kernel_size": 3,
        "dropout": 0.1,
        "dropatt": 0.1,
        "dropemb": 0.0,
    }
    return {**block, "d_embed": D_MODEL} if n_embed_keys else block


def predictor() -> dict[str, object]:
    """The duration or pitch predictor of fastpitch_align_v1.05."""
    return {
        "_target_": "nemo.collections.tts.modules.fastpitch.TemporalPredictor",
        "input_size": D_MODEL,
        "kernel_size": 3,
        "filter_size": 256,
        "dropout": 0.1,
        "n_layers": 2,
    }


# fastpitch_align_v1.05 with characters in, NeMo 1.23 config keys only. The training data is never set up
# (``defer_setup``): the model only reads which dataset class it is meant to train on.
MODEL_CONFIG = {
    "learn_alignment": True,
    "bin_loss_warmup_epochs": 100,
    "n_speakers": 1,
    "max_token_duration": 75,
    "symbols_embedding_dim": D_MODEL,
    "pitch_embedding_kernel_size": 3,
    "pitch_fmin": 65.40639132514966,
    "pitch_fmax": 2093.004522404789,
    "pitch_mean": 212.35873413085938,
    "pitch_std": 68.52806091308594,
    "sample_rate": SAMPLE_RATE,
    "n_mel_channels": 80,
    "n_window_size": 1024,
    "n_window_stride": HOP_LENGTH,
    "n_fft": 1024,
    "lowfreq": 0,
    "highfreq": 8000,
    "window": "hann",
    "text_tokenizer": {
        "_target_": "nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers.EnglishCharsTokenizer",
        "punct": True,
        "apostrophe": True,
        "pad_with_space": True,
    },
    "train_ds": {
        "dataset": {"_target_": "nemo.collections.tts.data.dataset.TTSDataset"},
        "dataloader_params": {"batch_size": 4},
        "defer_setup": True,
    },
    "preprocessor": {
        "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
        "features": 80,
        "lowfreq": 0,
        "highfreq": 8000,
        "n_fft": 1024,
        "n_window_size": 1024,
        "window_size": False,
        "n_window_stride": HOP_LENGTH,
        "window_stride": False,
        "pad_to": 1,
        "pad_value": 0,
        "sample_rate": SAMPLE_RATE,
        "window": "hann",
        "normalize": None,
        "preemph": None,
        "dither": 0.0,
        "frame_splicing": 1,
        "log": True,
        "log_zero_guard_type": "add",
        "log_zero_guard_value": 1e-05,
        "mag_power": 1.0,
    },
    "input_fft": {
        "_target_": "nemo.collections.tts.modules.transformer.FFTransformerEncoder",
        **fft_block(True),
    },
    "output_fft": {
        "_target_": "nemo.collections.tts.modules.transformer.FFTransformerDecoder",
        **fft_block(False),
    },
    "alignment_module": {
        "_target_": "nemo.collections.tts.modules.aligner.AlignmentEncoder",
        "n_text_channels": D_MODEL,
    },
    "duration_predictor": predictor(),
    "pitch_predictor": predictor(),
    "optim": {"name": "adamw", "lr": 1e-3, "betas": [0.9, 0.999], "weight_decay": 1e-6},
}


def build_model(device: torch.device) -> torch.nn.Module:
    """FastPitchModel of ``MODEL_CONFIG`` from seed 0, its duration bias aimed at ``FRAMES_PER_TOKEN``."""
    from nemo.collections.tts.models import FastPitchModel
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    torch.manual_seed(0)
    model = FastPitchModel(cfg=OmegaConf.create(MODEL_CONFIG))
    # log_to_duration: frames = exp(log_dur) - 1. The state-dict key is the public name of that bias.
    model.state_dict()["fastpitch.duration_predictor.fc.bias"].fill_(math.log1p(FRAMES_PER_TOKEN))
    return model.to(device)


def parsed_batch(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``TEXTS`` through ``model.parse`` (eval mode), right-padded with the pad id.

    Returns:
        tokens ``(4, T_text)`` int64 and their lengths ``(4,)``, on the model's device.
    """
    rows = [model.parse(text).squeeze(0) for text in TEXTS]
    lengths = torch.tensor([len(row) for row in rows], device=rows[0].device)
    tokens = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=model.vocab.pad)
    return tokens, lengths


def beta_binomial_prior(text_lens: torch.Tensor, mel_lens: torch.Tensor) -> torch.Tensor:
    """The alignment prior NeMo's TTSDataset gives each item: row ``t`` of an item is the beta-binomial pmf
    over its tokens with ``alpha = t + 1``, ``beta = mel_len - t`` (scaling factor 1), zero outside its lengths.

    Returns:
        ``(B, T_spec, T_text)`` float32, ``T_spec = max(mel_lens)``, ``T_text = max(text_lens)``.
    """
    prior = torch.zeros(len(text_lens), int(mel_lens.max()), int(text_lens.max()))
    for item, (n_tokens, n_frames) in enumerate(zip(text_lens.tolist(), mel_lens.tolist())):
        k = torch.arange(n_tokens, dtype=torch.float64)
        alpha = torch.arange(1, n_frames + 1, dtype=torch.float64).unsqueeze(1)
        beta = n_frames + 1 - alpha
        n = float(n_tokens - 1)
        log_choose = math.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
        log_beta_ratio = (
            torch.lgamma(k + alpha)
            + torch.lgamma(n - k + beta)
            - torch.lgamma(n + alpha + beta)
            - (torch.lgamma(alpha) + torch.lgamma(beta) - torch.lgamma(alpha + beta))
        )
        prior[item, :n_frames, :n_tokens] = (log_choose + log_beta_ratio).exp().float()
    return prior


def training_inputs(model: torch.nn.Module, device: torch.device) -> dict[str, torch.Tensor]:
    """The training batch: 4 x 3 s of seeded random audio, ``TEXTS``, an alignment prior and a pitch contour.

    Keys are those of a ``TextToSpeechDataset`` batch: ``audio``, ``audio_lens``, ``text``, ``text_lens``,
    ``align_prior_matrix`` (B, T_spec, T_text) and ``pitch`` (B, T_spec). Parses ``TEXTS`` in eval mode.
    """
    model.eval()
    tokens, text_lens = parsed_batch(model)
    generator = torch.Generator().manual_seed(0)
    n_samples = int(TRAIN_SECONDS * SAMPLE_RATE)
    audio = (0.1 * torch.randn(len(TEXTS), n_samples, generator=generator)).to(device)
    audio_lens = torch.full((len(TEXTS),), n_samples, dtype=torch.int64, device=device)
    with torch.no_grad():
        _, mel_lens = model.preprocessor(input_signal=audio, length=audio_lens)
    return {
        "audio": audio,
        "audio_lens": audio_lens,
        "text": tokens,
        "text_lens": text_lens,
        "align_prior_matrix": beta_binomial_prior(text_lens.cpu(), mel_lens.cpu()).to(device),
        "pitch": torch.randn(len(TEXTS), int(mel_lens.max()), generator=generator).to(device),
    }


def fastpitch_fit_step_times(
    model: torch.nn.Module, device: torch.device, repeats: int, warmup: int
) -> list[float]:
    """Seconds of each of ``repeats`` ``training_step`` batches of a real ``Trainer.fit``, after ``warmup``.

    Both sides' ``training_step`` take a dict batch as it is when the training dataset is NeMo's
    ``TextToSpeechDataset`` (``ds_class``).
    """
    batch = training_inputs(model, device)
    model.ds_class = TEXT_TO_SPEECH_DATASET
    model.train()
    return fit_step_times(model, [batch] * (warmup + repeats), device, warmup)


def workload(
    model: torch.nn.Module, device: torch.device
) -> tuple[Callable[[], torch.Tensor], Callable[[], None]]:
    """The two timed calls on their seeded inputs: ``generate_spectrogram`` and a training step.

    Parses ``TEXTS`` in eval mode; leaves the model in eval mode (the caller switches to train mode before the
    training step). The training step's AdamW is made here, over all the model's parameters.

    Returns:
        ``inference()`` (the generated spectrogram ``(4, 80, T_spec)``) and ``train_step()``.
    """
    inputs = training_inputs(model, device)
    tokens, text_lens = inputs["text"], inputs["text_lens"]
    audio, audio_lens = inputs["audio"], inputs["audio_lens"]
    attn_prior, pitch = inputs["align_prior_matrix"], inputs["pitch"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-6)
    # Past the binarization warm-up (bin_loss_warmup_epochs), the bin loss counts in full.
    bin_loss_weight = 1.0

    def inference() -> torch.Tensor:
        with torch.no_grad():
            return model.generate_spectrogram(tokens=tokens, pace=1.0)

    def train_step() -> None:
        mels, spec_len = model.preprocessor(input_signal=audio, length=audio_lens)
        (
            mels_pred,
            _,
            _,
            log_durs_pred,
            pitch_pred,
            attn_soft,
            attn_logprob,
            attn_hard,
            attn_hard_dur,
            pitch_tgt,
            energy_pred,
            energy_tgt,
        ) = model(
            text=tokens,
            durs=None,
            pitch=pitch,
            energy=None,
            speaker=None,
            pace=1.0,
            spec=mels,
            attn_prior=attn_prior,
            mel_lens=spec_len,
            input_lens=text_lens,
        )
        loss = model.mel_loss_fn(spect_predicted=mels_pred, spect_tgt=mels)
        loss = loss + model.duration_loss_fn(
            log_durs_predicted=log_durs_pred, durs_tgt=attn_hard_dur, len=text_lens
        )
        loss = loss + model.forward_sum_loss_fn(
            attn_logprob=attn_logprob, in_lens=text_lens, out_lens=spec_len
        )
        loss = loss + bin_loss_weight * model.bin_loss_fn(hard_attention=attn_hard, soft_attention=attn_soft)
        loss = loss + model.pitch_loss_fn(pitch_predicted=pitch_pred, pitch_tgt=pitch_tgt, len=text_lens)
        loss = loss + model.energy_loss_fn(
            energy_predicted=energy_pred, energy_tgt=energy_tgt, length=text_lens
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return inference, train_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--profile", choices=("train", "inference"), help="also profile one step and print the top ops"
    )
    parser.add_argument("--profile-rows", type=int, default=25)
    args = parser.parse_args()
    device = torch.device(args.device)

    model = build_model(device)
    inference, train_step = workload(model, device)
    spectrogram = inference()
    frames = int(spectrogram.shape[-1])
    mean_abs = float(spectrogram.abs().mean())
    generate_s = time_calls(inference, args.repeats, args.warmup, device)
    if args.profile == "inference":
        profile(inference, args.profile_rows)
    model.train()
    train_s = time_calls(train_step, args.repeats, args.warmup, device)
    if args.profile == "train":
        profile(train_step, args.profile_rows)
    kernel_s = kernel_seconds(train_step) if device.type == "cpu" else None
    fit_s = fastpitch_fit_step_times(model, device, args.repeats, args.warmup)
    print(
        json.dumps(
            {
                "params": sum(p.numel() for p in model.parameters()),
                "spectrogram_frames": frames,
                "spectrogram_mean_abs": round(mean_abs, 4),
                "generate_spectrogram_s": rounded(generate_s, 3),
                "train_step_s": rounded(train_s, 3),
                "fit_step_s": rounded(fit_s, 3),
                **({"train_step_kernel_s": [round(kernel_s, 3)]} if kernel_s is not None else {}),
            }
        )
    )


if __name__ == "__main__":
    main()

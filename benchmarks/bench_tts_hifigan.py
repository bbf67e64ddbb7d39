"""Speed of a whole HiFi-GAN model: ``convert_spectrogram_to_audio`` and a training step.

The model is NeMo's hifigan.yaml with generator v1 (512 initial channels, upsampling 8 x 8 x 2 x 2), 22050 Hz,
80 mels, its ``FilterbankFeatures`` preprocessor, seeded random weights; built from a config dict written here
with NeMo 1.23's keys. Each figure is the list of ``--repeats`` samples, in seconds, after ``--warmup`` untimed
calls, with torch's default thread count:

* ``convert_spectrogram_to_audio_s``: eval-mode ``convert_spectrogram_to_audio`` under ``torch.no_grad`` of one
  seeded random log-mel spectrogram of 256 frames (65536 samples out, about 3 s).
* ``train_step_s``: what NeMo's ``HifiGanModel.training_step`` does for one batch of 2 x 8192-sample segments of
  seeded random audio, through the model's public attributes: mels of the input and target, the generator,
  the discriminator step (``mpd``, ``msd``, ``discriminator_loss``, AdamW) then the generator step
  (``feature_loss``, ``generator_loss``, mel L1 times 45, AdamW).
* ``fit_step_s``: the model's own ``training_step`` on the same kind of batches, run by a real Lightning
  ``Trainer.fit`` (CPU, no logger, checkpoint or validation), timed from batch start to batch end: what a user's
  training run costs per step, including whatever each side's ``training_step`` does beyond the steps above.
  The first ``--warmup`` steps are not timed; the optimizers come from ``configure_optimizers`` (no scheduler).

``audio_mean_abs`` (of the converted audio) shows whether ours and NeMo's produced the same output from the
same seed (which also needs both to draw the random weights in the same order).

Uses only NeMo 1.23's public API, so the same script runs under NeMo 1.23 for comparison:

    python benchmarks/bench_tts_hifigan.py [--repeats 3] [--device cpu]   # prints one JSON line
    python benchmarks/bench_tts_hifigan.py --profile train                 # + torch.profiler table on stderr
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable

import torch
import torch.nn.functional as F
from bench_asr_model import profile
from omegaconf import OmegaConf
from spread import rounded
from timing import fit_step_times, time_calls

SAMPLE_RATE = 22050
N_MELS = 80
INFERENCE_FRAMES = 256
TRAIN_BATCH = 2
TRAIN_SEGMENT = 8192
L1_LOSS_FACTOR = 45

# hifigan.yaml with model/generator: v1, NeMo 1.23 config keys only. The training data is never set up
# (``defer_setup``): the model only reads which dataset class it is meant to train on.
MODEL_CONFIG = {
    "preprocessor": {
        "_target_": "nemo.collections.asr.parts.preprocessing.features.FilterbankFeatures",
        "nfilt": N_MELS,
        "lowfreq": 0,
        "highfreq": 8000,
        "n_fft": 1024,
        "n_window_size": 1024,
        "n_window_stride": 256,
        "pad_to": 0,
        "pad_value": -11.52,
        "sample_rate": SAMPLE_RATE,
        "window": "hann",
        "normalize": None,
        "preemph": None,
        "dither": 0.0,
        "frame_splicing": 1,
        "log": True,
        "log_zero_guard_type": "clamp",
        "log_zero_guard_value": 1e-05,
        "mag_power": 1.0,
        "use_grads": False,
        "exact_pad": True,
    },
    "generator": {
        "_target_": "nemo.collections.tts.modules.hifigan_modules.Generator",
        "resblock": 1,
        "upsample_rates": [8, 8, 2, 2],
        "upsample_kernel_sizes": [16, 16, 4, 4],
        "upsample_initial_channel": 512,
        "resblock_kernel_sizes": [3, 7, 11],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    },
    "train_ds": {
        "dataset": {"_target_": "nemo.collections.tts.data.dataset.VocoderDataset"},
        "dataloader_params": {"batch_size": TRAIN_BATCH},
        "defer_setup": True,
    },
    "optim": {"_target_": "torch.optim.AdamW", "lr": 0.0002, "betas": [0.8, 0.99]},
    "max_steps": 2500000,
    "l1_loss_factor": L1_LOSS_FACTOR,
    "denoise_strength": 0.0025,
}


def build_model(device: torch.device) -> torch.nn.Module:
    """HifiGanModel of ``MODEL_CONFIG`` from seed 0."""
    from nemo.collections.tts.models import HifiGanModel
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    torch.manual_seed(0)
    return HifiGanModel(cfg=OmegaConf.create(MODEL_CONFIG)).to(device)


def workload(
    model: torch.nn.Module, device: torch.device
) -> tuple[Callable[[], torch.Tensor], Callable[[], None]]:
    """The two timed calls on their seeded inputs: ``convert_spectrogram_to_audio`` and a training step.

    The training step's two AdamW optimizers are made here, as ``HifiGanModel.configure_optimizers`` makes
    them: one over the generator, one over both discriminators.

    Returns:
        ``inference()`` (the audio ``(1, 65536)``) and ``train_step()``.
    """
    generator = torch.Generator().manual_seed(0)
    spec = (torch.randn(1, N_MELS, INFERENCE_FRAMES, generator=generator) - 5.0).to(device)
    audio = (0.1 * torch.randn(TRAIN_BATCH, TRAIN_SEGMENT, generator=generator)).to(device)
    audio_len = torch.full((TRAIN_BATCH,), TRAIN_SEGMENT, dtype=torch.int64, device=device)
    optim_g = torch.optim.AdamW(model.generator.parameters(), lr=0.0002, betas=(0.8, 0.99))
    optim_d = torch.optim.AdamW(
        itertools.chain(model.msd.parameters(), model.mpd.parameters()), lr=0.0002, betas=(0.8, 0.99)
    )

    def inference() -> torch.Tensor:
        with torch.no_grad():
            return model.convert_spectrogram_to_audio(spec=spec)

    def train_step() -> None:
        audio_mel, _ = model.audio_to_melspec_precessor(audio, audio_len)
        audio_trg_mel, _ = model.trg_melspec_fn(audio, audio_len)
        real = audio.unsqueeze(1)
        audio_pred = model.generator(x=audio_mel)
        audio_pred_mel, _ = model.trg_melspec_fn(audio_pred.squeeze(1), audio_len)

        optim_d.zero_grad()
        mpd_score_real, mpd_score_gen, _, _ = model.mpd(y=real, y_hat=audio_pred.detach())
        loss_disc_mpd, _, _ = model.discriminator_loss(
            disc_real_outputs=mpd_score_real, disc_generated_outputs=mpd_score_gen
        )
        msd_score_real, msd_score_gen, _, _ = model.msd(y=real, y_hat=audio_pred.detach())
        loss_disc_msd, _, _ = model.discriminator_loss(
            disc_real_outputs=msd_score_real, disc_generated_outputs=msd_score_gen
        )
        (loss_disc_msd + loss_disc_mpd).backward()
        optim_d.step()

        optim_g.zero_grad()
        loss_mel = F.l1_loss(audio_pred_mel, audio_trg_mel)
        _, mpd_score_gen, fmap_mpd_real, fmap_mpd_gen = model.mpd(y=real, y_hat=audio_pred)
        _, msd_score_gen, fmap_msd_real, fmap_msd_gen = model.msd(y=real, y_hat=audio_pred)
        loss_fm_mpd = model.feature_loss(fmap_r=fmap_mpd_real, fmap_g=fmap_mpd_gen)
        loss_fm_msd = model.feature_loss(fmap_r=fmap_msd_real, fmap_g=fmap_msd_gen)
        loss_gen_mpd, _ = model.generator_loss(disc_outputs=mpd_score_gen)
        loss_gen_msd, _ = model.generator_loss(disc_outputs=msd_score_gen)
        loss_g = loss_gen_msd + loss_gen_mpd + loss_fm_msd + loss_fm_mpd + loss_mel * L1_LOSS_FACTOR
        loss_g.backward()
        optim_g.step()

    return inference, train_step


def hifigan_fit_step_times(
    model: torch.nn.Module, device: torch.device, repeats: int, warmup: int
) -> list[float]:
    """Seconds of each of ``repeats`` ``training_step`` batches of a real ``Trainer.fit``, after ``warmup``."""
    generator = torch.Generator().manual_seed(1)
    batches = [
        (
            0.1 * torch.randn(TRAIN_BATCH, TRAIN_SEGMENT, generator=generator),
            torch.full((TRAIN_BATCH,), TRAIN_SEGMENT),
        )
        for _ in range(warmup + repeats)
    ]
    return fit_step_times(model, batches, device, warmup)


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
    model.eval()
    converted = inference()
    mean_abs = float(converted.abs().mean())
    convert_s = time_calls(inference, args.repeats, args.warmup, device)
    if args.profile == "inference":
        profile(inference, args.profile_rows)
    model.train()
    train_s = time_calls(train_step, args.repeats, args.warmup, device)
    if args.profile == "train":
        profile(train_step, args.profile_rows)
    fit_s = hifigan_fit_step_times(model, device, args.repeats, args.warmup)
    print(
        json.dumps(
            {
                "params": sum(p.numel() for p in model.parameters()),
                "generator_params": sum(p.numel() for p in model.generator.parameters()),
                "audio_samples": int(converted.shape[-1]),
                "audio_mean_abs": round(mean_abs, 5),
                "convert_spectrogram_to_audio_s": rounded(convert_s, 3),
                "train_step_s": rounded(train_s, 3),
                "fit_step_s": rounded(fit_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Build ``hifigan_v3_16k_tiny.nemo`` and ``hifigan_v3_16k_tiny.io.pt`` with real NeMo 1.23.

This script runs NeMo 1.23 (it is not imported by the tests, which never need NeMo). Run it from a scratch folder
with the Python that has NeMo 1.23 installed::

    /tmp/nemo-ref/bin/python make_hifigan_v3_fixture.py OUT_DIR

The model is NeMo's ``HifiGanModel`` built from ``examples/tts/conf/hifigan/hifigan.yaml`` with the
``model/generator/v3.yaml`` generator (resblock 2, upsample 8-8-4, kernels 3-5-7, dilations 1-2 / 2-6 /
3-12), narrowed to ``upsample_initial_channel`` 32, at 16 kHz (n_fft 1024, window 1024, hop 256, highfreq
null), with seeded random weights. As in the shared ``hifigan_tiny`` fixture, the full-size discriminators
(``mpd.*``, ``msd.*``) are written as constant 0.01 tensors with stride 0 so that the archive stays small;
inference never uses them.

``io.pt`` (from the model in ``eval()`` under ``torch.inference_mode()``): ``spec`` (2, 80, 20) random
log-mel-like input and ``audio`` = ``convert_spectrogram_to_audio(spec=spec)``; ``spec_0_half`` /
``audio_0_half`` (first item, first 10 frames); ``signal`` (2, 8000) noise plus a tone, ``signal_len``
[8000, 5000] -> ``mel``, ``mel_len`` = ``audio_to_melspec_precessor(signal, signal_len)``; ``sample_rate``,
``hop_length``.
"""

import sys
from pathlib import Path

import torch
from nemo.collections.tts.models import HifiGanModel
from omegaconf import OmegaConf

NAME = "hifigan_v3_16k_tiny"
SEED = 1234

CONFIG = {
    "preprocessor": {
        "_target_": "nemo.collections.asr.parts.preprocessing.features.FilterbankFeatures",
        "nfilt": 80,
        "lowfreq": 0,
        "highfreq": None,
        "n_fft": 1024,
        "n_window_size": 1024,
        "n_window_stride": 256,
        "pad_to": 0,
        "pad_value": -11.52,
        "sample_rate": 16000,
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
    "optim": {
        "_target_": "torch.optim.AdamW",
        "lr": 0.0002,
        "betas": [0.8, 0.99],
        "sched": {"name": "CosineAnnealing", "min_lr": 1e-05, "warmup_ratio": 0.02},
    },
    "max_steps": 2500000,
    "l1_loss_factor": 45,
    "denoise_strength": 0.0025,
    "generator": {
        "_target_": "nemo.collections.tts.modules.hifigan_modules.Generator",
        "resblock": 2,
        "upsample_rates": [8, 8, 4],
        "upsample_kernel_sizes": [16, 16, 8],
        "upsample_initial_channel": 32,
        "resblock_kernel_sizes": [3, 5, 7],
        "resblock_dilation_sizes": [[1, 2], [2, 6], [3, 12]],
    },
    "train_ds": {
        "defer_setup": True,
        "dataset": {
            "_target_": "nemo.collections.tts.data.dataset.VocoderDataset",
            "manifest_filepath": "dummy_train_manifest.json",
            "sample_rate": 16000,
            "n_segments": 8192,
            "max_duration": None,
            "min_duration": 0.75,
        },
        "dataloader_params": {"drop_last": False, "shuffle": True, "batch_size": 2, "num_workers": 0},
    },
    "validation_ds": {
        "defer_setup": True,
        "dataset": {
            "_target_": "nemo.collections.tts.data.dataset.VocoderDataset",
            "manifest_filepath": "dummy_val_manifest.json",
            "sample_rate": 16000,
            "n_segments": 66048,
            "max_duration": None,
            "min_duration": 3,
        },
        "dataloader_params": {"drop_last": False, "shuffle": False, "batch_size": 2, "num_workers": 0},
    },
}


def _small_state_dict(model: HifiGanModel) -> dict:
    """The model's state dict with each discriminator tensor replaced by a stride-0 constant of its shape."""
    state = model.state_dict()
    for key, value in state.items():
        if key.startswith(("mpd.", "msd.")):
            state[key] = torch.full((1,), 0.01, dtype=value.dtype).expand(value.shape)
    return state


def main(out_dir: Path) -> None:
    torch.manual_seed(SEED)
    model = HifiGanModel(cfg=OmegaConf.create(CONFIG)).eval()
    small = _small_state_dict(model)
    model.state_dict = lambda *args, **kwargs: small
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_to(str(out_dir / f"{NAME}.nemo"))

    generator = torch.Generator().manual_seed(SEED)
    spec = torch.randn(2, 80, 20, generator=generator) * 2.0 - 5.0
    time = torch.arange(8000) / 16000
    signal = 0.3 * torch.sin(2 * torch.pi * 220 * time) + 0.05 * torch.randn(2, 8000, generator=generator)
    signal_len = torch.tensor([8000, 5000])
    with torch.inference_mode():
        audio = model.convert_spectrogram_to_audio(spec=spec)
        audio_half = model.convert_spectrogram_to_audio(spec=spec[:1, :, :10])
        mel, mel_len = model.audio_to_melspec_precessor(signal, signal_len)
    torch.save(
        {
            "spec": spec,
            "audio": audio.clone(),
            "spec_0_half": spec[:1, :, :10].clone(),
            "audio_0_half": audio_half.clone(),
            "signal": signal,
            "signal_len": signal_len,
            "mel": mel.clone(),
            "mel_len": mel_len.clone(),
            "sample_rate": 16000,
            "hop_length": 256,
            "seed": SEED,
        },
        out_dir / f"{NAME}.io.pt",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))

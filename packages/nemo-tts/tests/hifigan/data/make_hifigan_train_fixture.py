"""Build ``hifigan_train_tiny.nemo`` and ``hifigan_train_tiny.io.pt``: two GAN training steps of real NeMo 1.23.

This script runs NeMo 1.23 (the tests never import NeMo). Run it from a scratch folder with the Python that has
NeMo 1.23 installed, from the repository root's ``data/asterisk`` speech::

    /tmp/nemo-ref/bin/python make_hifigan_train_fixture.py REPO_ROOT OUT_DIR

The model is NeMo's ``HifiGanModel`` with a small generator (resblock 1, upsample 8-8-4, 32 channels,
kernels 3 and 7) at 16 kHz (n_fft 1024, hop 256), NeMo's ``debug`` discriminators, AdamW (lr 2e-4, betas
0.8/0.99) and CosineAnnealing with ``warmup_ratio`` 0.1 of ``max_steps`` 20, seeded random weights. The archive
holds the weights before training. ``io.pt``: ``audio`` (2, 4096) float32, the first 4096 samples of the first
two clips of ``data/asterisk/train_manifest.json``, and ``audio_len``; NeMo's Lightning ``Trainer`` then runs
``training_step`` twice on the batch ``(audio, audio_len)`` (CPU, one thread, ``max_epochs=1``). Saved:
``after`` (a dict of selected parameters and spectral-norm vectors after the two steps) and ``metrics`` (the
values NeMo logged at the last step, as floats).
"""

import json
import sys
from pathlib import Path

import pytorch_lightning as pl
import soundfile as sf
import torch
from nemo.collections.tts.models import HifiGanModel
from omegaconf import OmegaConf

NAME = "hifigan_train_tiny"
SEED = 7
SEGMENT = 4096
KEYS = (
    "generator.conv_pre.weight_v",
    "generator.conv_pre.weight_g",
    "generator.ups.0.weight_v",
    "generator.resblocks.2.1.convs1.2.weight_v",
    "generator.conv_post.weight_v",
    "generator.conv_post.bias",
    "mpd.discriminators.0.convs.0.weight_v",
    "mpd.discriminators.4.conv_post.weight_g",
    "msd.discriminators.0.convs.1.weight_orig",
    "msd.discriminators.0.convs.1.weight_u",
    "msd.discriminators.0.conv_post.weight_v",
    "msd.discriminators.1.convs.2.weight_v",
    "msd.discriminators.2.convs.6.bias",
)

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
    "generator": {
        "_target_": "nemo.collections.tts.modules.hifigan_modules.Generator",
        "resblock": 1,
        "upsample_rates": [8, 8, 4],
        "upsample_kernel_sizes": [16, 16, 8],
        "upsample_initial_channel": 32,
        "resblock_kernel_sizes": [3, 7],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
    },
    "debug": True,
    "optim": {
        "_target_": "torch.optim.AdamW",
        "lr": 0.0002,
        "betas": [0.8, 0.99],
        "sched": {"name": "CosineAnnealing", "min_lr": 1e-05, "warmup_ratio": 0.1},
    },
    "max_steps": 20,
    "l1_loss_factor": 45,
    "train_ds": {
        "defer_setup": True,
        "dataset": {
            "_target_": "nemo.collections.tts.data.dataset.VocoderDataset",
            "manifest_filepath": "dummy_train_manifest.json",
            "sample_rate": 16000,
            "n_segments": SEGMENT,
        },
        "dataloader_params": {"drop_last": False, "shuffle": True, "batch_size": 2, "num_workers": 0},
    },
}


def main(repo_root: Path, out_dir: Path) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    model = HifiGanModel(cfg=OmegaConf.create(CONFIG))
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_to(str(out_dir / f"{NAME}.nemo"))

    asterisk = repo_root / "data" / "asterisk"
    clips = []
    for line in (asterisk / "train_manifest.json").read_text().splitlines()[:2]:
        audio, rate = sf.read(asterisk / json.loads(line)["audio_filepath"], dtype="float32")
        assert rate == 16000
        clips.append(torch.from_numpy(audio[:SEGMENT].copy()))
    audio = torch.stack(clips)
    audio_len = torch.tensor([SEGMENT, SEGMENT])
    loader = torch.utils.data.DataLoader([(audio, audio_len)] * 2, batch_size=None)
    model._train_dl = loader
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, train_dataloaders=loader)
    state = model.state_dict()
    torch.save(
        {
            "audio": audio,
            "audio_len": audio_len,
            "after": {key: state[key].clone() for key in KEYS},
            "metrics": {key: float(value) for key, value in trainer.callback_metrics.items()},
            "seed": SEED,
        },
        out_dir / f"{NAME}.io.pt",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

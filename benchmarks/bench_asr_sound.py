"""Speed of the sound-classification models: MatchboxNet (keyword spotting) and TitaNet-S (speaker embeddings).

``EncDecClassificationModel`` is built from NeMo's matchboxnet_3x1x64_v1 config (30 words, MFCC in, crop or pad
to 128 frames) and ``EncDecSpeakerLabelModel`` from titanet-small (filters 256, SE blocks, 3072-channel last
block, attentive pooling, 192-d embeddings, 7205 speakers, angular margin loss), read from the copies with NeMo's
keys in ``packages/nemo-asr/src/nemo/collections/asr/conf/`` (NeMo 1.23 does not ship them in its package). Only
the data sections are replaced (no manifests: ``train_ds`` keeps its sample rate, set up later). Weights are
seeded random (``torch.manual_seed(0)`` before each model), inputs are seeded random audio. Each figure is the
list of ``--repeats`` samples, in seconds, after ``--warmup`` untimed calls, with torch's default thread count:

* ``*_inference_s``: eval-mode ``forward(input_signal, input_signal_length)`` under ``torch.inference_mode``,
  MatchboxNet on 16 x 1 s, TitaNet on 4 x 3 s.
* ``*_train_step_s``: train-mode ``forward`` (SpecAugment on) + the model's own ``loss`` + backward + AdamW step,
  on the same batch with seeded random labels.
* ``*_train_step_kernel_s`` (CPU only): of one such step under ``torch.profiler``, the self time of the
  convolution and matrix-product kernels (``timing.KERNELS``): what the step costs if everything around the
  kernels took no time, so the most any code running the same kernels could gain over NeMo's step.
* ``*_fit_step_s``: the model's own ``training_step`` on that batch (the ``(audio, audio_len, label, label_len)``
  tuple its datasets yield), run by a real Lightning ``Trainer.fit`` (no logger, checkpoint or validation),
  with each side's own ``configure_optimizers`` (the config's ``optim``: NovoGrad for MatchboxNet, SGD for
  TitaNet, no scheduler), timed from batch start to batch end.
* ``titanet_get_embedding_s``: ``get_embedding`` of one 3 s wav file, read from disk each call.

``matchboxnet_logits_mean_abs``, ``titanet_logits_mean_abs`` and ``titanet_embedding_mean_abs`` summarize the
eval-mode outputs from seed 0, before any training step: equal on both sides, the two built the same weights
and computed the same outputs.

Uses only NeMo 1.23's public API, so the same script runs under NeMo 1.23 for comparison (NeMo's MFCC
preprocessor needs torchaudio in that venv):

    python benchmarks/bench_asr_sound.py [--repeats 3] [--device cpu]          # prints one JSON line
    python benchmarks/bench_asr_sound.py --profile titanet_train             # + torch.profiler table on stderr
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from bench_asr_model import profile
from omegaconf import DictConfig, OmegaConf
from spread import rounded
from timing import fit_step_times, kernel_seconds, time_calls

SAMPLE_RATE = 16000
CONF = Path(__file__).resolve().parents[1] / "packages/nemo-asr/src/nemo/collections/asr/conf"
PROFILED = ("matchboxnet_inference", "matchboxnet_train", "titanet_inference", "titanet_train")


def model_config(name: str, overrides: dict[str, object]) -> DictConfig:
    """The ``model`` section of ``CONF/<name>.yaml`` with ``overrides`` (dotted keys under ``model``) applied.

    Interpolations are resolved; ``validation_ds`` and ``test_ds`` are dropped and ``train_ds`` holds only its
    sample rate and labels with ``defer_setup`` (both sides' ``ModelPT`` then set up no data).
    """
    root = OmegaConf.load(CONF / f"{name}.yaml")
    for key, value in overrides.items():
        OmegaConf.update(root, f"model.{key}", value, merge=False)
    root.model.train_ds = {
        "manifest_filepath": None,
        "sample_rate": SAMPLE_RATE,
        "labels": root.model.train_ds.labels,
        "defer_setup": True,
    }
    for section in ("validation_ds", "test_ds"):
        root.model.pop(section, None)
    OmegaConf.resolve(root)
    return root.model


def build(cls_name: str, cfg: DictConfig, device: torch.device) -> torch.nn.Module:
    """``nemo.collections.asr.models.<cls_name>(cfg)`` from seed 0, on ``device``."""
    from nemo.collections.asr import models

    torch.manual_seed(0)
    return getattr(models, cls_name)(cfg=cfg).to(device)


def random_batch(
    batch: int, seconds: float, classes: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Seeded ``(audio (B, T), audio_len (B,), label (B,), label_len (B,))``, the tuple the label datasets yield."""
    generator = torch.Generator().manual_seed(0)
    samples = int(seconds * SAMPLE_RATE)
    audio = 0.1 * torch.randn(batch, samples, generator=generator)
    labels = torch.randint(0, classes, (batch,), generator=generator)
    ones = torch.ones(batch, dtype=torch.int64)
    return audio.to(device), torch.full((batch,), samples).to(device), labels.to(device), ones.to(device)


def logits_of(outputs: object) -> torch.Tensor:
    """The logits of a ``forward``: MatchboxNet returns them alone, TitaNet ``(logits, embeddings)``."""
    return outputs[0] if isinstance(outputs, tuple) else outputs


def steps(
    model: torch.nn.Module, batch: tuple[torch.Tensor, ...]
) -> tuple[Callable[[], object], Callable[[], None]]:
    """``inference()`` (eval-mode forward's outputs) and ``train_step()`` on ``batch``, with a fresh AdamW."""
    audio, audio_len, labels, _ = batch
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def inference() -> object:
        with torch.inference_mode():
            return model.forward(input_signal=audio, input_signal_length=audio_len)

    def train_step() -> None:
        logits = logits_of(model.forward(input_signal=audio, input_signal_length=audio_len))
        loss = model.loss(logits=logits, labels=labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return inference, train_step


def measure(
    prefix: str, model: torch.nn.Module, batch: tuple[torch.Tensor, ...], args: argparse.Namespace
) -> dict[str, object]:
    """Output summary of seed 0, then inference, train step and ``Trainer.fit`` step times, named ``prefix_*``.

    Leaves the model in train mode, its weights trained.
    """
    device = torch.device(args.device)
    inference, train_step = steps(model, batch)
    model.eval()
    outputs = inference()
    figures: dict[str, object] = {
        f"{prefix}_params": sum(p.numel() for p in model.parameters()),
        f"{prefix}_logits_mean_abs": round(float(logits_of(outputs).abs().mean()), 4),
    }
    if isinstance(outputs, tuple):
        figures[f"{prefix}_embedding_mean_abs"] = round(float(outputs[1].abs().mean()), 4)
    figures[f"{prefix}_inference_s"] = rounded(time_calls(inference, args.repeats, args.warmup, device), 4)
    if args.profile == f"{prefix}_inference":
        profile(inference, args.profile_rows)
    model.train()
    figures[f"{prefix}_train_step_s"] = rounded(time_calls(train_step, args.repeats, args.warmup, device), 4)
    if device.type == "cpu":
        figures[f"{prefix}_train_step_kernel_s"] = [round(kernel_seconds(train_step), 4)]
    if args.profile == f"{prefix}_train":
        profile(train_step, args.profile_rows)
    batches = [batch] * (args.warmup + args.repeats)
    figures[f"{prefix}_fit_step_s"] = rounded(fit_step_times(model, batches, device, args.warmup), 4)
    return figures


def embedding_seconds(model: torch.nn.Module, seconds: float, args: argparse.Namespace) -> list[float]:
    """Times of ``get_embedding`` of one ``seconds``-long 16-bit wav file of seeded noise."""
    generator = torch.Generator().manual_seed(1)
    audio = (0.1 * torch.randn(int(seconds * SAMPLE_RATE), generator=generator)).numpy().astype(np.float32)
    model.eval()
    with tempfile.TemporaryDirectory(prefix="bench_asr_sound_") as folder:
        path = str(Path(folder) / "speaker.wav")
        sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
        return time_calls(
            lambda: model.get_embedding(path), args.repeats, args.warmup, torch.device(args.device)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--profile", choices=PROFILED, help="also profile one step and print the top ops")
    parser.add_argument("--profile-rows", type=int, default=25)
    parser.add_argument("--matchboxnet-batch", type=int, default=16, help="files of 1 s")
    parser.add_argument("--titanet-batch", type=int, default=4)
    parser.add_argument("--titanet-seconds", type=float, default=3.0)
    parser.add_argument(
        "--titanet-filters", type=int, default=256, help="block width; the last block gets 12 times as many"
    )
    parser.add_argument("--titanet-speakers", type=int, default=7205)
    args = parser.parse_args()
    device = torch.device(args.device)

    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    matchboxnet_cfg = model_config("matchboxnet_3x1x64_v1", {})
    matchboxnet = build("EncDecClassificationModel", matchboxnet_cfg, device)
    batch = random_batch(args.matchboxnet_batch, 1.0, len(matchboxnet_cfg.labels), device)
    figures = measure("matchboxnet", matchboxnet, batch, args)
    del matchboxnet

    titanet_cfg = model_config(
        "titanet-small",
        {
            "model_defaults.filters": args.titanet_filters,
            "decoder.feat_in": 12 * args.titanet_filters,
            "decoder.num_classes": args.titanet_speakers,
        },
    )
    titanet = build("EncDecSpeakerLabelModel", titanet_cfg, device)
    batch = random_batch(args.titanet_batch, args.titanet_seconds, args.titanet_speakers, device)
    figures.update(measure("titanet", titanet, batch, args))
    figures["titanet_get_embedding_s"] = rounded(embedding_seconds(titanet, args.titanet_seconds, args), 4)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

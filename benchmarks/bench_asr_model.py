"""Speed of a whole Conformer-CTC small model: training step, inference forward and ``transcribe``.

The model is NeMo's conformer_ctc_char config with d_model 176, 4 heads and 16 layers, dither 0 and no
SpecAugment, built from a config dict written here (NeMo 1.23 does not ship our YAML). Each figure is the list
of ``--repeats`` samples, in seconds, after ``--warmup`` untimed calls, with torch's default thread count:

* ``train_step_s``: forward + CTC loss + backward + AdamW step, batch 4 x 8 s of random audio, random targets.
* ``inference_forward_s``: eval-mode ``forward`` under ``torch.no_grad``, batch 8 x 10 s.
* ``transcribe_16x5s_s``: ``model.transcribe`` of 16 wav files of 5 s each, ``batch_size=4``.

Uses only NeMo 1.23's public API, so the same script runs under NeMo 1.23 for comparison:

    python benchmarks/bench_asr_model.py [--repeats 3] [--device cpu]        # prints one JSON line
    python benchmarks/bench_asr_model.py --profile train                   # + torch.profiler table on stderr
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from omegaconf import OmegaConf
from spread import rounded
from timing import time_calls

SAMPLE_RATE = 16000
LABELS = [" ", *"abcdefghijklmnopqrstuvwxyz", "'"]

# Conformer-CTC small over characters, NeMo 1.23 config keys only.
MODEL_CONFIG = {
    "sample_rate": SAMPLE_RATE,
    "labels": LABELS,
    "ctc_reduction": "mean_batch",
    "preprocessor": {
        "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
        "sample_rate": SAMPLE_RATE,
        "normalize": "per_feature",
        "window_size": 0.025,
        "window_stride": 0.01,
        "window": "hann",
        "features": 80,
        "n_fft": 512,
        "log": True,
        "frame_splicing": 1,
        "dither": 0.0,
        "pad_to": 0,
        "pad_value": 0.0,
    },
    "encoder": {
        "_target_": "nemo.collections.asr.modules.ConformerEncoder",
        "feat_in": 80,
        "feat_out": -1,
        "n_layers": 16,
        "d_model": 176,
        "subsampling": "striding",
        "subsampling_factor": 4,
        "subsampling_conv_channels": -1,
        "ff_expansion_factor": 4,
        "self_attention_model": "rel_pos",
        "n_heads": 4,
        "att_context_size": [-1, -1],
        "xscaling": True,
        "untie_biases": True,
        "pos_emb_max_len": 5000,
        "conv_kernel_size": 31,
        "conv_norm_type": "batch_norm",
        "dropout": 0.1,
        "dropout_pre_encoder": 0.1,
        "dropout_emb": 0.0,
        "dropout_att": 0.1,
    },
    "decoder": {
        "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
        "feat_in": 176,
        "num_classes": len(LABELS),
        "vocabulary": LABELS,
    },
    "decoding": {"strategy": "greedy"},
}


def profile(step: Callable[[], object], rows: int) -> None:
    """Run ``step`` once under ``torch.profiler`` and print the ops with the most self CPU time to stderr."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows), file=sys.stderr)


def write_wavs(folder: Path, count: int, seconds: float, generator: torch.Generator) -> list[str]:
    """``count`` mono 16-bit wav files of quiet random noise; returns their paths."""
    paths = []
    for index in range(count):
        audio = 0.1 * torch.randn(int(seconds * SAMPLE_RATE), generator=generator)
        path = folder / f"noise_{index:02d}.wav"
        sf.write(str(path), audio.numpy().astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        paths.append(str(path))
    return paths


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

    from nemo.collections.asr.models import EncDecCTCModel
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    torch.manual_seed(0)
    model = EncDecCTCModel(cfg=OmegaConf.create(MODEL_CONFIG)).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    generator = torch.Generator().manual_seed(0)
    train_signal = torch.randn(4, 8 * SAMPLE_RATE, generator=generator).to(device)
    train_length = torch.full((4,), 8 * SAMPLE_RATE, dtype=torch.int64, device=device)
    targets = torch.randint(0, len(LABELS), (4, 60), generator=generator).to(device)
    target_length = torch.tensor([60, 55, 50, 45], dtype=torch.int64, device=device)
    infer_signal = torch.randn(8, 10 * SAMPLE_RATE, generator=generator).to(device)
    infer_length = torch.full((8,), 10 * SAMPLE_RATE, dtype=torch.int64, device=device)

    def train_step() -> None:
        log_probs, encoded_len, _ = model.forward(input_signal=train_signal, input_signal_length=train_length)
        loss = model.loss(
            log_probs=log_probs, targets=targets, input_lengths=encoded_len, target_lengths=target_length
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def inference() -> None:
        with torch.no_grad():
            model.forward(input_signal=infer_signal, input_signal_length=infer_length)

    model.train()
    train_s = time_calls(train_step, args.repeats, args.warmup, device)
    if args.profile == "train":
        profile(train_step, args.profile_rows)
    model.eval()
    inference_s = time_calls(inference, args.repeats, args.warmup, device)
    if args.profile == "inference":
        profile(inference, args.profile_rows)
    with tempfile.TemporaryDirectory(prefix="bench_asr_model_") as folder:
        files = write_wavs(Path(folder), count=16, seconds=5.0, generator=generator)
        transcribe_s = time_calls(
            lambda: model.transcribe(paths2audio_files=files, batch_size=4, verbose=False),
            args.repeats,
            args.warmup,
            device,
        )
    print(
        json.dumps(
            {
                "params": n_params,
                "train_step_s": rounded(train_s, 3),
                "inference_forward_s": rounded(inference_s, 3),
                "transcribe_16x5s_s": rounded(transcribe_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Speed of the Conformer-small encoder (d_model 176, 16 layers, 4 heads, 80 mel, striding 4x) alone.

* ``infer_ms``: eval-mode forward under ``torch.no_grad`` on batch 8 x 10 s (1001 mel frames).
* ``train_step_ms``: train-mode forward + backward on batch 4 x 8 s (801 frames), lengths varied.
* ``infer_audio_seconds_per_second``: the 80 s of audio of each ``infer_ms`` sample over its time.

Each timed figure is the list of ``--repeats`` samples, after ``--warmup`` untimed calls.

Uses only NeMo 1.23's public names, so the same script runs under NeMo 1.23 for comparison:

    python benchmarks/bench_asr_conformer.py [--repeats 5] [--device cpu]   # prints one JSON line
"""

from __future__ import annotations

import argparse
import json

import torch
from nemo.collections.asr.modules import ConformerEncoder
from spread import rounded
from timing import time_calls

# Conformer-CTC small (NeMo's conformer_ctc_char.yaml with d_model 176, 4 heads, 16 layers).
CONFORMER_SMALL = dict(
    feat_in=80,
    n_layers=16,
    d_model=176,
    feat_out=-1,
    subsampling="striding",
    subsampling_factor=4,
    subsampling_conv_channels=-1,
    ff_expansion_factor=4,
    self_attention_model="rel_pos",
    n_heads=4,
    att_context_size=[-1, -1],
    xscaling=True,
    untie_biases=True,
    pos_emb_max_len=5000,
    conv_kernel_size=31,
    conv_norm_type="batch_norm",
    dropout=0.1,
    dropout_pre_encoder=0.1,
    dropout_emb=0.0,
    dropout_att=0.1,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)

    torch.manual_seed(0)
    encoder = ConformerEncoder(**CONFORMER_SMALL).to(device)
    n_params = sum(p.numel() for p in encoder.parameters())

    infer_signal = torch.randn(8, 80, 1001, device=device)
    infer_length = torch.full((8,), 1001, dtype=torch.int64, device=device)
    train_signal = torch.randn(4, 80, 801, device=device)
    train_length = torch.tensor([801, 760, 700, 640], dtype=torch.int64, device=device)

    def infer() -> None:
        with torch.no_grad():
            encoder(audio_signal=infer_signal, length=infer_length)

    def train_step() -> None:
        encoder.zero_grad(set_to_none=True)
        outputs, _ = encoder(audio_signal=train_signal, length=train_length)
        outputs.square().mean().backward()

    encoder.eval()
    infer_s = time_calls(infer, args.repeats, args.warmup, device)
    encoder.train()
    train_s = time_calls(train_step, args.repeats, args.warmup, device)
    print(
        json.dumps(
            {
                "params": n_params,
                "infer_ms": rounded(infer_s, 1, scale=1000.0),
                "train_step_ms": rounded(train_s, 1, scale=1000.0),
                "infer_audio_seconds_per_second": rounded((8 * 10.0 / s for s in infer_s), 1),
            }
        )
    )


if __name__ == "__main__":
    main()

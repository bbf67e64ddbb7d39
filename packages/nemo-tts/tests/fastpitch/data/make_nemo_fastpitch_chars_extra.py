"""Make ``fastpitch_chars_tiny.extra.pt`` with real NeMo 1.23 (this script imports NeMo).

More outputs of NeMo's own ``fastpitch_chars_tiny.nemo`` (the shared fixture, beside this script) than its
``io.pt`` holds, in ``eval()`` under ``torch.inference_mode()``, for the same padded ``tokens``:

- ``durs`` (B, T) integer target durations and ``pitch_tokens`` (B, T) per-token pitch, random (seeded);
  ``given_spect``, ``given_num_frames``, ``given_pitch`` = items 0, 1, 9 of ``model(text=tokens, durs=durs,
  pitch=pitch_tokens, speaker=None, pace=1.3)`` (no spectrogram: durations and pitch are given);
- ``infer_pitch`` (B, T) pitch shift and ``infer_pace`` (B, T) per-token pace, random (seeded);
  ``infer_spect``, ``infer_num_frames``, ``infer_durs_predicted``, ``infer_log_durs_predicted``,
  ``infer_pitch_predicted`` = the outputs of ``model.fastpitch.infer(text=tokens, pitch=infer_pitch,
  pace=infer_pace)`` (what NeMo exports to ONNX).

Run with NeMo 1.23's Python, from a scratch folder::

    /tmp/nemo-ref/bin/python make_nemo_fastpitch_chars_extra.py
"""

from pathlib import Path

import torch

HERE = Path(__file__).parent
SEED = 77


def main() -> None:
    from nemo.collections.tts.models import FastPitchModel

    model = FastPitchModel.restore_from(str(HERE / "fastpitch_chars_tiny.nemo")).eval()
    tokens = torch.load(HERE / "fastpitch_chars_tiny.io.pt", weights_only=True)["tokens"]
    generator = torch.Generator().manual_seed(SEED)
    valid = tokens != model.vocab.pad
    durs = torch.randint(0, 6, tokens.shape, generator=generator) * valid
    pitch_tokens = torch.randn(tokens.shape, generator=generator) * valid
    infer_pitch = torch.randn(tokens.shape, generator=generator) * 0.3
    infer_pace = 0.7 + torch.rand(tokens.shape, generator=generator)
    out = {"durs": durs, "pitch_tokens": pitch_tokens, "infer_pitch": infer_pitch, "infer_pace": infer_pace}
    with torch.inference_mode():
        given = model(text=tokens, durs=durs, pitch=pitch_tokens, speaker=None, pace=1.3)
        out.update(given_spect=given[0], given_num_frames=given[1], given_pitch=given[9])
        inferred = model.fastpitch.infer(text=tokens, pitch=infer_pitch, pace=infer_pace)
        names = ("spect", "num_frames", "durs_predicted", "log_durs_predicted", "pitch_predicted")
        for name, value in zip(names, inferred):
            out[f"infer_{name}"] = value
    torch.save({k: v.clone() for k, v in out.items()}, HERE / "fastpitch_chars_tiny.extra.pt")
    print("wrote", HERE / "fastpitch_chars_tiny.extra.pt")


if __name__ == "__main__":
    main()

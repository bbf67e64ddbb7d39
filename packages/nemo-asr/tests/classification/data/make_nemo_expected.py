"""Write the classification tests' expected values by running real NeMo 1.23 (run with NeMo's interpreter).

Usage (from a scratch folder, with NeMo 1.23 and torchaudio importable; an environment without torchaudio can
borrow it through PYTHONPATH from one with the same torch version)::

    python make_nemo_expected.py [OUTDIR]    # OUTDIR defaults to this script's folder

It writes ``clips/*.wav`` (seeded tones and noise, 16 kHz PCM_16), ``label_manifest.json`` (labels, one line
with an offset) and ``nemo_expected.pt`` (``torch.save`` of tensors and lists only), holding what NeMo computed:

- ``crop_input`` (2, 3, 10) and, after ``torch.manual_seed(1234)``, ``crop_6`` = NeMo's
  ``CropOrPadSpectrogramAugmentation(6)`` of it in eval mode, ``crop_6_len``; ``pad_13`` / ``pad_13_len`` with
  ``audio_length=13``.
- ``cls_batch_*``: ``AudioToClassificationLabelDataset(labels=["noise", "tone"])`` over the manifest, all items
  through ``collate_fn``; ``uniq_labels``: the ``labels`` of the same dataset built with ``labels=None``.
- ``fixed_*``: ``AudioToSpeechLabelDataset.fixed_seq_collate_fn`` of the items; ``vad_*``: its
  ``vad_frame_seq_collate_fn`` with ``window_length_in_sec=0.1``, ``shift_length_in_sec=0.05``,
  ``normalize_audio=True``.
- ``transcribe_logits`` (list of (30,)) and ``transcribe_ids``: the matchboxnet fixture's
  ``transcribe(clip paths, batch_size=2, logprobs=True)`` and ``transcribe(..., batch_size=2)``.
"""

import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

HERE = Path(__file__).resolve().parent
SAMPLE_RATE = 16000
# name, seconds, kind, label
CLIPS = (
    ("tone_a", 0.5, 220.0, "tone"),
    ("noise_b", 0.8, None, "noise"),
    ("tone_c", 1.1, 440.0, "tone"),
    ("noise_d", 0.35, None, "noise"),
)


def write_clips(out: Path) -> list[str]:
    rng = np.random.default_rng(20240613)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    lines, paths = [], []
    for name, seconds, freq, label in CLIPS:
        t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        noise = 0.05 * rng.standard_normal(t.shape)
        audio = noise if freq is None else 0.3 * np.sin(2 * np.pi * freq * t) + 0.5 * noise
        path = out / "clips" / f"{name}.wav"
        sf.write(path, audio.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        paths.append(str(path))
        entry = {"audio_filepath": f"clips/{name}.wav", "duration": seconds, "label": label}
        if name == "tone_c":
            entry.update(offset=0.2, duration=0.6)
        lines.append(json.dumps(entry))
    (out / "label_manifest.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def _plain(value):
    """Tensors without NeMo's attached ``neural_type`` (so ``torch.load(weights_only=True)`` reads them)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def main(out: Path) -> None:
    from nemo.collections.asr.data.audio_to_label import (
        AudioToClassificationLabelDataset,
        AudioToSpeechLabelDataset,
    )
    from nemo.collections.asr.models import EncDecClassificationModel
    from nemo.collections.asr.modules import CropOrPadSpectrogramAugmentation
    from nemo.collections.asr.parts.preprocessing.features import WaveformFeaturizer

    paths = write_clips(out)
    manifest = str(out / "label_manifest.json")
    expected = {}

    crop_input = torch.arange(60, dtype=torch.float32).reshape(2, 3, 10)
    lengths = torch.tensor([10, 7])
    expected["crop_input"] = crop_input
    torch.manual_seed(1234)
    expected["crop_6"], expected["crop_6_len"] = CropOrPadSpectrogramAugmentation(6).eval()(
        input_signal=crop_input, length=lengths
    )
    expected["pad_13"], expected["pad_13_len"] = CropOrPadSpectrogramAugmentation(13).eval()(
        input_signal=crop_input, length=lengths
    )

    featurizer = WaveformFeaturizer(sample_rate=SAMPLE_RATE)
    cls = AudioToClassificationLabelDataset(
        manifest_filepath=manifest, labels=["noise", "tone"], featurizer=featurizer
    )
    items = [cls[i] for i in range(len(cls))]
    for key, value in zip(("audio", "audio_len", "label", "label_len"), cls.collate_fn(items)):
        expected[f"cls_batch_{key}"] = value
    expected["uniq_labels"] = list(
        AudioToClassificationLabelDataset(
            manifest_filepath=manifest, labels=None, featurizer=featurizer
        ).labels
    )

    speech = AudioToSpeechLabelDataset(
        manifest_filepath=manifest,
        labels=["noise", "tone"],
        featurizer=featurizer,
        window_length_in_sec=0.1,
        shift_length_in_sec=0.05,
        normalize_audio=True,
    )
    items = [speech[i] for i in range(len(speech))]
    for key, value in zip(("audio", "audio_len", "label", "label_len"), speech.fixed_seq_collate_fn(items)):
        expected[f"fixed_{key}"] = value
    for key, value in zip(
        ("audio", "audio_len", "label", "label_len"), speech.vad_frame_seq_collate_fn(items)
    ):
        expected[f"vad_{key}"] = value

    model = EncDecClassificationModel.restore_from(
        str(HERE / "matchboxnet_3x1x64_v1_tiny.nemo"), map_location="cpu"
    )
    expected["transcribe_logits"] = [
        torch.as_tensor(x) for x in model.transcribe(paths, batch_size=2, logprobs=True)
    ]
    expected["transcribe_ids"] = [int(x) for x in model.transcribe(paths, batch_size=2)]
    torch.save({key: _plain(value) for key, value in expected.items()}, out / "nemo_expected.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)

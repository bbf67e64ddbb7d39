"""Write ``marblenet_3x2x64_20ms_nemo.nemo`` and ``marblenet_3x2x64_20ms_nemo.io.pt`` with NeMo 1.23.

This script runs NeMo 1.23: it builds NeMo's ``EncDecFrameClassificationModel`` from NeMo's own
``examples/asr/conf/marblenet/marblenet_3x2x64_20ms.yaml`` (read from the NeMo mirror; no data sections),
seeds its weights and BatchNorm statistics (the output layer rescaled), saves it with ``save_to``, and records for two real Asterisk
prompts padded with silence: the waveforms, NeMo's per-frame logits (eval mode), and for frame labels at
20, 40 and 60 ms NeMo's ``reshape_labels`` output, label masks and masked loss. The tests never need NeMo.

    mkdir -p /tmp/scratch_vad && cd /tmp/scratch_vad && /tmp/nemo-ref/bin/python \
        /work/main/packages/nemo-asr/tests/vad/data/make_frame_vad_fixture.py
"""

import math
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecFrameClassificationModel
from omegaconf import OmegaConf

HERE = Path(__file__).parent
REPO = HERE.parents[4]
MIRROR = Path("/work/.mirror/NVIDIA+NeMo/repo")
CONFIG = "examples/asr/conf/marblenet/marblenet_3x2x64_20ms.yaml"
PROMPTS = (("auth-thankyou", 0.3, 0.5), ("vm-goodbye", 0.62, 0.24))
LABEL_STEPS = (0.02, 0.04, 0.06)


def nemo_config():
    text = subprocess.run(
        ["git", "-C", str(MIRROR), "show", f"v1.23.0:{CONFIG}"], check=True, capture_output=True, text=True
    ).stdout
    cfg = OmegaConf.create(text)
    for split in ("train_ds", "validation_ds", "test_ds"):
        cfg.model[split] = None
    return cfg.model


def padded_prompts():
    waves, spans = [], []
    for name, before, after in PROMPTS:
        samples, rate = sf.read(REPO / "data" / "asterisk" / "audio" / f"{name}.opus", dtype="float32")
        assert rate == 16000, rate
        waves.append(
            np.concatenate(
                [
                    np.zeros(round(before * rate), np.float32),
                    samples,
                    np.zeros(round(after * rate), np.float32),
                ]
            )
        )
        spans.append((before, before + len(samples) / rate))
    lengths = torch.tensor([len(wave) for wave in waves])
    audio = torch.zeros(len(waves), int(lengths.max()))
    for row, wave in enumerate(waves):
        audio[row, : len(wave)] = torch.from_numpy(wave)
    return audio, lengths, spans


def frame_labels(spans, lengths, step):
    rows = []
    for (start, end), length in zip(spans, lengths.tolist()):
        count = math.ceil(round(length / 16000 / step, 6))
        rows.append([1 if start <= index * step < end else 0 for index in range(count)])
    labels_len = torch.tensor([len(row) for row in rows])
    labels = torch.zeros(len(rows), int(labels_len.max()), dtype=torch.long)
    for index, row in enumerate(rows):
        labels[index, : len(row)] = torch.tensor(row)
    return labels, labels_len


def main() -> None:
    torch.manual_seed(1234)
    model = EncDecFrameClassificationModel(cfg=nemo_config())
    generator = torch.Generator().manual_seed(99)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    model.eval()
    audio, lengths, spans = padded_prompts()
    with torch.no_grad():
        # A random head gives speech probabilities within 0.45..0.46: centre and widen its logit difference
        # (to mean 0, std 2 over these clips) so that thresholds between 0 and 1 cut the frames.
        head = model.decoder.layer0
        logits = model.forward(input_signal=audio, input_signal_length=lengths)
        difference = logits[..., 1] - logits[..., 0]
        scale = 2.0 / float(difference.std())
        head.weight.mul_(scale)
        head.bias.mul_(scale)
        head.bias[1] -= float(difference.mean()) * scale
    record = {"audio": audio, "audio_len": lengths}
    with torch.no_grad():
        logits = model.forward(input_signal=audio, input_signal_length=lengths)
        record["logits"] = logits
        for step in LABEL_STEPS:
            key = f"{round(step * 1000)}ms"
            labels, labels_len = frame_labels(spans, lengths, step)
            reshaped, reshaped_len = model.reshape_labels(logits, labels, lengths, labels_len)
            masks = model.get_label_masks(reshaped, reshaped_len)
            record[f"labels_{key}"] = labels
            record[f"labels_len_{key}"] = labels_len
            record[f"reshaped_{key}"] = reshaped
            record[f"reshaped_len_{key}"] = reshaped_len
            record[f"loss_{key}"] = model.loss(logits=logits, labels=reshaped, loss_mask=masks)
    model.save_to(str(HERE / "marblenet_3x2x64_20ms_nemo.nemo"))
    torch.save(
        {key: value.detach().clone() for key, value in record.items()},
        HERE / "marblenet_3x2x64_20ms_nemo.io.pt",
    )
    print({key: tuple(value.shape) for key, value in record.items()})


if __name__ == "__main__":
    main()

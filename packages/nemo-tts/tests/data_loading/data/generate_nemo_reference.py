"""Write the expected values of the data-loading tests by running NeMo 1.23 (not our code).

Run it with the Python of a NeMo 1.23 venv, from any folder outside the repository:

    /tmp/nemo-ref/bin/python packages/nemo-tts/tests/data_loading/data/generate_nemo_reference.py

It writes, beside itself:
- ``activated.wav``, ``call-waiting.wav``: two clips of the bundled Asterisk prompts (data/asterisk, 16 kHz),
  decoded once and stored as 16-bit WAV so that both sides read the same samples;
- ``nemo_reference.pt``: a dict of tensors from NeMo 1.23's ``tts_dataset_utils`` (beta-binomial priors,
  interpolated priors) and from its ``TTSDataset`` on those two clips (tokens, energy, log mel, priors,
  pyin pitch, and the collated batch).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import soundfile as sf
import torch
from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import EnglishCharsTokenizer
from nemo.collections.tts.data.dataset import TTSDataset
from nemo.collections.tts.parts.utils.tts_dataset_utils import (
    BetaBinomialInterpolator,
    beta_binomial_prior_distribution,
)

HERE = Path(__file__).resolve().parent
ASTERISK = HERE.parents[4] / "data" / "asterisk" / "audio"
CLIPS = {"activated": "Activated.", "call-waiting": "Call waiting!"}
PRIOR_SIZES = [(1, 5), (7, 23), (12, 40), (30, 31)]
INTERP_SIZES = [(57, 13), (123, 31), (3, 2), (200, 9)]


def main() -> None:
    for name in CLIPS:
        samples, rate = sf.read(ASTERISK / f"{name}.opus", dtype="float32")
        sf.write(HERE / f"{name}.wav", samples, rate, subtype="PCM_16")
    out: dict[str, torch.Tensor] = {}
    for text_len, mel_len in PRIOR_SIZES:
        out[f"prior_{text_len}_{mel_len}"] = torch.from_numpy(
            beta_binomial_prior_distribution(text_len, mel_len)
        )
    interpolator = BetaBinomialInterpolator()
    for mel_len, text_len in INTERP_SIZES:
        out[f"interp_{mel_len}_{text_len}"] = torch.from_numpy(interpolator(mel_len, text_len))

    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.json"
        lines = [
            {"audio_filepath": str(HERE / f"{name}.wav"), "text": text, "duration": 1.0, "speaker": index}
            for index, (name, text) in enumerate(CLIPS.items())
        ]
        manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
        for interp in (False, True):
            dataset = TTSDataset(
                manifest_filepath=str(manifest),
                sample_rate=16000,
                text_tokenizer=EnglishCharsTokenizer(),
                sup_data_types=["log_mel", "align_prior_matrix", "pitch", "energy", "speaker_id"],
                sup_data_path=str(Path(tmp) / f"sup_{interp}"),
                n_fft=1024,
                win_length=1024,
                hop_length=256,
                n_mels=80,
                highfreq=8000,
                use_beta_binomial_interpolator=interp,
            )
            items = [dataset[index] for index in range(len(dataset))]
            suffix = "_interp" if interp else ""
            for index, item in enumerate(items):
                out[f"item{index}_prior{suffix}"] = item[7]
                if interp:
                    continue
                out[f"item{index}_audio"] = item[0]
                out[f"item{index}_text"] = item[2]
                out[f"item{index}_log_mel"] = item[4]
                out[f"item{index}_pitch_pyin"] = item[8]
                out[f"item{index}_energy"] = item[10]
            if not interp:
                batch = dataset._collate_fn(items)
                for position, tensor in enumerate(batch):
                    out[f"batch_{position}"] = tensor
    torch.save(out, HERE / "nemo_reference.pt")
    print(f"wrote {len(out)} tensors to {HERE / 'nemo_reference.pt'}")


if __name__ == "__main__":
    main()

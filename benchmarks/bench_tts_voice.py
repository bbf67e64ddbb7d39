"""Speed of the shipped voice, text to waveform: the 80 sentences of ``data/tts_sentences`` one at a time.

The voice is ``tts_en_fastpitch_asterisk`` (``packages/nemo-tts/.../pretrained/``), a FastPitch of 16 kHz with
ARPAbet input, vocoded by Griffin-Lim (32 iterations). Each sentence goes through what ``nemo synthesize``
does: normalize the text, G2P and tokens (``parse``), ``generate_spectrogram`` (speaker 0 of a multi-speaker
model), then ``convert_spectrogram_to_audio``, batch 1, in eval mode under ``torch.inference_mode``, with
torch's default thread count.

* ``text_to_wave_s``: seconds for all 80 sentences, ``--repeats`` samples after one untimed pass;
* ``audio_seconds``: seconds of audio they make; ``audio_seconds_per_second``: that over each sample (the
  real-time factor: above 1 is faster than real time).

The same script runs under NeMo 1.23 on the same ``.nemo`` (our archives restore there): NeMo's own text
normalizer (``nemo_text_processing``, which our config's normalizer reproduces) replaces ours, and the vocoder is
NeMo's ``TwoStagesModel`` of ``MelPsuedoInverseModel`` and ``GriffinLimModel`` with the same 32 iterations (ours
adds momentum and the filterbank's pseudo-inverse, which cost the same per iteration). The models' weights and
therefore the audio lengths are the same on both sides.

    python benchmarks/bench_tts_voice.py [--repeats 3]   # prints one JSON line
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf, open_dict
from spread import rounded

ROOT = Path(__file__).resolve().parents[1]
VOICE = ROOT / "packages/nemo-tts/src/nemo/collections/tts/pretrained/tts_en_fastpitch_asterisk.nemo"
SENTENCES = [ROOT / "data/tts_sentences/dev.txt", ROOT / "data/tts_sentences/test.txt"]
GRIFFIN_LIM_ITERATIONS = 32
OURS = importlib.util.find_spec("nemo.collections.tts.inference") is not None


def load_voice():
    """The shipped FastPitch (eval mode); under NeMo 1.23 with NeMo's text normalizer."""
    from nemo.collections.tts.models import FastPitchModel

    if OURS:
        return FastPitchModel.restore_from(str(VOICE), map_location="cpu").eval()
    cfg = FastPitchModel.restore_from(str(VOICE), return_config=True)
    with open_dict(cfg):
        cfg.text_normalizer = {
            "_target_": "nemo_text_processing.text_normalization.normalize.Normalizer",
            "lang": "en",
            "input_case": "cased",
        }
    return FastPitchModel.restore_from(str(VOICE), override_config_path=cfg, map_location="cpu").eval()


def load_vocoder(model):
    """Griffin-Lim on the model's mel settings: ours as ``nemo synthesize`` builds it, or NeMo's classes."""
    if OURS:
        from nemo.collections.tts.inference import griffin_lim_vocoder

        return griffin_lim_vocoder(model, n_iters=GRIFFIN_LIM_ITERATIONS)
    from nemo.collections.tts.models.two_stages import GriffinLimModel, MelPsuedoInverseModel, TwoStagesModel

    cfg = model.cfg
    vocoder = TwoStagesModel(OmegaConf.create({"mel2spec": {}, "linvocoder": {}}))
    vocoder.set_mel_to_spec_model(
        MelPsuedoInverseModel(
            OmegaConf.create(
                {
                    "sampling_rate": cfg.sample_rate,
                    "n_fft": cfg.n_fft,
                    "mel_fmin": cfg.lowfreq,
                    "mel_fmax": cfg.highfreq,
                    "mel_freq": cfg.n_mel_channels,
                }
            )
        )
    )
    vocoder.set_linear_vocoder(
        GriffinLimModel(
            OmegaConf.create(
                {"n_iters": GRIFFIN_LIM_ITERATIONS, "n_fft": cfg.n_fft, "l_hop": cfg.n_window_stride}
            )
        )
    )
    return vocoder.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = load_voice()
    vocoder = load_vocoder(model)
    speaker = torch.tensor([0]) if int(model.cfg.get("n_speakers", 1) or 1) > 1 else None
    sentences = [line for path in SENTENCES for line in path.read_text().splitlines() if line.strip()]

    def speak_all() -> float:
        samples = 0
        with torch.inference_mode():
            for sentence in sentences:
                tokens = model.parse(sentence)
                spec = model.generate_spectrogram(tokens=tokens, speaker=speaker)
                samples += vocoder.convert_spectrogram_to_audio(spec=spec).shape[-1]
        return samples / int(model.cfg.sample_rate)

    torch.manual_seed(0)
    audio_s = speak_all()
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        speak_all()
        times.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "sentences": len(sentences),
                "audio_seconds": round(audio_s, 2),
                "text_to_wave_s": rounded(times, 3),
                "audio_seconds_per_second": rounded([audio_s / t for t in times], 1),
            }
        )
    )


if __name__ == "__main__":
    main()

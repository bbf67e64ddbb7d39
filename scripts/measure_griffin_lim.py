"""How intelligible Griffin-Lim makes the real voice: its own mel spectrograms, vocoded, scored by pocketsphinx.

    python scripts/measure_griffin_lim.py [--manifest data/asterisk/dev_manifest.json] [--threads 1]
    python scripts/measure_griffin_lim.py --vocoder runs/vocoder/hifigan.nemo --asr   # a trained vocoder beside

For each prompt of the manifest: the log-mel spectrogram FastPitch is trained on (``fastpitch_tiny_cpu``'s
preprocessor: 16 kHz, 80 mels, n_fft 1024, hop 256), turned back into audio by each Griffin-Lim setting, then
recognized by PyPI ``pocketsphinx`` 5.1.1 (its bundled US English model). The word error rates say how much a
vocoder setting loses before any FastPitch is involved, against the recorded audio itself; the seconds say what
it costs. The shipped voice's vocoder setting was chosen with this on the Asterisk dev prompts. Each ``--vocoder``
(a ``.nemo``, e.g. from ``scripts/make_asterisk_vocoder.py``) is scored the same way on the same log-mels; with
``--asr`` the main job's recognizer (``nox -s demo``'s newest ``.nemo``, or ``--asr-model``) scores every setting
too (character error rate). Prints one JSON line per setting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "tts"))
CONFIG = ROOT / "packages/nemo-tts/src/nemo/collections/tts/conf/fastpitch_tiny_cpu.yaml"
# (mel inverse, iterations, momentum): NeMo's setting first.
SETTINGS = (
    ("transpose", 64, 0.0),
    ("pinv", 64, 0.0),
    ("pinv", 32, 0.99),
    ("pinv", 16, 0.99),
    ("pinv", 8, 0.99),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "data/asterisk/dev_manifest.json")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--vocoder", type=Path, action="append", default=[], help="a vocoder .nemo to score too"
    )
    parser.add_argument("--asr", action="store_true", help="score with the main job's recognizer as well")
    parser.add_argument(
        "--asr-model", type=Path, help="the recognizer's .nemo (default: nox -s demo's newest)"
    )
    parser.add_argument("--only-vocoders", action="store_true", help="skip the Griffin-Lim settings")
    args = parser.parse_args()

    import numpy as np
    import soundfile
    import torch
    from hydra.utils import instantiate
    from nemo.collections.asr.metrics.wer import word_error_rate
    from nemo.collections.tts.models.two_stages import GriffinLimModel, MelPsuedoInverseModel
    from omegaconf import OmegaConf
    from voice import find_asr_model, pocketsphinx_words

    torch.set_num_threads(args.threads)
    cfg = OmegaConf.load(CONFIG)
    preprocessor = instantiate(cfg.model.preprocessor).eval()
    entries = [json.loads(line) for line in args.manifest.read_text().splitlines() if line.strip()]
    references = [entry["text"] for entry in entries]
    audio_paths = [args.manifest.parent / entry["audio_filepath"] for entry in entries]
    seconds = sum(entry["duration"] for entry in entries)
    asr = None
    if args.asr or args.asr_model is not None:
        from nemo.collections.asr.models import EncDecCTCModel

        asr_path = find_asr_model(args.asr_model)
        if asr_path is None:
            raise SystemExit("--asr: no recognizer found. Run `nox -s demo` first, or pass --asr-model.")
        asr = EncDecCTCModel.restore_from(str(asr_path), map_location="cpu").eval()

    def scores(paths: list[Path]) -> dict:
        result = {"pocketsphinx_wer": round(word_error_rate(pocketsphinx_words(paths), references), 4)}
        if asr is not None:
            transcripts = asr.transcribe([str(path) for path in paths], batch_size=8)
            result["asr_cer"] = round(word_error_rate(transcripts, references, use_cer=True), 4)
        return result

    scratch = Path("/tmp") / f"griffin_lim_{args.manifest.stem}"
    scratch.mkdir(parents=True, exist_ok=True)
    recorded, mels = [], []
    for number, path in enumerate(audio_paths):
        audio, rate = soundfile.read(str(path), dtype="float32")
        out = scratch / f"recorded_{number:03d}.wav"
        soundfile.write(str(out), audio, rate, subtype="PCM_16")
        recorded.append(out)
        # The mel of the audio as written (16-bit), computed once for every setting below.
        audio, _ = soundfile.read(str(out), dtype="float32")
        signal = torch.from_numpy(audio)[None]
        with torch.no_grad():
            mel, _ = preprocessor(input_signal=signal, length=torch.tensor([signal.shape[1]]))
        mels.append(mel)
    print(json.dumps({"setting": "recorded audio", **scores(recorded)}), flush=True)

    for inverse, iters, momentum in () if args.only_vocoders else SETTINGS:
        mel2spec = MelPsuedoInverseModel(
            {
                "sampling_rate": 16000,
                "n_fft": 1024,
                "mel_fmin": 0.0,
                "mel_fmax": 8000.0,
                "mel_freq": 80,
                "inverse": inverse,
            }
        )
        vocoder = GriffinLimModel({"n_iters": iters, "n_fft": 1024, "l_hop": 256, "momentum": momentum})
        paths, spent = [], 0.0
        torch.manual_seed(0)
        for number, mel in enumerate(mels):
            with torch.no_grad():
                started = time.perf_counter()
                linear = mel2spec.convert_mel_spectrogram_to_linear(mel.exp())
                wave = vocoder.convert_spectrogram_to_audio(linear)
                spent += time.perf_counter() - started
            wave = wave[0].numpy()
            if inverse == "transpose":  # NeMo's level is about 1/1000 of the input's: scale the peak to 0.8
                wave = wave * (0.8 / max(float(np.abs(wave).max()), 1e-9))
            out = scratch / f"{inverse}_{iters}_{momentum}_{number:03d}.wav"
            soundfile.write(str(out), np.clip(wave, -1, 1), 16000, subtype="PCM_16")
            paths.append(out)
        setting = f"{inverse} mel inverse, {iters} iterations, momentum {momentum}"
        report(setting, scores(paths), seconds / spent, args.threads)

    for path in args.vocoder:
        from nemo.collections.tts.inference import load_tts_model

        vocoder = load_tts_model(str(path)).eval()
        paths, spent = [], 0.0
        for number, mel in enumerate(mels):
            with torch.no_grad():
                started = time.perf_counter()
                wave = vocoder.convert_spectrogram_to_audio(spec=mel)
                spent += time.perf_counter() - started
            out = scratch / f"{path.stem}_{number:03d}.wav"
            soundfile.write(str(out), np.clip(wave[0].numpy(), -1, 1), 16000, subtype="PCM_16")
            paths.append(out)
        report(f"vocoder {path}", scores(paths), seconds / spent, args.threads)
    return 0


def report(setting: str, scores: dict, realtime_factor: float, threads: int) -> None:
    print(
        json.dumps(
            {"setting": setting, **scores, "realtime_factor": round(realtime_factor, 1), "threads": threads}
        ),
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())

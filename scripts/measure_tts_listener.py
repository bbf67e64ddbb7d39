"""How well the main job's recognizer hears the dev sentences when another engine speaks them: the listener's floor.

The bundled voice's ASR target (CER at most 25% on the held-out sentences) is measured with ``nox -s demo``'s
recognizer as the listener. This script asks how much of that CER is the listener's: flite (apt ``flite``), whose
voices the recognizer heard in training (``data/synthetic``), reads the dev sentences, spelled out exactly as the
reference text (so flite's own normalizer plays no part), and the same recognizer transcribes them; the bundled
voice's dev sentences are spoken and scored in the same run. Dev sentences only: the test sentences are never read.

    python scripts/measure_tts_listener.py --asr-model nemo_experiments/demo_conformer_ctc/*/demo_conformer_ctc.nemo

Prints one JSON line: CER and WER per speaker.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "tts"))
import voice  # noqa: E402  (examples/tts/voice.py: sentences, spelling and speaking as the voice's scoring does)

FLITE_VOICES = ("kal16", "slt", "awb", "rms")


def flite_wav(text: str, flite_voice: str, path: Path) -> None:
    """``text`` read by flite's ``flite_voice`` into a 16 kHz mono wav at ``path``."""
    import soundfile
    import torch
    import torchaudio

    raw = path.with_suffix(".raw.wav")
    subprocess.run(["flite", "-voice", flite_voice, "-t", text, "-o", str(raw)], check=True)
    audio, rate = soundfile.read(str(raw), dtype="float32")
    if rate != 16000:
        audio = torchaudio.functional.resample(torch.from_numpy(audio), rate, 16000).numpy()
    soundfile.write(str(path), audio, 16000, subtype="PCM_16")
    raw.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--asr-model", type=Path, required=True, help="the listener: a CTC .nemo (nox -s demo's)"
    )
    parser.add_argument("--model", default="tts_en_fastpitch_asterisk", help="the voice to compare")
    args = parser.parse_args()
    if shutil.which("flite") is None:
        raise SystemExit("flite is not installed: `apt-get install flite` (a measurement tool only).")
    import soundfile
    import torch
    from nemo.collections.asr.metrics.wer import word_error_rate
    from nemo.collections.asr.models import EncDecCTCModel
    from nemo.collections.tts.inference import griffin_lim_vocoder, load_tts_model, model_sample_rate

    listener = EncDecCTCModel.restore_from(str(args.asr_model), map_location="cpu").eval()
    model = load_tts_model(args.model).eval()
    if model_sample_rate(model) != 16000:
        raise SystemExit(
            f"{args.model} speaks at {model_sample_rate(model)} Hz; the listener needs 16 kHz audio."
        )
    vocoder = griffin_lim_vocoder(model)
    sentences = voice.read_sentences(voice.SENTENCES / "dev.txt")
    references = [voice.spoken_words(model, sentence) for sentence in sentences]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        speakers = {f"flite {name}": name for name in FLITE_VOICES}
        for label, flite_voice in speakers.items():
            paths = [folder / f"{flite_voice}_{n:02d}.wav" for n in range(len(references))]
            for text, path in zip(references, paths):
                flite_wav(text, flite_voice, path)
            heard = listener.transcribe([str(path) for path in paths], batch_size=8)
            results[label] = {
                "cer": round(word_error_rate(heard, references, use_cer=True), 4),
                "wer": round(word_error_rate(heard, references), 4),
            }
        paths = []
        for number, sentence in enumerate(sentences, start=1):
            torch.manual_seed(number)  # as voice.py: the same Griffin-Lim phase, so the same wav
            audio, *_ = voice.speak(model, vocoder, sentence, None)
            path = folder / f"voice_{number:02d}.wav"
            soundfile.write(str(path), audio.clip(-1.0, 1.0), 16000, subtype="PCM_16")
            paths.append(path)
        heard = listener.transcribe([str(path) for path in paths], batch_size=8)
        results[args.model] = {
            "cer": round(word_error_rate(heard, references, use_cer=True), 4),
            "wer": round(word_error_rate(heard, references), 4),
        }
    print(
        json.dumps({"sentences": "dev", "count": len(references), "listener": str(args.asr_model), **results})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

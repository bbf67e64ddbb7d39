"""Speak everyday sentences with the shipped voice, score how intelligible they are, then train a small FastPitch.

    python examples/tts/voice.py [--model tts_en_fastpitch_asterisk] [--dev-only] [--train-minutes 10] ...

The sentences are ``data/tts_sentences/{dev,test}.txt`` (40 each, written for this and in no training text; numbers,
dates, times, money and abbreviations exercise the text normalizer). Every recipe choice of the shipped voice was
made on the dev sentences (docs/tts.md lists the runs); the test sentences are read once, at the end.

Steps, all through the public API:
  1. ``FastPitchModel.from_pretrained(--model)`` (offline: the plugin registers the bundled archive) and a vocoder
     (``--vocoder`` ``.nemo``, or Griffin-Lim from the model's mel settings);
  2. for each sentence: ``RUN_DIR/<split>/NN.wav`` and ``NN.png`` (mel spectrogram, pitch track, alignment);
  3. two independent listeners: PyPI ``pocketsphinx`` 5.1.1 with its bundled US English model (word error rate)
     and the main job's speech recognizer, ``nox -s demo``'s ``.nemo`` (character error rate); the texts they are
     compared with are the sentences as the model's normalizer spells them out;
  4. a fresh small FastPitch trained on the bundled voice for ``--train-minutes`` (resumable:
     ``scripts/make_asterisk_voice.py`` with a time budget, progress bar on), saved as ``RUN_DIR/train/fastpitch.nemo``.
Figures go to ``RUN_DIR/results.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = ROOT / "data" / "tts_sentences"
DEMO_ASR_GLOB = "nemo_experiments/demo_conformer_ctc/*/demo_conformer_ctc.nemo"

sys.path.insert(0, str(ROOT / "examples"))
from example_support import RunClock, settings, write_results  # noqa: E402


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="tts_en_fastpitch_asterisk", help="FastPitch .nemo or pretrained name"
    )
    parser.add_argument(
        "--vocoder", help="vocoder .nemo (default: Griffin-Lim from the model's mel settings)"
    )
    parser.add_argument("--speaker", type=int, help="speaker id (default: the model's default_speaker)")
    parser.add_argument("--pace", type=float, default=1.0, help="speaking rate: durations are divided by it")
    parser.add_argument("--run-dir", type=Path, default=Path("nemo_experiments/tts"), help="output folder")
    parser.add_argument(
        "--asr-model", type=Path, help=f"the main job's ASR .nemo (default: newest {DEMO_ASR_GLOB})"
    )
    parser.add_argument("--no-asr", action="store_true", help="score with pocketsphinx alone")
    parser.add_argument("--dev-only", action="store_true", help="the dev sentences only; never read test.txt")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--limit", type=int, help="only the first N sentences of each split (a quick look)")
    parser.add_argument(
        "--train-minutes", type=float, default=10.0, help="minutes of the small training run (0: skip it)"
    )
    parser.add_argument(
        "--train-clips", type=int, help="train on the first N clips of each voice only (tests)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return parser.parse_args(argv)


def read_sentences(path: Path) -> list[str]:
    sentences = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not sentences:
        raise SystemExit(f"{path} has no sentences: write one a line.")
    return sentences


def spoken_words(model, sentence: str) -> str:
    """The sentence as the model's normalizer spells it, in lower-case words (what a listener should hear);
    an all-capital word of 2-4 letters (the normalizer's "PM") is spelled out letter by letter."""
    text = sentence
    if model.text_normalizer_call is not None:
        text = model.text_normalizer_call(text, **model.text_normalizer_call_kwargs)
    text = re.sub(r"\b([A-Z]{2,4})\b", lambda match: " ".join(match.group(1)), text)  # "PM" is said "p m"
    text = re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " "))
    return " ".join(text.split())


def speak(model, vocoder, sentence: str, speaker: int | None, pace: float = 1.0):
    """``(waveform (T,) float32, mel (n_mels, frames), pitch Hz per token (T_text,), frames per token (T_text,))``.

    ``pace`` divides the predicted durations (NeMo's speaking rate); the frames per token are those the length
    regulator repeated the tokens for (``frames_per_token``)."""
    import torch
    from nemo.collections.tts.parts.utils.helpers import frames_per_token

    tokens = model.parse(sentence)
    speaker_ids = None if speaker is None else torch.tensor([speaker])
    with torch.inference_mode():
        spect, _, durations, _, pitch, _ = model.fastpitch.infer(text=tokens, speaker=speaker_ids, pace=pace)
        audio = vocoder.convert_spectrogram_to_audio(spec=spect)
    pitch_hz = pitch[0] * float(model.cfg.pitch_std) + float(model.cfg.pitch_mean)
    frames = frames_per_token(durations[0], pace)
    return audio.reshape(-1).float().numpy(), spect[0].numpy(), pitch_hz.numpy(), frames.numpy()


def plot(path: Path, sentence: str, mel: np.ndarray, pitch_hz: np.ndarray, durations: np.ndarray) -> None:
    """One PNG: the mel spectrogram, the predicted pitch track (Hz, per frame) and the token-to-frame alignment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = mel.shape[1]
    token_of_frame = np.repeat(np.arange(len(durations)), durations)[:frames]
    alignment = np.zeros((len(durations), frames))
    alignment[token_of_frame, np.arange(len(token_of_frame))] = 1.0
    figure, (top, middle, bottom) = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    top.imshow(mel, origin="lower", aspect="auto", interpolation="none")
    top.set_title(sentence, fontsize=9)
    top.set_ylabel("mel channel")
    middle.plot(np.arange(len(token_of_frame)), pitch_hz[token_of_frame])
    middle.set_ylabel("pitch (Hz)")
    bottom.imshow(alignment, origin="lower", aspect="auto", interpolation="none", cmap="Greys")
    bottom.set_ylabel("token")
    bottom.set_xlabel("frame")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def pocketsphinx_words(paths: list[Path]) -> list[str]:
    """What pocketsphinx 5.1.1's bundled US English model hears in each 16 kHz wav."""
    import soundfile
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16000, loglevel="FATAL")
    heard = []
    for path in paths:
        audio, rate = soundfile.read(str(path), dtype="int16")
        if rate != 16000:
            raise SystemExit(
                f"{path}: {rate} Hz; pocketsphinx's model needs 16 kHz audio: score a 16 kHz voice, or resample."
            )
        decoder.start_utt()
        decoder.process_raw(audio.tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        heard.append(hypothesis.hypstr if hypothesis is not None else "")
    return heard


def find_asr_model(given: Path | None) -> Path | None:
    if given is not None:
        if not given.exists():
            raise SystemExit(f"--asr-model {given}: no such file. Run `nox -s demo` or pass another .nemo.")
        return given
    found = sorted(ROOT.glob(DEMO_ASR_GLOB)) + sorted(Path.cwd().glob(DEMO_ASR_GLOB))
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


def score_split(args, model, vocoder, split: str, asr) -> dict:
    import soundfile
    import torch
    from nemo.collections.asr.metrics.wer import word_error_rate
    from nemo.collections.tts.inference import model_sample_rate
    from tqdm import tqdm

    sentences = read_sentences(SENTENCES / f"{split}.txt")[: args.limit]
    folder = args.run_dir / split
    folder.mkdir(parents=True, exist_ok=True)
    sample_rate = model_sample_rate(model)
    paths, references, audio_seconds, synth_seconds = [], [], 0.0, 0.0
    for number, sentence in enumerate(tqdm(sentences, desc=f"speak {split}", unit="sentence"), start=1):
        torch.manual_seed(number)  # Griffin-Lim's random initial phase: the same wav on every run
        started = time.perf_counter()
        audio, mel, pitch_hz, durations = speak(model, vocoder, sentence, args.speaker, args.pace)
        synth_seconds += time.perf_counter() - started
        audio_seconds += len(audio) / sample_rate
        path = folder / f"{number:02d}.wav"
        soundfile.write(str(path), np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16")
        if not args.no_plots:
            plot(folder / f"{number:02d}.png", sentence, mel, pitch_hz, durations)
        paths.append(path)
        references.append(spoken_words(model, sentence))
    heard = pocketsphinx_words(paths)
    result = {
        "sentences": len(sentences),
        "audio_s": round(audio_seconds, 1),
        "realtime_factor_here": round(audio_seconds / synth_seconds, 1),
        "pocketsphinx_wer": round(word_error_rate(heard, references), 4),
    }
    if asr is not None:
        transcripts = asr.transcribe([str(path) for path in paths], batch_size=8)  # strings
        result["asr_cer"] = round(word_error_rate(transcripts, references, use_cer=True), 4)
        result["asr_wer"] = round(word_error_rate(transcripts, references), 4)
    else:
        transcripts = [None] * len(paths)
    lines = [
        {"sentence": s, "spoken": r, "pocketsphinx": h, "asr": t}
        for s, r, h, t in zip(sentences, references, heard, transcripts)
    ]
    (folder / "transcripts.json").write_text(json.dumps(lines, indent=1))
    for line in lines[:4]:
        print(
            f"  said:         {line['spoken']}\n  pocketsphinx: {line['pocketsphinx']}\n  asr:          {line['asr']}\n"
        )
    print(f"{split}: {result}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clock = RunClock()
    import torch

    torch.set_num_threads(args.threads)
    from nemo.collections.tts.inference import griffin_lim_vocoder, load_tts_model

    model = load_tts_model(args.model).eval()
    vocoder = griffin_lim_vocoder(model) if args.vocoder is None else load_tts_model(args.vocoder).eval()
    asr_path = None if args.no_asr else find_asr_model(args.asr_model)
    asr = None
    if asr_path is None and not args.no_asr:
        print(
            f"No ASR model at {DEMO_ASR_GLOB}: run `nox -s demo` first for the CER; pocketsphinx scores alone."
        )
    elif asr_path is not None:
        from nemo.collections.asr.models import EncDecCTCModel

        asr = EncDecCTCModel.restore_from(str(asr_path), map_location="cpu").eval()
        print(f"ASR model: {asr_path}")
    results = {"settings": settings(args), "asr_model": str(asr_path) if asr_path else None}
    # The dev sentences chose the recipe; the test sentences are read here, after every choice.
    for split in ("dev",) if args.dev_only else ("dev", "test"):
        results[split] = score_split(args, model, vocoder, split, asr)

    nemo_path = args.run_dir / "train" / "fastpitch.nemo"
    if args.train_minutes > 0:
        sys.path.insert(0, str(ROOT / "scripts"))
        import make_asterisk_voice

        print(f"Training a small FastPitch for at most {args.train_minutes:g} min (run again to resume) ...")
        small = [
            "--run-dir", str(args.run_dir / "train"), "--synthetic", "--width", "64", "--inner", "256",
            "--layers", "2", "--max-minutes", str(args.train_minutes), "--threads", str(args.threads),
        ]  # fmt: skip
        if args.train_clips is not None:
            small += ["--max-clips", str(args.train_clips)]
        make_asterisk_voice.main(small)
        results["training"] = json.loads((args.run_dir / "train" / "trained.json").read_text())
    write_results(results, args.run_dir, clock, nemo_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

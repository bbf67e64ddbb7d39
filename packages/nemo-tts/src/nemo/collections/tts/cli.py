"""TTS subcommands of the ``nemo`` command, registered by the tts plugin and imported only when run.

nemo synthesize "TEXT" -o OUT.wav [--model M] [--vocoder V] [--speaker N] [--pace P] [--no-normalize]
nemo synthesize --file LINES.txt --out-dir DIR [--model M] [--vocoder V] ...   (DIR/0001.wav, DIR/0002.wav, ...)
nemo tts pitch-stats MANIFEST [...]                                           (pitch_mean / pitch_std)

``M`` and ``V`` are ``.nemo`` paths or pretrained names (``nemo.core.registry.list_pretrained()``); without
``--model``, the voice bundled with nemo-tts (``tts_en_fastpitch_asterisk``) speaks; without ``--vocoder``,
Griffin-Lim is built from the model's mel settings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nemo.collections.tts.plugin import DEFAULT_VOICE
from nemo.core.cli.errors import CommandError


def _load(model: str, role: str):
    from nemo.collections.tts.inference import load_tts_model
    from nemo.collections.tts.models.base import SpectrogramGenerator, Vocoder

    wanted = SpectrogramGenerator if role == "--model" else Vocoder
    try:
        restored = load_tts_model(model)
    except (FileNotFoundError, TypeError) as error:
        raise CommandError(f"{role} {model}: {error}") from error
    if not isinstance(restored, wanted):
        raise CommandError(
            f"{role} {model} holds a {type(restored).__name__}; {role} takes a {wanted.__name__} "
            f"({'e.g. FastPitchModel' if wanted is SpectrogramGenerator else 'e.g. HifiGanModel'})."
        )
    return restored


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, text)`` of the non-blank lines of a UTF-8 text file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as error:
        raise CommandError(
            f"--file {path}: no such file. Pass a text file with one sentence a line."
        ) from error
    except UnicodeDecodeError as error:
        raise CommandError(f"--file {path}: not UTF-8 text ({error}). Save it as UTF-8.") from error
    numbered = [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise CommandError(f"--file {path} has no text: write one sentence a line.")
    return numbered


def synthesize_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nemo synthesize",
        description="Speak text with a spectrogram generator (e.g. FastPitch) and a vocoder (e.g. HiFi-GAN).",
        epilog='Example: nemo synthesize "Hello world." -o hello.wav   (the bundled voice; --model/--vocoder pick others)',
    )
    parser.add_argument("text", nargs="?", help="the text to speak (or use --file)")
    parser.add_argument("-o", "--output", help="wav file to write, with TEXT")
    parser.add_argument("--file", type=Path, help="text file: each non-blank line N becomes OUT_DIR/NNNN.wav")
    parser.add_argument("--out-dir", type=Path, help="folder for the wavs of --file")
    parser.add_argument(
        "--model",
        default=DEFAULT_VOICE,
        help=f"spectrogram generator: .nemo path or pretrained name (default {DEFAULT_VOICE}, bundled)",
    )
    parser.add_argument("--vocoder", help="vocoder: .nemo path or pretrained name (default: Griffin-Lim)")
    parser.add_argument("--speaker", type=int, help="speaker id of a multi-speaker model")
    parser.add_argument("--pace", type=float, default=1.0, help="speaking rate; > 1 is faster (default 1.0)")
    parser.add_argument("--no-normalize", action="store_true", help="do not normalize numbers, dates, ...")
    args = parser.parse_args(argv)
    if (args.text is None) == (args.file is None):
        raise CommandError("pass either TEXT with -o OUT.wav, or --file LINES.txt with --out-dir DIR.")
    if args.text is not None and args.output is None:
        raise CommandError('TEXT needs -o OUT.wav: nemo synthesize "Hello." -o hello.wav --model M')
    if args.file is not None and args.out_dir is None:
        raise CommandError("--file needs --out-dir DIR, the folder for its wavs.")
    if args.pace <= 0:
        raise CommandError(f"--pace must be positive, got {args.pace}.")

    import soundfile
    from nemo.collections.tts.inference import synthesize
    from tqdm import tqdm

    spec_generator = _load(args.model, "--model")
    vocoder = None if args.vocoder is None else _load(args.vocoder, "--vocoder")

    def speak(text: str, out: Path, where: str) -> None:
        try:
            audio, sample_rate = synthesize(
                text,
                spec_generator,
                vocoder,
                speaker=args.speaker,
                pace=args.pace,
                normalize=not args.no_normalize,
            )
        except ValueError as error:
            raise CommandError(f"{where}: {error}") from error
        soundfile.write(str(out), audio.numpy(), sample_rate, subtype="PCM_16")

    if args.text is not None:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        speak(args.text, out, "TEXT")
        print(f"wrote {out}")
        return 0
    lines = _numbered_lines(args.file)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(lines[-1][0])))
    for number, text in tqdm(lines, desc="synthesize", unit="line", file=sys.stderr):
        speak(text, args.out_dir / f"{number:0{width}d}.wav", f"{args.file} line {number}")
    print(f"wrote {len(lines)} wav files to {args.out_dir}")
    return 0


def _pitch_stats(argv: list[str]) -> int:
    from nemo.collections.tts.parts.utils.pitch_stats import pitch_stats_main

    return pitch_stats_main(argv)


TTS_COMMANDS = {"pitch-stats": _pitch_stats}
_TTS_COMMAND_HELP = {
    "pitch-stats": "pitch_mean / pitch_std of a manifest's voiced frames, for FastPitch configs",
}


def tts_main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in TTS_COMMANDS:
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"nemo tts: unknown command {argv[0]!r}.", file=sys.stderr)
        lines = "".join(f"\n  {name:<12} {text}" for name, text in _TTS_COMMAND_HELP.items())
        print(f"usage: nemo tts {{{','.join(TTS_COMMANDS)}}} ...{lines}")
        return 0 if not argv or argv[0] in {"-h", "--help"} else 2
    return TTS_COMMANDS[argv[0]](argv[1:])

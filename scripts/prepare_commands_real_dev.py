"""Make a real-voice dev set for the spoken digits: digit words cut out of the Asterisk voice's other prompts.

The commands task trains on synthetic voices and tests on the real Asterisk voice's ``digits/0``-``9`` and
``letters/a``-``z`` prompts. Its synthetic dev voices are too easy to choose anything on (every setting scores
99-100% on their digits), so this script makes a second dev set from the real voice without touching the test
clips: every digit word ("zero" to "nine") spoken inside the voice's *other* prompts ("press two to enter a
different number"), located by forced alignment with PyPI ``pocketsphinx`` 5.1.1 (its bundled US English
model, independent of ours) and written as a NeMo manifest that points into the committed audio with
``offset`` and ``duration``; no audio is copied.

    python scripts/prepare_commands_real_dev.py            # writes data/commands/dev_real_manifest.json

Words said inside a sentence are shorter and run into their neighbours, so this set is harder than isolated
words: it ranks settings, it does not predict the test figure. The output depends only on the committed
``data/asterisk`` manifests and audio and on pocketsphinx's model; a rerun writes the same file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_sound_tasks import read_manifest, relative_path, write_manifest  # noqa: E402

ASTERISK = ROOT / "data" / "asterisk"
COMMANDS = ROOT / "data" / "commands"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FRAME_S = 0.01  # pocketsphinx's frame shift
SAMPLE_RATE = 16000
# Words of the prompts that pocketsphinx's dictionary lacks, in its ARPAbet phones (CMU dictionary style).
EXTRA_PRONUNCIATIONS = {
    "unmute": "AH N M Y UW T",
    "rerecord": "R IY R IH K ER D",
    "undelete": "AH N D IH L IY T",
    "prepend": "P R IY P EH N D",
    "prepending": "P R IY P EH N D IH NG",
    "iax": "AY EY EH K S",
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asterisk", type=Path, default=ASTERISK, help="folder of the Asterisk manifests")
    parser.add_argument("--commands", type=Path, default=COMMANDS, help="folder of the commands task")
    parser.add_argument(
        "--margin",
        type=float,
        default=0.03,
        help="seconds kept on each side of an aligned word (default 0.03)",
    )
    return parser.parse_args(argv)


def test_clips(commands: Path) -> set[Path]:
    """The audio files of the commands test split (resolved), which this set must never include."""
    return {
        (commands / entry["audio_filepath"]).resolve()
        for entry in read_manifest(commands / "test_manifest.json")
    }


def prompts_with_digits(asterisk: Path, excluded: set[Path]) -> Iterator[tuple[Path, str]]:
    """(audio path, transcript) of every Asterisk prompt, all splits, that says a digit word and is not excluded."""
    for split in ("train", "dev", "test"):
        for entry in read_manifest(asterisk / f"{split}_manifest.json"):
            audio = (asterisk / entry["audio_filepath"]).resolve()
            if audio not in excluded and any(word in DIGITS for word in entry["text"].split()):
                yield audio, entry["text"]


def aligned_words(decoder, audio_path: Path, text: str) -> list[tuple[str, float, float]]:
    """(word, start s, end s) of each word of ``text`` in the audio, by pocketsphinx forced alignment."""
    import soundfile

    audio, rate = soundfile.read(str(audio_path), dtype="int16")
    if rate != SAMPLE_RATE:
        raise SystemExit(
            f"{audio_path}: {rate} Hz; the Asterisk clips are {SAMPLE_RATE} Hz. Rebuild data/asterisk."
        )
    decoder.set_align_text(text)
    decoder.start_utt()
    decoder.process_raw(audio.tobytes(), full_utt=True)
    decoder.end_utt()
    words = []
    for segment in decoder.seg() or ():  # None: the search found no path through the text
        word = segment.word.split("(")[0]  # "to(2)": the dictionary's second pronunciation of "to"
        if word.startswith("<") or word.startswith("["):
            continue
        words.append((word, segment.start_frame * FRAME_S, (segment.end_frame + 1) * FRAME_S))
    return words


def digit_entries(asterisk: Path, commands: Path, margin: float) -> list[dict]:
    """Manifest entries (``audio_filepath`` relative to ``commands``) of every aligned digit word."""
    import soundfile
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
    for word, phones in EXTRA_PRONUNCIATIONS.items():
        decoder.add_word(word, phones, True)
    entries = []
    for audio_path, text in prompts_with_digits(asterisk, test_clips(commands)):
        length = soundfile.info(str(audio_path)).duration
        try:
            words = aligned_words(decoder, audio_path, text)
        except RuntimeError:  # a word pocketsphinx's dictionary lacks ("unmute")
            print(f"{audio_path.name}: pocketsphinx cannot align {text!r}; skipped", file=sys.stderr)
            continue
        if [word for word, _, _ in words] != text.split():
            print(f"{audio_path.name}: alignment did not cover {text!r}; skipped", file=sys.stderr)
            continue
        for word, start, end in words:
            if word not in DIGITS:
                continue
            offset = max(0.0, start - margin)
            stop = min(length, end + margin)
            entries.append(
                {
                    "audio_filepath": relative_path(audio_path, commands),
                    "duration": round(stop - offset, 3),
                    "label": word,
                    "offset": round(offset, 3),
                }
            )
    return entries


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    entries = digit_entries(args.asterisk, args.commands, args.margin)
    out = args.commands / "dev_real_manifest.json"
    write_manifest(out, entries)
    counts = {digit: sum(entry["label"] == digit for entry in entries) for digit in DIGITS}
    print(f"{out}: {len(entries)} digit words of the real voice: {counts}")


if __name__ == "__main__":
    main()

"""ASR subcommands of the ``nemo`` command, registered by the asr plugin and imported only when run.

nemo transcribe MODEL.nemo AUDIO [AUDIO ...] [--batch-size N]
nemo asr eval MODEL.nemo MANIFEST [--batch-size N] [--use-cer]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nemo.core.cli.errors import CommandError


def _restore(model_path: str):
    """Restore any ASR model from a ``.nemo``; its class comes from the archive's config (allow-listed)."""
    if not Path(model_path).is_file():
        raise CommandError(f"model file {model_path!r} does not exist. Pass the path of a .nemo archive.")
    from nemo.core.classes.modelPT import ModelPT

    return ModelPT.restore_from(model_path, map_location="cpu")


def _texts(results) -> list[str]:
    """Plain strings from what ``transcribe`` returned (CTC: a list; RNN-T: (best, all))."""
    if isinstance(results, tuple):
        results = results[0]
    return [getattr(result, "text", result) for result in results]


def transcribe_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nemo transcribe", description="Transcribe audio files with a .nemo model."
    )
    parser.add_argument("model", help="path of a .nemo ASR model")
    parser.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg, ...)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    args = parser.parse_args(argv)
    missing = [path for path in args.audio if not Path(path).is_file()]
    if missing:
        print(f"nemo transcribe: audio file(s) not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    model = _restore(args.model)
    texts = _texts(model.transcribe(args.audio, batch_size=args.batch_size, verbose=False))
    for path, text in zip(args.audio, texts):
        print(json.dumps({"audio_filepath": path, "pred_text": text}) if args.json else f"{path}\t{text}")
    return 0


def _evaluate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nemo asr eval", description="Word error rate of a .nemo model on a manifest."
    )
    parser.add_argument("model", help="path of a .nemo ASR model")
    parser.add_argument("manifest", help="NeMo JSON-lines manifest with audio_filepath and text")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--use-cer", action="store_true", help="character error rate instead of WER")
    parser.add_argument("--output", help="write the manifest with pred_text added to this file")
    args = parser.parse_args(argv)
    if not Path(args.manifest).is_file():
        raise CommandError(f"manifest {args.manifest!r} does not exist. Pass a NeMo JSON-lines manifest.")
    if not Path(args.model).is_file():
        raise CommandError(f"model file {args.model!r} does not exist. Pass the path of a .nemo archive.")
    from nemo.collections.asr.data.manifest import ManifestError, read_manifest_entries
    from nemo.collections.asr.metrics.wer import word_error_rate

    try:
        entries = list(read_manifest_entries(args.manifest))
    except ManifestError as err:
        raise CommandError(str(err)) from err
    missing = [entry.audio_filepath for entry in entries if not Path(entry.audio_filepath).is_file()]
    if missing:
        raise CommandError(
            f"{len(missing)} audio file(s) listed in {args.manifest} do not exist, e.g. {missing[0]!r}. "
            "Relative audio_filepath values are read relative to the manifest's folder; fix the paths."
        )
    model = _restore(args.model)
    predictions = _texts(
        model.transcribe(
            [entry.audio_filepath for entry in entries], batch_size=args.batch_size, verbose=True
        )
    )
    references = [entry.text for entry in entries]
    score = word_error_rate(predictions, references, use_cer=args.use_cer)
    if args.output:
        with open(args.output, "w") as out:
            for entry, prediction in zip(entries, predictions):
                out.write(
                    json.dumps(
                        {
                            "audio_filepath": entry.audio_filepath,
                            "duration": entry.duration,
                            "text": entry.text,
                            "pred_text": prediction,
                        }
                    )
                    + "\n"
                )
    print(f"{'CER' if args.use_cer else 'WER'}: {score:.4f} on {len(entries)} utterances ({args.manifest})")
    return 0


ASR_COMMANDS = {"eval": _evaluate}


def asr_main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in ASR_COMMANDS:
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"nemo asr: unknown command {argv[0]!r}.", file=sys.stderr)
        print(
            f"usage: nemo asr {{{','.join(ASR_COMMANDS)}}} ...\n  eval   word error rate of a .nemo model on a manifest"
        )
        return 0 if not argv or argv[0] in {"-h", "--help"} else 2
    return ASR_COMMANDS[argv[0]](argv[1:])

"""ASR subcommands of the ``nemo`` command, registered by the asr plugin and imported only when run.

nemo transcribe MODEL.nemo AUDIO [AUDIO ...] [--batch-size N] [--lm LM.arpa --beam-size N --alpha A --beta B]
                [--punctuate PUNCT.nemo]     (a classification model prints one label per file)
nemo asr eval MODEL.nemo MANIFEST [--batch-size N] [--use-cer] [--lm LM.arpa --beam-size N --alpha A --beta B]
nemo asr build-lm MANIFEST [MANIFEST ...] [--order 3] [--mix GENERAL.arpa --mix-weight W] --out LM.arpa
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


def _add_beam_arguments(parser: argparse.ArgumentParser) -> None:
    """``--lm``, ``--beam-size``, ``--alpha``, ``--beta``: CTC beam search, optionally fused with a word LM."""
    group = parser.add_argument_group("beam search (CTC models; decoding.beam.* keys)")
    group.add_argument(
        "--lm", help="ARPA word n-gram file (decoding.beam.kenlm_path), e.g. from `nemo asr build-lm`"
    )
    group.add_argument(
        "--beam-size", type=int, help="prefixes kept per frame (decoding.beam.beam_size; default 32)"
    )
    group.add_argument("--alpha", type=float, help="LM weight (decoding.beam.beam_alpha; default 1.0)")
    group.add_argument("--beta", type=float, help="score per word (decoding.beam.beam_beta; default 0.0)")


def _apply_beam_arguments(model, args: argparse.Namespace) -> None:
    """Switch a CTC model to beam decoding when ``--lm`` or ``--beam-size`` is given."""
    if args.lm is None and args.beam_size is None:
        if args.alpha is not None or args.beta is not None:
            raise CommandError("--alpha and --beta weight a language model: pass --lm LM.arpa with them.")
        return
    from nemo.collections.asr.parts.submodules.ctc_decoding import AbstractCTCDecoding
    from omegaconf import OmegaConf, open_dict

    if not isinstance(getattr(model, "decoding", None), AbstractCTCDecoding):
        raise CommandError(
            f"--lm/--beam-size need a CTC model; {type(model).__name__} decodes otherwise. Drop those options."
        )
    decoding_cfg = OmegaConf.create(OmegaConf.to_container(model.cfg.decoding))
    with open_dict(decoding_cfg):
        decoding_cfg.strategy = "beam"
        beam = {"beam_size": 32 if args.beam_size is None else args.beam_size, "kenlm_path": args.lm}
        if args.alpha is not None:
            beam["beam_alpha"] = args.alpha
        if args.beta is not None:
            beam["beam_beta"] = args.beta
        decoding_cfg.beam = OmegaConf.merge(decoding_cfg.get("beam") or {}, beam)
    try:
        model.change_decoding_strategy(decoding_cfg)
    except (ValueError, OSError) as error:
        raise CommandError(str(error)) from error


def _texts(results) -> list[str]:
    """Plain strings from what ``transcribe`` returned (CTC: a list; RNN-T: (best, all))."""
    if isinstance(results, tuple):
        results = results[0]
    return [getattr(result, "text", result) for result in results]


def _punctuation_model(model_path: str):
    """Restore a ``PunctuationCapitalizationModel`` archive (nemo-nlp) for ``--punctuate``.

    nemo-asr does not depend on nemo-nlp: the model class is imported here, only when ``--punctuate`` is given.
    """
    if not Path(model_path).is_file():
        raise CommandError(
            f"--punctuate: model file {model_path!r} does not exist. Pass the path of a "
            "PunctuationCapitalizationModel .nemo archive."
        )
    try:
        from nemo.collections.nlp.models.token_classification.punctuation_capitalization_model import (
            PunctuationCapitalizationModel,
        )
    except ImportError as error:
        raise CommandError(
            f"--punctuate needs the NLP collection, which cannot be imported ({error}). Install it with "
            "`pip install nemo-nlp`, or transcribe without --punctuate."
        ) from error
    target = PunctuationCapitalizationModel.restore_from(model_path, return_config=True).get("target")
    if target and target.rsplit(".", 1)[-1] != PunctuationCapitalizationModel.__name__:
        raise CommandError(
            f"--punctuate: {model_path} holds a {target}, expected a PunctuationCapitalizationModel archive."
        )
    return PunctuationCapitalizationModel.restore_from(model_path, map_location="cpu")


def _is_classifier(model) -> bool:
    """Whether ``model`` predicts one label per file (``EncDecClassificationModel``) instead of text."""
    from nemo.collections.asr.models.classification_models import EncDecClassificationModel

    return isinstance(model, EncDecClassificationModel)


def _print_labels(model, args: argparse.Namespace) -> int:
    """Print ``path<TAB>label`` (or ``{"audio_filepath", "pred_label"}`` with --json) per audio file."""
    if args.punctuate is not None:
        raise CommandError(
            f"--punctuate punctuates transcripts, but {type(model).__name__} predicts labels. Drop --punctuate."
        )
    labels = model.transcribe(args.audio, batch_size=args.batch_size)
    for path, label in zip(args.audio, labels):
        print(json.dumps({"audio_filepath": path, "pred_label": label}) if args.json else f"{path}\t{label}")
    return 0


def transcribe_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nemo transcribe", description="Transcribe audio files with a .nemo model."
    )
    parser.add_argument("model", help="path of a .nemo ASR model")
    parser.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg, ...)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    parser.add_argument(
        "--punctuate",
        metavar="PUNCT.nemo",
        help="add punctuation and capitals with a PunctuationCapitalizationModel archive (needs nemo-nlp); "
        "--json then also gives the raw transcript as pred_text and the result as punctuated_text",
    )
    _add_beam_arguments(parser)
    args = parser.parse_args(argv)
    missing = [path for path in args.audio if not Path(path).is_file()]
    if missing:
        print(f"nemo transcribe: audio file(s) not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    punctuation_model = None if args.punctuate is None else _punctuation_model(args.punctuate)
    model = _restore(args.model)
    _apply_beam_arguments(model, args)
    if _is_classifier(model):
        return _print_labels(model, args)
    texts = _texts(model.transcribe(args.audio, batch_size=args.batch_size, verbose=False))
    punctuated = None
    if punctuation_model is not None:
        punctuated = punctuation_model.add_punctuation_capitalization(texts, batch_size=args.batch_size)
    for index, (path, text) in enumerate(zip(args.audio, texts)):
        entry = {"audio_filepath": path, "pred_text": text}
        if punctuated is not None:
            entry["punctuated_text"] = text = punctuated[index]
        print(json.dumps(entry) if args.json else f"{path}\t{text}")
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
    _add_beam_arguments(parser)
    args = parser.parse_args(argv)
    from nemo.collections.asr.data.manifest import ManifestError, read_manifest_entries
    from nemo.collections.asr.metrics.wer import word_error_rate

    try:
        entries = list(read_manifest_entries(args.manifest))
    except (ManifestError, FileNotFoundError) as err:
        raise CommandError(str(err)) from err
    missing = [entry.audio_filepath for entry in entries if not Path(entry.audio_filepath).is_file()]
    if missing:
        raise CommandError(
            f"{len(missing)} audio file(s) listed in {args.manifest} do not exist, e.g. {missing[0]!r}. "
            "Relative audio_filepath values are read relative to the manifest's folder; fix the paths."
        )
    model = _restore(args.model)
    _apply_beam_arguments(model, args)
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


def _build_lm(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nemo asr build-lm",
        description="Estimate a word n-gram LM (modified Kneser-Ney) from the `text` of manifests; write ARPA.",
    )
    parser.add_argument("manifests", nargs="+", help="NeMo JSON-lines manifests (their `text` is read)")
    parser.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    parser.add_argument("--out", required=True, help="ARPA file to write (.arpa, or .arpa.gz to compress)")
    parser.add_argument(
        "--mix", help="an ARPA model (e.g. general English) to interpolate with the manifests' model"
    )
    parser.add_argument(
        "--mix-weight",
        type=float,
        default=0.5,
        help="weight of the --mix model; the manifests' model gets 1 - W (default 0.5)",
    )
    args = parser.parse_args(argv)
    from nemo.collections.asr.data.manifest import ManifestError
    from nemo.collections.asr.parts.lm.ngram_lm import (
        ArpaFormatError,
        NGramLanguageModel,
        estimate_ngram_lm,
        mix_ngram_lms,
    )
    from nemo.collections.asr.parts.lm.text_corpus import manifest_texts

    if args.mix is not None and not 0.0 < args.mix_weight < 1.0:
        raise CommandError(f"--mix-weight must be between 0 and 1 (exclusive), got {args.mix_weight}.")

    try:
        sentences = manifest_texts(args.manifests)
    except (FileNotFoundError, ManifestError) as error:
        raise CommandError(str(error)) from error
    try:
        language_model = estimate_ngram_lm(sentences, order=args.order)
    except ValueError as error:
        raise CommandError(f"{error} (manifests: {', '.join(args.manifests)})") from error
    mixed = ""
    if args.mix is not None:
        try:
            general = NGramLanguageModel.from_arpa(args.mix)
        except (FileNotFoundError, ArpaFormatError) as error:
            raise CommandError(f"--mix: {error}") from error
        language_model = mix_ngram_lms([language_model, general], [1.0 - args.mix_weight, args.mix_weight])
        mixed = f", mixed with {args.mix} (weight {args.mix_weight:g})"
    language_model.write_arpa(args.out)
    counts = ", ".join(f"{n}-grams: {count}" for n, count in language_model.ngram_counts.items())
    print(f"wrote {args.out}: order {language_model.order}, {len(sentences)} sentences{mixed}, {counts}")
    return 0


ASR_COMMANDS = {"eval": _evaluate, "build-lm": _build_lm}
_ASR_COMMAND_HELP = {
    "eval": "word error rate of a .nemo model on a manifest",
    "build-lm": "word n-gram LM (ARPA) from manifests' text, for --lm / decoding.beam.kenlm_path",
}


def asr_main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in ASR_COMMANDS:
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"nemo asr: unknown command {argv[0]!r}.", file=sys.stderr)
        lines = "".join(f"\n  {name:<9} {text}" for name, text in _ASR_COMMAND_HELP.items())
        print(f"usage: nemo asr {{{','.join(ASR_COMMANDS)}}} ...{lines}")
        return 0 if not argv or argv[0] in {"-h", "--help"} else 2
    return ASR_COMMANDS[argv[0]](argv[1:])

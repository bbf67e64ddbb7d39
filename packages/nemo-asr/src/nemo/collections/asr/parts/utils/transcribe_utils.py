"""Helpers of NeMo's transcription scripts (``examples/asr/transcribe_speech.py``, ``speech_to_text_eval.py``).

The scripts pass their Hydra config (``cfg``) through these functions: restore the model (:func:`setup_model`),
list the audio (:func:`prepare_audio_data`), name the output manifest (:func:`compute_output_filename`),
transcribe manifest segments with ``offset``/``duration`` (:func:`transcribe_partial_audio`) and write one JSON
line per input (:func:`write_transcription`). :func:`compute_metrics_per_sample` and
:class:`PunctuationCapitalization` score and normalise the written manifest.

Streaming (buffered) inference, NeMo's ``get_buffered_pred_feat*``, is not part of this package.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemo.collections.asr.data.manifest import ManifestError, parse_json_object
from nemo.collections.asr.parts.utils.manifest_utils import read_manifest
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from nemo.collections.common.parts.preprocessing.manifest import iter_text_lines
from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    import torch
    from nemo.collections.asr.models.asr_model import ASRModel

__all__ = [
    "PunctuationCapitalization",
    "TextProcessingConfig",
    "compute_metrics_per_sample",
    "compute_output_filename",
    "normalize_timestamp_output",
    "prepare_audio_data",
    "setup_model",
    "transcribe_partial_audio",
    "wrap_transcription",
    "write_transcription",
]

SUPPORTED_SAMPLE_METRICS = ("wer", "cer", "punct_er")


def _is_set(value: Any) -> bool:
    """A config value that names something: not ``None`` nor the string ``"None"`` (Hydra's spelling of it)."""
    return value is not None and value != "None"


def wrap_transcription(hyps: Iterable[str]) -> list[Hypothesis]:
    """Texts as :class:`Hypothesis` objects (score 0, no tokens), the form :func:`write_transcription` takes."""
    return [Hypothesis(score=0.0, y_sequence=[], text=text) for text in hyps]


def setup_model(cfg: DictConfig, map_location: torch.device | str) -> tuple[ASRModel, str]:
    """Restore the model named by ``cfg.model_path`` (a ``.nemo``) or ``cfg.pretrained_name``.

    The ``.nemo`` is restored as the class its config names. With ``cfg.model_change.conformer`` and a model that
    can change its attention, ``self_attention_model`` / ``att_context_size`` from there are applied.

    Returns:
        ``(model, model_name)``: the name is the ``.nemo`` file's stem, or the pretrained name.
    """
    from nemo.collections.asr.models.asr_model import ASRModel
    from nemo.utils.model_utils import import_class_by_path

    if _is_set(cfg.get("model_path")):
        model_path = str(cfg.model_path)
        saved_cfg = ASRModel.restore_from(restore_path=model_path, return_config=True)
        model_class = import_class_by_path(saved_cfg.target)
        logging.info(f"Restoring model: {model_class.__name__}")
        model = model_class.restore_from(restore_path=model_path, map_location=map_location)
        name = os.path.splitext(os.path.basename(model_path))[0]
    elif _is_set(cfg.get("pretrained_name")):
        model = ASRModel.from_pretrained(model_name=cfg.pretrained_name, map_location=map_location)
        name = str(cfg.pretrained_name)
    else:
        raise ValueError("Give model_path (a .nemo file) or pretrained_name; both are unset.")

    change = OmegaConf.select(cfg, "model_change.conformer") if isinstance(cfg, DictConfig) else None
    if change is not None and hasattr(model, "change_attention_model"):
        model.change_attention_model(
            self_attention_model=change.get("self_attention_model"),
            att_context_size=change.get("att_context_size"),
        )
    return model, name


def _manifest_audio_path(audio_file: str, manifest_file: str) -> str:
    """An audio path of a manifest line: absolute or existing as given, else relative to the manifest's folder."""
    if os.path.isabs(audio_file) or os.path.isfile(audio_file):
        return audio_file
    return os.path.join(os.path.dirname(manifest_file), audio_file)


def prepare_audio_data(cfg: DictConfig) -> tuple[list[str], bool] | None:
    """The audio files to transcribe and whether every manifest line is a segment (``offset`` and ``duration``).

    ``cfg.audio_dir`` (unless ``cfg.append_pred``) gives every ``*.{cfg.audio_type}`` under it, recursively;
    otherwise the lines of ``cfg.dataset_manifest`` give them (key ``cfg.audio_key``, default
    ``audio_filepath``; relative paths are taken from the manifest's folder).

    Returns:
        ``(filepaths, partial_audio)``, or ``None`` for an empty manifest (logged as an error, as NeMo does).

    Raises:
        ManifestError: a manifest line is not UTF-8 or not one JSON object (naming ``<manifest>:<line>``).
        KeyError: a manifest line has no ``audio_key`` (naming ``<manifest>:<line>``).
    """
    if _is_set(cfg.get("audio_dir")) and not cfg.get("append_pred", False):
        pattern = os.path.join(str(cfg.audio_dir), "**", f"*.{cfg.get('audio_type', 'wav')}")
        filepaths = sorted(glob.glob(pattern, recursive=True))
        partial_audio = False
    else:
        manifest = cfg.get("dataset_manifest")
        if not _is_set(manifest):
            raise ValueError("Give audio_dir or dataset_manifest; both are unset.")
        manifest = str(manifest)
        if os.stat(manifest).st_size == 0:
            logging.error(f"The dataset_manifest {manifest} is empty; nothing to transcribe.")
            return None
        audio_key = cfg.get("audio_key", "audio_filepath")
        filepaths, segments = [], []
        for number, line in iter_text_lines(manifest, ManifestError, "manifest"):
            if not line.strip():
                continue
            item = parse_json_object(line, f"{manifest}:{number}")
            if audio_key not in item:
                raise KeyError(
                    f"{manifest}:{number} has no {audio_key!r}; set audio_key to the audio path's key."
                )
            filepaths.append(_manifest_audio_path(item[audio_key], manifest))
            segments.append("offset" in item and "duration" in item)
        partial_audio = bool(segments) and all(segments)
    logging.info(f"Transcribing {len(filepaths)} files...")
    return filepaths, partial_audio


def compute_output_filename(cfg: DictConfig, model_name: str) -> DictConfig:
    """Set ``cfg.output_filename`` when it is unset, and return ``cfg``.

    ``<audio_dir>.json`` for a folder; for a manifest ``x.json``: ``x_<pred_name_postfix>.json``, else
    ``x_<model_name>.json``.
    """
    if _is_set(cfg.get("output_filename")):
        return cfg
    if _is_set(cfg.get("audio_dir")):
        cfg.output_filename = os.path.normpath(str(cfg.audio_dir)) + ".json"
    else:
        suffix = cfg.pred_name_postfix if _is_set(cfg.get("pred_name_postfix")) else model_name
        cfg.output_filename = str(cfg.dataset_manifest).replace(".json", f"_{suffix}.json")
    return cfg


def normalize_timestamp_output(timestamps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Make ``start_offset`` / ``end_offset`` of every entry plain ints (JSON-serialisable), in place."""
    for entry in timestamps:
        entry["start_offset"] = int(entry["start_offset"])
        entry["end_offset"] = int(entry["end_offset"])
    return timestamps


def _return_best_hypothesis(cfg: DictConfig) -> bool:
    value = (
        OmegaConf.select(cfg, "decoding.beam.return_best_hypothesis") if isinstance(cfg, DictConfig) else None
    )
    return True if value is None else bool(value)


def _hypothesis_fields(hyp: Hypothesis, compute_timestamps: bool, compute_langs: bool) -> dict[str, Any]:
    """The extra manifest keys of one hypothesis: ``timestamps_<kind>`` and ``pred_lang``/``pred_lang_chars``."""
    fields: dict[str, Any] = {}
    if compute_timestamps and isinstance(hyp.timestep, dict):
        for kind, entries in hyp.timestep.items():
            if kind != "timestep":  # the frame index of each token is not written, as in NeMo
                fields[f"timestamps_{kind}"] = normalize_timestamp_output(entries)
    if compute_langs:
        if not hasattr(hyp, "langs"):
            raise ValueError(
                "compute_langs=True, but this model's hypotheses carry no language ids; set compute_langs=False."
            )
        fields["pred_lang"] = hyp.langs
        fields["pred_lang_chars"] = getattr(hyp, "langs_chars", None)
    return fields


def write_transcription(
    transcriptions: Sequence[Hypothesis] | Sequence[Sequence[Hypothesis]] | Sequence[str],
    cfg: DictConfig,
    model_name: str,
    filepaths: Sequence[str] | None = None,
    compute_langs: bool = False,
    compute_timestamps: bool = False,
) -> tuple[str, str]:
    """Write one JSON line per input to ``cfg.output_filename``.

    With ``cfg.audio_dir`` a line is ``{"audio_filepath", <pred key>}``; with a manifest, its lines with
    ``<pred key>`` added. The key is ``pred_text``, or ``pred_text_<pred_name_postfix or model_name>`` when
    ``cfg.append_pred``. N-best lists (one list of hypotheses per input) write their first hypothesis, and
    ``beams`` (``[[text, score], ...]``) when ``cfg.decoding.beam.return_best_hypothesis`` is false.

    Returns:
        ``(output_filename, pred_text_key)``.

    Raises:
        TypeError: ``transcriptions`` holds something else.
        ManifestError: a line of ``cfg.dataset_manifest`` is not UTF-8 or not one JSON object (naming
            ``<manifest>:<line>``).
    """
    if cfg.get("append_pred", False):
        postfix = cfg.pred_name_postfix if _is_set(cfg.get("pred_name_postfix")) else model_name
        pred_key = f"pred_text_{postfix}"
    else:
        pred_key = "pred_text"

    keep_beams = not _return_best_hypothesis(cfg)
    first = transcriptions[0] if len(transcriptions) else ""
    beams: list[list[tuple[str, float]]] | None = None
    if isinstance(first, str):
        best: list[Any] = list(transcriptions)
    elif isinstance(first, Hypothesis):
        if keep_beams:
            raise ValueError(
                "decoding.beam.return_best_hypothesis is false, but the model returned one hypothesis per input."
            )
        best = list(transcriptions)
    elif isinstance(first, Sequence) and first and isinstance(first[0], Hypothesis):
        best = [nbest[0] for nbest in transcriptions]
        beams = [[(h.text, h.score) for h in nbest] for nbest in transcriptions] if keep_beams else None
    else:
        raise TypeError(
            f"write_transcription takes strings, Hypothesis objects or lists of them; got {type(first).__name__}."
        )

    def item_for(index: int, base: dict[str, Any]) -> dict[str, Any]:
        hyp = best[index]
        if isinstance(hyp, str):
            base[pred_key] = hyp
            return base
        base[pred_key] = hyp.text
        base.update(_hypothesis_fields(hyp, compute_timestamps, compute_langs))
        if beams is not None:
            base["beams"] = beams[index]
        return base

    output = str(cfg.output_filename)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="\n") as out:
        if _is_set(cfg.get("audio_dir")):
            if filepaths is None or len(filepaths) != len(best):
                raise ValueError("write_transcription with audio_dir needs one file path per transcription.")
            for index, path in enumerate(filepaths):
                out.write(json.dumps(item_for(index, {"audio_filepath": path})) + "\n")
        else:
            items = read_manifest(str(cfg.dataset_manifest))
            if len(items) != len(best):
                raise ValueError(
                    f"{cfg.dataset_manifest} has {len(items)} lines but there are {len(best)} transcriptions."
                )
            for index, item in enumerate(items):
                out.write(json.dumps(item_for(index, item)) + "\n")
    return output, pred_key


def _decode_function(asr_model: Any, decoder_type: str | None):
    """The tensor-decoding method for ``decoder_type`` (``None``: the model's own kind)."""
    if decoder_type == "ctc" and hasattr(asr_model, "ctc_decoding"):
        return asr_model.ctc_decoding.ctc_decoder_predictions_tensor
    if decoder_type not in (None, "ctc", "rnnt"):
        raise ValueError(f"decoder_type must be 'ctc', 'rnnt' or None, got {decoder_type!r}.")
    if hasattr(asr_model, "joint") and decoder_type != "ctc":
        return asr_model.decoding.rnnt_decoder_predictions_tensor
    return asr_model.decoding.ctc_decoder_predictions_tensor


def _load_segments(entries: Sequence[Any], sample_rate: int, channel_selector: Any) -> tuple[Any, Any]:
    """Read manifest segments into a zero-padded batch: audio (B, T) float32 and lengths (B,) int64."""
    import torch
    from nemo.collections.asr.parts.preprocessing.segment import AudioSegment

    signals = []
    for entry in entries:
        segment = AudioSegment.from_file(
            entry.audio_filepath,
            target_sr=sample_rate,
            offset=entry.offset or 0.0,
            duration=entry.duration,
            channel_selector=channel_selector,
        )
        signals.append(torch.as_tensor(segment.samples, dtype=torch.float32))
    lengths = torch.tensor([len(s) for s in signals], dtype=torch.int64)
    audio = torch.zeros(len(signals), int(lengths.max()), dtype=torch.float32)
    for row, signal in enumerate(signals):
        audio[row, : len(signal)] = signal
    return audio, lengths


def transcribe_partial_audio(
    asr_model: Any,
    path2manifest: str | None = None,
    batch_size: int = 4,
    logprobs: bool = False,
    return_hypotheses: bool = False,
    num_workers: int = 0,
    channel_selector: Any = None,
    augmentor: DictConfig | None = None,
    decoder_type: str | None = None,
) -> list[Any]:
    """Transcribe the ``offset``/``duration`` segments of a manifest with a CTC, RNN-T or hybrid model.

    The model runs in eval mode without dither or padding; its mode, dither and padding are restored after.

    Args:
        asr_model: the model.
        path2manifest: the manifest (relative audio paths are taken from its folder).
        batch_size: segments per forward pass.
        logprobs: return each segment's encoder output (T, V) as a numpy array instead of text.
        return_hypotheses: return :class:`Hypothesis` objects (with ``y_sequence`` the segment's outputs).
        num_workers: accepted for NeMo's signature; segments are read in this process (must be >= 0).
        channel_selector: channel(s) of multi-channel audio to use.
        augmentor: not supported; must be ``None``.
        decoder_type: ``"ctc"`` or ``"rnnt"`` for a hybrid model, ``None`` for the model's own decoder.

    Returns:
        One result per manifest line.
    """
    import torch
    from nemo.collections.asr.data.manifest import read_manifest_entries

    if return_hypotheses and logprobs:
        raise ValueError(
            "Ask for either return_hypotheses or logprobs; hypotheses already carry the outputs."
        )
    if augmentor:
        raise ValueError(
            "transcribe_partial_audio(augmentor=...) is not supported; augment the audio beforehand."
        )
    if num_workers is not None and num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}.")
    if path2manifest is None:
        raise ValueError("transcribe_partial_audio needs path2manifest.")
    entries = list(read_manifest_entries(path2manifest))
    decode = None if logprobs else _decode_function(asr_model, decoder_type)
    sample_rate = int(asr_model.cfg.get("sample_rate", 16000))
    device = next(asr_model.parameters()).device
    featurizer = asr_model.preprocessor.featurizer
    was_training = asr_model.training
    saved = {name: getattr(featurizer, name) for name in ("dither", "pad_to") if hasattr(featurizer, name)}
    results: list[Any] = []
    try:
        for name in saved:
            setattr(featurizer, name, 0.0 if name == "dither" else 0)
        asr_model.eval()
        with torch.no_grad():
            for start in range(0, len(entries), batch_size):
                audio, lengths = _load_segments(
                    entries[start : start + batch_size], sample_rate, channel_selector
                )
                outputs = asr_model.forward(
                    input_signal=audio.to(device), input_signal_length=lengths.to(device)
                )
                encoded, encoded_len = outputs[0], outputs[1]
                if decoder_type == "ctc" and hasattr(asr_model, "ctc_decoder"):
                    encoded = asr_model.ctc_decoder(encoder_output=encoded)
                encoded = encoded.cpu()
                if logprobs:
                    results.extend(
                        encoded[row, : encoded_len[row]].numpy() for row in range(encoded.shape[0])
                    )
                    continue
                hyps, _ = decode(encoded, encoded_len, return_hypotheses=return_hypotheses)
                if return_hypotheses:
                    for row, hyp in enumerate(hyps):
                        hyp.y_sequence = encoded[row, : encoded_len[row]]
                        if hyp.alignments is None:
                            hyp.alignments = hyp.y_sequence
                results.extend(hyps)
    finally:
        for name, value in saved.items():
            setattr(featurizer, name, value)
        asr_model.train(was_training)
    return results


def compute_metrics_per_sample(
    manifest_path: str,
    reference_field: str = "text",
    hypothesis_field: str = "pred_text",
    metrics: Sequence[str] = ("wer",),
    punctuation_marks: Sequence[str] = (".", ",", "?"),
    output_manifest_path: str | None = None,
) -> list[dict[str, Any]]:
    """Add per-line scores to a manifest's lines: ``wer``/``cer`` (percent, 2 decimals) and punctuation rates.

    ``punct_er`` adds ``punct_correct_rate``, ``punct_deletions_rate``, ``punct_insertions_rate``,
    ``punct_substitutions_rate`` and ``punct_error_rate`` (percent).

    Returns:
        The lines with their scores; also written to ``output_manifest_path`` when given.

    Raises:
        AssertionError: ``metrics`` is empty or names an unknown metric, or ``punct_er`` without marks (as NeMo).
        ManifestError: a line is not UTF-8 or not one JSON object (naming ``<manifest>:<line>``).
    """
    from nemo.collections.asr.metrics.wer import word_error_rate

    if not metrics:
        raise AssertionError(f"'metrics' is empty; choose from {list(SUPPORTED_SAMPLE_METRICS)}.")
    unknown = [m for m in metrics if m not in SUPPORTED_SAMPLE_METRICS]
    if unknown:
        raise AssertionError(
            f"metrics {unknown} are not supported; choose from {list(SUPPORTED_SAMPLE_METRICS)}."
        )
    punct_scorer = None
    if "punct_er" in metrics:
        if not punctuation_marks:
            raise AssertionError("punctuation_marks can't be empty when the 'punct_er' metric is asked for.")
        from nemo.collections.common.metrics.punct_er import OccurancePunctuationErrorRate

        punct_scorer = OccurancePunctuationErrorRate(punctuation_marks=list(punctuation_marks))

    samples = read_manifest(manifest_path)
    for sample in samples:
        reference, hypothesis = sample[reference_field], sample[hypothesis_field]
        for name, use_cer in (("wer", False), ("cer", True)):
            if name in metrics:
                score = word_error_rate(hypotheses=[hypothesis], references=[reference], use_cer=use_cer)
                sample[name] = round(100 * score, 2)
        if punct_scorer is not None:
            _, _, rates = punct_scorer.compute(reference=reference, hypothesis=hypothesis)
            for key, value in (
                ("punct_correct_rate", rates.correct_rate),
                ("punct_deletions_rate", rates.deletions_rate),
                ("punct_insertions_rate", rates.insertions_rate),
                ("punct_substitutions_rate", rates.substitutions_rate),
                ("punct_error_rate", rates.punct_er),
            ):
                sample[key] = round(100 * value, 2)
    if output_manifest_path is not None:
        with open(output_manifest_path, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(sample) + "\n" for sample in samples)
        logging.info(f"Wrote the manifest with per-sample metrics to {output_manifest_path}")
    return samples


class PunctuationCapitalization:
    """Text normalisation for scoring: split punctuation off words, lower-case, or drop punctuation.

    Args:
        punctuation_marks: the marks to treat, e.g. ``".,?"``; empty leaves punctuation alone.
    """

    def __init__(self, punctuation_marks: str) -> None:
        marks = "".join(punctuation_marks or "")
        self._marks = re.compile(f"([{re.escape(marks)}])") if marks else None
        self._spaces = re.compile(r"\s{2,}")

    def _tidy(self, text: str) -> str:
        return self._spaces.sub(" ", text).strip()

    def separate_punctuation(self, lines: list[str]) -> list[str]:
        """``"hi, you."`` -> ``"hi , you ."``."""
        if self._marks is None:
            return lines
        return [self._tidy(self._marks.sub(r" \1 ", line)) for line in lines]

    def do_lowercase(self, lines: list[str]) -> list[str]:
        """Lower-case every line."""
        return [line.lower() for line in lines]

    def rm_punctuation(self, lines: list[str]) -> list[str]:
        """``"hi, you."`` -> ``"hi you"``."""
        if self._marks is None:
            return lines
        return [self._tidy(self._marks.sub(" ", line)) for line in lines]


@dataclass(unsafe_hash=True)
class TextProcessingConfig:
    """How ``speech_to_text_eval.py`` normalises references and predictions before scoring.

    Hashable (``unsafe_hash``) so that a script may use an instance as a dataclass field default on Python 3.11+.
    """

    punctuation_marks: str = ""
    do_lowercase: bool = False
    rm_punctuation: bool = False
    separate_punctuation: bool = True

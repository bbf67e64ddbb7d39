"""Scoring a transcribed manifest (NeMo's ``nemo.collections.asr.parts.utils.eval_utils``).

:func:`cal_write_wer` adds ``wer`` (or ``cer``), ``tokens`` and the insertion, deletion and substitution rates
to every line of a manifest written by ``transcribe_speech.py`` and returns the corpus totals;
:func:`cal_write_text_metric` does the same with BLEU or ROUGE (``torchmetrics``). The text helpers clean
references (:func:`clean_label`, :func:`convert_num_to_words`) and punctuation before scoring.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Sequence
from typing import Any

from nemo.collections.asr.parts.utils.manifest_utils import read_manifest
from nemo.utils import logging
from nemo.utils.nemo_logging import LogMode
from omegaconf import DictConfig
from torchmetrics.text import SacreBLEUScore
from torchmetrics.text.rouge import ROUGEScore

__all__ = [
    "TEXT_METRICS_MAPPING",
    "cal_write_text_metric",
    "cal_write_wer",
    "clean_label",
    "convert_num_to_words",
    "flatten_dict_config",
    "get_hydra_override_from_config",
    "remove_punctuations",
    "strip_spaces_before_punctuations",
]


# The text metrics cal_write_text_metric can compute, by name.
TEXT_METRICS_MAPPING: dict[str, type] = {"bleu": SacreBLEUScore, "rouge": ROUGEScore}

# Characters clean_label turns into a space, removes, or makes an apostrophe.
_TO_SPACE = '/?*",.:=?_{|}~¨«·»¡¿„…‧‹›≪≫!:;ː→'
_TO_NOTHING = '`¨´‘’“”`ʻ‘’“"‘”'
_TO_APOSTROPHE = "‘’ʻ‘’‘"
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SPACE_BEFORE_MARK = re.compile(r"(\w)\s+([.,;!?])")


def flatten_dict_config(config: DictConfig, parent_key: str = "", sep: str = ".", join: str = "\n") -> str:
    """``key.sub=value`` for every leaf of ``config``, joined by ``join``."""
    leaves: list[str] = []

    def walk(node: DictConfig, prefix: str) -> None:
        for key, value in node.items():
            name = f"{prefix}{sep}{key}" if prefix else str(key)
            if isinstance(value, DictConfig):
                walk(value, name)
            else:
                leaves.append(f"{name}={value}")

    walk(config, parent_key)
    return join.join(leaves)


def get_hydra_override_from_config(
    config: DictConfig | None = None, exclude_keys: Sequence[str] | None = None
) -> str:
    """The leaves of ``config`` as Hydra overrides, ``++a.b=1 ++a.c=2``, leaving out the keys in ``exclude_keys``."""
    if not config:
        return ""
    excluded = set(exclude_keys or ())
    leaves = flatten_dict_config(config).split("\n")
    return " ".join(f"++{leaf}" for leaf in leaves if leaf.split("=", 1)[0] not in excluded)


def strip_spaces_before_punctuations(text: str) -> str:
    """``"hello , world ."`` -> ``"hello, world."``."""
    return _SPACE_BEFORE_MARK.sub(r"\1\2", text)


def remove_punctuations(text: str, punctuations: Sequence[str] | str | None = None) -> str:
    """Delete every mark of ``punctuations`` (default: ASCII punctuation except the apostrophe)."""
    for mark in punctuations or string.punctuation.replace("'", ""):
        text = text.replace(mark, "")
    return text


def convert_num_to_words(_str: str, langid: str = "en") -> str:
    """Spell every all-digit word digit by digit: ``"room 042 x"`` -> ``"room four two  x"`` (English only).

    As in NeMo 1.23, a word that is all zeros disappears and a spelled number is followed by two spaces
    (:func:`clean_label` squeezes them).

    Raises:
        NotImplementedError: ``langid`` is not ``"en"`` (normalise such text with a text normalizer first).
    """
    if langid != "en":
        raise NotImplementedError(
            f"convert_num_to_words spells numbers in English only, not {langid!r}; normalise the text first."
        )
    pieces = []
    for word in _str.split():
        if not word.isdigit():
            pieces.append(word + " ")
        elif int(word) > 0:
            pieces.append(" ".join(_DIGIT_WORDS[int(digit)] for digit in str(int(word))) + "  ")
    return "".join(pieces).strip()


def clean_label(_str: str, num_to_words: bool = True, langid: str = "en") -> str:
    """Lower-case a reference, drop quotes, turn other punctuation into spaces, spell numbers, squeeze spaces."""
    text = _str.strip().lower()
    text = text.translate({ord(c): None for c in _TO_NOTHING})
    text = text.translate({ord(c): " " for c in _TO_SPACE})
    text = text.translate({ord(c): "'" for c in _TO_APOSTROPHE})
    if num_to_words:
        if langid == "en":
            text = convert_num_to_words(text, langid="en")
        else:
            logging.warning(
                f"clean_label spells numbers in English only, not {langid!r}; numbers are left as they are.",
                mode=LogMode.ONCE,
            )
    return " ".join(text.split())


def _normalised_pair(
    hyp: str,
    ref: str,
    ignore_capitalization: bool,
    ignore_punctuation: bool,
    punctuations: Sequence[str] | None,
    strip_punc_space: bool,
) -> tuple[str, str]:
    if ignore_punctuation:
        hyp, ref = remove_punctuations(hyp, punctuations), remove_punctuations(ref, punctuations)
    elif strip_punc_space:
        hyp, ref = strip_spaces_before_punctuations(hyp), strip_spaces_before_punctuations(ref)
    if ignore_capitalization:
        hyp, ref = hyp.lower(), ref.lower()
    return hyp, ref


def _read_scored_lines(pred_manifest: str, gt_text_attr_name: str) -> tuple[list[dict[str, Any]], str] | None:
    """The manifest's lines and the reference key (``text`` when ``gt_text_attr_name`` is absent); ``None``
    when a line has neither. A line that is not UTF-8 or not one JSON object raises ``ManifestError`` naming
    ``<manifest>:<line>``."""
    samples = read_manifest(pred_manifest)
    key = gt_text_attr_name
    for sample in samples:
        if key not in sample:
            if "text" not in sample:
                return None
            key = "text"
    return samples, key


def _write_lines(samples: list[dict[str, Any]], path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for sample in samples:
            out.write(json.dumps(sample) + "\n")


def cal_write_wer(
    pred_manifest: str | None = None,
    gt_text_attr_name: str = "text",
    pred_text_attr_name: str = "pred_text",
    clean_groundtruth_text: bool = False,
    langid: str = "en",
    use_cer: bool = False,
    output_filename: str | None = None,
    ignore_capitalization: bool = False,
    ignore_punctuation: bool = False,
    punctuations: Sequence[str] | None = None,
    strip_punc_space: bool = False,
) -> tuple[str | None, dict[str, Any] | None, str]:
    """Score every line of ``pred_manifest`` and the whole of it by WER (or CER) and its parts.

    Each line gets ``wer``/``cer``, ``tokens`` (reference words or characters), ``ins_rate``, ``del_rate`` and
    ``sub_rate``; the lines are written to ``output_filename`` (default: over ``pred_manifest``).

    Returns:
        ``(written manifest, totals, metric name)``, totals holding ``samples``, ``tokens``, the metric and
        the three rates; ``(None, None, metric)`` when a line has no reference text (logged).
    """
    from nemo.collections.asr.metrics.wer import word_error_rate_detail

    metric = "cer" if use_cer else "wer"
    read = _read_scored_lines(pred_manifest, gt_text_attr_name)
    if read is None:
        logging.info(
            f"{pred_manifest}: a line has neither {gt_text_attr_name!r} nor 'text'; no {metric} computed."
        )
        return None, None, metric
    samples, ref_key = read
    hyps, refs = [], []
    for sample in samples:
        ref = sample[ref_key].strip()
        if clean_groundtruth_text:
            ref = clean_label(ref, langid=langid)
        hyp, ref = _normalised_pair(
            sample[pred_text_attr_name].strip(),
            ref,
            ignore_capitalization,
            ignore_punctuation,
            punctuations,
            strip_punc_space,
        )
        score, tokens, ins, dels, subs = word_error_rate_detail(
            hypotheses=[hyp], references=[ref], use_cer=use_cer
        )
        sample.update({metric: score, "tokens": tokens, "ins_rate": ins, "del_rate": dels, "sub_rate": subs})
        hyps.append(hyp)
        refs.append(ref)
    score, tokens, ins, dels, subs = word_error_rate_detail(hypotheses=hyps, references=refs, use_cer=use_cer)
    written = output_filename or pred_manifest
    _write_lines(samples, written)
    totals = {
        "samples": len(samples),
        "tokens": tokens,
        metric: score,
        "ins_rate": ins,
        "del_rate": dels,
        "sub_rate": subs,
    }
    return written, totals, metric


def cal_write_text_metric(
    pred_manifest: str | None = None,
    gt_text_attr_name: str = "text",
    pred_text_attr_name: str = "pred_text",
    output_filename: str | None = None,
    ignore_capitalization: bool = False,
    ignore_punctuation: bool = False,
    punctuations: Sequence[str] | None = None,
    metric: str = "bleu",
    metric_args: dict[str, Any] | None = None,
    strip_punc_space: bool = False,
) -> tuple[str | None, dict[str, Any] | None, str]:
    """Score every line and the whole of ``pred_manifest`` with ``metric`` (``bleu`` or ``rouge``).

    ``metric_args`` go to the torchmetrics class. For ``rouge`` the value is what the metric returns first
    (its ``item()``), as NeMo does.

    Returns:
        ``(written manifest, {"samples", metric}, metric)``, or ``(None, None, metric)`` without references.

    Raises:
        ValueError: an unknown ``metric``.
    """
    if metric not in TEXT_METRICS_MAPPING:
        raise ValueError(f"metric {metric!r} is not supported; choose from {sorted(TEXT_METRICS_MAPPING)}.")
    scorer = TEXT_METRICS_MAPPING[metric](**(metric_args or {}))
    read = _read_scored_lines(pred_manifest, gt_text_attr_name)
    if read is None:
        logging.info(
            f"{pred_manifest}: a line has neither {gt_text_attr_name!r} nor 'text'; no {metric} computed."
        )
        return None, None, metric
    samples, ref_key = read
    hyps, refs = [], []
    for sample in samples:
        hyp, ref = _normalised_pair(
            sample[pred_text_attr_name].strip(),
            sample[ref_key].strip(),
            ignore_capitalization,
            ignore_punctuation,
            punctuations,
            strip_punc_space,
        )
        value = scorer([hyp], [[ref]]) if metric == "bleu" else scorer(hyp, ref)
        sample[metric] = _scalar(value)
        hyps.append(hyp)
        refs.append(ref)
    total = scorer(hyps, [[r] for r in refs]) if metric == "bleu" else scorer(hyps, refs)
    written = output_filename or pred_manifest
    _write_lines(samples, written)
    return written, {"samples": len(samples), metric: _scalar(total)}, metric


def _scalar(value: Any) -> float:
    """A metric's result as a float: a tensor's ``item()``, or the first value of a dict of tensors."""
    if isinstance(value, dict):
        value = next(iter(value.values()))
    return float(value.item() if hasattr(value, "item") else value)

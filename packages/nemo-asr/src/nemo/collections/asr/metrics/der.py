"""Diarization metrics: DER through pyannote.metrics, cpWER, and helpers for online (streaming) evaluation.

* :func:`score_labels` / :func:`evaluate_der` compute the diarization error rate with the optional
  ``pyannote.metrics`` package (imported when called).
* :func:`calculate_session_cpWER` computes the concatenated minimum-permutation WER of the CHiME-6
  challenge (https://arxiv.org/abs/2004.09249): each speaker's words are concatenated, and the speaker
  order of the hypothesis that minimises the WER against the reference is searched with a linear sum
  assignment over the per-speaker-pair WERs (or, when the hypothesis has more speakers, over all
  permutations).
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

import torch
from nemo.collections.asr.metrics.wer import word_error_rate
from nemo.collections.asr.parts.utils.optimization_utils import linear_sum_assignment
from nemo.utils import logging

__all__ = [
    "score_labels",
    "calculate_session_cpWER",
    "calculate_session_cpWER_bruteforce",
    "concat_perm_word_error_rate",
]


def get_partial_ref_labels(pred_labels: list[str], ref_labels: list[str]) -> list[str]:
    """Reference labels cut at the end of the latest prediction, for scoring a streaming diarizer so far.

    Args:
        pred_labels: ``"start end speaker"`` predictions made so far.
        ref_labels: the full ``"start end speaker"`` reference.

    Returns:
        The reference labels that start before the last predicted end time, with their end clipped to it.
    """
    if not ref_labels:
        return []
    horizon = max((float(label.split()[1]) for label in pred_labels), default=0.0)
    partial = []
    for label in ref_labels:
        start, end, speaker = label.split()
        start_t, end_t = float(start), float(end)
        if start_t < horizon:
            partial.append(f"{start_t} {min(end_t, horizon)} {speaker}")
        elif end_t < horizon:
            partial.append(label)
    return partial


def get_online_DER_stats(
    DER: float,
    CER: float,
    FA: float,
    MISS: float,
    diar_eval_count: int,
    der_stat_dict: dict[str, float],
    deci: int = 3,
) -> tuple[dict[str, float], dict[str, float]]:
    """Percentages of the latest evaluation and running statistics over all evaluations so far.

    Args:
        DER, CER, FA, MISS: error rates (fractions) of the latest evaluation.
        diar_eval_count: number of evaluations including this one.
        der_stat_dict: running ``cum_DER``, ``cum_CER`` (fractions), ``avg_DER``, ``avg_CER``, ``max_DER``,
            ``max_CER`` (percent); updated in place.
        deci: decimals of the rounded percentages.

    Returns:
        der_dict: ``DER``, ``CER``, ``FA``, ``MISS`` in percent.
        der_stat_dict: the updated running statistics.
    """
    der_dict = {
        name: round(100 * value, deci)
        for name, value in (("DER", DER), ("CER", CER), ("FA", FA), ("MISS", MISS))
    }
    der_stat_dict["cum_DER"] += DER
    der_stat_dict["cum_CER"] += CER
    for name in ("DER", "CER"):
        der_stat_dict[f"avg_{name}"] = round(100 * der_stat_dict[f"cum_{name}"] / diar_eval_count, deci)
        der_stat_dict[f"max_{name}"] = round(max(der_dict[name], der_stat_dict[f"max_{name}"]), deci)
    return der_dict, der_stat_dict


def _pyannote(module: str) -> Any:
    """Import a pyannote module, or explain how to install the optional dependency."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"Diarization error rate scoring needs the optional package `{module.rsplit('.', 1)[0]}`; install it "
            "with `pip install pyannote.metrics`."
        ) from err


def uem_timeline_from_file(uem_file: str, uniq_name: str = "") -> Any:
    """``pyannote.core.Timeline`` of the scored regions of a UEM file (``<id> <channel> <start> <end>`` lines)."""
    core = _pyannote("pyannote.core")
    timeline = core.Timeline(uri=uniq_name)
    with open(uem_file) as handle:
        for line in handle:
            if line.strip():
                _, _, start, end = line.split()
                timeline.add(core.Segment(float(start), float(end)))
    return timeline


def score_labels(
    AUDIO_RTTM_MAP: dict,
    all_reference: list,
    all_hypothesis: list,
    collar: float = 0.25,
    ignore_overlap: bool = True,
    verbose: bool = True,
) -> tuple[Any, dict, tuple[float, float, float, float]] | None:
    """Diarization error rate of hypothesis annotations against references (needs ``pyannote.metrics``).

    Args:
        AUDIO_RTTM_MAP: ``{uniq_id: meta}``; a ``uem_filepath`` in ``meta`` restricts scoring to its regions.
        all_reference: ``[uniq_id, pyannote Annotation]`` pairs.
        all_hypothesis: ``[uniq_id, pyannote Annotation]`` pairs, same order.
        collar: no-score collar on each side of a reference boundary, in seconds (md-eval convention; the
            pyannote collar is twice this).
        ignore_overlap: do not score overlapped speech.
        verbose: warn when the lists cannot be scored.

    Returns:
        ``(metric, {uniq_id: speaker mapping}, (DER, CER, FA, MISS))``, or None when the two lists differ
        in length (missing references).
    """
    if len(all_reference) != len(all_hypothesis):
        if verbose:
            logging.warning(
                f"score_labels: {len(all_reference)} references for {len(all_hypothesis)} hypotheses; check that "
                "every manifest entry has an RTTM file. DER is not computed."
            )
        return None
    diarization = _pyannote("pyannote.metrics.diarization")
    metric = diarization.DiarizationErrorRate(collar=2 * collar, skip_overlap=ignore_overlap)
    mapping_dict = {}
    for (ref_key, reference), (_, hypothesis) in zip(all_reference, all_hypothesis):
        uem_path = AUDIO_RTTM_MAP[ref_key].get("uem_filepath")
        uem = uem_timeline_from_file(uem_path, uniq_name=ref_key) if uem_path is not None else None
        metric(reference, hypothesis, uem=uem, detailed=True)
        mapping_dict[ref_key] = metric.optimal_mapping(reference, hypothesis)
    total = metric["total"]
    itemized = (
        abs(metric),
        metric["confusion"] / total,
        metric["false alarm"] / total,
        metric["missed detection"] / total,
    )
    logging.info(
        f"Cumulative results for collar {collar} s, ignore_overlap {ignore_overlap}: FA {itemized[2]:.4f}, "
        f"MISS {itemized[3]:.4f}, DER {itemized[0]:.4f}, CER {itemized[1]:.4f}"
    )
    return metric, mapping_dict, itemized


_EVAL_MODES = {
    "full": [(0.0, False)],
    "fair": [(0.25, False)],
    "forgiving": [(0.25, True)],
    "all": [(0.0, False), (0.25, False), (0.25, True)],
}


def evaluate_der(
    audio_rttm_map_dict: dict, all_reference: list, all_hypothesis: list, diar_eval_mode: str = "all"
):
    """Score with a named setting: ``full`` (collar 0, overlap scored), ``fair`` (0.25 s, overlap scored),
    ``forgiving`` (0.25 s, overlap ignored) or ``all`` (each in turn; the last result is returned)."""
    if diar_eval_mode not in _EVAL_MODES:
        raise ValueError(
            f"evaluate_der: unknown `diar_eval_mode` '{diar_eval_mode}'; use one of {sorted(_EVAL_MODES)}."
        )
    score = None
    for collar, ignore_overlap in _EVAL_MODES[diar_eval_mode]:
        score = score_labels(
            AUDIO_RTTM_MAP=audio_rttm_map_dict,
            all_reference=all_reference,
            all_hypothesis=all_hypothesis,
            collar=collar,
            ignore_overlap=ignore_overlap,
        )
    return score


def calculate_session_cpWER_bruteforce(
    spk_hypothesis: list[str], spk_reference: list[str]
) -> tuple[float, str, str]:
    """cpWER by trying every speaker order of the hypothesis (``O(n!)``).

    Args:
        spk_hypothesis: one transcript per hypothesis speaker.
        spk_reference: one transcript per reference speaker.

    Returns:
        cpWER, the best-ordered concatenated hypothesis, and the concatenated reference.
    """
    ref_trans = " ".join(spk_reference)
    best_wer, best_hyp = float("inf"), ""
    for order in permutations(spk_hypothesis):
        hyp_trans = " ".join(order)
        wer = word_error_rate(hypotheses=[hyp_trans], references=[ref_trans])
        if wer < best_wer:
            best_wer, best_hyp = wer, hyp_trans
    return best_wer, best_hyp, ref_trans


def calculate_session_cpWER(
    spk_hypothesis: list[str], spk_reference: list[str], use_lsa_only: bool = False
) -> tuple[float, str, str]:
    """Concatenated minimum-permutation WER of one session.

    The hypothesis speakers are ordered by a linear sum assignment on the (hyp x ref) matrix of
    per-pair WERs; when the hypothesis has more speakers than the reference (and ``use_lsa_only`` is
    False) every permutation is tried instead, because the assignment would leave speakers out. With
    ``use_lsa_only``, unassigned hypothesis speakers are appended after the assigned ones.

    Args:
        spk_hypothesis: one transcript per hypothesis speaker.
        spk_reference: one transcript per reference speaker.
        use_lsa_only: never fall back to the permutation search.

    Returns:
        cpWER, the concatenated hypothesis in the chosen order, and the concatenated reference.
    """
    if not use_lsa_only and len(spk_reference) < len(spk_hypothesis):
        return calculate_session_cpWER_bruteforce(spk_hypothesis, spk_reference)
    pair_wer = [
        [word_error_rate(hypotheses=[hyp], references=[ref]) for ref in spk_reference]
        for hyp in spk_hypothesis
    ]
    hyp_rows, ref_cols = linear_sum_assignment(torch.tensor(pair_wer, dtype=torch.float64))
    ordered = [int(hyp_rows[k]) for k in torch.argsort(ref_cols).tolist()]
    ordered += [k for k in range(len(spk_hypothesis)) if k not in ordered]
    min_perm_hyp_trans = " ".join(spk_hypothesis[k] for k in ordered)
    ref_trans = " ".join(spk_reference)
    return (
        word_error_rate(hypotheses=[min_perm_hyp_trans], references=[ref_trans]),
        min_perm_hyp_trans,
        ref_trans,
    )


def concat_perm_word_error_rate(
    spk_hypotheses: list[list[str]], spk_references: list[list[str]]
) -> tuple[list[float], list[str], list[str]]:
    """:func:`calculate_session_cpWER` for every session.

    Returns:
        Per-session cpWER values, best-ordered hypothesis transcripts and concatenated references.
    """
    if len(spk_hypotheses) != len(spk_references):
        raise ValueError(
            f"concat_perm_word_error_rate: {len(spk_hypotheses)} hypothesis sessions but {len(spk_references)} "
            "reference sessions; they must match."
        )
    results = [calculate_session_cpWER(hyp, ref) for hyp, ref in zip(spk_hypotheses, spk_references)]
    return [r[0] for r in results], [r[1] for r in results], [r[2] for r in results]

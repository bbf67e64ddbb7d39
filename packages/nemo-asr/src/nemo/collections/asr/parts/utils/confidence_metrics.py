"""How well confidence scores separate correct from incorrect words: NeMo 1.23's metrics and plot helpers.

Every metric takes ``y_true`` (N,) with 1 for a correct and 0 for an incorrect unit (word or token) and
``y_score`` (N,) confidence scores in [0, 1]:

- ``auc_roc``: area under the ROC curve (0.5 when only one class is present);
- ``auc_pr``: average precision with correct units as positives (0.0 without any correct unit);
- ``auc_nt``: average precision with incorrect units as positives and ``1 - y_score`` as their score
  (0.0 without any incorrect unit);
- ``auc_yc``: mean over thresholds of |TNR - FNR| (Youden's curve), optionally its std, max and the curve;
- ``nce``: normalized cross entropy (``-inf`` when only one class is present);
- ``ece``: expected calibration error over ``n_bins`` bins.

Average precision is the step-wise sum over distinct thresholds, sum_k (R_k - R_{k-1}) P_k, and the ROC area
counts ties as half (both as scikit-learn computes them); everything is numpy. The ``save_*`` helpers draw
PNG files with matplotlib, which is imported only when one of them is called (``pip install matplotlib``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "auc_nt",
    "auc_pr",
    "auc_roc",
    "auc_yc",
    "ece",
    "nce",
    "save_confidence_hist",
    "save_custom_confidence_curve",
    "save_nt_curve",
    "save_pr_curve",
    "save_roc_curve",
]

ArrayLike = Sequence[float] | np.ndarray


def _labels_and_scores(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Checked (N,) integer labels and (N,) float scores."""
    labels = np.asarray(y_true)
    scores = np.asarray(y_score, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(
            f"y_true and y_score must be 1-D and of the same length; got shapes {labels.shape} and {scores.shape}."
        )
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError("y_true must hold only 0 (incorrect) and 1 (correct).")
    return labels.astype(np.int64), scores


def _cumulative_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives at each distinct threshold, highest score first.

    Returns:
        ``(tps, fps, thresholds)``, each (K,) for the K distinct scores: units with a score >= the threshold.
    """
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    sorted_labels = labels[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(sorted_scores) - 1]
    tps = np.cumsum(sorted_labels)[last_of_each]
    fps = last_of_each + 1 - tps
    return tps, fps, sorted_scores[last_of_each]


def _average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    tps, fps, _ = _cumulative_counts(labels, scores)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def auc_roc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Area under the ROC curve; 0.5 if ``y_true`` holds one class only."""
    labels, scores = _labels_and_scores(y_true, y_score)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based ranks, ties averaged
    rank_sum = mid_ranks[inverse][labels == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives))


def auc_pr(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision of the correct units; 0.0 if there are none."""
    labels, scores = _labels_and_scores(y_true, y_score)
    if not labels.any():
        return 0.0
    return _average_precision(labels, scores)


def auc_nt(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Average precision of the incorrect units, scored by ``1 - y_score``; 0.0 if there are none."""
    labels, scores = _labels_and_scores(y_true, y_score)
    if labels.all():
        return 0.0
    return _average_precision(1 - labels, 1.0 - scores)


def nce(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Normalized cross entropy: (H(p) - log loss) / H(p), p the share of correct units; ``-inf`` for one class.

    Scores are clipped to [eps, 1 - eps] (float64 eps) before the log loss.
    """
    labels, scores = _labels_and_scores(y_true, y_score)
    if labels.all() or not labels.any():
        return -math.inf
    share = labels.mean()
    eps = 1e-15
    prior_entropy = -(share * math.log(share + eps) + (1 - share) * math.log(1 - share + eps))
    clipped = np.clip(scores, np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps)
    log_loss = -np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))
    return float((prior_entropy - log_loss) / prior_entropy)


def ece(
    y_true: ArrayLike, y_score: ArrayLike, n_bins: int = 100, return_curve: bool = False
) -> float | tuple[float, tuple[list[float], list[float]]]:
    """Expected calibration error over ``n_bins`` equal bins of (0, 1].

    Each unit predicts "correct" when its score is at least the bin's centre, with confidence ``y_score`` (else
    "incorrect" with ``1 - y_score``); for every bin the units whose predicted-class confidence falls in it add
    ``count * |accuracy - mean confidence|``.

    Returns:
        The error, or with ``return_curve`` ``(error, (bin centres, per-bin contributions))``.
    """
    labels, scores = _labels_and_scores(y_true, y_score)
    centres: list[float] = []
    contributions: list[float] = []
    total = 0
    for m in range(n_bins):
        low, high = m / n_bins, (m + 1) / n_bins
        centre = (low + high) / 2
        predicted = (scores >= centre).astype(np.int64)
        confidence = np.where(predicted == 1, scores, 1.0 - scores)
        in_bin = (confidence > low) & (confidence <= high)
        count = int(in_bin.sum())
        gap = 0.0
        if count:
            gap = abs((predicted[in_bin] == labels[in_bin]).mean() - confidence[in_bin].mean())
        centres.append(centre)
        contributions.append(count * gap)
        total += count
    error = sum(contributions) / total
    return (error, (centres, contributions)) if return_curve else error


def auc_yc(
    y_true: ArrayLike,
    y_score: ArrayLike,
    n_bins: int = 100,
    return_std_maximum: bool = False,
    return_curve: bool = False,
) -> Any:
    """Area under Youden's curve |TNR(th) - FNR(th)| over ``n_bins + 1`` thresholds in [0, 1].

    Returns:
        The mean; with ``return_std_maximum`` also the std and max; with ``return_curve`` finally
        ``(thresholds, curve)``. All zeros when ``y_true`` holds one class only.
    """
    labels, scores = _labels_and_scores(y_true, y_score)
    thresholds = np.linspace(0, 1, n_bins + 1)
    if labels.all() or not labels.any():
        curve = np.zeros(len(thresholds))
    else:
        correct = scores[labels == 1]
        incorrect = scores[labels == 0]
        below_correct = (correct[None, :] < thresholds[:, None]).mean(axis=1)
        below_incorrect = (incorrect[None, :] < thresholds[:, None]).mean(axis=1)
        curve = np.abs(below_incorrect - below_correct)
    result: tuple = (float(curve.mean()),)
    if return_std_maximum:
        result += (float(curve.std()), float(curve.max()))
    if return_curve:
        result += ((thresholds, curve),)
    return result[0] if len(result) == 1 else result


# --- plots ------------------------------------------------------------------------------------------------------


def _new_axes():
    """A fresh matplotlib (figure, axes), off-screen."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "The confidence plot helpers draw with matplotlib, which is not installed: pip install matplotlib."
        ) from error
    figure = Figure()
    return figure, figure.add_subplot()


def _save(figure, plot_dir: str | Path, name: str, dpi: int = 300) -> Path:
    os.makedirs(plot_dir, exist_ok=True)
    path = Path(plot_dir) / f"{name}.png"
    figure.savefig(path, dpi=dpi)
    return path


def _check_lengths(first: ArrayLike, second: ArrayLike, names: str) -> None:
    if len(first) != len(second):
        raise ValueError(f"{names} must have the same length; got {len(first)} and {len(second)}.")


def save_confidence_hist(y_score: ArrayLike, plot_dir: str | Path, name: str = "hist") -> Path:
    """Write ``<plot_dir>/<name>.png``: a 50-bin histogram of the scores over [0, 1]. Returns the path."""
    figure, axes = _new_axes()
    axes.hist(np.asarray(y_score), 50, range=(0, 1))
    axes.set_title(name)
    axes.set_xlabel("Confidence score")
    axes.set_ylabel("Count")
    return _save(figure, plot_dir, name)


def _roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tps, fps, _ = _cumulative_counts(labels, scores)
    tpr = np.r_[0.0, tps / max(tps[-1], 1)]
    fpr = np.r_[0.0, fps / max(fps[-1], 1)]
    return fpr, tpr


def _pr_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tps, fps, _ = _cumulative_counts(labels, scores)
    precision = np.r_[1.0, tps / (tps + fps)]
    recall = np.r_[0.0, tps / max(tps[-1], 1)]
    return recall, precision


def save_roc_curve(y_true: ArrayLike, y_score: ArrayLike, plot_dir: str | Path, name: str = "roc") -> Path:
    """Write the ROC curve of the incorrect units (scored by ``1 - y_score``) to ``<plot_dir>/<name>.png``."""
    _check_lengths(y_true, y_score, "y_true and y_score")
    labels, scores = _labels_and_scores(y_true, y_score)
    fpr, tpr = _roc_points(1 - labels, 1.0 - scores)
    figure, axes = _new_axes()
    axes.plot(fpr, tpr)
    axes.set_xlabel("False Positive Rate")
    axes.set_ylabel("True Positive Rate")
    axes.set_title(name)
    return _save(figure, plot_dir, name)


def _save_pr(labels: np.ndarray, scores: np.ndarray, plot_dir: str | Path, name: str) -> Path:
    recall, precision = _pr_points(labels, scores)
    figure, axes = _new_axes()
    axes.step(recall, precision, where="post")
    axes.set_xlabel("Recall")
    axes.set_ylabel("Precision")
    axes.set_title(name)
    return _save(figure, plot_dir, name)


def save_pr_curve(y_true: ArrayLike, y_score: ArrayLike, plot_dir: str | Path, name: str = "pr") -> Path:
    """Write the precision-recall curve of the correct units to ``<plot_dir>/<name>.png``."""
    _check_lengths(y_true, y_score, "y_true and y_score")
    labels, scores = _labels_and_scores(y_true, y_score)
    return _save_pr(labels, scores, plot_dir, name)


def save_nt_curve(y_true: ArrayLike, y_score: ArrayLike, plot_dir: str | Path, name: str = "nt") -> Path:
    """Write the precision-recall curve of the incorrect units (``1 - y_score``) to ``<plot_dir>/<name>.png``."""
    _check_lengths(y_true, y_score, "y_true and y_score")
    labels, scores = _labels_and_scores(y_true, y_score)
    return _save_pr(1 - labels, 1.0 - scores, plot_dir, name)


def save_custom_confidence_curve(
    thresholds: ArrayLike,
    values: ArrayLike,
    plot_dir: str | Path,
    name: str = "my_awesome_curve",
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Path:
    """Write ``values`` against ``thresholds`` (both axes over [0, 1]) to ``<plot_dir>/<name>.png``."""
    _check_lengths(thresholds, values, "thresholds and values")
    figure, axes = _new_axes()
    axes.plot(thresholds, values)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(name)
    if xlabel is not None:
        axes.set_xlabel(xlabel)
    if ylabel is not None:
        axes.set_ylabel(ylabel)
    return _save(figure, plot_dir, name)

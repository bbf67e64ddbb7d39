"""Word (and character) error rate: ``word_error_rate`` and the ``WER`` torchmetrics metric (NeMo 1.23 names).

Edit distances are exact Levenshtein distances (unit costs) from ``rapidfuzz``, over lists of words or of
characters, as NeMo 1.23 computes them with ``editdistance``. (torchmetrics' ``edit_distance`` is not used: it
searches a band around the diagonal and can overcount pairs of very different lengths by one or more edits.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from nemo.collections.asr.parts.submodules.ctc_decoding import move_dimension_to_the_front
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis
from nemo.utils import logging
from rapidfuzz.distance import Levenshtein
from torchmetrics import Metric

__all__ = [
    "WER",
    "move_dimension_to_the_front",
    "word_error_rate",
    "word_error_rate_detail",
    "word_error_rate_per_utt",
]


def _edit_distances(
    hypotheses: Sequence[str], references: Sequence[str], use_cer: bool
) -> tuple[list[int], list[int]]:
    """Per-pair edit distance and reference length, in characters (``use_cer``) or words.

    Returns:
        ``(distances, reference_lengths)``, one entry per pair.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"Word error rate needs as many hypotheses as references, got {len(hypotheses)} hypotheses and "
            f"{len(references)} references."
        )
    if use_cer:
        pairs = [(list(hypothesis), list(reference)) for hypothesis, reference in zip(hypotheses, references)]
    else:
        pairs = [
            (hypothesis.split(), reference.split()) for hypothesis, reference in zip(hypotheses, references)
        ]
    distances = [Levenshtein.distance(hypothesis, reference) for hypothesis, reference in pairs]
    return distances, [len(reference) for _, reference in pairs]


def word_error_rate(hypotheses: Sequence[str], references: Sequence[str], use_cer: bool = False) -> float:
    """Corpus-level WER (or CER): total edit distance over total reference words (characters).

    Args:
        hypotheses: predicted transcripts.
        references: reference transcripts, same length as ``hypotheses``.
        use_cer: count characters (spaces included) instead of whitespace-separated words.

    Returns:
        The error rate; ``inf`` when the references hold no words at all.

    Example:
        >>> word_error_rate(["the cat sat"], ["the cat sat down"])
        0.25
    """
    distances, lengths = _edit_distances(hypotheses, references, use_cer)
    words = sum(lengths)
    return sum(distances) / words if words else float("inf")


def word_error_rate_per_utt(
    hypotheses: Sequence[str], references: Sequence[str], use_cer: bool = False
) -> tuple[list[float], float]:
    """Error rate of every utterance and of the whole corpus.

    Returns:
        ``(per_utterance, corpus)``; an utterance with an empty reference scores ``inf``.
    """
    distances, lengths = _edit_distances(hypotheses, references, use_cer)
    per_utterance = [d / n if n else float("inf") for d, n in zip(distances, lengths)]
    words = sum(lengths)
    return per_utterance, (sum(distances) / words if words else float("inf"))


def word_error_rate_detail(
    hypotheses: Sequence[str], references: Sequence[str], use_cer: bool = False
) -> tuple[float, int, float, float, float]:
    """Corpus-level WER (or CER) split into insertion, deletion and substitution rates.

    Each pair is aligned with one minimum-cost edit script (``rapidfuzz``'s ``Levenshtein.editops``,
    the alignment jiwer reports); every rate is that kind of edit over the total reference words
    (characters). Characters are counted as :func:`word_error_rate` counts them, spaces included.

    Args:
        hypotheses: predicted transcripts.
        references: reference transcripts, same length as ``hypotheses``.
        use_cer: count characters instead of whitespace-separated words.

    Returns:
        ``(wer, words, insertion_rate, deletion_rate, substitution_rate)`` with ``words`` the number of
        reference words (characters); every rate is ``inf`` when ``words`` is 0.

    Example:
        >>> word_error_rate_detail(["G P U"], ["GPU"])
        (3.0, 1, 2.0, 0.0, 1.0)
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"word_error_rate_detail needs as many hypotheses as references, got {len(hypotheses)} hypotheses "
            f"and {len(references)} references."
        )
    edits = {"insert": 0, "delete": 0, "replace": 0}
    words = 0
    for hypothesis, reference in zip(hypotheses, references):
        hypothesis_units = list(hypothesis) if use_cer else hypothesis.split()
        reference_units = list(reference) if use_cer else reference.split()
        words += len(reference_units)
        for operation in Levenshtein.editops(reference_units, hypothesis_units):
            edits[operation.tag] += 1
    if words == 0:
        return float("inf"), 0, float("inf"), float("inf"), float("inf")
    errors = edits["insert"] + edits["delete"] + edits["replace"]
    return errors / words, words, edits["insert"] / words, edits["delete"] / words, edits["replace"] / words


class WER(Metric):
    """Word error rate of a model's predictions against padded target ids, as a torchmetrics Metric.

    ``update`` decodes the predictions with ``decoding`` (a ``CTCDecoding``/``CTCBPEDecoding``, or an RNN-T
    decoding with ``rnnt_decoder_predictions_tensor``) and the targets with
    ``decoding.decode_tokens_to_str``, then adds the edit distances and reference word counts to the
    ``scores`` and ``words`` states (summed across processes). NeMo's models call ``update``,
    ``compute`` and ``reset`` once per batch and sum ``scores``/``words`` over an epoch themselves.

    Args:
        decoding: the model's decoding object.
        use_cer: character error rate instead of word error rate.
        log_prediction: log the first reference and prediction of every ``update``.
        fold_consecutive: passed to CTC decoding (merge repeated labels).
        batch_dim_index: batch axis of ``targets``.
        dist_sync_on_step: sync states across processes on every ``forward``.
        sync_on_compute: sync states across processes in ``compute``.
    """

    full_state_update: bool = True

    def __init__(
        self,
        decoding: Any,
        use_cer: bool = False,
        log_prediction: bool = True,
        fold_consecutive: bool = True,
        batch_dim_index: int = 0,
        dist_sync_on_step: bool = False,
        sync_on_compute: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(dist_sync_on_step=dist_sync_on_step, sync_on_compute=sync_on_compute, **kwargs)
        if not (
            hasattr(decoding, "ctc_decoder_predictions_tensor")
            or hasattr(decoding, "rnnt_decoder_predictions_tensor")
        ):
            raise TypeError(
                f"WER got decoding of type {type(decoding).__name__}, which has neither "
                "ctc_decoder_predictions_tensor nor rnnt_decoder_predictions_tensor. Pass a CTCDecoding, "
                "CTCBPEDecoding or RNNTDecoding."
            )
        self.decoding = decoding
        self.use_cer = use_cer
        self.log_prediction = log_prediction
        self.fold_consecutive = fold_consecutive
        self.batch_dim_index = batch_dim_index
        self.add_state("scores", default=torch.tensor(0), dist_reduce_fx="sum", persistent=False)
        self.add_state("words", default=torch.tensor(0), dist_reduce_fx="sum", persistent=False)

    def _decode(self, predictions: torch.Tensor, predictions_lengths: torch.Tensor | None) -> list[str]:
        if hasattr(self.decoding, "ctc_decoder_predictions_tensor"):
            hypotheses, _ = self.decoding.ctc_decoder_predictions_tensor(
                decoder_outputs=predictions,
                decoder_lengths=predictions_lengths,
                fold_consecutive=self.fold_consecutive,
            )
        else:
            hypotheses, _ = self.decoding.rnnt_decoder_predictions_tensor(
                encoder_output=predictions, encoded_lengths=predictions_lengths
            )
        return [h.text if isinstance(h, Hypothesis) else h for h in hypotheses]

    def update(
        self,
        predictions: torch.Tensor,
        predictions_lengths: torch.Tensor | None,
        targets: torch.Tensor,
        targets_lengths: torch.Tensor,
        predictions_mempool: torch.Tensor | None = None,
    ) -> None:
        """Decode a batch and add its edit distances.

        Args:
            predictions: (B, T, V) log-probabilities or (B, T) labels for CTC; (B, D, T) encoder output for RNN-T.
            predictions_lengths: (B,) valid frames.
            targets: (B, U) target ids, padded.
            targets_lengths: (B,) valid target ids.
            predictions_mempool: accepted for NeMo's signature (multi-task decoding); unused.
        """
        with torch.no_grad():
            targets_cpu = targets.detach().long().cpu()
            if self.batch_dim_index != 0:
                targets_cpu = move_dimension_to_the_front(targets_cpu, self.batch_dim_index)
            rows = targets_cpu.tolist()
            references = [
                self.decoding.decode_tokens_to_str(row[:length])
                for row, length in zip(rows, targets_lengths.detach().cpu().tolist())
            ]
            hypotheses = self._decode(predictions, predictions_lengths)
        if self.log_prediction and references:
            logging.info(f"reference:{references[0]}")
            logging.info(f"predicted:{hypotheses[0]}")
        distances, lengths = _edit_distances(hypotheses, references, self.use_cer)
        self.scores += sum(distances)
        self.words += sum(lengths)

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(wer, scores, words)``: the error rate, total edit distance and total reference words."""
        scores = self.scores.detach().float()
        words = self.words.detach().float()
        return scores / words, scores, words

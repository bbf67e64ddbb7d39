"""``ClassificationReport``: per-class precision, recall and F1 in percent, and the report NeMo logs.

NeMo's text, token and punctuation models log it at the end of each validation epoch::

    self.classification_report = ClassificationReport(num_classes, label_ids=label_ids, mode="macro")
    ...
    self.classification_report.update(preds, labels)              # each validation step
    precision, recall, f1, report = self.classification_report.compute()  # epoch end
    logging.info(report)
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
from torchmetrics import Metric
from torchmetrics.utilities.data import METRIC_EPS

__all__ = ["ClassificationReport"]

MODES = ("macro", "micro", "weighted", "all")
_COUNTS = ("tp", "fn", "fp", "num_examples_per_class")


class ClassificationReport(Metric):
    """True positives, false negatives and false positives per class, summed over steps and processes.

    ``compute`` returns ``(precision, recall, f1, report)``. The three figures are percentages (0-100),
    averaged over the classes as ``mode`` says:

    - ``"macro"``: the per-class sum divided by the number of classes that have at least one example
      (classes that never occur in the labels add nothing and are not counted);
    - ``"micro"``: from the counts summed over all classes;
    - ``"weighted"``: per-class figures weighted by each class's number of examples;
    - ``"all"``: the per-class figures themselves, tensors of shape ``(num_classes,)``.

    A class never predicted has precision 0, one never labelled has recall 0, and F1 is 0 when both are 0
    (a ``1e-6`` guard sits in every denominator, as in NeMo). ``report`` is a table with one line per class id
    (``"<name> (label_id: <i>)"`` when ``label_ids`` names it, ``"label_id: <i>"`` otherwise) and the micro,
    macro and weighted averages; the support column counts each class's examples.

    Predictions and labels outside ``[0, num_classes)`` (an ignore index such as ``-100``) count for no class
    as labels; a valid prediction facing such a label counts as a false positive of the predicted class,
    as in NeMo.

    Args:
        num_classes: Number of classes; class ids are ``0 .. num_classes - 1``.
        label_ids: Label name -> class id, used to name the report's lines.
        mode: One of ``"macro"``, ``"micro"``, ``"weighted"``, ``"all"``.
        dist_sync_on_step: Synchronize the counts across processes at each ``forward`` call.
        process_group: The processes to sum the counts over (default: all).
    """

    full_state_update = True

    def __init__(
        self,
        num_classes: int,
        label_ids: dict[str, int] | None = None,
        mode: str = "macro",
        dist_sync_on_step: bool = False,
        process_group: Any | None = None,
    ) -> None:
        super().__init__(dist_sync_on_step=dist_sync_on_step, process_group=process_group)
        if mode not in MODES:
            raise ValueError(
                f"ClassificationReport(mode={mode!r}): unknown mode. Expected one of {', '.join(MODES)}: "
                "'macro', 'micro' or 'weighted' for averaged figures, 'all' for one figure per class."
            )
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(
                f"ClassificationReport(num_classes={num_classes!r}): expected a positive int, the number of "
                "class ids (labels run from 0 to num_classes - 1)."
            )
        self.num_classes = int(num_classes)
        self.ids_to_labels = {index: name for name, index in label_ids.items()} if label_ids else None
        self.mode = mode
        for name in _COUNTS:
            self.add_state(
                name,
                default=torch.zeros(num_classes, dtype=torch.long),
                dist_reduce_fx="sum",
                persistent=False,
            )

    def _class_ids(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` flattened, with every entry that is not a class id replaced by ``num_classes``."""
        values = values.reshape(-1)
        valid = (values >= 0) & (values < self.num_classes)
        if values.is_floating_point():
            valid &= values == values.floor()
        return torch.where(valid, values, self.num_classes).long()

    def _count(self, class_ids: torch.Tensor) -> torch.Tensor:
        """How many entries of ``class_ids`` hold each class id, shape ``(num_classes,)``."""
        return torch.bincount(class_ids, minlength=self.num_classes + 1)[: self.num_classes]

    def update(self, predictions: torch.Tensor, labels: torch.Tensor) -> None:
        """Add a batch's counts.

        Args:
            predictions: Predicted class ids, any shape, e.g. ``(B,)`` or ``(B, T)``.
            labels: Reference class ids, the same shape as ``predictions``.
        """
        if predictions.shape != labels.shape:
            raise ValueError(
                f"ClassificationReport.update: predictions have shape {tuple(predictions.shape)} but labels "
                f"have shape {tuple(labels.shape)}; expected one label per prediction. Pass class ids "
                "(e.g. logits.argmax(-1)), not logits, and select the same positions in both."
            )
        predicted = self._class_ids(predictions)
        actual = self._class_ids(labels.to(predicted.device))
        hits = torch.where(predicted == actual, predicted, self.num_classes)
        tp = self._count(hits)
        fn = self._count(actual) - tp
        self.tp += tp
        self.fp += self._count(predicted) - tp
        self.fn += fn
        self.num_examples_per_class += tp + fn

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
        """Precision, recall and F1 in percent (averaged as ``mode`` says), and the report table.

        Returns:
            ``(precision, recall, f1, report)``: 0-dim float tensors, or tensors of shape ``(num_classes,)``
            in ``"all"`` mode; ``report`` is the text table, ending in a newline.
        """
        tp, fn, fp, support = (getattr(self, name).float() for name in _COUNTS)
        total_examples = support.sum()
        non_empty_classes = int(torch.count_nonzero(support))

        precision = tp * 100 / (tp + fp + METRIC_EPS)
        recall = tp * 100 / (tp + fn + METRIC_EPS)
        f1 = 2 * precision * recall / (precision + recall + METRIC_EPS)
        micro_precision = tp.sum() * 100 / ((tp + fp).sum() + METRIC_EPS)
        micro_recall = tp.sum() * 100 / ((tp + fn).sum() + METRIC_EPS)
        averages = {
            "micro": (
                micro_precision,
                micro_recall,
                2 * micro_precision * micro_recall / (micro_precision + micro_recall + METRIC_EPS),
            ),
            "macro": tuple(values.sum() / non_empty_classes for values in (precision, recall, f1)),
            "weighted": tuple(
                (values * support).sum() / total_examples for values in (precision, recall, f1)
            ),
        }
        self.total_examples = total_examples

        lines = [f"\n{'label':50s}   {'precision':10s}   {'recall':10s}   {'f1':10s}   {'support':10s}"]
        for index in range(self.num_classes):
            name = f"label_id: {index}"
            if self.ids_to_labels and index in self.ids_to_labels:
                name = f"{self.ids_to_labels[index]} ({name})"
            lines.append(_report_line(name, precision[index], recall[index], f1[index], support[index]))
        lines.append("\n-------------------")
        for average in ("micro", "macro", "weighted"):
            lines.append(_report_line(f"{average} avg", *averages[average], total_examples))
        report = "".join(lines) + "\n"

        if self.mode == "all":
            return precision, recall, f1, report
        return (*averages[self.mode], report)


def _report_line(
    name: str, precision: torch.Tensor, recall: torch.Tensor, f1: torch.Tensor, support: torch.Tensor
) -> str:
    return f"\n{name:50s}   {precision.item():8.2f}   {recall.item():8.2f}   {f1.item():8.2f}   {support.item():8.0f}"

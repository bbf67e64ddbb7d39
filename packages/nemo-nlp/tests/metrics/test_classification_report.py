"""ClassificationReport against scikit-learn's precision_recall_fscore_support and NeMo 1.23's own outputs.

scikit-learn is the independent reference for the figures; ``data/classification_report_reference.json``
(written by NeMo 1.23, see ``data/make_classification_report_reference.py``) fixes the report text, the
zero-division results and NeMo's rules where scikit-learn differs (macro averages skip classes with no example;
a prediction facing an ignored label is a false positive).
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch
from nemo.collections.nlp.metrics.classification_report import ClassificationReport
from sklearn.metrics import precision_recall_fscore_support

REFERENCE = json.loads((Path(__file__).parent / "data" / "classification_report_reference.json").read_text())
MODES = ("macro", "micro", "weighted", "all")


def as_list(value: torch.Tensor) -> list[float]:
    return [float(x) for x in value.reshape(-1)]


def assert_close(found: list[float], expected: list[float], tolerance: float = 1e-3) -> None:
    assert len(found) == len(expected)
    for value, reference in zip(found, expected):
        if math.isnan(reference):
            assert math.isnan(value), (found, expected)
        else:
            assert value == pytest.approx(reference, abs=tolerance), (found, expected)


def sklearn_percent(labels: list[int], predictions: list[int], num_classes: int, average: str | None):
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=list(range(num_classes)), average=average, zero_division=0
    )
    return [100 * precision, 100 * recall, 100 * f1], support


def random_case(seed: int, num_classes: int, size: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    labels = [rng.randrange(num_classes) for _ in range(size)]
    predictions = [label if rng.random() < 0.5 else rng.randrange(num_classes) for label in labels]
    return predictions, labels


def computed(metric: ClassificationReport) -> list[list[float]]:
    precision, recall, f1, _ = metric.compute()
    return [as_list(precision), as_list(recall), as_list(f1)]


@pytest.mark.parametrize("seed, num_classes", [(0, 2), (1, 5), (2, 9)])
@pytest.mark.parametrize("mode", MODES)
def test_random_batches_match_sklearn(seed: int, num_classes: int, mode: str) -> None:
    predictions, labels = random_case(seed, num_classes, size=300)
    assert set(labels) == set(range(num_classes))  # every class has examples: sklearn's macro is NeMo's
    metric = ClassificationReport(num_classes=num_classes, mode=mode)
    for start in range(0, 300, 64):
        metric.update(torch.tensor(predictions[start : start + 64]), torch.tensor(labels[start : start + 64]))

    expected, _ = sklearn_percent(labels, predictions, num_classes, None if mode == "all" else mode)
    for found, reference in zip(computed(metric), expected):
        assert_close(found, [float(x) for x in torch.tensor(reference).reshape(-1)])


def test_macro_averages_over_classes_with_examples_only() -> None:
    # Class 3 is predicted twice and never labelled; class 2 is labelled but never predicted.
    predictions = [0, 0, 1, 1, 3, 0, 3, 2]
    labels = [0, 1, 1, 0, 0, 0, 1, 1]
    (precision, recall, f1), support = sklearn_percent(labels, predictions, 4, None)
    with_examples = [index for index in range(4) if support[index] > 0]
    assert with_examples == [0, 1]
    metric = ClassificationReport(num_classes=4, mode="macro")
    metric.update(torch.tensor(predictions), torch.tensor(labels))

    # NeMo sums every class (zero-support ones add 0) and divides by the classes that have examples.
    expected = [sum(values) / len(with_examples) for values in (precision, recall, f1)]
    assert_close([values[0] for values in computed(metric)], expected)
    assert sum(precision) / 4 != pytest.approx(expected[0])  # sklearn's own macro would differ here


def test_a_class_never_predicted_or_never_labelled_scores_zero() -> None:
    metric = ClassificationReport(num_classes=3, mode="all")
    metric.update(torch.tensor([0, 0, 2, 2]), torch.tensor([0, 1, 0, 0]))
    precision, recall, f1 = computed(metric)
    # Class 1: labelled, never predicted; class 2: predicted, never labelled.
    (sk_precision, sk_recall, sk_f1), _ = sklearn_percent([0, 1, 0, 0], [0, 0, 2, 2], 3, None)
    assert_close(precision, list(sk_precision))
    assert_close(recall, list(sk_recall))
    assert_close(f1, list(sk_f1))
    assert precision[1] == recall[1] == f1[1] == 0.0
    assert precision[2] == recall[2] == f1[2] == 0.0


@pytest.mark.filterwarnings("ignore:The ``compute`` method of metric ClassificationReport was called before")
@pytest.mark.parametrize("case", sorted(REFERENCE))
@pytest.mark.parametrize("mode", MODES)
def test_figures_and_report_match_nemo(case: str, mode: str) -> None:
    spec = REFERENCE[case]
    metric = ClassificationReport(num_classes=spec["num_classes"], label_ids=spec["label_ids"], mode=mode)
    for predictions, labels in spec["batches"]:
        metric.update(torch.tensor(predictions), torch.tensor(labels))
    precision, recall, f1, report = metric.compute()

    nemo = spec["nemo"][mode]
    assert report == nemo["report"]
    for found, key in ((precision, "precision"), (recall, "recall"), (f1, "f1")):
        expected = nemo[key] if isinstance(nemo[key], list) else [nemo[key]]
        assert_close(as_list(found), expected, tolerance=1e-4)
    if mode == "all":
        assert precision.shape == (spec["num_classes"],)
    else:
        assert precision.dim() == 0


def test_ignored_labels_match_sklearn_on_the_kept_positions_plus_nemos_false_positives() -> None:
    predictions = torch.tensor([[0, 1, 2, 0, 0], [2, 2, 0, 1, 1]])
    labels = torch.tensor([[0, 1, -100, 0, -100], [2, 0, 0, 1, 1]])
    metric = ClassificationReport(num_classes=3, mode="all")
    metric.update(predictions, labels)

    kept = labels != -100
    (_, recall, _), support = sklearn_percent(labels[kept].tolist(), predictions[kept].tolist(), 3, None)
    assert_close(computed(metric)[1], list(recall))  # recall ignores the -100 positions entirely
    assert metric.num_examples_per_class.tolist() == list(support)
    # Counted by hand: class 0 is predicted at an ignored position (row 0, position 4); class 2 at an ignored
    # position (row 0, position 2) and against label 0 (row 1, position 1). Ignored labels are false positives.
    assert metric.fp.tolist() == [1, 0, 2]
    assert metric.tp.tolist() == [3, 3, 1]


def test_batches_accumulate_and_reset_clears() -> None:
    predictions, labels = random_case(seed=3, num_classes=4, size=100)
    one_go = ClassificationReport(num_classes=4, mode="micro")
    one_go.update(torch.tensor(predictions), torch.tensor(labels))
    in_steps = ClassificationReport(num_classes=4, mode="micro")
    for start in range(0, 100, 30):
        in_steps.update(
            torch.tensor(predictions[start : start + 30]), torch.tensor(labels[start : start + 30])
        )
    assert computed(in_steps) == computed(one_go)
    assert in_steps.tp.tolist() == one_go.tp.tolist()

    in_steps.reset()
    assert in_steps.tp.tolist() == in_steps.fp.tolist() == in_steps.fn.tolist() == [0, 0, 0, 0]
    in_steps.update(torch.tensor([1]), torch.tensor([1]))
    assert [values[0] for values in computed(in_steps)] == pytest.approx([100.0, 100.0, 100.0], abs=1e-3)


def test_forward_returns_the_batch_figures_and_keeps_the_epoch_counts() -> None:
    metric = ClassificationReport(num_classes=2, mode="micro")
    metric.update(torch.tensor([0, 0]), torch.tensor([1, 1]))
    precision, _, _, _ = metric(torch.tensor([1, 1]), torch.tensor([1, 1]))
    assert float(precision) == pytest.approx(100.0, abs=1e-3)  # the batch alone
    assert [values[0] for values in computed(metric)] == pytest.approx([50.0, 50.0, 50.0], abs=1e-3)


def test_float_class_ids_count_like_integers() -> None:
    as_float = ClassificationReport(num_classes=3, mode="all")
    as_float.update(torch.tensor([0.0, 1.0, 2.0, 1.5]), torch.tensor([0.0, 2.0, 2.0, 1.0]))
    as_int = ClassificationReport(num_classes=3, mode="all")
    as_int.update(torch.tensor([0, 1, 2, -1]), torch.tensor([0, 2, 2, 1]))
    assert computed(as_float) == computed(as_int)


def test_mismatched_shapes_name_both() -> None:
    metric = ClassificationReport(num_classes=3)
    with pytest.raises(ValueError, match=r"predictions have shape \(2, 3\) but labels have shape \(2,\)"):
        metric.update(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize(
    "arguments, message", [({"mode": "average"}, "unknown mode"), ({"num_classes": 0}, "0")]
)
def test_bad_arguments_are_refused_at_construction(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClassificationReport(**{"num_classes": 3, **arguments})


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_results_on_each_device_match_sklearn(device: str) -> None:
    predictions, labels = random_case(seed=4, num_classes=7, size=2000)
    metric = ClassificationReport(num_classes=7, mode="all").to(device)
    metric.update(torch.tensor(predictions, device=device), torch.tensor(labels, device=device))
    expected, _ = sklearn_percent(labels, predictions, 7, None)
    for found, reference in zip(computed(metric), expected):
        assert_close(found, list(reference))

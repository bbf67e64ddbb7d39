"""Dialogue text helpers, metrics and pooling. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from nemo.collections.nlp.data.dialogue.data_processor.assistant_data_processor import (
    DialogueAssistantDataProcessor,
)
from nemo.collections.nlp.data.dialogue.data_processor.data_processor import DialogueDataProcessor
from nemo.collections.nlp.data.dialogue.data_processor.sgd_data_processor import DialogueSGDDataProcessor
from nemo.collections.nlp.data.dialogue.dataset.dialogue_s2s_generation_dataset import (
    DialogueS2SGenerationDataset,
)
from nemo.collections.nlp.data.dialogue.dataset.dialogue_sgd_bert_dataset import DialogueSGDBERTDataset
from nemo.collections.nlp.metrics.dialogue_metrics import (
    DialogueClassificationMetrics,
    DialogueGenerationMetrics,
)
from nemo.collections.nlp.models.dialogue.dialogue_nearest_neighbour_model import (
    DialogueNearestNeighbourModel,
)


def test_slot_spans_and_bio_unification():
    # slot 1 has two runs ([0, 2) and [3, 4)): the last one is kept; 0 is the empty slot.
    spans = DialogueAssistantDataProcessor.get_continuous_slots([1, 1, 0, 1], 0, {0: 0, 1: 1})
    assert spans == {1: [3, 4]}
    mapping, unified = DialogueAssistantDataProcessor.map_bio_format_slots_to_unified_slots(
        ["B-a", "I-a", "O", "B-b"]
    )
    assert mapping == {"0": "0", "1": "0", "2": "1", "3": "2"} and unified == ["a", "O", "b"]
    with pytest.raises(ValueError, match="domain"):
        DialogueAssistantDataProcessor.normalize_zero_shot_intent("nomatch")


def test_text_formats():
    assert DialogueSGDDataProcessor.convert_camelcase_to_lower("GetRide_2") == "get ride"
    assert DialogueSGDBERTDataset._naive_tokenize("It's 5pm!") == ["It", "'", "s", " ", "5pm", "!"]
    actions = [{"act": "REQUEST", "slot": "time", "values": []}, {"act": "goodbye", "slot": "", "values": []}]
    # no values: the slot alone (an empty slot gives an empty piece), or the act alone.
    assert DialogueS2SGenerationDataset.format_actions("acts_slots_values", actions) == "request time goodbye"
    assert DialogueS2SGenerationDataset.format_actions("slots_values", actions) == "time "
    with pytest.raises(ValueError, match="prompt_template"):
        DialogueS2SGenerationDataset.format_actions("acts", actions)


def test_train_dev_split_is_disjoint_under_one_seed():
    random.seed(3)
    dev = DialogueDataProcessor.get_relevant_idxs("dev", 20, 25)
    random.seed(3)
    train = DialogueDataProcessor.get_relevant_idxs("train", 20, 25)
    assert len(dev) == 5 and sorted(dev + train) == list(range(20))
    with pytest.raises(ValueError, match="dataset_split"):
        DialogueDataProcessor.get_relevant_idxs("val", 20, 25)


def test_generation_f1_and_saved_predictions(tmp_path):
    # "a b" vs "a c": P = R = F1 = 50; "x" vs "y": nothing shared -> 0. Mean: 25 each.
    np.testing.assert_allclose(
        DialogueGenerationMetrics.get_f1(["a b", "x"], ["a c", "y"]), [25.0, 25.0, 25.0]
    )
    path = tmp_path / "preds.jsonl"
    DialogueGenerationMetrics.save_predictions(path, ["g"], ["t"], ["i"])
    assert json.loads(path.read_text()) == {"input": "i", "ground_truth": "t", "generated": "g"}


def test_label_and_slot_scores():
    labels, slots = DialogueClassificationMetrics.split_label_and_slots(
        ["play\nslots: song(x)possible intents: a, b", "song(y), artist(z)"], with_slots=True
    )
    assert labels == ["play", "none"] and slots == [["song(x)"], ["song(y)", "artist(z)"]]
    assert DialogueClassificationMetrics.split_label_and_slots(["play"]) == (["play"], [[]])
    # empty prediction: precision 0 and recall 0 (first); both empty: 0, 0 but joint accuracy 1 (second).
    p, r, f1, jga = DialogueClassificationMetrics.get_slot_filling_metrics([[], []], [["a(1)"], []])
    assert (p, r, f1, jga) == (0.0, 0.0, 0.0, 50.0)


def test_mean_pooling_skips_padding():
    embeddings = torch.tensor(
        [[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 5.0], [6.0, 6.0], [7.0, 7.0]]]
    )
    mask = torch.tensor([[1, 1, 0], [0, 0, 0]])
    # first row: mean of the two attended tokens; second row: no attended token -> zeros.
    pooled = DialogueNearestNeighbourModel.mean_pooling([embeddings], mask)
    assert pooled.tolist() == [[2.0, 3.0], [0.0, 0.0]]
    with pytest.raises(NotImplementedError, match="mean_pooling"):
        DialogueNearestNeighbourModel()

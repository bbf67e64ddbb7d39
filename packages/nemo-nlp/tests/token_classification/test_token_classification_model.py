"""``TokenClassificationModel``: NeMo's config keys, labels, loss and logged names under a real Lightning Trainer,
and ``add_predictions`` / ``evaluate_from_file`` against an independent reference (``ReferenceTagger`` of ``conftest.py``)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from nemo.collections.nlp.models import TokenClassificationModel
from omegaconf import OmegaConf


def cpu_trainer(tmp_path: Path, **kwargs) -> pl.Trainer:
    options = {
        "accelerator": "cpu",
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "default_root_dir": tmp_path,
    }
    return pl.Trainer(**{**options, **kwargs})


def reference_of(ner, model: TokenClassificationModel, minilm_dir: Path):
    """The independent reference tagger on ``model``'s current weights."""
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    return ner.ReferenceTagger(state, model.bert_model.config.to_dict(), minilm_dir)


def test_a_real_trainer_fits_validates_and_tests_with_nemos_logged_names(ner, tiny_cfg, data_dir, tmp_path):
    trainer = cpu_trainer(tmp_path, max_steps=4, val_check_interval=2, log_every_n_steps=1)
    torch.manual_seed(0)
    model = TokenClassificationModel(cfg=tiny_cfg, trainer=trainer)
    before = {key: value.clone() for key, value in model.state_dict().items()}

    trainer.fit(model)

    assert {"train_loss", "lr", "val_loss", "precision", "f1", "recall"} <= set(trainer.callback_metrics)
    assert trainer.global_step == 4
    changed = [key for key, value in model.state_dict().items() if not torch.equal(value, before[key])]
    assert "classifier.mlp.layer2.weight" in changed
    assert any(key.startswith("bert_model.encoder.layer.0.") for key in changed)
    trainer.test(model)
    assert {"test_loss", "precision", "f1", "recall"} <= set(trainer.callback_metrics)
    assert sorted(path.name for path in data_dir.iterdir()) == [
        "labels_dev.txt",
        "labels_train.txt",
        "text_dev.txt",
        "text_train.txt",
    ]


def test_label_ids_come_from_the_training_labels_and_travel_as_nemos_label_file(ner, tiny_cfg):
    model = TokenClassificationModel(cfg=tiny_cfg)

    assert dict(model.cfg.label_ids) == ner.LABEL_IDS
    path = Path(model.artifacts["class_labels.class_labels_file"].path)
    assert path.name == "label_ids.csv"
    assert path.read_text(encoding="utf-8") == "O\nB-LOC\nB-ORG\nB-PER\nI-LOC\nI-ORG"
    assert model.classifier.mlp.layer2.weight.shape == (len(ner.LABEL_IDS), 32)


def test_validation_figures_are_nemos_word_level_macro_scores_and_masked_loss(
    ner, tiny_cfg, minilm_dir, tmp_path
):
    tiny_cfg.dataset.ignore_extra_tokens = True
    tiny_cfg.dataset.ignore_start_end = True
    tiny_cfg.validation_ds.batch_size = len(ner.DEV)
    torch.manual_seed(0)
    model = TokenClassificationModel(cfg=tiny_cfg, trainer=cpu_trainer(tmp_path))
    ner.spread_head(model)
    reference = reference_of(ner, model, minilm_dir)

    metrics = cpu_trainer(tmp_path).validate(model, verbose=False)[0]

    logits, gold, predicted = [], [], []
    for text, labels in ner.DEV:
        token_logits, firsts = reference.token_logits(text)
        logits.append(token_logits[firsts])  # loss only on the first token of each word
        gold += [ner.LABEL_IDS[label] for label in labels.split()]
        predicted += token_logits[firsts].argmax(dim=-1).tolist()
    expected_loss = torch.nn.functional.cross_entropy(torch.cat(logits), torch.tensor(gold))
    assert metrics["val_loss"] == pytest.approx(expected_loss.item(), abs=1e-5)
    per_class = []
    for label_id in sorted(set(gold)):
        tp = sum(p == g == label_id for p, g in zip(predicted, gold))
        precision = tp / max(predicted.count(label_id), 1)
        recall = tp / gold.count(label_id)
        per_class.append((precision, recall, 2 * precision * recall / (precision + recall) if tp else 0.0))
    expected = np.mean(per_class, axis=0) * 100
    assert [metrics["precision"], metrics["recall"], metrics["f1"]] == pytest.approx(expected, abs=1e-3)
    assert len(set(predicted)) >= 3  # the figures are not those of a constant guess


def test_the_training_loss_is_cross_entropy_over_nemos_loss_mask(ner, tiny_cfg, minilm_dir):
    tiny_cfg.dataset.ignore_extra_tokens = True
    tiny_cfg.dataset.ignore_start_end = True
    tiny_cfg.train_ds.batch_size = len(ner.TRAIN)
    torch.manual_seed(0)
    model = TokenClassificationModel(cfg=tiny_cfg)
    ner.spread_head(model)
    model.setup_optimization(tiny_cfg.optim)
    model.eval()  # no dropout
    (batch,) = list(model._train_dl)

    loss = model.training_step(batch, 0)["loss"]

    reference = reference_of(ner, model, minilm_dir)
    logits, gold = [], []
    for text, labels in ner.TRAIN:
        token_logits, firsts = reference.token_logits(text)
        logits.append(token_logits[firsts])
        gold += [ner.LABEL_IDS[label] for label in labels.split()]
    expected = torch.nn.functional.cross_entropy(torch.cat(logits), torch.tensor(gold))
    assert loss.item() == pytest.approx(expected.item(), abs=1e-5)


def test_weighted_loss_takes_nemos_class_weights_of_the_training_labels(ner, tiny_cfg):
    tiny_cfg.dataset.class_balancing = "weighted_loss"

    model = TokenClassificationModel(cfg=tiny_cfg)

    counts = Counter(label for _, labels in ner.TRAIN for label in labels.split())
    total = sum(counts.values())
    expected = [total / (len(counts) * counts[label]) for label in ner.LABEL_IDS]
    torch.testing.assert_close(model.loss.weight, torch.tensor(expected))
    assert model.class_weights == pytest.approx(expected)


def test_an_unknown_class_balancing_is_refused(tiny_cfg):
    tiny_cfg.dataset.class_balancing = "oversample"

    with pytest.raises(ValueError, match=r"model.dataset.class_balancing is 'oversample'; expected null or"):
        TokenClassificationModel(cfg=tiny_cfg)


def test_a_label_id_file_gives_the_label_ids(tiny_cfg, tmp_path):
    label_file = tmp_path / "my_labels.csv"
    label_file.write_text("O\nB-PER\nB-LOC\nB-ORG\nI-LOC\nI-ORG\nI-PER\n", encoding="utf-8")
    tiny_cfg.label_ids = str(label_file)

    model = TokenClassificationModel(cfg=tiny_cfg)

    expected = {"O": 0, "B-PER": 1, "B-LOC": 2, "B-ORG": 3, "I-LOC": 4, "I-ORG": 5, "I-PER": 6}
    assert dict(model.cfg.label_ids) == expected
    assert model.classifier.mlp.layer2.weight.shape[0] == 7
    assert model._train_dl.dataset.label_ids == expected


def test_label_ids_with_a_gap_are_refused(tiny_cfg):
    tiny_cfg.label_ids = {"O": 0, "B-PER": 2}
    tiny_cfg.train_ds = None
    tiny_cfg.validation_ds = None
    tiny_cfg.test_ds = None

    with pytest.raises(ValueError, match=r"model.label_ids has ids \[0, 2\]; expected 0..1, each once"):
        TokenClassificationModel(cfg=tiny_cfg)


def test_a_missing_label_id_file_names_the_key(tiny_cfg, tmp_path):
    tiny_cfg.label_ids = str(tmp_path / "nowhere.csv")

    with pytest.raises(FileNotFoundError, match=r"model.label_ids is '.*nowhere.csv', which is not a file"):
        TokenClassificationModel(cfg=tiny_cfg)


def test_without_label_ids_or_training_data_the_model_says_what_to_set(tiny_cfg):
    tiny_cfg.train_ds = None
    tiny_cfg.validation_ds = None
    tiny_cfg.test_ds = None

    with pytest.raises(ValueError, match=r"model.label_ids is empty and no training data gave the labels"):
        TokenClassificationModel(cfg=tiny_cfg)


def test_a_dev_label_unseen_in_training_names_the_file_and_line(ner, tiny_cfg, data_dir):
    ner.write_split(
        data_dir, "dev", [("Carol visited Berlin", "B-PER O B-LOC"), ("Dave from Oslo", "B-PER O B-GPE")]
    )

    with pytest.raises(ValueError, match=r"labels_dev.txt:2: unknown label 'B-GPE'"):
        TokenClassificationModel(cfg=tiny_cfg)


def test_a_line_with_more_words_than_labels_names_the_file_and_line(ner, tiny_cfg, data_dir):
    ner.write_split(data_dir, "train", [*ner.TRAIN[:2], ("one two three", "O O")])

    with pytest.raises(ValueError, match=r"labels_train.txt:3: 2 labels for 3 words"):
        TokenClassificationModel(cfg=tiny_cfg)


def test_a_missing_data_dir_names_the_key(tiny_cfg, tmp_path):
    tiny_cfg.dataset.data_dir = str(tmp_path / "missing")

    with pytest.raises(
        FileNotFoundError, match=r"model.dataset.data_dir is '.*missing', which is not a folder"
    ):
        TokenClassificationModel(cfg=tiny_cfg)


def test_add_predictions_match_the_reference_for_any_batch_size(ner, tiny_cfg, minilm_dir, tmp_path):
    torch.manual_seed(0)
    model = TokenClassificationModel(cfg=tiny_cfg)
    ner.spread_head(model)
    model.train()
    reference = reference_of(ner, model, minilm_dir)
    expected_labels = [reference.word_labels(query, ner.LABEL_IDS) for query in ner.QUERIES]
    assert len({label for labels in expected_labels for label in labels}) >= 4

    results = {
        batch_size: model.add_predictions(ner.QUERIES, batch_size=batch_size) for batch_size in (1, 2, 32)
    }

    for tagged in results.values():
        assert [read_tags(line) for line in tagged] == expected_labels
    assert results[1] == results[2] == results[32]
    assert model.training  # add_predictions restores the mode it found
    queries_file = tmp_path / "queries.txt"
    queries_file.write_text("".join(query + "\n" for query in ner.QUERIES), encoding="utf-8")
    output_file = tmp_path / "tagged.txt"
    assert model.add_predictions(str(queries_file), output_file=str(output_file)) == results[32]
    assert output_file.read_text(encoding="utf-8") == "".join(line + "\n" for line in results[32])
    assert model.add_predictions([]) == []


def read_tags(tagged: str) -> list[str]:
    """The label of each word of an ``add_predictions`` line (``O`` for untagged words)."""
    labels = []
    for word in tagged.split():
        if "[" in word:
            labels.append(word[word.index("[") + 1 : word.index("]")])
        else:
            labels.append("O")
    return labels


def force_label(model: TokenClassificationModel, label: str) -> None:
    """Make the head predict ``label`` for every token."""
    with torch.no_grad():
        model.classifier.mlp.layer2.weight.zero_()
        model.classifier.mlp.layer2.bias.zero_()
        model.classifier.mlp.layer2.bias[model.cfg.label_ids[label]] = 1.0


def test_add_predictions_tags_words_in_nemos_format(tiny_cfg):
    model = TokenClassificationModel(cfg=tiny_cfg)
    queries = ["Alice flew to  Paris, in 2004 .", "  Unbelievably\n"]

    force_label(model, "B-LOC")
    assert model.add_predictions(queries) == [
        "Alice[B-LOC] flew[B-LOC] to[B-LOC] Paris[B-LOC], in[B-LOC] 200[B-LOC]4 [B-LOC].",
        "Unbelievably[B-LOC]",
    ]
    force_label(model, "O")
    assert model.add_predictions(queries) == ["Alice flew to Paris, in 2004 .", "Unbelievably"]


def test_evaluate_from_file_writes_nemos_prediction_file_and_a_confusion_matrix(
    ner, tiny_cfg, minilm_dir, tmp_path
):
    torch.manual_seed(0)
    model = TokenClassificationModel(cfg=tiny_cfg)
    ner.spread_head(model)
    reference = reference_of(ner, model, minilm_dir)
    text_file, labels_file = tmp_path / "text_eval.txt", tmp_path / "labels_eval.txt"
    rows = [*ner.TRAIN, *ner.DEV]
    text_file.write_text("".join(text + "\n" for text, _ in rows), encoding="utf-8")
    labels_file.write_text("".join(labels + "\n" for _, labels in rows), encoding="utf-8")
    gold = [label for _, labels in rows for label in labels.split()]
    predicted = [label for text, _ in rows for label in reference.word_labels(text, ner.LABEL_IDS)]

    model.evaluate_from_file(
        str(tmp_path / "out"), str(text_file), str(labels_file), add_confusion_matrix=True
    )

    lines = (tmp_path / "out" / "infer_text_eval.txt").read_text(encoding="utf-8").splitlines()
    assert lines == ["labels\t" + " ".join(gold), "preds\t" + " ".join(predicted)]
    used = [label for label in ner.LABEL_IDS if label in set(gold) | set(predicted)]
    pairs = Counter(zip(gold, predicted))
    with open(tmp_path / "out" / "Normalized_Confusion_matrix.csv", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["true \\ predicted", *used]
    for row in table[1:]:
        row_total = sum(pairs[(row[0], other)] for other in used)
        expected = [pairs[(row[0], other)] / row_total if row_total else 0.0 for other in used]
        assert [float(value) for value in row[1:]] == pytest.approx(expected, abs=1e-6)
    assert [row[0] for row in table[1:]] == used

    model.evaluate_from_file(
        str(tmp_path / "counts"), str(text_file), str(labels_file), True, normalize_confusion_matrix=False
    )
    with open(tmp_path / "counts" / "Confusion_matrix.csv", encoding="utf-8") as f:
        counts = {row[0]: [int(value) for value in row[1:]] for row in list(csv.reader(f))[1:]}
    assert counts == {label: [pairs[(label, other)] for other in used] for label in used}

    model.evaluate_from_file(str(tmp_path / "no_labels"), str(text_file), batch_size=4)
    lines = (tmp_path / "no_labels" / "infer_text_eval.txt").read_text(encoding="utf-8").splitlines()
    assert lines == ["preds\t" + " ".join(predicted)]


def test_evaluate_from_file_names_a_bad_labels_line(tiny_cfg, tmp_path):
    model = TokenClassificationModel(cfg=tiny_cfg)
    text_file, labels_file = tmp_path / "text.txt", tmp_path / "labels.txt"
    text_file.write_text("Alice flew\nBob stayed home\n", encoding="utf-8")
    labels_file.write_text("B-PER O\nB-PER O\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"labels.txt:2: 2 labels for 3 words in .*text.txt:2"):
        model.evaluate_from_file(str(tmp_path / "out"), str(text_file), str(labels_file))
    labels_file.write_text("B-PER O\nB-PER O B-GPE\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"labels.txt:2: label 'B-GPE' was not seen in training"):
        model.evaluate_from_file(str(tmp_path / "out"), str(text_file), str(labels_file))


def test_a_query_longer_than_the_encoder_positions_is_refused_by_name(tiny_cfg):
    model = TokenClassificationModel(cfg=tiny_cfg)

    with pytest.raises(
        ValueError, match=r"Query 1 has 52 tokens with \[CLS\] and \[SEP\], but the encoder takes at most 40"
    ):
        model.add_predictions(["short one", " ".join(["word"] * 50)])


def test_the_config_keeps_nemos_keys(tiny_cfg):
    shipped = OmegaConf.load(
        Path(__file__).parents[2] / "src/nemo/collections/nlp/conf/token_classification_config.yaml"
    )
    # NeMo 1.23's examples/nlp/token_classification/conf/token_classification_config.yaml, key by key.
    assert set(shipped) == {"pretrained_model", "trainer", "exp_manager", "model"}
    assert set(shipped.model) == {
        "label_ids",
        "class_labels",
        "dataset",
        "train_ds",
        "validation_ds",
        "test_ds",
        "tokenizer",
        "language_model",
        "head",
        "optim",
    }
    assert set(shipped.model.dataset) == {
        "data_dir",
        "class_balancing",
        "max_seq_length",
        "pad_label",
        "ignore_extra_tokens",
        "ignore_start_end",
        "use_cache",
        "num_workers",
        "pin_memory",
        "drop_last",
    }
    for split in ("train_ds", "validation_ds", "test_ds"):
        assert set(shipped.model[split]) == {
            "text_file",
            "labels_file",
            "shuffle",
            "num_samples",
            "batch_size",
        }
    assert set(shipped.model.head) == {"num_fc_layers", "fc_dropout", "activation", "use_transformer_init"}
    assert set(shipped.model.language_model) == {
        "pretrained_model_name",
        "lm_checkpoint",
        "config_file",
        "config",
    }
    assert OmegaConf.is_missing(shipped.model.language_model, "pretrained_model_name")  # never a hub default
    assert OmegaConf.is_missing(shipped.model.dataset, "data_dir")


def test_token_classification_passes_the_conformance_kit(ner, tiny_cfg, tmp_path):
    from nemo.core.conformance import assert_model_conforms

    assert_model_conforms(TokenClassificationModel, tiny_cfg, tmp_path)  # inputs: its input_example()

"""Training, evaluation and label handling of ``PunctuationCapitalizationModel`` with a real Lightning trainer on
real files: NeMo's logged names and figures (checked against plain torch and scikit-learn), label-id files as
``.nemo`` artifacts written only to the model's folder or ``label_info_save_dir``, NeMo's config keys."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import torch
from nemo.collections.nlp.data.token_classification.create_tarred_dataset import create_tarred_dataset
from nemo.collections.nlp.models import PunctuationCapitalizationModel
from omegaconf import OmegaConf
from sklearn.metrics import precision_recall_fscore_support


def listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def archive_members(path: Path) -> dict[str, str]:
    """Label-id file name -> its text, for the label files inside a ``.nemo``."""
    with tarfile.open(path) as archive:
        return {
            name.split("_", 1)[1]: archive.extractfile(name).read().decode()
            for name in archive.getnames()
            if name.endswith("_label_ids.csv")
        }


def test_training_infers_label_ids_and_saves_them_only_inside_the_archive(
    tiny_cfg, data_dir, make_trainer, tmp_path
):
    before = listing(data_dir)
    trainer = make_trainer(max_steps=3, limit_val_batches=0)
    model = PunctuationCapitalizationModel(tiny_cfg.model, trainer=trainer)
    trainer.fit(model)
    model.save_to(str(tmp_path / "model.nemo"))

    assert model.punct_label_ids == {"O": 0, ",": 1, ".": 2, "?": 3}
    assert model.capit_label_ids == {"O": 0, "U": 1}
    assert archive_members(tmp_path / "model.nemo") == {
        "punct_label_ids.csv": "O\n,\n.\n?",
        "capit_label_ids.csv": "O\nU",
    }
    assert listing(data_dir) == before
    restored = PunctuationCapitalizationModel.restore_from(str(tmp_path / "model.nemo"), map_location="cpu")
    assert restored.punct_label_ids == model.punct_label_ids
    assert len(restored.add_punctuation_capitalization(["hello how are you"])[0].split()) == 4


def test_label_info_save_dir_receives_the_label_files(tiny_cfg, make_trainer, tmp_path):
    tiny_cfg.model.train_ds.label_info_save_dir = str(tmp_path / "run" / "labels")
    tiny_cfg.model.train_ds.get_label_frequences = True

    PunctuationCapitalizationModel(tiny_cfg.model, trainer=make_trainer())

    written = sorted(listing(tmp_path / "run" / "labels"))
    assert written == [
        "label_count_capit.tsv",
        "label_count_punct.tsv",
        "label_id_files_for_nemo_checkpoint/capit_label_ids.csv",
        "label_id_files_for_nemo_checkpoint/punct_label_ids.csv",
    ]


def expected_metrics(model: PunctuationCapitalizationModel) -> dict[str, float]:
    """NeMo's validation figures recomputed with plain torch and scikit-learn on the same batches."""
    loss_sum, tokens = 0.0, 0
    words = {"punct": ([], []), "capit": ([], [])}
    model.eval()
    with torch.inference_mode():
        for batch in model._validation_dl:
            logits = dict(
                zip(
                    ("punct", "capit"),
                    model(
                        input_ids=batch["input_ids"],
                        token_type_ids=batch["segment_ids"],
                        attention_mask=batch["input_mask"],
                    ),
                )
            )
            mask = batch["loss_mask"]
            loss = sum(
                torch.nn.functional.cross_entropy(logits[task][mask], batch[f"{task}_labels"][mask])
                for task in logits
            )
            loss_sum += loss.item() * int(mask.sum())
            tokens += int(mask.sum())
            first = batch["subtokens_mask"]
            for task, (predicted, labels) in words.items():
                predicted.extend(logits[task].argmax(-1)[first].tolist())
                labels.extend(batch[f"{task}_labels"][first].tolist())
    expected = {"val_loss": loss_sum / tokens}
    for task, (predicted, labels) in words.items():
        precision, recall, f1, _ = precision_recall_fscore_support(
            labels, predicted, labels=sorted(set(labels)), average="macro", zero_division=0
        )
        expected.update(
            {
                f"val_{task}_precision": 100 * precision,
                f"val_{task}_recall": 100 * recall,
                f"val_{task}_f1": 100 * f1,
            }
        )
    return expected


def test_validation_logs_nemos_names_with_macro_figures_and_the_token_averaged_loss(tiny_cfg, make_trainer):
    tiny_cfg.model.validation_ds.tokens_in_batch = 24  # several batches of different sizes
    trainer = make_trainer(max_steps=4)
    model = PunctuationCapitalizationModel(tiny_cfg.model, trainer=trainer)
    trainer.fit(model)
    assert {"lr", "train_loss", "val_punct_f1", "val_capit_f1"} <= set(trainer.callback_metrics)

    results = trainer.validate(model, verbose=False)[0]

    expected = expected_metrics(model)
    assert len({batch["loss_mask"].sum().item() for batch in model._validation_dl}) > 1
    assert set(results) == set(expected)
    for name, value in expected.items():
        assert results[name] == pytest.approx(value, abs=1e-3), name


def test_test_step_logs_test_names_per_dataloader(
    tiny_cfg, data_dir, write_split, sentences, make_trainer, tmp_path
):
    other = tmp_path / "other_set"
    write_split(other, "dev", sentences[:2])
    tiny_cfg.model.test_ds = {
        "use_tarred_dataset": False,
        "ds_item": [str(data_dir), str(other)],
        "text_file": "text_dev.txt",
        "labels_file": "labels_dev.txt",
        "tokens_in_batch": 64,
        "shuffle": False,
        "num_workers": 0,
        "pin_memory": False,
    }
    trainer = make_trainer(max_steps=1)
    model = PunctuationCapitalizationModel(tiny_cfg.model, trainer=trainer)

    results = trainer.test(model, verbose=False)

    assert len(results) == 2
    assert {"data_test_punct_f1", "test_punct_f1", "test_capit_f1", "test_loss"} <= set(results[0])
    assert "other_set_test_capit_recall" in results[1]
    assert results[0]["test_loss"] == results[0]["data_test_loss"]


def test_repacking_after_each_epoch_follows_train_ds_shuffle(tiny_cfg, make_trainer):
    model = PunctuationCapitalizationModel(tiny_cfg.model, trainer=make_trainer())
    dataset = model._train_dl.dataset
    batches = dataset.batches

    model.on_train_epoch_end()
    assert dataset.batches is not batches

    model._cfg.train_ds.shuffle = False
    batches = dataset.batches
    model.on_train_epoch_end()
    assert dataset.batches is batches


def test_the_loss_sums_both_tasks_on_the_loss_mask(tiny_cfg, make_trainer):
    model = PunctuationCapitalizationModel(tiny_cfg.model, trainer=make_trainer())
    batch = next(iter(model._train_dl))
    batch["loss_mask"][:, :3] = False
    model.eval()

    loss, punct, capit = model._make_step(batch)

    mask = batch["loss_mask"]
    expected = torch.nn.functional.cross_entropy(punct[mask], batch["punct_labels"][mask])
    expected += torch.nn.functional.cross_entropy(capit[mask], batch["capit_labels"][mask])
    torch.testing.assert_close(loss, expected)


def test_label_ids_from_the_config_give_a_model_without_data(tiny_cfg, tmp_path):
    cfg = tiny_cfg.model
    cfg.train_ds = None
    cfg.validation_ds = None
    cfg.common_dataset_parameters.punct_label_ids = {"O": 0, ".": 1, ",": 2}
    cfg.common_dataset_parameters.capit_label_ids = {"O": 0, "U": 1}
    cfg.punct_head.num_fc_layers = 2

    model = PunctuationCapitalizationModel(cfg)
    model.save_to(str(tmp_path / "m.nemo"))

    assert model.punct_classifier.mlp.layer2.out_features == 3
    assert archive_members(tmp_path / "m.nemo")["punct_label_ids.csv"] == "O\n.\n,"
    restored = PunctuationCapitalizationModel.restore_from(str(tmp_path / "m.nemo"), map_location="cpu")
    assert restored.punct_label_ids == {"O": 0, ".": 1, ",": 2}


def test_label_vocab_dir_gives_the_label_ids(tiny_cfg, tmp_path):
    vocab = tmp_path / "vocab"
    vocab.mkdir()
    (vocab / "punct_label_ids.csv").write_text("O\n,\n.\n?\n!")
    (vocab / "capit_label_ids.csv").write_text("O\nU")
    tiny_cfg.model.common_dataset_parameters.label_vocab_dir = str(vocab)

    model = PunctuationCapitalizationModel(tiny_cfg.model)

    assert model.punct_label_ids == {"O": 0, ",": 1, ".": 2, "?": 3, "!": 4}
    assert model.artifacts["class_labels.punct_labels_file"].path == str(vocab / "punct_label_ids.csv")


def test_config_label_ids_that_differ_from_label_vocab_dir_are_an_error(tiny_cfg, tmp_path):
    vocab = tmp_path / "vocab"
    vocab.mkdir()
    (vocab / "punct_label_ids.csv").write_text("O\n,\n.\n?")
    (vocab / "capit_label_ids.csv").write_text("O\nU")
    tiny_cfg.model.common_dataset_parameters.label_vocab_dir = str(vocab)
    tiny_cfg.model.common_dataset_parameters.punct_label_ids = {"O": 0, ".": 1, ",": 2, "?": 3}

    with pytest.raises(ValueError, match="common_dataset_parameters.punct_label_ids.*different ids"):
        PunctuationCapitalizationModel(tiny_cfg.model)


def test_a_pad_label_without_id_0_is_an_error(tiny_cfg):
    tiny_cfg.model.common_dataset_parameters.punct_label_ids = {",": 0, "O": 1, ".": 2, "?": 3}

    with pytest.raises(ValueError, match="Pad label 'O' has id 1"):
        PunctuationCapitalizationModel(tiny_cfg.model)


def test_without_any_source_of_labels_the_error_names_the_keys(tiny_cfg):
    tiny_cfg.model.train_ds = None
    tiny_cfg.model.validation_ds = None

    with pytest.raises(
        ValueError, match="common_dataset_parameters.punct_label_ids.*label_vocab_dir.*train_ds"
    ):
        PunctuationCapitalizationModel(tiny_cfg.model)


def test_missing_data_settings_are_errors_naming_the_key(tiny_cfg):
    tiny_cfg.model.train_ds.tokens_in_batch = None
    with pytest.raises(ValueError, match="model.train_ds.tokens_in_batch"):
        PunctuationCapitalizationModel(tiny_cfg.model)

    tiny_cfg.model.train_ds.tokens_in_batch = 64
    tiny_cfg.model.validation_ds.ds_item = None
    with pytest.raises(ValueError, match="model.validation_ds.ds_item"):
        PunctuationCapitalizationModel(tiny_cfg.model)


def test_batches_of_single_samples_without_bucketing(tiny_cfg, make_trainer):
    tiny_cfg.model.train_ds.use_bucketing = False
    tiny_cfg.model.train_ds.batch_size = 3
    trainer = make_trainer(max_steps=2, limit_val_batches=0)
    model = PunctuationCapitalizationModel(tiny_cfg.model, trainer=trainer)

    trainer.fit(model)

    batch = next(iter(model._train_dl))
    assert batch["input_ids"].shape[0] == 3 and trainer.global_step == 2


def test_tarred_training_data_gives_labels_and_batches(
    tiny_cfg, data_dir, minilm_dir, make_trainer, tmp_path
):
    metadata = create_tarred_dataset(
        data_dir / "text_train.txt",
        data_dir / "labels_train.txt",
        tmp_path / "tarred",
        max_seq_length=64,
        tokens_in_batch=64,
        lines_per_dataset_fragment=4,
        num_batches_per_tarfile=2,
        tokenizer_name=str(minilm_dir),
        n_jobs=1,
    )
    train_ds = tiny_cfg.model.train_ds
    train_ds.use_tarred_dataset = True
    train_ds.ds_item = str(metadata.parent)
    train_ds.tar_metadata_file = metadata.name
    tiny_cfg.model.validation_ds.ds_item = str(data_dir)
    trainer = make_trainer(max_steps=2)
    model = PunctuationCapitalizationModel(tiny_cfg.model, trainer=trainer)

    trainer.fit(model)
    model.save_to(str(tmp_path / "m.nemo"))

    assert type(model._train_dl.dataset).__name__ == "BertPunctuationCapitalizationTarredDataset"
    assert trainer.limit_train_batches == len(model._train_dl.dataset)
    assert archive_members(tmp_path / "m.nemo") == {
        "punct_label_ids.csv": "O\n,\n.\n?",
        "capit_label_ids.csv": "O\nU",
    }


def test_a_legacy_config_is_converted(tiny_cfg, data_dir):
    new = tiny_cfg.model
    legacy = OmegaConf.create(
        {
            "dataset": {"data_dir": str(data_dir), "pad_label": "O", "max_seq_length": 32},
            "validation_ds": {"text_file": "text_dev.txt", "labels_file": "labels_dev.txt"},
            "punct_label_ids": {"O": 0, ",": 1, ".": 2, "?": 3},
            "capit_label_ids": {"O": 0, "U": 1},
            "class_labels": dict(new.class_labels),
            "punct_head": {"punct_num_fc_layers": 2, "fc_dropout": 0.0},
            "capit_head": {"capit_num_fc_layers": 1},
            "tokenizer": dict(new.tokenizer),
            "language_model": OmegaConf.to_container(new.language_model),
            "optim": None,
        }
    )
    legacy.validation_ds.tokens_in_batch = 64

    with pytest.raises(ValueError, match="tokens_in_batch"):
        PunctuationCapitalizationModel(legacy)  # NeMo's conversion keeps no batch size
    legacy.validation_ds = None
    model = PunctuationCapitalizationModel(legacy)

    converted = model.cfg
    assert converted.common_dataset_parameters.pad_label == "O" and converted.train_ds is None
    assert converted.punct_head.num_fc_layers == 2 and converted.punct_head.fc_dropout == 0.0
    assert {"punct_classifier.mlp.layer2.weight", "capit_classifier.mlp.layer0.weight"} <= set(
        model.state_dict()
    )
    assert model.punct_label_ids == {"O": 0, ",": 1, ".": 2, "?": 3}


def test_legacy_data_sections_take_the_old_dataset_directory_and_length():
    from nemo.collections.nlp.models.token_classification.punctuation_capitalization_config import (
        legacy_model_config_to_new_model_config,
    )

    legacy = OmegaConf.create(
        {
            "dataset": {"data_dir": "/data", "pad_label": "O", "max_seq_length": 32},
            "train_ds": {"text_file": "t.txt", "labels_file": "l.txt"},
            "class_labels": {"punct_labels_file": "p.csv", "capit_labels_file": "c.csv"},
            "tokenizer": {"tokenizer_name": "x"},
            "language_model": {"pretrained_model_name": "x"},
            "retain_during_legacy_conversion": {"nemo_path": "kept.nemo"},
        }
    )

    converted = legacy_model_config_to_new_model_config(legacy)

    assert converted.train_ds.ds_item == "/data" and converted.train_ds.max_seq_length == 32
    assert converted.train_ds.use_tarred_dataset is False and converted.nemo_path == "kept.nemo"
    assert converted.punct_head.num_fc_layers == 1


def test_update_config_after_restoring_merges_sections_and_checks_labels(tiny_cfg, tmp_path):
    model = PunctuationCapitalizationModel(tiny_cfg.model)

    model.update_config_after_restoring_from_checkpoint(
        train_ds={"num_samples": 3}, test_ds={"ds_item": "elsewhere"}, optim={"name": "sgd", "lr": 0.5}
    )

    assert model.cfg.train_ds.num_samples == 3 and model.cfg.train_ds.tokens_in_batch == 64
    assert model.cfg.test_ds.ds_item == "elsewhere" and model.cfg.test_ds.text_file is None
    assert OmegaConf.to_container(model.cfg.optim) == {"name": "sgd", "lr": 0.5}
    with pytest.raises(ValueError, match="unexpected keyword"):
        model.update_config_after_restoring_from_checkpoint(dataset={})
    with pytest.raises(ValueError, match="different ids"):
        model.update_config_after_restoring_from_checkpoint(
            common_dataset_parameters={"punct_label_ids": {"O": 0, ".": 1, ",": 2, "?": 3}}
        )


def test_labels_of_the_tiny_data_are_nemos(label_sentence):
    assert label_sentence("Thank you very much, Bob. We went") == (
        "thank you very much bob we went",
        "OU OO OO ,O .U OU OO",
    )


def test_punctuation_capitalization_passes_the_conformance_kit(tiny_cfg, tmp_path):
    from nemo.core.conformance import assert_model_conforms

    assert_model_conforms(PunctuationCapitalizationModel, tiny_cfg, tmp_path)  # inputs: its input_example()

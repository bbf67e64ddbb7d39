"""``TextClassificationModel``: built from NeMo's config keys, trained by a real Lightning Trainer, restored from
what it saves, and ``classifytext`` in the queries' order whatever the batch size."""

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import transformers
from nemo.collections.nlp.models import TextClassificationModel
from omegaconf import OmegaConf

NEMO_ARCHIVE = Path(__file__).parent / "data" / "textclf_minilm_tiny.nemo"


def data_config(path, batch_size=2, shuffle=False):
    return {"file_path": str(path), "batch_size": batch_size, "shuffle": shuffle, "num_workers": 0}


def test_a_real_trainer_fits_a_few_steps_and_logs_nemos_names(tiny_model_cfg, tiny_tsv, tmp_path):
    tiny_model_cfg.train_ds = data_config(tiny_tsv, shuffle=True)
    tiny_model_cfg.validation_ds = data_config(tiny_tsv, batch_size=3)
    tiny_model_cfg.optim = {"name": "adam", "lr": 1e-2}
    trainer = pl.Trainer(
        max_steps=6,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        log_every_n_steps=1,
        val_check_interval=3,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
    )
    torch.manual_seed(0)
    model = TextClassificationModel(cfg=tiny_model_cfg, trainer=trainer)
    before = {key: value.clone() for key, value in model.state_dict().items()}

    trainer.fit(model)

    metrics = trainer.callback_metrics
    assert {"train_loss", "lr", "val_loss", "val_precision", "val_recall", "val_f1"} <= set(metrics)
    assert trainer.global_step == 6
    changed = [key for key, value in model.state_dict().items() if not torch.equal(value, before[key])]
    assert "classifier.mlp.layer2.weight" in changed
    assert any(key.startswith("bert_model.encoder.layer.0.") for key in changed)
    path = tmp_path / "trained.nemo"
    model.save_to(str(path))
    restored = TextClassificationModel.restore_from(str(path), map_location="cpu")
    queries = ["a great film", "boring and terrible", "i loved every minute"]
    assert restored.classifytext(queries, batch_size=2) == model.classifytext(queries, batch_size=3)


def test_a_model_from_the_minilm_path_carries_its_pretrained_weights(tiny_model_cfg, minilm_dir):
    tiny_model_cfg.language_model.pretrained_model_name = str(minilm_dir)
    tiny_model_cfg.language_model.config = None

    model = TextClassificationModel(cfg=tiny_model_cfg)

    reference = transformers.AutoModel.from_pretrained(minilm_dir)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[f"bert_model.{key}"], value)
    assert model.hidden_size == 384 and model.classifier.mlp.layer0.weight.shape == (384, 384)
    written = json.loads(Path(model.artifacts["language_model.config_file"].path).read_text(encoding="utf-8"))
    assert written["model_type"] == "bert" and written["hidden_size"] == 384


def test_classifytext_returns_predictions_in_query_order_for_any_batch_size():
    model = TextClassificationModel.restore_from(str(NEMO_ARCHIVE), map_location="cpu")
    queries = json.loads(NEMO_ARCHIVE.with_suffix(".json").read_text(encoding="utf-8"))["queries"]
    queries = queries + [queries[0] + " and a great story", "boring"]

    model.eval()
    with torch.inference_mode():
        one_by_one = []
        for query in queries:
            ids = torch.tensor([model.tokenizer.tokenizer(query)["input_ids"]])
            logits = model(
                input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids)
            )
            one_by_one.append(int(logits.argmax(-1)))
    model.train()

    assert len(set(one_by_one)) == 2
    for batch_size in (1, 3, 8):
        assert model.classifytext(queries, batch_size=batch_size) == one_by_one
    assert model.training  # classifytext restores the mode it found
    assert model.classifytext([]) == []


def test_weighted_loss_takes_the_class_weights_of_the_training_file(tiny_model_cfg, tmp_path):
    path = tmp_path / "unbalanced.tsv"
    path.write_text("good\t1\nfine\t1\nnice\t1\nbad\t0\n", encoding="utf-8")
    tiny_model_cfg.dataset.class_balancing = "weighted_loss"
    tiny_model_cfg.train_ds = data_config(path)

    model = TextClassificationModel(cfg=tiny_model_cfg)

    assert model.class_weights == pytest.approx([4 / (2 * 1), 4 / (2 * 3)])
    torch.testing.assert_close(model.loss.weight, torch.tensor([2.0, 4 / 6]))


def test_an_unknown_label_in_the_training_file_stops_construction(tiny_model_cfg, tmp_path):
    path = tmp_path / "three_classes.tsv"
    path.write_text("good\t1\nbad\t0\nmeh\t2\n", encoding="utf-8")
    tiny_model_cfg.train_ds = data_config(path)

    with pytest.raises(ValueError, match=rf"{path}:3: unknown label 2"):
        TextClassificationModel(cfg=tiny_model_cfg)


def test_the_config_keeps_nemos_keys(tiny_model_cfg):
    expected = {
        "nemo_path",
        "tokenizer",
        "language_model",
        "classifier_head",
        "class_labels",
        "dataset",
        "train_ds",
        "validation_ds",
        "test_ds",
        "optim",
        "infer_samples",
    }
    assert set(tiny_model_cfg) == expected
    assert set(tiny_model_cfg.language_model) == {
        "pretrained_model_name",
        "lm_checkpoint",
        "config_file",
        "config",
    }
    assert set(tiny_model_cfg.tokenizer) == {
        "tokenizer_name",
        "vocab_file",
        "tokenizer_model",
        "special_tokens",
    }
    shipped = OmegaConf.load(
        Path(__file__).parents[2] / "src/nemo/collections/nlp/conf/text_classification_config.yaml"
    )
    assert OmegaConf.is_missing(shipped.model.language_model, "pretrained_model_name")  # never a hub default
    assert OmegaConf.is_missing(shipped.model.dataset, "num_classes")


def test_text_classification_passes_the_conformance_kit(tiny_model_cfg, tiny_tsv, tmp_path):
    from nemo.core.conformance import assert_model_conforms

    tiny_model_cfg.train_ds = data_config(tiny_tsv, shuffle=True)
    tiny_model_cfg.optim = {"name": "adam", "lr": 1e-2}
    assert_model_conforms(TextClassificationModel, tiny_model_cfg, tmp_path)  # inputs: its input_example()

"""``nemo train nlp.PunctuationCapitalizationModel``: the plugin's model and shipped config, a tiny random BERT with
MiniLM's tokenizer, a few steps on real files, offline with an empty Hugging Face cache, to a ``.nemo`` that
restores and punctuates; and the shipped config against NeMo's dataclasses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nemo.collections.nlp.models import PunctuationCapitalizationModel
from nemo.collections.nlp.models.token_classification.punctuation_capitalization_config import (
    PunctuationCapitalizationConfig,
)
from nemo.core import registry
from omegaconf import OmegaConf

NEMO = Path(sys.executable).parent / "nemo"
ARCHITECTURE = (
    "{model_type: bert, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64}"
)


def test_nemo_train_fits_a_tiny_model_offline_and_writes_a_restorable_archive(data_dir, minilm_dir, tmp_path):
    before = sorted(path.name for path in data_dir.iterdir())
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }

    result = subprocess.run(
        [
            str(NEMO),
            "train",
            "nlp.PunctuationCapitalizationModel",
            "model.language_model.pretrained_model_name=null",
            f"model.language_model.config={ARCHITECTURE}",
            f"model.tokenizer.tokenizer_name={minilm_dir}",
            f"model.train_ds.ds_item={data_dir}",
            "model.train_ds.tokens_in_batch=64",
            "model.validation_ds.tokens_in_batch=64",
            "model.test_ds.tokens_in_batch=64",
            "trainer.max_steps=3",
            "trainer.accelerator=cpu",
            f"exp_manager.exp_dir={tmp_path / 'runs'}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stderr + result.stdout
    assert "Punctuation report" in output and "Capitalization report" in output
    assert "test_punct_f1" in output
    (archive,) = sorted((tmp_path / "runs").rglob("*.nemo"))
    model = PunctuationCapitalizationModel.restore_from(str(archive), map_location="cpu")
    assert model.bert_model.config.hidden_size == 32
    assert model.punct_label_ids == {"O": 0, ",": 1, ".": 2, "?": 3}
    assert len(model.add_punctuation_capitalization(["hello how are you"], batch_size=1)[0].split()) == 4
    assert sorted(path.name for path in data_dir.iterdir()) == before
    assert not any(path.is_file() for path in (tmp_path / "hf_home").rglob("*"))


def test_the_plugin_registers_the_model_and_its_config():
    registry.refresh()
    (spec,) = [
        spec for spec in registry.list_models("nlp") if spec.name == "nlp.PunctuationCapitalizationModel"
    ]

    assert registry.get_model_class(spec.name) is PunctuationCapitalizationModel
    assert registry.find_config(spec.config).name == "punctuation_capitalization_config.yaml"


def test_the_shipped_config_fits_nemos_dataclasses():
    shipped = OmegaConf.load(registry.find_config("punctuation_capitalization_config"))
    shipped.model.language_model.pretrained_model_name = "/models/bert"
    shipped.model.train_ds.ds_item = "/data"

    merged = OmegaConf.merge(OmegaConf.structured(PunctuationCapitalizationConfig()), shipped)

    assert merged.model.class_labels.punct_labels_file == "punct_label_ids.csv"
    assert merged.model.common_dataset_parameters.pad_label == "O"
    assert (
        merged.model.validation_ds.ds_item == "/data"
        and merged.model.validation_ds.text_file == "text_dev.txt"
    )
    assert merged.model.tokenizer.tokenizer_name == "/models/bert"
    assert merged.model.train_ds.tar_shuffle_n == 1 and merged.model.train_ds.use_bucketing is True
    assert merged.exp_manager.name == "Punctuation_and_Capitalization"

"""``nemo train nlp.TokenClassificationModel``: the plugin's model and config, a tiny random BERT with MiniLM's
tokenizer, a few steps on tiny NER data, offline, to a ``.nemo`` that restores and tags; nothing is written next to
the data."""

import os
import subprocess
import sys
from pathlib import Path

from nemo.collections.nlp.models import TokenClassificationModel
from nemo.core import registry

NEMO = Path(sys.executable).parent / "nemo"


def test_the_plugin_registers_the_model_and_its_config():
    registry.refresh()
    assert registry.get_model_class("nlp.TokenClassificationModel") is TokenClassificationModel
    (spec,) = [spec for spec in registry.list_models("nlp") if spec.name == "nlp.TokenClassificationModel"]
    assert registry.find_config(spec.config).name == "token_classification_config.yaml"


def test_nemo_train_fits_a_tiny_model_offline_and_writes_a_restorable_archive(
    ner, data_dir, minilm_dir, tmp_path
):
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    architecture = "{model_type: bert, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64}"

    result = subprocess.run(
        [
            str(NEMO),
            "train",
            "nlp.TokenClassificationModel",
            "model.language_model.pretrained_model_name=null",
            f"model.language_model.config={architecture}",
            f"model.tokenizer.tokenizer_name={minilm_dir}",
            f"model.dataset.data_dir={data_dir}",
            "model.train_ds.batch_size=2",
            "model.validation_ds.batch_size=3",
            "trainer.max_epochs=1",
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
    assert "macro avg" in result.stderr + result.stdout  # the classification report of validation and test
    (archive,) = sorted((tmp_path / "runs").rglob("*.nemo"))
    model = TokenClassificationModel.restore_from(str(archive), map_location="cpu")
    assert model.bert_model.config.hidden_size == 32
    assert dict(model.cfg.label_ids) == ner.LABEL_IDS
    assert len(model.add_predictions(["Alice flew to Paris .", "Bob"], batch_size=2)) == 2
    assert sorted(path.name for path in data_dir.iterdir()) == [
        "labels_dev.txt",
        "labels_train.txt",
        "text_dev.txt",
        "text_train.txt",
    ]


def test_the_model_needs_its_encoder_and_data_folder_set(tmp_path, capsys):
    from nemo.core.cli.main import main  # in this process: the message is what is tested, not the launch

    assert main(["train", "nlp.TokenClassificationModel", f"exp_manager.exp_dir={tmp_path}"]) == 1
    stderr = capsys.readouterr().err
    assert "model.language_model.pretrained_model_name" in stderr
    assert "model.dataset.data_dir" in stderr

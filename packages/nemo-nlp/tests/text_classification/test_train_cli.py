"""``nemo train nlp.TextClassificationModel``: the plugin's model and config, a tiny random BERT with MiniLM's
tokenizer, a few steps on a tiny TSV, offline, to a ``.nemo`` that restores and classifies."""

import os
import subprocess
import sys
from pathlib import Path

from nemo.collections.nlp.models import TextClassificationModel

NEMO = Path(sys.executable).parent / "nemo"


def test_nemo_train_fits_a_tiny_model_offline_and_writes_a_restorable_archive(tiny_tsv, minilm_dir, tmp_path):
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
            "nlp.TextClassificationModel",
            "model.language_model.pretrained_model_name=null",
            f"model.language_model.config={architecture}",
            f"model.tokenizer.tokenizer_name={minilm_dir}",
            "model.dataset.num_classes=2",
            f"model.train_ds.file_path={tiny_tsv}",
            f"model.validation_ds.file_path={tiny_tsv}",
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
    assert "val_report" in result.stderr + result.stdout
    (archive,) = sorted((tmp_path / "runs").rglob("*.nemo"))
    model = TextClassificationModel.restore_from(str(archive), map_location="cpu")
    assert model.bert_model.config.hidden_size == 32
    assert len(model.classifytext(["a great film", "boring"], batch_size=2)) == 2
    assert sorted(path.name for path in tiny_tsv.parent.iterdir()) == ["train.tsv"]


def test_the_model_needs_its_encoder_and_classes_set(tmp_path, capsys):
    from nemo.core.cli.main import main  # in this process: the message is what is tested, not the launch

    assert main(["train", "nlp.TextClassificationModel", f"exp_manager.exp_dir={tmp_path}"]) == 1
    stderr = capsys.readouterr().err
    assert "model.language_model.pretrained_model_name" in stderr and "model.dataset.num_classes" in stderr

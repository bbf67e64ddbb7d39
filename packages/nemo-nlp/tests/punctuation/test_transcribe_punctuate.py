"""``nemo transcribe MODEL.nemo AUDIO --punctuate PUNCT.nemo``: a real ASR archive (NeMo 1.23's tiny Conformer-CTC,
``tests/data/nemo-1.23``) transcribes real speech (``data/asterisk``), and a punctuation model trained and saved here
punctuates and capitalizes the transcripts. The tiny ASR model's words are not English; the chain is what is tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from nemo.collections.nlp.models import PunctuationCapitalizationModel

pytest.importorskip("nemo.collections.asr", reason="needs nemo-asr (nemo transcribe)")

REPO = Path(__file__).resolve().parents[4]
ASR_ARCHIVE = REPO / "tests" / "data" / "nemo-1.23" / "conformer_ctc_char_tiny.nemo"
AUDIO = [
    REPO / "data" / "asterisk" / "audio" / f"{name}.opus"
    for name in ("auth-thankyou", "activated", "vm-goodbye")
]
NEMO = Path(sys.executable).parent / "nemo"

WITHOUT_NLP = """
import sys

class WithoutNemoNlp:
    def find_spec(self, name, path=None, target=None):
        if name == "nemo.collections.nlp" or name.startswith("nemo.collections.nlp."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, WithoutNemoNlp())
from nemo.core.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def run_nemo(*args: str, program: list[str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = (program or [str(NEMO)]) + [str(arg) for arg in args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.fixture(scope="module")
def punctuation_archive(tmp_path_factory, minilm_dir) -> Path:
    """A tiny punctuation model trained on sentences whose every word ends a sentence: it learns ``.U``."""
    import pytorch_lightning as pl
    from omegaconf import OmegaConf

    folder = tmp_path_factory.mktemp("punct")
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    lines = [" ".join(words[i : i + 4]) for i in range(0, len(words), 2)]
    (folder / "text_train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "labels_train.txt").write_text(
        "\n".join(" ".join([".U"] * len(line.split())) for line in lines) + "\n"
    )
    cfg = OmegaConf.load(
        Path(__file__).resolve().parents[2]
        / "src/nemo/collections/nlp/conf/punctuation_capitalization_config.yaml"
    )
    model_cfg = cfg.model
    model_cfg.language_model.pretrained_model_name = None
    model_cfg.language_model.config = {
        "model_type": "bert",
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    }
    model_cfg.tokenizer.tokenizer_name = str(minilm_dir)
    model_cfg.train_ds.ds_item = str(folder)
    model_cfg.train_ds.tokens_in_batch = 256
    model_cfg.validation_ds = None
    model_cfg.test_ds = None
    model_cfg.optim = {"name": "adam", "lr": 0.01}
    torch.manual_seed(0)
    trainer = pl.Trainer(
        max_steps=15, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False
    )
    model = PunctuationCapitalizationModel(model_cfg, trainer=trainer)
    trainer.fit(model)
    archive = folder / "punct.nemo"
    model.save_to(str(archive))
    return archive


def test_transcripts_come_back_punctuated_and_capitalized(punctuation_archive):
    from nemo.collections.asr.models import EncDecCTCModel

    paths = [str(path) for path in AUDIO]
    transcripts = EncDecCTCModel.restore_from(str(ASR_ARCHIVE), map_location="cpu").transcribe(
        paths, verbose=False
    )
    punctuation_model = PunctuationCapitalizationModel.restore_from(
        str(punctuation_archive), map_location="cpu"
    )
    expected = punctuation_model.add_punctuation_capitalization(transcripts, batch_size=2)

    plain = run_nemo(
        "transcribe", ASR_ARCHIVE, *paths, "--batch-size", "2", "--punctuate", punctuation_archive
    )
    as_json = run_nemo("transcribe", ASR_ARCHIVE, *paths, "--punctuate", punctuation_archive, "--json")

    assert plain.returncode == 0, plain.stderr[-3000:]
    assert plain.stdout.splitlines() == [f"{path}\t{text}" for path, text in zip(paths, expected)]
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [
        {"audio_filepath": path, "pred_text": raw, "punctuated_text": text}
        for path, raw, text in zip(paths, transcripts, expected)
    ]
    assert all(text != raw for text, raw in zip(expected, transcripts))
    assert all(text[0].isupper() and text.endswith(".") for text in expected if text)


def test_a_missing_punctuation_model_is_an_error_before_transcribing(tmp_path):
    missing = tmp_path / "missing.nemo"

    result = run_nemo("transcribe", ASR_ARCHIVE, AUDIO[0], "--punctuate", missing)

    assert result.returncode != 0 and result.stdout == ""
    assert str(missing) in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_asr_archive_is_refused_as_punctuation_model(capsys):
    from nemo.core.cli.main import main  # in this process: the message is what is tested, not the launch

    assert main(["transcribe", str(ASR_ARCHIVE), str(AUDIO[0]), "--punctuate", str(ASR_ARCHIVE)]) != 0
    stderr = capsys.readouterr().err
    assert "EncDecCTCModel" in stderr and "expected a PunctuationCapitalizationModel" in stderr


def test_without_nemo_nlp_the_error_says_what_to_install(punctuation_archive):
    blocked = [sys.executable, "-c", WITHOUT_NLP]

    plain = run_nemo("transcribe", ASR_ARCHIVE, AUDIO[0], program=blocked)
    punctuated = run_nemo(
        "transcribe", ASR_ARCHIVE, AUDIO[0], "--punctuate", punctuation_archive, program=blocked
    )

    assert plain.returncode == 0, plain.stderr[-3000:]
    assert punctuated.returncode != 0 and punctuated.stdout == ""
    assert "pip install nemo-nlp" in punctuated.stderr and "Traceback" not in punctuated.stderr

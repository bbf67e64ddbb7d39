"""Check that ``.nemo`` archives move both ways between this rebuild and real NeMo 1.23, outputs unchanged.

Run from our venv, pointing at the Python of a venv where NeMo 1.23 is installed:

    python scripts/check_nemo_interop.py --reference-python /tmp/nemo-ref/bin/python

Cases (every model in eval mode, fed the 2 waveforms of tests/data/nemo-1.23/conformer_ctc_char_tiny.io.pt):

* ``ours -> NeMo``: we restore each NeMo-made fixture in tests/data/nemo-1.23/ and build fresh models from our
  shipped configs (conformer_ctc_char with d_model 64 and 2 layers; quartznet_15x5 cut to 4 Jasper blocks;
  conformer_ctc_bpe with a sentencepiece tokenizer trained here on data/asterisk texts), save each with our
  ``save_to``, and NeMo 1.23 restores the archive (``strict=True``, so state-dict keys must match exactly).
* ``NeMo -> ours``: NeMo 1.23 builds the same three configs, saves them, and we restore its archives.

For each case the two sides' ``log_probs`` (B, T', V+1), preprocessor ``mel`` (B, 80, F) and their lengths, and
the greedy CTC texts are compared; fixtures are also compared with the outputs NeMo recorded in their
``.io.pt``. Floats must agree within ``--atol`` (1e-4), lengths and texts exactly. The script prints one table
row per comparison and exits with status 1 on any mismatch or failure.

The same file runs under the reference Python as the child process (``--child JOBS.json``); that part uses
only NeMo 1.23's public API.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "data" / "nemo-1.23"
ASTERISK_MANIFEST = REPO / "data" / "asterisk" / "train_manifest.json"
INPUTS = FIXTURES / "conformer_ctc_char_tiny.io.pt"
FIXTURE_NAMES = ("conformer_ctc_char_tiny", "quartznet_ctc_char_tiny")
TENSOR_KEYS = ("log_probs", "encoded_len", "mel", "mel_len")
SEED = 1234


# ------------------------------------------------------------------------------------ shared by both sides
def model_class(name: str) -> type:
    """``nemo.collections.asr.models.<name>`` of whichever NeMo this interpreter has."""
    import nemo.collections.asr.models as asr_models

    return getattr(asr_models, name)


def model_outputs(model: Any, inputs: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Eval-mode outputs of a CTC model on ``inputs`` (``input_signal`` (B, T), ``input_signal_length`` (B,)).

    Returns:
        ``log_probs`` (B, T', V+1), ``encoded_len`` (B,), ``mel`` (B, D, F), ``mel_len`` (B,) and ``text``
        (greedy CTC decoding of ``log_probs``, one string per item).
    """
    model.eval()
    signal, length = inputs["input_signal"], inputs["input_signal_length"]
    with torch.no_grad():
        log_probs, encoded_len, _ = model.forward(input_signal=signal, input_signal_length=length)
        mel, mel_len = model.preprocessor(input_signal=signal, length=length)
        texts, _ = model.decoding.ctc_decoder_predictions_tensor(log_probs, decoder_lengths=encoded_len)
    # clone(): plain tensors, without the neural-type attributes NeMo's typecheck attaches to outputs.
    tensors = {"log_probs": log_probs, "encoded_len": encoded_len, "mel": mel, "mel_len": mel_len}
    return {**{key: value.clone() for key, value in tensors.items()}, "text": [str(text) for text in texts]}


def run_child(jobs_file: Path) -> int:
    """Reference side: restore or build-and-save each job's model with NeMo 1.23 and record its outputs.

    ``jobs_file`` (JSON) holds ``inputs`` (an ``.io.pt``) and ``jobs``: each with ``name``, ``action``
    (``"restore"`` or ``"build"``), ``class``, ``archive``, ``outputs`` and, for ``"build"``, ``config``.
    Writes ``<jobs_file>.status.json``: job name -> ``"ok"`` or the error.
    """
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    spec = json.loads(jobs_file.read_text())
    inputs = torch.load(spec["inputs"], weights_only=True)
    status = {}
    for job in spec["jobs"]:
        try:
            cls = model_class(job["class"])
            if job["action"] == "restore":
                model = cls.restore_from(job["archive"], map_location="cpu")
            else:
                torch.manual_seed(SEED)
                model = cls(cfg=OmegaConf.create(job["config"]))
                model.save_to(job["archive"])
            torch.save(model_outputs(model, inputs), job["outputs"])
            status[job["name"]] = "ok"
        except Exception as error:
            traceback.print_exc()
            status[job["name"]] = f"{type(error).__name__}: {error}"
    Path(f"{jobs_file}.status.json").write_text(json.dumps(status, indent=1))
    return 0


# ------------------------------------------------------------------------------------------- our side only
OURS_TO_NEMO = "ours -> NeMo"
NEMO_TO_OURS = "NeMo -> ours"


@dataclass
class Case:
    """One model that crosses between the two implementations, and where its files go in the work folder."""

    name: str
    direction: str
    class_name: str
    work: Path
    config: dict | None = None
    fixture: str | None = None
    ours: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name} ({self.direction})"

    @property
    def archive(self) -> Path:
        """The ``.nemo`` that crosses over: saved by us (ours -> NeMo) or by NeMo (NeMo -> ours)."""
        side = "ours" if self.direction == OURS_TO_NEMO else "nemo"
        return self.work / f"{side}_{self.name.replace(':', '_')}.nemo"

    @property
    def reference_outputs(self) -> Path:
        """Where the child writes NeMo's outputs for this case."""
        return self.archive.with_suffix(".out.pt")


@dataclass
class Row:
    """One comparison in the printed table."""

    case: str
    direction: str
    check: str
    detail: str
    ok: bool


def failure_row(case: Case, step: str, error: Exception | str) -> Row:
    detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return Row(case.name, case.direction, step, detail[:160], False)


def shipped_model_config(name: str, overrides: dict[str, Any]) -> dict:
    """The ``model`` section of our packaged ``conf/<name>.yaml``, resolved, with dotted-key ``overrides``.

    Dataset sections are dropped: these models are built for inference only.
    """
    from importlib.resources import files

    root = OmegaConf.load(str(files("nemo.collections.asr.conf") / f"{name}.yaml"))
    for key, value in overrides.items():
        OmegaConf.update(root, f"model.{key}", value, merge=False)
    model = OmegaConf.to_container(root, resolve=True)["model"]
    for split in ("train_ds", "validation_ds", "test_ds"):
        model.pop(split, None)
    return model


def train_tokenizer(work: Path) -> Path:
    """A 64-piece BPE sentencepiece tokenizer on the data/asterisk transcripts; returns its folder."""
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    corpus = work / "asterisk_text.txt"
    lines = [json.loads(line)["text"] for line in ASTERISK_MANIFEST.read_text().splitlines() if line.strip()]
    corpus.write_text("\n".join(lines) + "\n")
    folder = work / "tokenizer"
    create_spt_model(
        str(corpus),
        vocab_size=64,
        sample_size=-1,
        do_lower_case=True,
        tokenizer_type="bpe",
        output_dir=str(folder),
    )
    return folder


def fresh_configs(tokenizer_dir: Path) -> dict[str, tuple[str, dict]]:
    """Case name -> (model class, config) for the models built from scratch on each side."""
    tiny_conformer = {"encoder.d_model": 64, "encoder.n_layers": 2}
    quartznet = shipped_model_config("quartznet_15x5", {})
    blocks = quartznet["encoder"]["jasper"]
    reduced = [copy.deepcopy(blocks[0]), copy.deepcopy(blocks[1]), blocks[-2], blocks[-1]]
    reduced[1]["repeat"] = 2
    quartznet["encoder"]["jasper"] = reduced
    bpe_overrides = {**tiny_conformer, "tokenizer.dir": str(tokenizer_dir)}
    return {
        "conformer_ctc_char": ("EncDecCTCModel", shipped_model_config("conformer_ctc_char", tiny_conformer)),
        "quartznet_15x5_reduced": ("EncDecCTCModel", quartznet),
        "conformer_ctc_bpe": ("EncDecCTCModelBPE", shipped_model_config("conformer_ctc_bpe", bpe_overrides)),
    }


def build_cases(work: Path) -> list[Case]:
    cases = [
        Case(f"fixture:{name}", OURS_TO_NEMO, "EncDecCTCModel", work, fixture=name) for name in FIXTURE_NAMES
    ]
    for name, (class_name, config) in fresh_configs(train_tokenizer(work)).items():
        cases.append(Case(name, OURS_TO_NEMO, class_name, work, config=config))
        cases.append(Case(name, NEMO_TO_OURS, class_name, work, config=config))
    return cases


def compare(case: Case, check: str, ours: dict, theirs: dict, atol: float) -> list[Row]:
    """Rows comparing our outputs with theirs: tensors within ``atol`` (lengths exact), texts exact."""
    rows = []
    for key in TENSOR_KEYS:
        a, b = ours[key], theirs[key]
        if a.shape != b.shape:
            detail = f"shape {tuple(a.shape)} vs {tuple(b.shape)}"
            rows.append(Row(case.name, case.direction, f"{check} {key}", detail, False))
            continue
        diff = (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
        limit = atol if a.is_floating_point() else 0.0
        rows.append(Row(case.name, case.direction, f"{check} {key}", f"max|diff| {diff:.2e}", diff <= limit))
    if "text" in theirs:
        same = ours["text"] == theirs["text"]
        detail = "identical" if same else f"{ours['text']} vs {theirs['text']}"
        rows.append(Row(case.name, case.direction, f"{check} text", detail, same))
    return rows


def print_table(rows: list[Row]) -> None:
    headers = ("case", "direction", "check", "detail", "result")
    cells = [(r.case, r.direction, r.check, r.detail, "ok" if r.ok else "MISMATCH") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for cell in cells:
        print("  ".join(c.ljust(w) for c, w in zip(cell, widths)))


def save_ours(case: Case, inputs: dict) -> None:
    """Restore (fixture) or build our model for an ``ours -> NeMo`` case, record its outputs, save it."""
    cls = model_class(case.class_name)
    if case.fixture is not None:
        model = cls.restore_from(str(FIXTURES / f"{case.fixture}.nemo"), map_location="cpu")
    else:
        torch.manual_seed(SEED)
        model = cls(cfg=OmegaConf.create(case.config))
    case.ours = model_outputs(model, inputs)
    model.save_to(str(case.archive))


def child_job(case: Case) -> dict:
    """What the reference process does for ``case``: restore our archive, or build and save its own."""
    job = {
        "name": case.key,
        "class": case.class_name,
        "archive": str(case.archive),
        "outputs": str(case.reference_outputs),
    }
    if case.direction == OURS_TO_NEMO:
        return {**job, "action": "restore"}
    return {**job, "action": "build", "config": case.config}


def check_case(case: Case, inputs: dict, status: dict, atol: float) -> list[Row]:
    """Compare one case once the child has run; restores NeMo's archive with ours for ``NeMo -> ours``."""
    job_status = status.get(case.key, "the reference process did not report this job")
    if job_status != "ok":
        step = "NeMo restore_from" if case.direction == OURS_TO_NEMO else "NeMo build + save_to"
        return [failure_row(case, step, job_status)]
    theirs = torch.load(case.reference_outputs, weights_only=True)
    if case.direction == NEMO_TO_OURS:
        try:
            model = model_class(case.class_name).restore_from(str(case.archive), map_location="cpu")
        except Exception as error:
            traceback.print_exc()
            return [failure_row(case, "our restore_from", error)]
        case.ours = model_outputs(model, inputs)
    rows = compare(case, "ours vs NeMo", case.ours, theirs, atol)
    if case.fixture is not None:
        recorded = torch.load(FIXTURES / f"{case.fixture}.io.pt", weights_only=True)
        rows += compare(case, "ours vs io.pt", case.ours, recorded, atol)
        rows += compare(case, "NeMo vs io.pt", theirs, recorded, atol)
    return rows


def run_reference(reference_python: str, jobs: list[dict], work: Path) -> dict[str, str] | None:
    """Run this script under ``reference_python`` on ``jobs``; job key -> status, or None if it crashed."""
    jobs_file = work / "jobs.json"
    jobs_file.write_text(json.dumps({"inputs": str(INPUTS), "jobs": jobs}, indent=1))
    log_file = work / "reference.log"
    with open(log_file, "w") as log:
        child = subprocess.run(
            [reference_python, str(Path(__file__).resolve()), "--child", str(jobs_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    status_file = Path(f"{jobs_file}.status.json")
    if child.returncode != 0 or not status_file.is_file():
        print(
            f"The reference process {reference_python} failed (exit {child.returncode}); {log_file} ends with:"
        )
        print("\n".join(log_file.read_text().splitlines()[-30:]))
        return None
    return json.loads(status_file.read_text())


def run_parent(reference_python: str, atol: float, work: Path) -> int:
    """Our side: prepare every case, run the reference process, compare, print the table; the exit status."""
    from nemo.utils import logging

    logging.setLevel(logging.WARNING)
    inputs = {k: v for k, v in torch.load(INPUTS, weights_only=True).items() if k.startswith("input_signal")}
    cases = build_cases(work)
    rows: list[Row] = []
    ready = []
    for case in cases:
        if case.direction == OURS_TO_NEMO:
            try:
                save_ours(case, inputs)
            except Exception as error:
                traceback.print_exc()
                rows.append(failure_row(case, "our build + save_to", error))
                continue
        ready.append(case)
    status = run_reference(reference_python, [child_job(case) for case in ready], work)
    if status is None:
        return 1
    for case in ready:
        rows += check_case(case, inputs, status, atol)
    print_table(rows)
    failures = [row for row in rows if not row.ok]
    if failures:
        print(
            f"\n{len(failures)} of {len(rows)} checks failed. The reference process's log is "
            f"{work / 'reference.log'}; pass --work-dir DIR to keep it with the archives and outputs."
        )
        return 1
    print(f"\nAll {len(rows)} checks passed ({len(cases)} cases, atol {atol:g}).")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-python", help="Python of a venv with NeMo 1.23 (nemo.collections.asr).")
    parser.add_argument(
        "--atol", type=float, default=1e-4, help="largest allowed float difference (default 1e-4)"
    )
    parser.add_argument("--work-dir", type=Path, help="keep archives, outputs and the reference log here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return run_child(args.child)
    if not args.reference_python:
        parser.error("--reference-python is required: the Python of a venv where NeMo 1.23 is installed.")
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        return run_parent(args.reference_python, args.atol, args.work_dir.resolve())
    with tempfile.TemporaryDirectory(prefix="nemo_interop_") as work:
        return run_parent(args.reference_python, args.atol, Path(work))


if __name__ == "__main__":
    sys.exit(main())

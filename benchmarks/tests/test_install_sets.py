"""install_sets.py: reading `nemo plugins` / `nemo models`, what each set must list, sizes, and the page section."""

import os
from pathlib import Path

from install_sets import (
    SECTION_BEGIN,
    SECTION_END,
    SETS,
    SetResult,
    added_distributions,
    expected_listing,
    failure_lines,
    model_domains,
    plugin_statuses,
    replace_section,
    section,
    tree_size,
)
from run_all import keep_install_section

PLUGINS_OUTPUT = """NAME   DISTRIBUTION   VERSION  STATUS
core   nemo-kit-core  0.1.0    builtin
asr    nemo-kit-asr   0.1.0    loaded

conflicts:
  model 'asr.X' is registered by nemo-kit-asr 0.1.0 (plugin 'asr') and by other 1.0 (plugin 'other')
"""

MODELS_OUTPUT = """NAME                 DOMAIN  PROVIDER      CONFIG   DESCRIPTION
asr.EncDecCTCModel   asr     nemo-kit-asr  ctc      CTC speech recognition
asr.EncDecRNNTModel  asr     nemo-kit-asr  rnnt     RNN-T speech recognition
pitch.estimator      pitch   nemo-pitch    pitch    Frame-level F0
"""


def test_plugin_statuses_are_read_up_to_the_conflicts_list() -> None:
    assert plugin_statuses(PLUGINS_OUTPUT) == {"core": "builtin", "asr": "loaded"}
    failed = "NAME DISTRIBUTION VERSION STATUS\nbad  nemo-bad  1.0  failed: ImportError: no module x\n"
    assert plugin_statuses(failed) == {"bad": "failed: ImportError: no module x"}


def test_model_domains_are_the_distinct_domain_column() -> None:
    assert model_domains(MODELS_OUTPUT) == ["asr", "pitch"]
    assert model_domains("No models registered.\n") == []


def test_each_set_expects_exactly_its_plugins_and_domains() -> None:
    assert expected_listing(SETS["core"]) == (["core"], [])
    assert expected_listing(SETS["core+asr+tts"]) == (["asr", "core", "tts"], ["asr", "tts"])
    assert expected_listing(SETS["core+pitch"]) == (["core", "pitch"], ["pitch"])
    assert set(SETS) == {"core", "core+asr", "core+nlp", "core+asr+tts", "core+pitch"}


def test_tree_size_counts_a_hard_linked_file_once(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 1000)
    os.link(tmp_path / "a", tmp_path / "b")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c").write_bytes(b"y" * 24)
    assert tree_size(tmp_path) == 1024


def test_replace_section_swaps_the_marked_block_and_appends_when_missing() -> None:
    old = f"# Benchmarks\n\nintro\n\n{SECTION_BEGIN}\nold figures\n{SECTION_END}\n\n## After\n"
    new = f"{SECTION_BEGIN}\nnew figures\n{SECTION_END}"
    assert replace_section(old, new) == f"# Benchmarks\n\nintro\n\n{new}\n\n## After\n"
    assert replace_section("# Benchmarks\n", new) == f"# Benchmarks\n\n{new}\n"


def test_run_all_keeps_the_install_section_of_the_page_it_rewrites(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nold tables\n\n{SECTION_BEGIN}\ninstall figures\n{SECTION_END}\n")
    rewritten = keep_install_section("# Benchmarks\n\nnew tables\n", page)
    assert rewritten == f"# Benchmarks\n\nnew tables\n\n{SECTION_BEGIN}\ninstall figures\n{SECTION_END}\n"
    assert keep_install_section("# Benchmarks\n", tmp_path / "missing.md") == "# Benchmarks\n"


def test_the_sets_are_the_readme_install_lines_plus_the_example_plugin() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text().splitlines()
    readme_sets = {
        tuple(
            word.removeprefix("./packages/nemo-")
            for word in line.split("#")[0].split()
            if word.startswith("./")
        )
        for line in readme
        if line.startswith("pip install -c constraints.txt ./packages/")
    }
    assert readme_sets | {("core", "pitch")} == set(SETS.values())


def test_each_set_reports_what_it_adds_to_core_and_a_row_of_figures() -> None:
    core = SetResult(
        "core", install_s=2.0, size_bytes=3_000_000_000, distributions=["nemo-kit-core", "torch"]
    )
    asr = SetResult(
        "core+asr",
        install_s=3.0,
        size_bytes=3_500_000_000,
        distributions=["nemo-kit-asr", "nemo-kit-core", "torch"],
    )
    assert added_distributions([core, asr]) == {
        "core": ["nemo-kit-core", "torch"],
        "core+asr": ["nemo-kit-asr"],
    }
    assert added_distributions([asr])["core+asr"] == ["nemo-kit-asr", "nemo-kit-core", "torch"]
    text = section([core, asr], None, "2026-12-07 08:00", "a machine")
    assert "| core+asr | 3.0 s | 3.50 GB | 0.00 GB | 3.50 GB | 3 |" in text
    assert "**core+asr adds to core** 1 distributions. torchaudio:" in text
    assert text.startswith(SECTION_BEGIN) and text.endswith(SECTION_END)


def test_failure_lines_keep_what_failed_and_why() -> None:
    output = "....F\n_____ test_x _____\n    assert a == b\nE   assert 1 == 2\nwarnings\nFAILED t.py::test_x - assert 1 == 2\n"
    assert (
        failure_lines(output) == "_____ test_x _____\nE   assert 1 == 2\nFAILED t.py::test_x - assert 1 == 2"
    )


def test_nemo_reference_row_and_the_same_domains_comparison(tmp_path: Path) -> None:
    cuda = tmp_path / "lib" / "python3.11" / "site-packages" / "nvidia"
    cuda.mkdir(parents=True)
    (cuda / "libcublas.so").write_bytes(b"c" * 1000)
    (tmp_path / "lib" / "python3.11" / "site-packages" / "nemo.py").write_bytes(b"n" * 3000)
    ours = SetResult("core+asr+tts", size_bytes=2500, cuda_bytes=1000, distributions=["torch"])
    text = section([ours], tmp_path, "2026-12-07 08:00", "a machine")
    assert f"| NeMo 1.23 `nemo_toolkit[asr,tts]` (`{tmp_path}`, same torch) | not timed | 0.00 GB |" in text
    assert "(1.60x smaller); without torch's CUDA libraries, which both carry," in text
    assert "(2.00x smaller)." in text

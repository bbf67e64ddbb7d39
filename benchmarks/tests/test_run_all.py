"""run_all.py: pooling the rounds of a script, and its command line."""

import subprocess
import sys
from pathlib import Path

from run_all import pool

BENCHMARKS = Path(__file__).resolve().parents[1]


def test_pool_concatenates_samples_and_keeps_the_first_rounds_other_figures() -> None:
    rounds = [{"load": 1.5, "infer_ms": [5.0, 6.0]}, {"load": 2.5, "infer_ms": [7.0]}]
    assert pool(rounds) == {"load": 1.5, "infer_ms": [5.0, 6.0, 7.0]}


def test_a_failed_round_fails_the_script() -> None:
    assert pool([{"infer_ms": [5.0]}, "RuntimeError: out of memory"]) == "RuntimeError: out of memory"


def test_unknown_script_name_is_refused_with_the_available_ones() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run_all.py"), "--only", "bench_nope"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "no script ['bench_nope']" in result.stderr
    assert "bench_typecheck" in result.stderr

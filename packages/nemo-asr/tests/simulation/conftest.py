"""Shared pieces of the simulation tests: a full ``data_simulator`` config and a manifest with word alignments.

The aligned manifest reuses the bundled Asterisk prompts (the ``speech`` fixture of ``tests/conftest.py``); they
come without word timings, so each prompt's words get equal shares of its length between a 0.1 s pause at each
end. Two made-up speakers take alternate prompts.
"""

import json
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

PAUSE = 0.1


def simulator_config(manifest: Path, output_dir: Path, **session: float) -> DictConfig:
    """NeMo 1.23's ``data_simulator.yaml`` defaults, with short sessions of two speakers."""
    config = {
        "data_simulator": {
            "manifest_filepath": str(manifest),
            "sr": 16000,
            "random_seed": 42,
            "multiprocessing_chunksize": 10000,
            "session_config": {"num_speakers": 2, "num_sessions": 2, "session_length": 6},
            "session_params": {
                "max_audio_read_sec": 20.0,
                "sentence_length_params": [0.4, 0.05],
                "dominance_var": 0.11,
                "min_dominance": 0.05,
                "turn_prob": 0.875,
                "min_turn_prob": 0.5,
                "mean_silence": 0.15,
                "mean_silence_var": 0.01,
                "per_silence_var": 900,
                "per_silence_min": 0.0,
                "per_silence_max": -1,
                "mean_overlap": 0.1,
                "mean_overlap_var": 0.01,
                "per_overlap_var": 900,
                "per_overlap_min": 0.0,
                "per_overlap_max": -1,
                "start_window": True,
                "window_type": "hamming",
                "window_size": 0.05,
                "start_buffer": 0.1,
                "split_buffer": 0.1,
                "release_buffer": 0.1,
                "normalize": True,
                "normalization_type": "equal",
                "normalization_var": 0.1,
                "min_volume": 0.75,
                "max_volume": 1.25,
                "end_buffer": 0.5,
            },
            "outputs": {
                "output_dir": str(output_dir),
                "output_filename": "multispeaker_session",
                "overwrite_output": True,
                "output_precision": 3,
            },
            "background_noise": {
                "add_bg": False,
                "background_manifest": None,
                "num_noise_files": 10,
                "snr": 60,
                "snr_min": None,
                "snr_max": None,
            },
            "segment_augmentor": {"add_seg_aug": False, "augmentor": None},
            "session_augmentor": {"add_sess_aug": False, "augmentor": None},
            "speaker_enforcement": {"enforce_num_speakers": True, "enforce_time": [0.25, 0.75]},
            "segment_manifest": {"window": 0.5, "shift": 0.25, "step_count": 50, "deci": 3},
        }
    }
    cfg = OmegaConf.create(config)
    for key, value in session.items():
        OmegaConf.update(cfg, key, value)
    return cfg


@pytest.fixture(scope="session")
def aligned_manifest(speech) -> Path:
    """The speech prompts as a simulator manifest: ``speaker_id``, ``words`` and ``alignments`` on every line."""
    lines = []
    for index, (entry, path) in enumerate(zip(speech.entries, speech.paths)):
        words = entry["text"].split()
        duration = entry["duration"]
        step = (duration - 2 * PAUSE) / len(words)
        ends = [round(PAUSE + step * (k + 1), 3) for k in range(len(words))]
        lines.append(
            {
                "audio_filepath": path,
                "duration": duration,
                "text": entry["text"],
                "speaker_id": f"speaker_{index % 2}",
                "words": [""] + words + [""],
                "alignments": [PAUSE] + ends + [round(duration, 3)],
            }
        )
    manifest = speech.folder / "aligned_manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return manifest

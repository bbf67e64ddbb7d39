"""Audio-to-audio datasets: windows, channels, lists of files, references, embeddings, collate and factories.

Expected values come from the written numpy signals themselves (the files are float32 WAVs written here).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.asr.data import audio_to_audio_dataset
from nemo.collections.asr.data.audio_to_audio import (
    ASRAudioProcessor,
    AudioToTargetDataset,
    AudioToTargetWithEmbeddingDataset,
    AudioToTargetWithReferenceDataset,
    _audio_collate_fn,
)

SR = 8000


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, list[dict[str, np.ndarray]]]:
    """Three lines: 3-channel input, 2-channel target (= 0.5 * input channels 0 and 1), mono reference."""
    rng = np.random.default_rng(0)
    lines, signals = [], []
    for index, seconds in enumerate([0.5, 1.0, 2.0]):
        frames = int(seconds * SR)
        noisy = rng.uniform(-0.5, 0.5, size=(3, frames)).astype(np.float32)
        clean = 0.5 * noisy[:2]
        reference = rng.uniform(-0.5, 0.5, size=frames + 400).astype(np.float32)
        embedding = rng.normal(size=5).astype(np.float32)
        sf.write(tmp_path / f"in{index}.wav", noisy.T, SR, "FLOAT")
        sf.write(tmp_path / f"tg{index}.wav", clean.T, SR, "FLOAT")
        sf.write(tmp_path / f"ref{index}.wav", reference, SR, "FLOAT")
        np.save(tmp_path / f"emb{index}.npy", embedding)
        lines.append(
            {
                "noisy": f"in{index}.wav",
                "clean": f"tg{index}.wav",
                "ref": f"ref{index}.wav",
                "emb": f"emb{index}.npy",
                "duration": seconds,
            }
        )
        signals.append({"noisy": noisy, "clean": clean, "ref": reference, "emb": embedding})
    manifest = tmp_path / "manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return manifest, signals


def test_whole_files_channels_and_duration_filters(corpus) -> None:
    manifest, signals = corpus
    dataset = AudioToTargetDataset(
        manifest_filepath=str(manifest),
        sample_rate=SR,
        input_key="noisy",
        target_key="clean",
        min_duration=0.8,
    )
    assert len(dataset) == 2 and dataset.num_channels("input_signal") == 3
    item = dataset[0]
    assert list(item) == ["input_signal", "target_signal"]
    np.testing.assert_allclose(item["input_signal"].numpy(), signals[1]["noisy"], atol=1e-7)
    np.testing.assert_allclose(item["target_signal"].numpy(), signals[1]["clean"], atol=1e-7)

    selected = AudioToTargetDataset(
        manifest_filepath=str(manifest),
        sample_rate=SR,
        input_key="noisy",
        target_key="clean",
        input_channel_selector=[2, 0],
        target_channel_selector=1,
        max_utts=1,
    )
    assert len(selected) == 1
    np.testing.assert_allclose(selected[0]["input_signal"].numpy(), signals[0]["noisy"][[2, 0]], atol=1e-7)
    np.testing.assert_allclose(selected[0]["target_signal"].numpy(), signals[0]["clean"][1], atol=1e-7)


@pytest.mark.parametrize("random_offset", [False, True])
def test_fixed_duration_cuts_the_same_window_from_every_signal(corpus, random_offset: bool) -> None:
    manifest, signals = corpus
    dataset = AudioToTargetDataset(
        manifest_filepath=str(manifest),
        sample_rate=SR,
        input_key="noisy",
        target_key="clean",
        audio_duration=0.3,
        random_offset=random_offset,
    )
    random.seed(0)
    starts = []
    for index in range(3):
        item = dataset[index]
        noisy, clean = item["input_signal"].numpy(), item["target_signal"].numpy()
        assert noisy.shape == (3, int(0.3 * SR)) and clean.shape == (2, int(0.3 * SR))
        np.testing.assert_allclose(clean, 0.5 * noisy[:2], atol=1e-7)  # same window in both files
        full = signals[index]["noisy"][0]
        start = int(np.flatnonzero(np.isclose(full, noisy[0, 0]))[0])
        np.testing.assert_allclose(
            noisy, signals[index]["noisy"][:, start : start + noisy.shape[1]], atol=1e-7
        )
        starts.append(start)
    assert (max(starts) > 0) == random_offset


def test_resampling_to_the_dataset_rate(corpus) -> None:
    manifest, _ = corpus
    dataset = AudioToTargetDataset(
        manifest_filepath=str(manifest), sample_rate=2 * SR, input_key="noisy", target_key=None
    )
    item = dataset[0]
    assert item["input_signal"].shape == (3, SR) and item["target_signal"].numel() == 0


def test_several_keys_and_lists_are_stacked_along_channels(tmp_path: Path, corpus) -> None:
    manifest, signals = corpus
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    for line in lines:
        line["refs"] = [line["ref"], line["ref"]]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    whole = AudioToTargetDataset(
        manifest_filepath=str(manifest),
        sample_rate=SR,
        input_key="noisy",
        target_key="noisy,refs",
        target_channel_selector=0,
    )
    with pytest.raises(RuntimeError, match="different lengths"):
        whole[0]  # the reference files are longer than the input: whole files cannot be stacked
    frames = signals[0]["noisy"].shape[1]
    ref = signals[0]["ref"]
    windowed = AudioToTargetDataset(
        manifest_filepath=str(manifest),
        sample_rate=SR,
        input_key="noisy",
        target_key="noisy,refs",
        target_channel_selector=0,
        audio_duration=0.25,
    )
    target = windowed[0]["target_signal"].numpy()
    n = int(0.25 * SR)
    np.testing.assert_allclose(target, np.stack([signals[0]["noisy"][0, :n], ref[:n], ref[:n]]), atol=1e-7)
    assert frames > n


def test_reference_synchronized_or_independent_and_embeddings(corpus) -> None:
    manifest, signals = corpus
    common = dict(manifest_filepath=str(manifest), sample_rate=SR, input_key="noisy", target_key="clean")
    synced = AudioToTargetWithReferenceDataset(**common, reference_key="ref", audio_duration=0.2)
    item = synced[2]
    assert item["reference_signal"].shape == (int(0.2 * SR),)
    independent = AudioToTargetWithReferenceDataset(
        **common, reference_key="ref", reference_is_synchronized=False, reference_duration=0.4
    )
    item = independent[2]
    assert item["input_signal"].shape[-1] == 2 * SR and item["reference_signal"].shape == (int(0.4 * SR),)
    np.testing.assert_allclose(
        item["reference_signal"].numpy(), signals[2]["ref"][: int(0.4 * SR)], atol=1e-7
    )
    with pytest.raises(ValueError, match="reference_duration"):
        AudioToTargetWithReferenceDataset(**common, reference_key="ref", reference_duration=0.4)

    embedded = AudioToTargetWithEmbeddingDataset(**common, embedding_key="emb")
    assert list(embedded[1]) == ["input_signal", "target_signal", "embedding_vector"]
    np.testing.assert_array_equal(embedded[1]["embedding_vector"].numpy(), signals[1]["emb"])


def test_collate_pads_with_zeros_and_returns_lengths(corpus) -> None:
    manifest, _ = corpus
    dataset = AudioToTargetDataset(
        manifest_filepath=str(manifest), sample_rate=SR, input_key="noisy", target_key="clean"
    )
    items = [dataset[0], dataset[1]]
    originals = [item["input_signal"].clone() for item in items]
    batch = dataset._collate_fn(items)
    assert batch._fields == ("input_signal", "input_length", "target_signal", "target_length")
    assert batch.input_signal.shape == (2, 3, SR) and batch.input_length.tolist() == [SR // 2, SR]
    assert batch.input_length.dtype == torch.int32
    torch.testing.assert_close(batch.input_signal[0, :, : SR // 2], originals[0])
    assert torch.all(batch.input_signal[0, :, SR // 2 :] == 0)
    with pytest.raises(RuntimeError, match="only \\(T,\\) and \\(C, T\\)"):
        _audio_collate_fn([{"x": torch.zeros(1, 2, 3)}])


def test_list_to_multichannel() -> None:
    a, b = np.arange(4.0), np.arange(4.0) + 10
    np.testing.assert_array_equal(ASRAudioProcessor.list_to_multichannel([a, b]), np.stack([a, b]))
    np.testing.assert_array_equal(
        ASRAudioProcessor.list_to_multichannel([a[None], b[None]]), np.stack([a, b])
    )
    assert ASRAudioProcessor.list_to_multichannel([a]) is a


def test_factory_reads_dataset_keys_and_leaves_loader_keys(corpus) -> None:
    manifest, _ = corpus
    config = {
        "manifest_filepath": str(manifest),
        "sample_rate": SR,
        "input_key": "noisy",
        "target_key": "clean",
        "max_duration": 0.9,
        "batch_size": 4,
        "shuffle": True,
    }
    assert len(audio_to_audio_dataset.get_audio_to_target_dataset(config)) == 1
    with pytest.raises(ValueError, match="missing required keys \\['reference_key'\\]"):
        audio_to_audio_dataset.get_audio_to_target_with_reference_dataset(config)


def test_manifest_errors_name_the_line(tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"noisy": "a.wav"}) + "\n")
    with pytest.raises(ValueError, match="m.json:1: missing key 'duration'"):
        AudioToTargetDataset(
            manifest_filepath=str(manifest), sample_rate=SR, input_key="noisy", target_key=None
        )
    with pytest.raises(ValueError, match="input_signal needs a manifest key"):
        AudioToTargetDataset(manifest_filepath=str(manifest), sample_rate=SR, input_key=None, target_key=None)

"""Feature-file datasets (FeatureToLabelDataset, FeatureToSeqSpeakerLabelDataset) and ExternalFeatureLoader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from nemo.collections.asr.data.feature_to_label import FeatureToLabelDataset, FeatureToSeqSpeakerLabelDataset
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.asr.parts.preprocessing.feature_loader import ExternalFeatureLoader


def _manifest(tmp_path: Path, lines: list[dict]) -> str:
    path = tmp_path / "manifest.json"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_loader_reads_torch_and_numpy_and_scales_integers(tmp_path: Path) -> None:
    torch.save(torch.arange(6, dtype=torch.float64).view(2, 3), tmp_path / "a.pt")
    np.save(tmp_path / "b.npy", np.array([[-32768, 16384]], dtype=np.int16))
    loader = ExternalFeatureLoader()
    a = loader.process(str(tmp_path / "a.pt"))
    b = loader.process(str(tmp_path / "b.npy"))
    assert a.dtype == b.dtype == torch.float32
    torch.testing.assert_close(a, torch.arange(6.0).view(2, 3))
    torch.testing.assert_close(b, torch.tensor([[-1.0, 0.5]]))  # x / 2**15
    np.save(tmp_path / "c.npy", np.array([True]))
    with pytest.raises(TypeError, match="dtype bool"):
        loader.process(str(tmp_path / "c.npy"))


def test_classification_items_collate_and_occurrences(tmp_path: Path) -> None:
    features = [torch.randn(4, 5), torch.randn(4, 3), torch.randn(4, 5)]
    for index, feature in enumerate(features):
        torch.save(feature, tmp_path / f"f{index}.pt")
    manifest = _manifest(
        tmp_path,
        [
            {"feature_file": "f0.pt", "label": "speech", "duration": 1.0},
            {"feature_filepath": "f1.pt", "label": "noise", "duration": 9.0},
            {"feature_filename": str(tmp_path / "f2.pt"), "label": "speech", "duration": 2.0},
        ],
    )
    dataset = FeatureToLabelDataset(manifest_filepath=manifest, cal_labels_occurrence=True)
    assert dataset.labels == ["noise", "speech"] and dataset.labels_occurrence == [1, 2]
    feats, length, label, label_len = dataset[1]
    torch.testing.assert_close(feats, features[1])
    assert (length.item(), label.item(), label_len.item()) == (3, 0, 1)

    batch = dataset._collate_fn([dataset[0], dataset[1]])
    assert batch[0].shape == (2, 4, 5) and batch[1].tolist() == [5, 3] and batch[2].tolist() == [1, 0]
    assert torch.all(batch[0][1, :, 3:] == dataset.zero_spec_db_val)

    short = FeatureToLabelDataset(manifest_filepath=manifest, max_duration=5.0)
    assert len(short) == 2


def test_regression_labels_and_unknown_labels(tmp_path: Path) -> None:
    torch.save(torch.zeros(2, 2), tmp_path / "f.pt")
    manifest = _manifest(tmp_path, [{"feature_file": "f.pt", "label": "0.25"}])
    regression = FeatureToLabelDataset(manifest_filepath=manifest, is_regression_task=True)
    assert regression[0][2].item() == pytest.approx(0.25) and regression.num_classes == 1
    with pytest.raises(ManifestError, match=r"manifest.json:1: label '0.25' is not one of"):
        FeatureToLabelDataset(manifest_filepath=manifest, labels=["a", "b"])
    bad = _manifest(tmp_path, [{"label": "a"}])
    with pytest.raises(ManifestError, match="missing key 'feature_file'"):
        FeatureToLabelDataset(manifest_filepath=bad)


def test_sequence_labels_become_relative_speaker_ids(tmp_path: Path) -> None:
    torch.save(torch.ones(6, 3), tmp_path / "e.pt")
    manifest = _manifest(tmp_path, [{"feature_file": "e.pt", "seq_label": "bob amy bob cid amy"}])
    dataset = FeatureToSeqSpeakerLabelDataset(
        manifest_filepath=manifest, labels=None, feature_loader=ExternalFeatureLoader()
    )
    feats, length, ids, n = dataset[0]
    assert feats.shape == (6, 3) and length.item() == 6
    assert ids.tolist() == [0.0, 1.0, 0.0, 2.0, 1.0] and n.item() == 5
    assert dataset.labels == ["amy", "bob", "cid"]
    assert dataset._collate_fn([dataset[0], dataset[0]])[2].shape == (2, 5)

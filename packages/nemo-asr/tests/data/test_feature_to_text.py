"""Feature-transcript datasets (RTTM masking/dropping, normalization order), datastore caching, the model-config
value injection and the DALI stand-ins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.data.audio_to_text import cache_datastore_manifests
from nemo.collections.asr.data.audio_to_text_dali import AudioToCharDALIDataset, is_dali_supported
from nemo.collections.asr.data.audio_to_text_dataset import inject_dataloader_value_from_model_config
from nemo.collections.asr.data.feature_to_text import FeatureToBPEDataset, FeatureToCharDataset
from nemo.utils.data_utils import DataStoreUnavailableError
from omegaconf import OmegaConf

LABELS = [" ", "a", "b", "c"]


def _feature_manifest(
    tmp_path: Path, features: list[torch.Tensor], rttm: list[str | None], texts: list[str]
) -> str:
    lines = []
    for index, (feature, rttm_text, text) in enumerate(zip(features, rttm, texts)):
        torch.save(feature, tmp_path / f"f{index}.pt")
        line = {"feature_file": f"f{index}.pt", "text": text, "duration": 1.0, "offset": 0.0}
        if rttm_text is not None:
            (tmp_path / f"r{index}.rttm").write_text(rttm_text)
            line["rttm_file"] = f"r{index}.rttm"
        lines.append(line)
    path = tmp_path / "manifest.json"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


# Speech from 0.02 s for 0.03 s, i.e. frames 2..5 at 10 ms (5 is at 0.05 s, the segment's end).
_RTTM = "SPEAKER x 1 0.02 0.03 <NA> <NA> spk <NA> <NA>\n"


def test_rttm_mask_and_drop_and_token_ids(tmp_path: Path) -> None:
    feature = torch.arange(20.0).view(2, 10)
    manifest = _feature_manifest(tmp_path, [feature, feature], [_RTTM, None], ["ab c", "cab"])
    masked = FeatureToCharDataset(manifest, labels=LABELS, normalize=None, use_rttm=True)
    feats, length, tokens, n_tokens = masked[0]
    speech = torch.zeros(10, dtype=torch.bool)
    speech[2:6] = True
    torch.testing.assert_close(feats, feature.masked_fill(~speech, masked.ZERO_LEVEL_SPEC_DB_VAL))
    assert length.item() == 10 and tokens.tolist() == [1, 2, 0, 3] and n_tokens.item() == 4
    torch.testing.assert_close(masked[1][0], feature)  # no RTTM file: untouched

    dropped = FeatureToCharDataset(manifest, labels=LABELS, normalize=None, use_rttm=True, rttm_mode="drop")
    feats, length, _, _ = dropped[0]
    torch.testing.assert_close(feats, feature[:, 2:6])
    assert length.item() == 4
    strict = FeatureToCharDataset(
        manifest,
        labels=LABELS,
        normalize=None,
        use_rttm=True,
        rttm_mode="drop",
        feat_min_len=5,
        feat_mask_val=-1.0,
    )
    torch.testing.assert_close(strict[0][0], torch.full((2, 5), -1.0))


def test_normalization_before_or_after_masking(tmp_path: Path) -> None:
    feature = torch.randn(3, 10, generator=torch.Generator().manual_seed(0))
    manifest = _feature_manifest(tmp_path, [feature], [_RTTM], ["a"])

    def per_feature(x: torch.Tensor) -> torch.Tensor:  # mean and unbiased std per row, + 1e-5
        return (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 1e-5)

    speech = torch.zeros(10, dtype=torch.bool)
    speech[2:6] = True
    post = FeatureToCharDataset(manifest, labels=LABELS, use_rttm=True)[0][0]
    torch.testing.assert_close(post, per_feature(feature.masked_fill(~speech, -16.635)), atol=1e-5, rtol=1e-5)
    pre = FeatureToCharDataset(manifest, labels=LABELS, normalize="pre_norm", use_rttm=True)[0][0]
    torch.testing.assert_close(pre, per_feature(feature).masked_fill(~speech, 0.0), atol=1e-5, rtol=1e-5)


class _WordTokenizer:
    """A tiny tokenizer: one id per word (1-based), with BOS 10 / EOS 11 and no pad id."""

    bos_id, eos_id, pad_id = 10, 11, -1

    def text_to_ids(self, text: str) -> list[int]:
        return [len(word) for word in text.split()]


def test_bpe_dataset_wraps_with_bos_eos_and_collates_with_sample_ids(tmp_path: Path) -> None:
    manifest = _feature_manifest(
        tmp_path, [torch.zeros(2, 4), torch.ones(2, 6)], [None, None], ["a bb", "ccc"]
    )
    dataset = FeatureToBPEDataset(manifest, tokenizer=_WordTokenizer(), normalize=None, return_sample_id=True)
    assert dataset[0][2].tolist() == [10, 1, 2, 11] and dataset[0][4] == 0
    features, lengths, tokens, token_lengths, ids = dataset._collate_fn([dataset[0], dataset[1]])
    assert features.shape == (2, 2, 6) and torch.all(features[0, :, 4:] == -16.635)
    assert lengths.tolist() == [4, 6] and tokens.tolist() == [[10, 1, 2, 11], [10, 3, 11, 0]]
    assert token_lengths.tolist() == [4, 3] and ids.tolist() == [0, 1]


def test_feature_datasets_refuse_audio_options(tmp_path: Path) -> None:
    manifest = _feature_manifest(tmp_path, [torch.zeros(1, 2)], [None], ["a"])
    with pytest.raises(ValueError, match="channel_selector"):
        FeatureToCharDataset(manifest, labels=LABELS, channel_selector=0)
    with pytest.raises(ValueError, match="normalize='mean'"):
        FeatureToCharDataset(manifest, labels=LABELS, normalize="mean")


def test_cache_datastore_manifests_uses_the_local_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIS_ENDPOINT", "http://store:51080")
    monkeypatch.setenv("NEMO_DATA_STORE_CACHE_DIR", str(tmp_path))
    cached = tmp_path / "ais" / "store" / "51080" / "bucket" / "set"
    cached.mkdir(parents=True)
    (cached / "manifest.json").write_text(json.dumps({"audio_filepath": "a.wav", "duration": 1.0}) + "\n")
    store_manifest = "ais://bucket/set/manifest.json"
    cache_datastore_manifests(store_manifest, cache_audio=False)
    with pytest.raises(DataStoreUnavailableError, match="ais://bucket/set/a.wav"):
        cache_datastore_manifests([store_manifest], cache_audio=True, num_workers=1)
    (cached / "a.wav").write_bytes(b"RIFF")
    cache_datastore_manifests([store_manifest, str(tmp_path / "local.json")], cache_audio=True, num_workers=1)


def test_inject_dataloader_value_from_model_config() -> None:
    model = OmegaConf.create({"labels": ["a", "b"]})
    loader = OmegaConf.create({"labels": None, "batch_size": 2})
    inject_dataloader_value_from_model_config(model, loader, key="labels")
    assert list(loader.labels) == ["a", "b"]
    explicit = OmegaConf.create({"labels": ["x"]})
    inject_dataloader_value_from_model_config(model, explicit, key="labels")
    assert list(explicit.labels) == ["x"]
    missing = OmegaConf.create({})
    inject_dataloader_value_from_model_config(model, missing, key="labels")
    assert list(missing.labels) == ["a", "b"]


def test_dali_is_reported_unsupported() -> None:
    assert is_dali_supported("1.11") is False
    with pytest.raises(NotImplementedError, match="use_dali: false"):
        AudioToCharDALIDataset(manifest_filepath="m.json")

"""Label datasets (``data/audio_to_label.py``, ``audio_to_label_dataset.py``) against NeMo 1.23's outputs.

Expected batches come from ``data/make_nemo_expected.py`` (NeMo on the committed clips).
"""

import io
import json
import tarfile
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.data import audio_to_label_dataset
from nemo.collections.asr.data.audio_to_label import (
    AudioToClassificationLabelDataset,
    AudioToSpeechLabelDataset,
    TarredAudioToClassificationLabelDataset,
    TarredAudioToSpeechLabelDataset,
)
from nemo.collections.asr.parts.preprocessing.features import WaveformFeaturizer

LABEL_MANIFEST = Path(__file__).resolve().parent / "data" / "label_manifest.json"
LABELS = ["noise", "tone"]


def _items(dataset) -> list:
    return [dataset[index] for index in range(len(dataset))]


def _assert_batch(batch, nemo_expected: dict, prefix: str) -> None:
    for key, value in zip(("audio", "audio_len", "label", "label_len"), batch):
        expected = nemo_expected[f"{prefix}_{key}"]
        assert value.shape == expected.shape, key
        assert value.dtype == expected.dtype, key
        torch.testing.assert_close(value, expected, atol=1e-6, rtol=0, msg=key)


def _featurizer() -> WaveformFeaturizer:
    return WaveformFeaturizer(sample_rate=16000)


def test_classification_batch_matches_nemo(nemo_expected):
    dataset = AudioToClassificationLabelDataset(
        manifest_filepath=str(LABEL_MANIFEST), labels=LABELS, featurizer=_featurizer()
    )
    _assert_batch(dataset.collate_fn(_items(dataset)), nemo_expected, "cls_batch")
    assert dataset.label2id == {"noise": 0, "tone": 1}


def test_labels_default_to_the_sorted_manifest_labels(nemo_expected):
    dataset = AudioToClassificationLabelDataset(
        manifest_filepath=str(LABEL_MANIFEST), labels=None, featurizer=_featurizer()
    )
    assert dataset.labels == nemo_expected["uniq_labels"]


def test_speech_label_collate_functions_match_nemo(nemo_expected):
    dataset = AudioToSpeechLabelDataset(
        manifest_filepath=str(LABEL_MANIFEST),
        labels=LABELS,
        featurizer=_featurizer(),
        window_length_in_sec=0.1,
        shift_length_in_sec=0.05,
        normalize_audio=True,
    )
    items = _items(dataset)
    _assert_batch(dataset.fixed_seq_collate_fn(items), nemo_expected, "fixed")
    _assert_batch(dataset.vad_frame_seq_collate_fn(items), nemo_expected, "vad")


def _write_manifest(path, lines: list[dict]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_unknown_label_names_file_line_label_and_known_labels(tmp_path, clip_paths):
    manifest = _write_manifest(
        tmp_path / "bad.json",
        [
            {"audio_filepath": clip_paths[0], "duration": 0.5, "label": "tone"},
            {"audio_filepath": clip_paths[1], "duration": 0.8, "label": "whistle"},
        ],
    )
    with pytest.raises(ValueError) as error:
        AudioToClassificationLabelDataset(manifest_filepath=manifest, labels=LABELS, featurizer=_featurizer())
    message = str(error.value)
    assert f"{manifest}:2" in message
    assert "'whistle'" in message
    assert "['noise', 'tone']" in message


def test_command_and_target_keys_are_labels_and_durations_filter(tmp_path, clip_paths):
    manifest = _write_manifest(
        tmp_path / "keys.json",
        [
            {"audio_filepath": clip_paths[0], "duration": 0.5, "command": "tone"},
            {"audio_filepath": clip_paths[1], "duration": 0.8, "target": "noise"},
            {"audio_filepath": clip_paths[3], "duration": 0.35, "label": "noise"},
        ],
    )
    dataset = AudioToClassificationLabelDataset(
        manifest_filepath=manifest,
        labels=LABELS,
        featurizer=_featurizer(),
        min_duration=0.4,
        max_duration=0.9,
    )
    assert [int(item[2]) for item in _items(dataset)] == [1, 0]


def _write_shard(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def tarred(tmp_path, clip_paths):
    """The committed clips in two tar shards, and a tarred manifest naming members by file name."""
    lines = [json.loads(line) for line in LABEL_MANIFEST.read_text(encoding="utf-8").splitlines()]
    clips = {
        line["audio_filepath"].split("/")[-1]: open(path, "rb").read()
        for line, path in zip(lines, clip_paths)
    }
    names = list(clips)
    _write_shard(tmp_path / "audio_0.tar", {name: clips[name] for name in names[:2]})
    _write_shard(tmp_path / "audio_1.tar", {name: clips[name] for name in names[2:]})
    manifest = _write_manifest(
        tmp_path / "tarred.json",
        [{**line, "audio_filepath": line["audio_filepath"].split("/")[-1]} for line in lines],
    )
    return str(tmp_path / "audio__OP_0..1_CL_.tar"), manifest


def test_tarred_classification_dataset_streams_nemo_samples(tarred, nemo_expected):
    shards, manifest = tarred
    dataset = TarredAudioToClassificationLabelDataset(
        audio_tar_filepaths=shards, manifest_filepath=manifest, labels=LABELS, featurizer=_featurizer()
    )
    assert len(dataset) == 4
    _assert_batch(dataset.collate_fn(list(dataset)), nemo_expected, "cls_batch")


def test_tarred_speech_dataset_scatters_shards_between_processes(tarred):
    shards, manifest = tarred
    labels_per_rank = []
    for rank in (0, 1):
        dataset = TarredAudioToSpeechLabelDataset(
            audio_tar_filepaths=shards,
            manifest_filepath=manifest,
            labels=LABELS,
            featurizer=_featurizer(),
            global_rank=rank,
            world_size=2,
        )
        labels_per_rank.append([int(sample[2]) for sample in dataset])
    assert labels_per_rank == [[1, 0], [1, 0]]
    assert dataset.fixed_seq_collate_fn(list(dataset))[0].shape == (2, 9600)


def test_config_functions_build_nemo_datasets(tarred, nemo_expected):
    shards, manifest = tarred
    config = {"manifest_filepath": str(LABEL_MANIFEST), "labels": LABELS, "sample_rate": 16000}
    dataset = audio_to_label_dataset.get_classification_label_dataset(_featurizer(), config)
    _assert_batch(dataset.collate_fn(_items(dataset)), nemo_expected, "cls_batch")
    speech = audio_to_label_dataset.get_speech_label_dataset(_featurizer(), config)
    assert (speech.window_length_in_sec, speech.shift_length_in_sec) == (0.31, 0.01)

    tarred_config = {
        **config,
        "manifest_filepath": manifest,
        "tarred_audio_filepaths": shards,
        "batch_size": 2,
    }
    stream = audio_to_label_dataset.get_tarred_classification_label_dataset(
        _featurizer(), tarred_config, shuffle_n=0, global_rank=0, world_size=1
    )
    assert [int(sample[2]) for sample in stream] == [1, 0, 1, 0]
    with pytest.raises(ValueError, match="bucketing_weights must be positive integers"):
        audio_to_label_dataset.get_tarred_classification_label_dataset(
            _featurizer(),
            {**tarred_config, "bucketing_weights": [0]},
            shuffle_n=0,
            global_rank=0,
            world_size=1,
        )


def test_nemo_import_paths_of_the_frame_label_dataset_resolve():
    from nemo.collections.asr.data import audio_to_frame_label, audio_to_label, audio_to_label_dataset

    assert audio_to_label.AudioToMultiLabelDataset is audio_to_frame_label.AudioToMultiLabelDataset
    assert (
        audio_to_label_dataset.get_audio_multi_label_dataset
        is audio_to_frame_label.get_audio_multi_label_dataset
    )
    with pytest.raises(AttributeError, match="NoSuchDataset"):
        audio_to_label.NoSuchDataset  # noqa: B018

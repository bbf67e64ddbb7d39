"""``AudioToMultiLabelDataset``: real clips with per-frame labels from NeMo manifests."""

import json
import re

import pytest
import soundfile as sf
import torch
from nemo.collections.asr.data.audio_to_frame_label import (
    AudioToMultiLabelDataset,
    get_audio_multi_label_dataset,
)
from nemo.collections.asr.data.audio_to_label import AudioToMultiLabelDataset as NeMoPathDataset
from nemo.collections.asr.data.manifest import ManifestError


def write_manifest(path, entries) -> str:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
    return str(path)


def test_nemo_import_path_resolves_to_this_class() -> None:
    assert NeMoPathDataset is AudioToMultiLabelDataset


def test_samples_hold_the_audio_and_label_ids(frame_clips) -> None:
    dataset = AudioToMultiLabelDataset(
        manifest_filepath=str(frame_clips.manifest), sample_rate=16000, labels=["0", "1"]
    )
    assert len(dataset) == len(frame_clips.entries)
    for index, (entry, path) in enumerate(zip(frame_clips.entries, frame_clips.paths)):
        audio, audio_len, labels, labels_len = dataset[index]
        reference, _ = sf.read(path, dtype="float32")
        torch.testing.assert_close(audio, torch.from_numpy(reference))
        assert int(audio_len) == len(reference)
        expected = [int(token) for token in entry["label"].split()]
        assert labels.tolist() == expected and labels.dtype == torch.long
        assert int(labels_len) == len(expected)


def test_collate_pads_audio_and_labels_with_zeros(frame_clips) -> None:
    dataset = AudioToMultiLabelDataset(
        manifest_filepath=str(frame_clips.manifest), sample_rate=16000, labels=["0", "1"]
    )
    samples = [dataset[index] for index in range(3)]
    audio, audio_len, labels, labels_len = dataset.collate_fn(samples)
    assert audio.shape == (3, max(int(sample[1]) for sample in samples))
    assert labels.shape == (3, max(int(sample[3]) for sample in samples))
    for row, (sample_audio, sample_len, sample_labels, sample_labels_len) in enumerate(samples):
        assert int(audio_len[row]) == int(sample_len) and int(labels_len[row]) == int(sample_labels_len)
        torch.testing.assert_close(audio[row, : int(sample_len)], sample_audio)
        assert not audio[row, int(sample_len) :].any()
        assert labels[row, : int(sample_labels_len)].tolist() == sample_labels.tolist()
        assert not labels[row, int(sample_labels_len) :].any()


def test_label_ids_follow_the_config_order(frame_clips, tmp_path) -> None:
    """``labels`` sets the ids (here reversed); without it the sorted labels of the manifest are used."""
    reversed_ids = AudioToMultiLabelDataset(
        manifest_filepath=str(frame_clips.manifest), sample_rate=16000, labels=["1", "0"]
    )
    _, _, labels, _ = reversed_ids[0]
    assert labels.tolist() == [1 - int(token) for token in frame_clips.entries[0]["label"].split()]
    entries = [{**frame_clips.entries[0], "audio_filepath": frame_clips.paths[0], "label": "sil sp sp noise"}]
    found = AudioToMultiLabelDataset(
        manifest_filepath=write_manifest(tmp_path / "m.json", entries), sample_rate=16000
    )
    assert found.labels == ["noise", "sil", "sp"]
    assert found[0][2].tolist() == [1, 2, 2, 0]


def test_unknown_label_names_the_manifest_line(frame_clips, tmp_path) -> None:
    entries = [
        {**entry, "audio_filepath": path} for entry, path in zip(frame_clips.entries, frame_clips.paths)
    ]
    entries[1]["label"] = "0 0 1 2 1"
    manifest = write_manifest(tmp_path / "bad.json", entries)
    with pytest.raises(
        ManifestError, match=re.escape(f"{manifest}:2: frame labels ['2'] are not among the config's")
    ):
        AudioToMultiLabelDataset(manifest_filepath=manifest, sample_rate=16000, labels=["0", "1"])


def test_missing_label_key_names_the_manifest_line(frame_clips, tmp_path) -> None:
    entry = {key: value for key, value in frame_clips.entries[0].items() if key != "label"}
    manifest = write_manifest(tmp_path / "nolabel.json", [{**entry, "audio_filepath": frame_clips.paths[0]}])
    with pytest.raises(
        ManifestError, match=re.escape(f"{manifest}:1: no frame labels; expected a 'label' key")
    ):
        AudioToMultiLabelDataset(manifest_filepath=manifest, sample_rate=16000, labels=["0", "1"])


def test_unreadable_audio_names_the_manifest_line(frame_clips, tmp_path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    entries = [{**frame_clips.entries[0], "audio_filepath": str(broken)}]
    manifest = write_manifest(tmp_path / "broken.json", entries)
    dataset = AudioToMultiLabelDataset(manifest_filepath=manifest, sample_rate=16000, labels=["0", "1"])
    with pytest.raises(RuntimeError, match=re.escape(f"{manifest}:1: cannot read")):
        dataset[0]


def test_command_key_delimiter_durations_and_occurrences(frame_clips, tmp_path) -> None:
    """NeMo's ``command`` key, a custom ``delimiter``, the duration filter and label counts."""
    entries = [
        {
            "audio_filepath": frame_clips.paths[0],
            "duration": frame_clips.entries[0]["duration"],
            "command": "1,1,0",
        },
        {"audio_filepath": frame_clips.paths[1], "duration": 0.05, "command": "0,0"},
        {
            "audio_filepath": frame_clips.paths[2],
            "duration": frame_clips.entries[2]["duration"],
            "command": "0,1,1",
        },
    ]
    dataset = AudioToMultiLabelDataset(
        manifest_filepath=write_manifest(tmp_path / "cmd.json", entries),
        sample_rate=16000,
        labels=["0", "1"],
        delimiter=",",
        min_duration=0.1,
        cal_labels_occurrence=True,
    )
    assert len(dataset) == 2
    assert [dataset[index][2].tolist() for index in range(2)] == [[1, 1, 0], [0, 1, 1]]
    assert dataset.labels_occurrence == [2, 4]


def test_normalize_audio_db_sets_the_rms_level(frame_clips) -> None:
    dataset = AudioToMultiLabelDataset(
        manifest_filepath=str(frame_clips.manifest),
        sample_rate=16000,
        labels=["0", "1"],
        normalize_audio_db=-25.0,
    )
    audio = dataset[0][0].double()
    assert 10 * torch.log10(audio.pow(2).mean()).item() == pytest.approx(-25.0, abs=0.01)


def test_regression_targets_are_floats(frame_clips, tmp_path) -> None:
    entries = [{"audio_filepath": frame_clips.paths[0], "duration": 1.0, "label": "0.25 0.5 1"}]
    dataset = AudioToMultiLabelDataset(
        manifest_filepath=write_manifest(tmp_path / "reg.json", entries),
        sample_rate=16000,
        is_regression_task=True,
    )
    assert dataset[0][2].tolist() == [0.25, 0.5, 1.0] and dataset[0][2].dtype == torch.float32
    assert set(dataset.output_types) == {"audio_signal", "a_sig_length", "targets", "targets_length"}
    entries[0]["label"] = "0.25 loud"
    with pytest.raises(ManifestError, match="reg2.json:1: is_regression_task needs numeric targets"):
        AudioToMultiLabelDataset(
            manifest_filepath=write_manifest(tmp_path / "reg2.json", entries),
            sample_rate=16000,
            is_regression_task=True,
        )


def test_config_builder_reads_nemo_keys_and_the_augmentor(frame_clips) -> None:
    config = {
        "manifest_filepath": str(frame_clips.manifest),
        "sample_rate": 8000,
        "labels": ["0", "1"],
        "augmentor": {"gain": {"prob": 1.0, "min_gain_dbfs": 6.0, "max_gain_dbfs": 6.0}},
    }
    dataset = get_audio_multi_label_dataset(config)
    audio, audio_len, _, _ = dataset[0]
    reference, _ = sf.read(frame_clips.paths[0], dtype="float32")
    assert int(audio_len) == len(reference) // 2
    plain = get_audio_multi_label_dataset({**config, "augmentor": None})[0][0]
    torch.testing.assert_close(audio, plain * 10 ** (6.0 / 20), rtol=1e-5, atol=1e-6)


def test_tarred_dataset_streams_the_same_samples(frame_clips, tmp_path) -> None:
    """Shards of the clips give the map-style dataset's samples; shuffling only reorders them."""
    import tarfile

    from nemo.collections.asr.data.audio_to_frame_label import TarredAudioToMultiLabelDataset
    from nemo.collections.asr.data.audio_to_label import TarredAudioToMultiLabelDataset as NeMoPathTarred

    assert NeMoPathTarred is TarredAudioToMultiLabelDataset
    for shard_index, rows in enumerate((range(0, 3), range(3, 6))):
        with tarfile.open(tmp_path / f"audio_{shard_index}.tar", "w") as tar:
            for row in rows:
                tar.add(frame_clips.paths[row], arcname=frame_clips.entries[row]["audio_filepath"])
    manifest = write_manifest(tmp_path / "tarred.json", frame_clips.entries)
    plain = AudioToMultiLabelDataset(
        manifest_filepath=str(frame_clips.manifest), sample_rate=16000, labels=["0", "1"]
    )
    expected = {int(plain[index][1]): plain[index] for index in range(len(plain))}
    for shuffle_n in (0, 4):
        tarred = TarredAudioToMultiLabelDataset(
            audio_tar_filepaths=str(tmp_path / "audio_{0..1}.tar"),
            manifest_filepath=manifest,
            sample_rate=16000,
            labels=["0", "1"],
            shuffle_n=shuffle_n,
        )
        assert len(tarred) == 6
        streamed = list(tarred)
        assert sorted(int(sample[1]) for sample in streamed) == sorted(expected)
        if shuffle_n == 0:
            assert [int(sample[1]) for sample in streamed] == [int(plain[index][1]) for index in range(6)]
        for audio, audio_len, labels, labels_len in streamed:
            reference = expected[int(audio_len)]
            torch.testing.assert_close(audio, reference[0])
            assert labels.tolist() == reference[2].tolist() and int(labels_len) == int(reference[3])

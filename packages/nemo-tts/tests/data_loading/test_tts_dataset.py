import json
import os
import time

import numpy as np
import pytest
import torch
from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import EnglishCharsTokenizer
from nemo.collections.tts.data.dataset import TTSDataset

SUP_TYPES = ["log_mel", "align_prior_matrix", "pitch", "energy", "speaker_id"]
MEL = dict(n_fft=1024, win_length=1024, hop_length=256, n_mels=80, highfreq=8000)


def make_dataset(manifest, sup_data_path, **kwargs):
    settings = dict(sup_data_types=SUP_TYPES, sup_data_path=str(sup_data_path), **MEL)
    settings.update(kwargs)
    return TTSDataset(str(manifest), 16000, EnglishCharsTokenizer(), **settings)


@pytest.mark.parametrize("interpolator", [False, True])
def test_items_equal_nemo(clips_manifest, tmp_path, nemo_reference, interpolator):
    dataset = make_dataset(clips_manifest, tmp_path / "sup", use_beta_binomial_interpolator=interpolator)
    suffix = "_interp" if interpolator else ""
    for index in range(2):
        item = dataset[index]
        assert len(item) == 18
        torch.testing.assert_close(
            item[7], nemo_reference[f"item{index}_prior{suffix}"], rtol=1e-6, atol=1e-7
        )
        if interpolator:
            continue
        torch.testing.assert_close(item[0], nemo_reference[f"item{index}_audio"])
        assert torch.equal(item[2], nemo_reference[f"item{index}_text"])
        torch.testing.assert_close(item[4], nemo_reference[f"item{index}_log_mel"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(item[10], nemo_reference[f"item{index}_energy"], rtol=1e-5, atol=1e-5)
        assert item[8].shape == nemo_reference[f"item{index}_pitch_pyin"].shape
        assert item[12].item() == index


def test_collated_batch_has_nemos_layout_through_a_dataloader(clips_manifest, tmp_path, nemo_reference):
    """audio, audio_lens, text, text_lens, log_mel, log_mel_lens, prior, pitch, pitch_lens, energy, energy_lens,
    speaker_id; all equal to NeMo's but the pitch values, which come from another tracker."""
    dataset = make_dataset(clips_manifest, tmp_path / "sup")
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=dataset.collate_fn)
    batch = next(iter(loader))
    assert len(batch) == 12
    for position, tensor in enumerate(batch):
        expected = nemo_reference[f"batch_{position}"]
        assert tensor.shape == expected.shape and tensor.dtype == expected.dtype, position
        if position != 7:
            torch.testing.assert_close(tensor, expected, rtol=1e-5, atol=1e-5, msg=f"batch[{position}]")
    text, text_lens = batch[2], batch[3]
    assert (text[0, text_lens[0] :] == dataset.text_tokenizer.pad).all()


def test_config_order_of_sup_data_types_does_not_change_the_layout(clips_manifest, tmp_path):
    forward = make_dataset(clips_manifest, tmp_path / "a", sup_data_types=["align_prior_matrix", "pitch"])
    backward = make_dataset(clips_manifest, tmp_path / "b", sup_data_types=["pitch", "align_prior_matrix"])
    one, two = (ds.collate_fn([ds[0], ds[1]]) for ds in (forward, backward))
    assert [t.shape for t in one] == [t.shape for t in two]
    assert one[4].dim() == 3 and one[5].dim() == 2


def test_supplementary_data_is_cached_and_reused(clips_manifest, tmp_path):
    sup = tmp_path / "sup"
    make_dataset(clips_manifest, sup)[0]
    files = sorted(p for p in sup.rglob("*.pt"))
    assert [p.relative_to(sup).as_posix() for p in files] == [
        "energy/activated.pt",
        "log_mel/activated.pt",
        "pitch/activated.pt",
    ]
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    time.sleep(0.01)
    pitch_file = sup / "pitch" / "activated.pt"
    marked = torch.full_like(torch.load(pitch_file, weights_only=True), 123.0)
    torch.save(marked, pitch_file)
    mtimes[pitch_file] = pitch_file.stat().st_mtime_ns
    item = make_dataset(clips_manifest, sup)[0]
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes
    assert (item[8] == 123.0).all()


@pytest.mark.parametrize("damage", ["garbage", "wrong_length"])
def test_a_corrupt_cache_file_is_recomputed_with_a_warning(clips_manifest, tmp_path, nemo_log, damage):
    sup = tmp_path / "sup"
    fresh = make_dataset(clips_manifest, sup)[0][10]
    energy_file = sup / "energy" / "activated.pt"
    if damage == "garbage":
        energy_file.write_bytes(b"not a tensor file")
    else:
        torch.save(torch.ones(5), energy_file)
    item = make_dataset(clips_manifest, sup)[0]
    torch.testing.assert_close(item[10], fresh)
    assert torch.equal(torch.load(energy_file, weights_only=True), fresh)
    assert f"Cached supplementary data {energy_file}" in nemo_log.text


def test_pitch_is_hz_with_zero_when_unvoiced_and_normalised_on_request(
    tmp_path, write_wav, write_manifest, tone
):
    audio = np.concatenate([np.zeros(8000, np.float32), tone(200.0, 1.0, 16000)])
    write_wav(tmp_path / "w" / "t.wav", audio, 16000)
    manifest = write_manifest(
        tmp_path / "m.json", [{"audio_filepath": "w/t.wav", "text": "a", "duration": 1.5}]
    )
    raw = make_dataset(manifest, tmp_path / "sup", sup_data_types=["pitch"])[0][8]
    assert raw.shape == (1 + audio.shape[0] // 256,)
    assert (raw[:20] == 0).all()
    assert abs(float(raw[40:80].median()) - 200.0) < 2.0
    normed = make_dataset(
        manifest,
        tmp_path / "sup",
        sup_data_types=["pitch"],
        pitch_norm=True,
        pitch_mean=150.0,
        pitch_std=25.0,
    )[0][8]
    torch.testing.assert_close(normed, torch.where(raw == 0, 0.0, (raw - 150.0) / 25.0))
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"default": {"pitch_mean": 100.0, "pitch_std": 10.0}}))
    by_file = make_dataset(
        manifest, tmp_path / "sup", sup_data_types=["pitch"], pitch_norm=True, pitch_stats_path=str(stats)
    )[0][8]
    torch.testing.assert_close(by_file, torch.where(raw == 0, 0.0, (raw - 100.0) / 10.0))


def test_normalizer_and_tokenizer_config_are_used(tmp_path, write_wav, write_manifest, tone):
    write_wav(tmp_path / "a.wav", tone(200.0, 0.2, 16000), 16000)
    manifest = write_manifest(
        tmp_path / "m.json",
        [
            {"audio_filepath": "a.wav", "text": "Dr. No", "duration": 0.2},
            {"audio_filepath": "a.wav", "text": "Dr. No", "normalized_text": "kept as is", "duration": 0.2},
        ],
    )

    class Upper:
        def normalize(self, text, verbose=False, punct_post_process=False):
            return f"{text.upper().replace('DR.', 'DOCTOR')}{'!' if punct_post_process else ''}"

    config = {
        "_target_": "nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers.EnglishCharsTokenizer"
    }
    dataset = TTSDataset(
        str(manifest),
        16000,
        config,
        text_normalizer=Upper(),
        text_normalizer_call_kwargs={"punct_post_process": True},
    )
    tokenizer = EnglishCharsTokenizer()
    assert [d["normalized_text"] for d in dataset.data] == ["DOCTOR NO!", "kept as is"]
    assert dataset[0][2].tolist() == tokenizer("DOCTOR NO!")
    assert dataset[1][2].tolist() == tokenizer("kept as is")


def test_a_wrong_sample_rate_names_the_file_and_line(tmp_path, write_wav, write_manifest, tone):
    write_wav(tmp_path / "a.wav", tone(200.0, 0.2, 22050), 22050)
    manifest = write_manifest(
        tmp_path / "m.json", [{"audio_filepath": "a.wav", "text": "a", "duration": 0.2}]
    )
    dataset = TTSDataset(str(manifest), 16000, EnglishCharsTokenizer())
    with pytest.raises(
        ValueError, match=r"m.json:1: audio file .*a.wav' has sample rate 22050 Hz.*16000 Hz\. Resample"
    ):
        dataset[0]


@pytest.mark.parametrize("text", ["", "  ", "日本 ☃"])
def test_text_without_known_tokens_names_the_file_and_line(tmp_path, write_wav, write_manifest, tone, text):
    write_wav(tmp_path / "a.wav", tone(200.0, 0.2, 16000), 16000)
    lines = [
        {"audio_filepath": "a.wav", "text": "fine", "duration": 0.2},
        {"audio_filepath": "a.wav", "text": text, "duration": 0.2},
    ]
    manifest = write_manifest(tmp_path / "m.json", lines)
    with pytest.raises(ValueError, match=r"m.json:2: text .* encodes to no known token"):
        TTSDataset(str(manifest), 16000, EnglishCharsTokenizer())


def test_bad_settings_are_clear_errors(clips_manifest, tmp_path, write_manifest, data_dir):
    with pytest.raises(NotImplementedError, match=r"'pitches' is not supported.*'align_prior_matrix'"):
        make_dataset(clips_manifest, tmp_path, sup_data_types=["pitches"])
    with pytest.raises(ValueError, match="neither sup_data_path nor pitch_folder"):
        TTSDataset(str(clips_manifest), 16000, EnglishCharsTokenizer(), sup_data_types=["pitch"])
    with pytest.raises(ValueError, match="needs both pitch_mean and pitch_std"):
        make_dataset(clips_manifest, tmp_path, sup_data_types=["pitch"], pitch_norm=True, pitch_mean=1.0)
    no_speaker = write_manifest(
        tmp_path / "n.json", [{"audio_filepath": str(data_dir / "activated.wav"), "text": "a", "duration": 1}]
    )
    with pytest.raises(ValueError, match=r"1 manifest lines have no 'speaker', e.g. \['.*n.json:1'\]"):
        make_dataset(no_speaker, tmp_path, sup_data_types=["speaker_id"])
    with pytest.raises(NotImplementedError, match="window='kaiser' is not supported"):
        make_dataset(clips_manifest, tmp_path, sup_data_types=[], window="kaiser")


def test_duration_filtering_and_lengths(clips_manifest, tmp_path, write_manifest, data_dir):
    lines = [json.loads(line) for line in clips_manifest.read_text().splitlines()]
    lines[1]["duration"] = 9.0
    manifest = write_manifest(tmp_path / "d.json", lines)
    dataset = make_dataset(manifest, tmp_path / "sup", max_duration=5.0)
    assert len(dataset) == 1 and len(dataset.lengths) == 1
    assert dataset.lengths[0] == os.path.getsize(data_dir / "activated.wav") // 512


def test_voiced_mask_reference_audio_and_trim(tmp_path, write_wav, write_manifest, tone):
    audio = np.concatenate([np.zeros(8000, np.float32), tone(200.0, 0.5, 16000), np.zeros(8000, np.float32)])
    write_wav(tmp_path / "a.wav", audio, 16000)
    write_wav(tmp_path / "b.wav", tone(300.0, 0.3, 16000), 16000)
    lines = [
        {"audio_filepath": "a.wav", "text": "a", "duration": 1.5, "speaker": 0},
        {"audio_filepath": "b.wav", "text": "b", "duration": 0.3, "speaker": 0},
    ]
    manifest = write_manifest(tmp_path / "m.json", lines)
    types = ["pitch", "speaker_id", "voiced_mask", "reference_audio"]
    dataset = make_dataset(
        manifest, tmp_path / "sup", sup_data_types=types, reference_audio_type="ground-truth"
    )
    item = dataset[0]
    assert torch.equal(item[13], (item[8] > 0).float())
    assert torch.equal(item[16], item[0]) and item[17] == audio.shape[0]
    batch = dataset.collate_fn([dataset[0], dataset[1]])
    assert [tuple(t.shape) for t in batch] == [
        (2, 24000),
        (2,),
        (2, 1),
        (2,),
        (2, 94),
        (2,),
        (2,),
        (2, 94),
        (2, 24000),
        (2,),
    ]
    trimmed = make_dataset(manifest, tmp_path / "sup2", sup_data_types=[], trim=True)[0][0]
    assert 8000 <= trimmed.shape[0] < 12000


def test_nemos_filter_files_on_file_info_dicts(tmp_path):
    data = [{"audio_filepath": "/x/a.wav", "duration": 1.0}, {"audio_filepath": "/x/b.wav", "duration": 9.0}]
    assert TTSDataset.filter_files(data, None, None, 5.0, 10.0) == data[:1]
    assert TTSDataset.filter_files(data, None, None, 5.0, None) == data


def test_fastpitchs_process_batch_reads_the_batch_back(clips_manifest, tmp_path):
    from nemo.collections.tts.parts.utils.helpers import process_batch

    dataset = make_dataset(
        clips_manifest,
        tmp_path / "sup",
        sup_data_types=["speaker_id", "energy", "pitch", "align_prior_matrix"],
    )
    items = [dataset[0], dataset[1]]
    batch = process_batch(dataset.collate_fn(items), dataset.sup_data_types_set)
    assert batch["speaker_id"].tolist() == [0, 1]
    assert batch["text_lens"].tolist() == [len(items[0][2]), len(items[1][2])]
    assert batch["align_prior_matrix"].shape == (2, 69, int(batch["text_lens"].max()))
    assert batch["pitch"].shape == batch["energy"].shape == (2, 69)
    assert torch.equal(batch["pitch"][0, :67], items[0][8]) and batch["pitch_lens"].tolist() == [67, 69]

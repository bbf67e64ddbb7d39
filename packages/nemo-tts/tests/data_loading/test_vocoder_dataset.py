import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from nemo.collections.tts.data.dataset import VocoderDataset


@pytest.fixture
def ramps(tmp_path, write_wav, write_manifest):
    """Two clips whose sample i is i / 32768 (16-bit exact), 1.0 s and 0.25 s at 16 kHz."""
    lines = []
    for name, length in (("long", 16000), ("short", 4000)):
        write_wav(tmp_path / f"{name}.wav", (np.arange(length) % 32768 / 32768).astype(np.float32), 16000)
        lines.append({"audio_filepath": f"{name}.wav", "text": "", "duration": length / 16000})
    return write_manifest(tmp_path / "m.json", lines)


def batches(dataset, seed):
    pl.seed_everything(seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=dataset.collate_fn)
    return [tuple(t.clone() for t in batch) for batch in loader]


def test_random_segments_are_windows_of_the_clip_and_seeded(ramps):
    dataset = VocoderDataset(str(ramps), 16000, n_segments=8192)
    ((audio, lengths),) = batches(dataset, 0)
    assert audio.shape == (2, 8192) and lengths.tolist() == [8192, 8192]
    start = int(round(float(audio[0, 0]) * 32768))
    expected = torch.arange(start, start + 8192) / 32768
    torch.testing.assert_close(audio[0], expected.float())
    torch.testing.assert_close(audio[1, :4000], (torch.arange(4000) / 32768).float())
    assert (audio[1, 4000:] == 0).all()
    starts = {int(round(float(batches(dataset, seed)[0][0][0, 0]) * 32768)) for seed in range(6)}
    assert len(starts) > 1
    first, again = batches(dataset, 3), batches(dataset, 3)
    assert torch.equal(first[0][0], again[0][0])


def test_whole_clips_without_n_segments(ramps):
    dataset = VocoderDataset(str(ramps), 16000)
    ((audio, lengths),) = batches(dataset, 0)
    assert audio.shape == (2, 16000) and lengths.tolist() == [16000, 4000]


def test_duration_filter(ramps):
    assert len(VocoderDataset(str(ramps), 16000, n_segments=100, min_duration=0.5)) == 1


def test_precomputed_mels_are_cut_with_the_audio(tmp_path, write_wav, write_manifest):
    write_wav(tmp_path / "a.wav", (np.arange(16000) / 32768).astype(np.float32), 16000)
    mel = torch.arange(63, dtype=torch.float32).repeat(4, 1)
    torch.save(mel, tmp_path / "a.pt")
    manifest = write_manifest(
        tmp_path / "m.json",
        [{"audio_filepath": "a.wav", "mel_filepath": "a.pt", "text": "", "duration": 1.0}],
    )
    dataset = VocoderDataset(str(manifest), 16000, n_segments=2048, load_precomputed_mel=True, hop_length=256)
    pl.seed_everything(1)
    audio, length, mels = dataset.collate_fn([dataset[0]])
    assert audio.shape == (1, 2048) and mels.shape == (1, 4, 8) and length.tolist() == [2048]
    start_frame = int(mels[0, 0, 0])
    torch.testing.assert_close(audio[0, 0], torch.tensor(start_frame * 256 / 32768))
    with pytest.raises(ValueError, match="load_precomputed_mel needs hop_length and n_segments"):
        VocoderDataset(str(manifest), 16000, load_precomputed_mel=True)


def test_a_wrong_sample_rate_names_the_file_and_line(ramps):
    dataset = VocoderDataset(str(ramps), 22050, n_segments=1000)
    with pytest.raises(ValueError, match=r"m.json:1: audio file .*long.wav' has sample rate 16000 Hz"):
        dataset[0]

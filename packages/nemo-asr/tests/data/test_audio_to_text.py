import numpy as np
import pytest
import soundfile as sf
import torch
from nemo.collections.asr.data.audio_to_text import AudioToBPEDataset, AudioToCharDataset, _speech_collate_fn
from nemo.collections.common.tokenizers import SentencePieceTokenizer, create_spt_model

SR = 16000
LABELS = [" "] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]


def char_ids(text: str) -> list[int]:
    return [LABELS.index(ch) for ch in text]


def test_items_are_audio_and_label_ids(make_corpus):
    corpus = make_corpus(["hello world", "it's", "ab"])
    dataset = AudioToCharDataset(str(corpus.manifest), LABELS, SR)
    assert len(dataset) == 3
    for index in range(3):
        audio, audio_len, tokens, tokens_len = dataset[index]
        np.testing.assert_array_equal(audio.numpy(), corpus.audio(index))
        assert audio.dtype == torch.float32 and audio_len.item() == len(corpus.audio(index))
        assert (
            tokens.tolist() == char_ids(corpus.lines[index]["text"]) and tokens_len.item() == tokens.numel()
        )
    np.testing.assert_allclose(dataset.durations, [0.1, 0.15, 0.2])


def test_collate_pads_audio_with_zeros_and_tokens_with_pad_id(make_corpus):
    corpus = make_corpus(["hello world", "it's", "ab"])
    dataset = AudioToCharDataset(str(corpus.manifest), LABELS, SR, pad_id=27, return_sample_id=True)
    items = [dataset[i] for i in range(3)]
    audio, audio_len, tokens, tokens_len, sample_id = dataset.collate_fn(items)
    longest_audio = max(len(corpus.audio(i)) for i in range(3))
    assert audio.shape == (3, longest_audio) and tokens.shape == (3, 11)
    for row in range(3):
        expected_audio = np.zeros(longest_audio, np.float32)
        expected_audio[: len(corpus.audio(row))] = corpus.audio(row)
        np.testing.assert_array_equal(audio[row].numpy(), expected_audio)
        ids = char_ids(corpus.lines[row]["text"])
        assert tokens[row].tolist() == ids + [27] * (11 - len(ids))
    assert audio_len.tolist() == [len(corpus.audio(i)) for i in range(3)]
    assert tokens_len.tolist() == [11, 4, 2] and sample_id.tolist() == [0, 1, 2]


def test_normalization_bos_eos_and_parser_choice(make_corpus):
    corpus = make_corpus(["Dr. Who, 2!"])
    normalized = AudioToCharDataset(str(corpus.manifest), LABELS, SR, bos_id=1, eos_id=2)
    assert normalized[0][2].tolist() == [1, *char_ids("doctor who two"), 2]
    raw = AudioToCharDataset(str(corpus.manifest), LABELS, SR, normalize=False, parser="base")
    assert raw[0][2].tolist() == char_ids("r ho ")


def test_offset_and_duration_select_part_of_the_file(make_corpus, write_manifest):
    corpus = make_corpus(["a"], durations=[0.5])
    line = {**corpus.lines[0], "offset": 0.1, "duration": 0.2}
    dataset = AudioToCharDataset(str(write_manifest(corpus.folder / "seg.json", [line])), LABELS, SR)
    np.testing.assert_array_equal(dataset[0][0].numpy(), corpus.audio(0)[1600:4800])


def test_resampling_and_the_resample_switch(make_corpus):
    corpus = make_corpus(["a"], durations=[0.25], sample_rate=8000)
    assert AudioToCharDataset(str(corpus.manifest), LABELS, SR)[0][1].item() == 4000
    strict = AudioToCharDataset(str(corpus.manifest), LABELS, SR, resample=False)
    with pytest.raises(
        ValueError, match=r"manifest.json:1: audio is sampled at 8000 Hz, expected 16000 Hz.*resample: true"
    ):
        strict[0]


def test_multichannel_audio_needs_a_channel_selector(tmp_path, write_manifest):
    stereo = np.stack([np.full(800, 0.25, np.float32), np.full(800, -0.75, np.float32)], axis=1)
    sf.write(tmp_path / "st.flac", stereo, SR, subtype="PCM_16")
    manifest = write_manifest(
        tmp_path / "m.json", [{"audio_filepath": "st.flac", "duration": 0.05, "text": "a"}]
    )
    with pytest.raises(ValueError, match=r"m.json:1: audio has 2 channels, expected mono.*channel_selector"):
        AudioToCharDataset(str(manifest), LABELS, SR)[0]
    mixed = AudioToCharDataset(str(manifest), LABELS, SR, channel_selector="average")[0][0]
    np.testing.assert_allclose(mixed.numpy(), np.full(800, -0.25), atol=1e-4)


def test_undecodable_audio_names_file_and_manifest_line(tmp_path, write_manifest):
    (tmp_path / "bad.wav").write_bytes(b"not audio at all")
    manifest = write_manifest(
        tmp_path / "m.json", [{"audio_filepath": "bad.wav", "duration": 1.0, "text": "a"}]
    )
    with pytest.raises(RuntimeError, match=r"m.json:1: Could not decode audio file .*bad.wav"):
        AudioToCharDataset(str(manifest), LABELS, SR)[0]


def test_untokenizable_transcript_names_the_line(make_corpus):
    corpus = make_corpus(["ok", "what?"])
    with pytest.raises(ValueError, match=r"manifest.json:2: cannot tokenize the transcript.*\['\?'\]"):
        AudioToCharDataset(str(corpus.manifest), LABELS, SR, normalize=False, blank_index=28)


@pytest.fixture(scope="module")
def bpe_tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bpe")
    text = folder / "text.txt"
    text.write_text(
        "\n".join(["hello world", "the world is big", "hello big world"] * 40) + "\n", encoding="utf-8"
    )
    model, _ = create_spt_model(
        str(text),
        40,
        -1,
        False,
        tokenizer_type="bpe",
        output_dir=str(folder / "spt"),
        bos=True,
        eos=True,
        pad=True,
    )
    return SentencePieceTokenizer(model)


def test_bpe_dataset_tokenizes_with_bos_eos_and_pads_with_pad_id(make_corpus, bpe_tokenizer):
    corpus = make_corpus(["hello world", "big"])
    dataset = AudioToBPEDataset(str(corpus.manifest), bpe_tokenizer, SR)
    bos, eos, pad = bpe_tokenizer.bos_id, bpe_tokenizer.eos_id, bpe_tokenizer.pad_id
    expected = [[bos, *bpe_tokenizer.text_to_ids(line["text"]), eos] for line in corpus.lines]
    assert [dataset[i][2].tolist() for i in range(2)] == expected
    _, _, tokens, lengths = dataset.collate_fn([dataset[0], dataset[1]])
    assert tokens[1, lengths[1] :].tolist() == [pad] * (lengths[0] - lengths[1]).item()
    plain = AudioToBPEDataset(str(corpus.manifest), bpe_tokenizer, SR, use_start_end_token=False)
    assert plain[1][2].tolist() == bpe_tokenizer.text_to_ids("big")


def test_collate_function_directly():
    batch = [
        (torch.ones(3), torch.tensor(3), torch.tensor([5, 6]), torch.tensor(2)),
        (torch.ones(1), torch.tensor(1), torch.tensor([7]), torch.tensor(1)),
    ]
    audio, audio_len, tokens, tokens_len = _speech_collate_fn(batch, pad_id=-1)
    assert audio.tolist() == [[1, 1, 1], [1, 0, 0]] and tokens.tolist() == [[5, 6], [7, -1]]
    assert audio_len.tolist() == [3, 1] and tokens_len.tolist() == [2, 1]


def test_output_types_follow_nemo(make_corpus):
    dataset = AudioToCharDataset(str(make_corpus(["a"]).manifest), LABELS, SR)
    types = dataset.output_types
    assert list(types) == ["audio_signal", "a_sig_length", "transcripts", "transcript_length", "sample_id"]
    assert types["audio_signal"].elements_type.type_parameters == {"freq": SR}


def test_without_labels_printable_ascii_is_used(make_corpus):
    import string

    dataset = AudioToCharDataset(str(make_corpus(["Hi!"]).manifest), None, SR, normalize=False)
    assert dataset[0][2].tolist() == [string.printable.index(ch) for ch in "Hi!"]

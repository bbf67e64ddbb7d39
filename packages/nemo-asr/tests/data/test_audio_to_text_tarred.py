import io
import json
import tarfile

import numpy as np
import pytest
import torch
from nemo.collections.asr.data.audio_to_text import TarredAudioToBPEDataset, TarredAudioToCharDataset
from nemo.collections.asr.data.tarred_dataset_builder import convert_to_tarred_audio_dataset
from nemo.collections.common.tokenizers import SentencePieceTokenizer, create_spt_model
from torch.utils.data import DataLoader

SR = 16000
LABELS = [" "] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]
TEXTS = ["one", "two", "three", "four", "five", "six"]


@pytest.fixture
def tarred(make_corpus, write_manifest):
    """Six utterances plus one more cut from utt5 at an offset, in three shards."""
    corpus = make_corpus(TEXTS, durations=[0.1, 0.12, 0.14, 0.16, 0.18, 0.3])
    lines = corpus.lines + [{**corpus.lines[5], "offset": 0.1, "duration": 0.1, "text": "seven"}]
    manifest = write_manifest(corpus.folder / "all.json", lines)
    out_manifest, _ = convert_to_tarred_audio_dataset(
        str(manifest), str(corpus.folder / "tarred"), num_shards=3
    )
    expected_audio = [corpus.audio(i) for i in range(6)] + [corpus.audio(5)[1600:3200]]
    pattern = str(corpus.folder / "tarred" / "audio_{0..2}.tar")
    return pattern, out_manifest, expected_audio


def sample_ids(samples) -> list[int]:
    return [int(sample[-1]) for sample in samples]


def test_streams_every_utterance_with_its_audio_and_labels(tarred):
    pattern, manifest, expected_audio = tarred
    dataset = TarredAudioToCharDataset(pattern, manifest, LABELS, SR, return_sample_id=True)
    samples = list(dataset)
    assert len(dataset) == 7 and sample_ids(samples) == [0, 1, 2, 3, 4, 5, 6]
    texts = TEXTS + ["seven"]
    for audio, audio_len, tokens, tokens_len, index in samples:
        np.testing.assert_array_equal(audio.numpy(), expected_audio[index])
        assert audio_len.item() == len(expected_audio[index])
        assert tokens.tolist() == [LABELS.index(ch) for ch in texts[index]] and tokens_len.item() == len(
            texts[index]
        )


def test_shuffling_is_seeded_and_changes_between_epochs(tarred):
    pattern, manifest, _ = tarred
    dataset = TarredAudioToCharDataset(pattern, manifest, LABELS, SR, shuffle_n=4, return_sample_id=True)
    torch.manual_seed(0)
    first, second = sample_ids(dataset), sample_ids(dataset)
    torch.manual_seed(0)
    assert sample_ids(dataset) == first
    assert sorted(first) == sorted(second) == list(range(7))
    assert first != second


def test_workers_split_the_shards(tarred):
    pattern, manifest, _ = tarred
    dataset = TarredAudioToCharDataset(pattern, manifest, LABELS, SR, return_sample_id=True)
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=dataset.collate_fn)
    seen = [i for batch in loader for i in batch[4].tolist()]
    assert sorted(seen) == list(range(7))


def test_processes_scatter_the_shards(tarred):
    pattern, manifest, _ = tarred
    ranks = [
        sample_ids(
            TarredAudioToCharDataset(
                pattern, manifest, LABELS, SR, global_rank=r, world_size=2, return_sample_id=True
            )
        )
        for r in (0, 1)
    ]
    shard_of = {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2}
    assert ranks == [[i for i in range(7) if shard_of[i] == 0], [i for i in range(7) if shard_of[i] == 1]]


def test_filtered_entries_are_not_yielded(tarred):
    pattern, manifest, _ = tarred
    dataset = TarredAudioToCharDataset(
        pattern, manifest, LABELS, SR, max_duration=0.15, return_sample_id=True
    )
    assert len(dataset) == 4
    texts = [TEXTS[i] for i in (0, 1, 2)] + ["seven"]
    assert ["".join(LABELS[t] for t in sample[2].tolist()) for sample in dataset] == texts


def test_bpe_variant_uses_the_tokenizer(tarred, tmp_path):
    pattern, manifest, _ = tarred
    text = tmp_path / "t.txt"
    text.write_text("\n".join(TEXTS * 30) + "\n", encoding="utf-8")
    tokenizer = SentencePieceTokenizer(
        create_spt_model(str(text), 30, -1, False, output_dir=str(tmp_path / "spt"))[0]
    )
    dataset = TarredAudioToBPEDataset(pattern, manifest, tokenizer, SR)
    assert [s[2].tolist() for s in dataset] == [tokenizer.text_to_ids(t) for t in TEXTS + ["seven"]]


def test_undecodable_member_names_shard_member_and_line(tmp_path, write_manifest):
    shard = tmp_path / "audio_0.tar"
    with tarfile.open(shard, "w") as tar:
        info = tarfile.TarInfo("x.wav")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"nope!"))
    manifest = write_manifest(
        tmp_path / "m.json", [{"audio_filepath": "x.wav", "duration": 1.0, "text": "a"}]
    )
    dataset = TarredAudioToCharDataset(str(shard), str(manifest), LABELS, SR)
    with pytest.raises(RuntimeError, match=r"audio_0.tar:x.wav \(.*m.json:1\)"):
        list(dataset)


def test_sharded_manifests_follow_the_shards(tarred, tmp_path):
    pattern, manifest, _ = tarred
    lines = [json.loads(line) for line in open(manifest, encoding="utf-8")]
    for shard in range(3):
        (tmp_path / f"manifest_{shard}.json").write_text(
            "".join(json.dumps(line) + "\n" for line in lines if line["shard_id"] == shard), encoding="utf-8"
        )
    dataset = TarredAudioToCharDataset(
        pattern,
        str(tmp_path / "manifest__OP_0..2_CL_.json"),
        LABELS,
        SR,
        shard_manifests=True,
        global_rank=1,
        world_size=3,
    )
    assert len(dataset) == 2 and len(list(dataset)) == 2

import pytest
import torch
from nemo.collections.asr.data.audio_to_text import AudioToBPEDataset, AudioToCharDataset
from nemo.collections.asr.data.audio_to_text_dataset import (
    convert_to_config_list,
    get_audio_to_text_bpe_dataset_from_config,
    get_audio_to_text_char_dataset_from_config,
    get_audio_to_text_dataloader,
    get_char_dataset,
)
from nemo.collections.asr.data.bucketing import DurationBucketingBatchSampler
from nemo.collections.asr.data.tarred_dataset_builder import convert_to_tarred_audio_dataset
from nemo.collections.common.tokenizers import SentencePieceTokenizer, create_spt_model
from omegaconf import OmegaConf

LABELS = [" "] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["'"]
TEXTS = ["alpha", "bravo", "charlie delta", "echo", "fox", "golf hotel", "india", "juliet"]


def train_ds(manifest, **overrides):
    return OmegaConf.create(
        {"manifest_filepath": str(manifest), "sample_rate": 16000, "labels": LABELS, "batch_size": 3, "shuffle": False,
         "num_workers": 0, "pin_memory": False, "trim_silence": False, **overrides}
    )  # fmt: skip


def test_char_dataloader_from_a_train_ds_config(make_corpus):
    corpus = make_corpus(TEXTS)
    loader = get_audio_to_text_dataloader(train_ds(corpus.manifest), labels=LABELS)
    batches = list(loader)
    assert [b[0].shape[0] for b in batches] == [3, 3, 2]
    audio, audio_len, tokens, tokens_len = batches[0]
    assert audio.shape == (3, int(audio_len.max())) and tokens.shape == (3, int(tokens_len.max()))
    decoded = ["".join(LABELS[t] for t in row[:n].tolist()) for row, n in zip(tokens, tokens_len)]
    assert decoded == TEXTS[:3]


def test_normalize_transcripts_defaults_to_off_as_in_nemo(make_corpus):
    corpus = make_corpus(["Alpha 1"])
    raw = get_char_dataset(train_ds(corpus.manifest))
    assert "".join(LABELS[t] for t in raw[0][2].tolist()) == "lpha "
    cleaned = get_char_dataset(train_ds(corpus.manifest, normalize_transcripts=True))
    assert "".join(LABELS[t] for t in cleaned[0][2].tolist()) == "alpha one"


def test_shuffle_and_bucketing_keys(make_corpus):
    corpus = make_corpus(TEXTS)
    torch.manual_seed(0)
    shuffled = get_audio_to_text_dataloader(train_ds(corpus.manifest, shuffle=True, drop_last=True))
    assert len(list(shuffled)) == 2
    bucketed = get_audio_to_text_dataloader(
        train_ds(
            corpus.manifest, shuffle=True, use_bucketing=True, num_buckets=2, bucketing_batch_size=[4, 2]
        )
    )
    assert isinstance(bucketed.batch_sampler, DurationBucketingBatchSampler)
    sizes = sorted(batch[0].shape[0] for batch in bucketed)
    assert sizes == [2, 2, 4]


def test_missing_manifest_gives_none(nemo_log):
    assert get_audio_to_text_dataloader({"manifest_filepath": None, "batch_size": 2}) is None
    assert "manifest_filepath` was None" in nemo_log.text


def test_augmentor_config_key_perturbs_the_training_audio(make_corpus):
    corpus = make_corpus(["a"])
    ((clean, *_),) = get_audio_to_text_dataloader(train_ds(corpus.manifest))
    noisy_config = train_ds(
        corpus.manifest, augmentor={"white_noise": {"prob": 1.0, "min_level": -30, "max_level": -30}}
    )
    ((noisy, *_),) = get_audio_to_text_dataloader(noisy_config)
    noise_dbfs = 20 * torch.log10((noisy - clean).pow(2).mean().sqrt())
    assert abs(float(noise_dbfs) + 30) < 1.5
    with pytest.raises(KeyError, match="white_noise"):
        get_audio_to_text_dataloader(
            train_ds(corpus.manifest, augmentor={"no_such_perturbation": {"prob": 1.0}})
        )


def test_skip_missing_audio_key_reaches_the_dataset(make_corpus, write_manifest):
    corpus = make_corpus(["a", "b"])
    manifest = write_manifest(
        corpus.folder / "m.json", corpus.lines + [{"audio_filepath": "no.wav", "duration": 1.0}]
    )
    with pytest.raises(FileNotFoundError, match="no.wav"):
        get_audio_to_text_dataloader(train_ds(manifest))
    assert len(get_audio_to_text_dataloader(train_ds(manifest, skip_missing_audio=True)).dataset) == 2


@pytest.fixture
def tokenizer(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(TEXTS * 20) + "\n", encoding="utf-8")
    return SentencePieceTokenizer(
        create_spt_model(str(text), 45, -1, False, output_dir=str(tmp_path / "spt"))[0]
    )


def test_bpe_dataloader_and_nemo_builders(make_corpus, tokenizer):
    corpus = make_corpus(TEXTS)
    loader = get_audio_to_text_dataloader(train_ds(corpus.manifest), tokenizer=tokenizer)
    assert isinstance(loader.dataset, AudioToBPEDataset)
    _, _, tokens, lengths = next(iter(loader))
    assert [tokenizer.ids_to_text(row[:n].tolist()) for row, n in zip(tokens, lengths)] == TEXTS[:3]
    config = train_ds(corpus.manifest)
    assert isinstance(get_audio_to_text_char_dataset_from_config(config, 0, 0, 1), AudioToCharDataset)
    assert isinstance(
        get_audio_to_text_bpe_dataset_from_config(config, 0, 0, 1, tokenizer), AudioToBPEDataset
    )


def test_tarred_config_streams_shards(make_corpus):
    corpus = make_corpus(TEXTS)
    manifest, _ = convert_to_tarred_audio_dataset(
        str(corpus.manifest), str(corpus.folder / "t"), num_shards=4
    )
    config = train_ds(
        manifest,
        is_tarred=True,
        tarred_audio_filepaths=str(corpus.folder / "t/audio__OP_0..3_CL_.tar"),
        shuffle=True,
        shuffle_n=4,
    )
    loader = get_audio_to_text_dataloader(config)
    texts = [
        "".join(LABELS[t] for t in row[:n].tolist())
        for _, _, tokens, lengths in loader
        for row, n in zip(tokens, lengths)
    ]
    assert sorted(texts) == sorted(TEXTS)
    with pytest.raises(ValueError, match="is_tarred: true but no tarred_audio_filepaths"):
        get_audio_to_text_dataloader(train_ds(manifest, is_tarred=True))


def test_tarred_buckets_yield_per_bucket_batches(make_corpus):
    short = make_corpus(TEXTS[:4], durations=[0.1] * 4, name="short")
    long = make_corpus(TEXTS[4:], durations=[0.3] * 4, name="long")
    buckets = []
    for corpus in (short, long):
        manifest, _ = convert_to_tarred_audio_dataset(
            str(corpus.manifest), str(corpus.folder / "t"), num_shards=2
        )
        buckets.append((manifest, str(corpus.folder / "t/audio_{0..1}.tar")))
    config = train_ds(
        "unused",
        manifest_filepath=[[buckets[0][0]], [buckets[1][0]]],
        tarred_audio_filepaths=[[buckets[0][1]], [buckets[1][1]]],
        is_tarred=True,
        batch_size=1,
        bucketing_batch_size=2,
        bucketing_strategy="fixed_order",
    )
    batches = list(get_audio_to_text_dataloader(config))
    short_len, long_len = int(0.1 * 16000), int(0.3 * 16000)
    assert [tuple(b[0].shape) for b in batches] == [(4, short_len), (2, long_len), (2, long_len)]


def test_convert_to_config_list():
    assert convert_to_config_list("a.json,b.json") == [["a.json", "b.json"]]
    assert convert_to_config_list([["a"], ["b"]]) == [["a"], ["b"]]
    with pytest.raises(ValueError, match="mixes paths and lists"):
        convert_to_config_list(["a", ["b"]])

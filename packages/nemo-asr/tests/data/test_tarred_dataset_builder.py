import json
import tarfile

import numpy as np
import soundfile as sf
from nemo.collections.asr.data.tarred_dataset_builder import convert_to_tarred_audio_dataset, main


def test_shards_hold_the_audio_and_the_manifest_names_members(make_corpus, write_manifest):
    corpus = make_corpus(["a", "b", "c", "d", "e"])
    (corpus.folder / "other").mkdir()
    sf.write(corpus.folder / "other/utt4.wav", np.zeros(800, np.float32), 16000)
    lines = corpus.lines + [
        {"audio_filepath": "other/utt4.wav", "duration": 0.05, "text": "f", "speaker": 7},
        {**corpus.lines[4], "offset": 0.05, "duration": 0.1, "text": "g"},
    ]
    manifest = write_manifest(corpus.folder / "all.json", lines)
    out_manifest, shards = convert_to_tarred_audio_dataset(
        str(manifest), str(corpus.folder / "tarred"), num_shards=2
    )
    assert [s.rsplit("/", 1)[-1] for s in shards] == ["audio_0.tar", "audio_1.tar"]
    written = [json.loads(line) for line in open(out_manifest, encoding="utf-8")]
    assert [w["text"] for w in written] == list("abcdefg")
    assert [w["shard_id"] for w in written] == [0, 0, 0, 0, 1, 1, 1]
    assert written[5]["audio_filepath"] == "utt4-1.wav" and written[5]["speaker"] == 7
    assert written[6]["audio_filepath"] == "utt4.wav" and written[6]["offset"] == 0.05
    with tarfile.open(shards[1]) as tar:
        assert sorted(tar.getnames()) == ["utt4-1.wav", "utt4.wav"]
        assert tar.extractfile("utt4.wav").read() == (corpus.folder / "audio/utt4.wav").read_bytes()
    with tarfile.open(shards[0]) as tar:
        assert tar.getnames() == ["utt0.wav", "utt1.wav", "utt2.wav", "utt3.wav"]


def test_command_line_filters_and_shuffles(make_corpus):
    corpus = make_corpus(list("abcdef"), durations=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    target = corpus.folder / "cli"
    main(["--manifest_path", str(corpus.manifest), "--target_dir", str(target), "--num_shards", "3",
          "--max_duration", "0.45", "--shuffle", "--shuffle_seed", "1", "--sort_in_shards"])  # fmt: skip
    written = [json.loads(line) for line in open(target / "tarred_audio_manifest.json", encoding="utf-8")]
    assert sorted(w["text"] for w in written) == ["a", "b", "c", "d"]
    for shard in range(3):
        durations = [w["duration"] for w in written if w["shard_id"] == shard]
        assert durations == sorted(durations) and 1 <= len(durations) <= 2

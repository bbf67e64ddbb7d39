import io
import tarfile

import pytest
from nemo.collections.asr.data.tarred_audio import (
    expand_braces,
    expand_sharded_filepaths,
    iter_tar_members,
    shuffle_buffer,
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("audio_{0..3}.tar", [f"audio_{i}.tar" for i in range(4)]),
        ("a_{08..10}.tar", ["a_08.tar", "a_09.tar", "a_10.tar"]),
        ("{x,y}_{1..2}", ["x_1", "x_2", "y_1", "y_2"]),
        ("b/{tr{0..1},dev}.tar", ["b/tr0.tar", "b/tr1.tar", "b/dev.tar"]),
        ("{3..1}", ["3", "2", "1"]),
        ("plain_{x}.tar", ["plain_{x}.tar"]),
        ("open_{0..2.tar", ["open_{0..2.tar"]),
    ],
)
def test_expand_braces(pattern, expected):
    assert expand_braces(pattern) == expected


def test_nemo_brace_aliases_and_scatter():
    shards = expand_sharded_filepaths("audio__OP_0..5_CL_.tar", "scatter", world_size=2, global_rank=1)
    assert shards == ["audio_3.tar", "audio_4.tar", "audio_5.tar"]
    assert expand_sharded_filepaths("audio_(0..5).tar", "replicate", 2, 1) == [
        f"audio_{i}.tar" for i in range(6)
    ]
    assert expand_sharded_filepaths(["x_{0..1}.tar", "y.tar"], "scatter", 0, 0) == [
        "x_0.tar",
        "x_1.tar",
        "y.tar",
    ]
    with pytest.raises(ValueError, match="shard_strategy is 'spread'"):
        expand_sharded_filepaths("a.tar", "spread", 1, 0)


def test_scatter_warns_about_left_out_shards(nemo_log):
    assert expand_sharded_filepaths("s_{0..4}.tar", "scatter", 2, 0) == ["s_0.tar", "s_1.tar"]
    assert "1 shards will not be read" in nemo_log.text


def test_iter_tar_members_streams_regular_files_only(tmp_path):
    path = tmp_path / "shard.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in (("dir/a.wav", b"AAA"), ("b.flac", b"BB")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("c.wav")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    assert list(iter_tar_members(str(path))) == [("a.wav", b"AAA"), ("b.flac", b"BB")]


def test_missing_and_broken_shards_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"gone.tar.*'tarred_audio_filepaths'"):
        list(iter_tar_members(str(tmp_path / "gone.tar")))
    broken = tmp_path / "broken.tar"
    broken.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(RuntimeError, match="broken.tar.*not a readable tar archive"):
        list(iter_tar_members(str(broken)))


def test_shuffle_buffer_permutes_and_is_seeded():
    import random

    items = list(range(50))
    first = list(shuffle_buffer(items, 10, random.Random(3)))
    assert sorted(first) == items and first != items
    assert first == list(shuffle_buffer(items, 10, random.Random(3)))
    assert list(shuffle_buffer(items, 0, random.Random(3))) == items

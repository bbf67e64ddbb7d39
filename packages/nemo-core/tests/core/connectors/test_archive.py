"""Safe .nemo archive reading (member checks, one-by-one extraction) and atomic writing."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
from nemo.core.connectors.archive import (
    ArchiveError,
    UnsafeArchiveError,
    extract_archive,
    read_archive_member,
    write_archive,
)

CONFIG = b"hidden: 4\n"
WEIGHTS = b"not really weights"


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, io.BytesIO(data)


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def _build(path: Path, members: list[tuple[tarfile.TarInfo, io.BytesIO | None]], mode: str = "w:") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return path


def _snapshot(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    folder.mkdir()
    (folder / "model_config.yaml").write_bytes(CONFIG)
    (folder / "model_weights.ckpt").write_bytes(WEIGHTS)
    (folder / "0123456789abcdef0123456789abcdef_vocab.txt").write_bytes(b"a\nb\n")
    return folder


# ------------------------------------------------------------------------------------------------ writing
def test_write_archive_uses_nemo_layout(tmp_path, source_dir):
    archive = write_archive(tmp_path / "model.nemo", source_dir)
    raw = archive.read_bytes()
    assert raw[:2] != b"\x1f\x8b"  # not gzip
    with tarfile.open(archive, "r:") as tar:
        members = tar.getmembers()
    assert [member.name for member in members] == [
        ".",
        "./0123456789abcdef0123456789abcdef_vocab.txt",
        "./model_config.yaml",
        "./model_weights.ckpt",
    ]
    assert members[0].isdir() and all(member.isreg() for member in members[1:])
    # The directory entry is stored as "./", as NeMo's tar.add(folder, arcname=".") writes it.
    assert b"./\x00" in raw[: 3 * 512]
    assert sorted(os.listdir(tmp_path)) == ["model.nemo", "source"]  # no temporary file left behind


def test_write_archive_replaces_atomically_and_cleans_up_on_failure(tmp_path, source_dir):
    destination = tmp_path / "model.nemo"
    destination.write_bytes(b"previous archive")
    os.mkfifo(source_dir / "a_fifo")
    with pytest.raises(ValueError, match="not a regular file"):
        write_archive(destination, source_dir)
    assert destination.read_bytes() == b"previous archive"
    assert sorted(os.listdir(tmp_path)) == ["model.nemo", "source"]

    (source_dir / "a_fifo").unlink()
    write_archive(destination, source_dir)
    assert read_archive_member(destination, "model_config.yaml") == CONFIG
    assert sorted(os.listdir(tmp_path)) == ["model.nemo", "source"]


def test_write_archive_refuses_links(tmp_path, source_dir):
    (source_dir / "link").symlink_to(source_dir / "model_config.yaml")
    with pytest.raises(ValueError, match="symbolic link"):
        write_archive(tmp_path / "model.nemo", source_dir)


def test_write_archive_needs_an_existing_folder(tmp_path, source_dir):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_archive(tmp_path / "missing" / "model.nemo", source_dir)


# ------------------------------------------------------------------------------------------------ reading
def test_extract_archive_round_trip(tmp_path, source_dir):
    archive = write_archive(tmp_path / "model.nemo", source_dir)
    out = tmp_path / "out"
    out.mkdir()
    written = extract_archive(archive, out)
    assert sorted(path.name for path in written) == sorted(os.listdir(source_dir))
    for path in written:
        assert path.read_bytes() == (source_dir / path.name).read_bytes()


@pytest.mark.parametrize("name", ["model_config.yaml", "./model_config.yaml"])
def test_read_member_with_or_without_dot_slash(tmp_path, name):
    plain = _build(tmp_path / "plain.nemo", [_file("model_config.yaml", CONFIG)])
    dotted = _build(tmp_path / "dotted.nemo", [_file("./model_config.yaml", CONFIG)])
    assert read_archive_member(plain, name) == CONFIG
    assert read_archive_member(dotted, name) == CONFIG


def test_gzip_archive_of_older_nemo_is_read(tmp_path):
    archive = _build(
        tmp_path / "old.nemo",
        [_file("./model_config.yaml", CONFIG), _file("./model_weights.ckpt", WEIGHTS)],
        mode="w:gz",
    )
    assert archive.read_bytes()[:2] == b"\x1f\x8b"
    assert read_archive_member(archive, "model_config.yaml") == CONFIG
    out = tmp_path / "out"
    out.mkdir()
    extract_archive(archive, out)
    assert (out / "model_weights.ckpt").read_bytes() == WEIGHTS


def test_missing_member_lists_what_is_there(tmp_path):
    archive = _build(tmp_path / "a.nemo", [_file("./model_weights.ckpt", WEIGHTS)])
    with pytest.raises(FileNotFoundError, match=r"no member 'model_config.yaml'.*model_weights.ckpt"):
        read_archive_member(archive, "model_config.yaml")


@pytest.mark.parametrize(
    "payload",
    [b"", b"this is not a tar file at all" * 40, gzip.compress(b"gzip but not a tar" * 40)],
    ids=["empty", "text", "gzip-not-tar"],
)
def test_non_tar_files_get_a_clear_error(tmp_path, payload):
    bogus = tmp_path / "bogus.nemo"
    bogus.write_bytes(payload)
    with pytest.raises(ArchiveError, match="not a .nemo archive"):
        read_archive_member(bogus, "model_config.yaml")


def test_truncated_archive_gets_a_clear_error(tmp_path, source_dir):
    archive = write_archive(tmp_path / "model.nemo", source_dir)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: raw.index(b"a\nb\n") + 2])  # cut inside the first file's data
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError, match="truncated"):
        extract_archive(archive, out)


def test_missing_archive_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_to"):
        read_archive_member(tmp_path / "nope.nemo", "model_config.yaml")


# -------------------------------------------------------------------------------------- hostile archives
def _hostile_members(outside: Path) -> dict[str, list]:
    return {
        "dot-dot": [_file("./model_config.yaml", CONFIG), _file("../escaped.txt", b"pwned")],
        "nested-dot-dot": [_file("./sub/../../escaped.txt", b"pwned")],
        "absolute": [_file(str(outside / "escaped.txt"), b"pwned")],
        "symlink": [_special("./model_config.yaml", tarfile.SYMTYPE, str(outside / "escaped.txt"))],
        "hardlink": [_special("./model_weights.ckpt", tarfile.LNKTYPE, "/etc/passwd")],
        "char-device": [_special("./dev", tarfile.CHRTYPE)],
        "block-device": [_special("./disk", tarfile.BLKTYPE)],
        "fifo": [_special("./pipe", tarfile.FIFOTYPE)],
        "duplicate": [_file("./model_config.yaml", CONFIG), _file("model_config.yaml", b"other")],
    }


@pytest.mark.parametrize(
    "kind",
    [
        "dot-dot",
        "nested-dot-dot",
        "absolute",
        "symlink",
        "hardlink",
        "char-device",
        "block-device",
        "fifo",
        "duplicate",
    ],
)
def test_hostile_archive_is_refused_before_anything_is_written(tmp_path, kind):
    outside = tmp_path / "victim"
    outside.mkdir()
    archive = _build(
        tmp_path / "evil.nemo", [_file("./first.txt", b"safe")] + _hostile_members(outside)[kind]
    )
    out = tmp_path / "work" / "extract"
    out.mkdir(parents=True)
    before = _snapshot(tmp_path)

    with pytest.raises(UnsafeArchiveError) as info:
        extract_archive(archive, out)
    message = str(info.value)
    assert "evil.nemo" in message and "model.save_to()" in message
    assert _snapshot(tmp_path) == before
    assert list(out.iterdir()) == []

    with pytest.raises(UnsafeArchiveError):
        read_archive_member(archive, "first.txt")

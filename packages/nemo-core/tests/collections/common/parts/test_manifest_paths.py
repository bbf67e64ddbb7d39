"""get_full_path / is_tarred_dataset: paths of manifest lines resolved as NeMo 1.23 resolves them."""

import os

import pytest
from nemo.collections.common.parts.preprocessing import manifest
from nemo.collections.common.parts.preprocessing.manifest import get_full_path, is_tarred_dataset
from nemo.collections.common.parts.utils import flatten


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    """A data folder holding wavs/a.wav, with the working directory elsewhere."""
    (tmp_path / "data" / "wavs").mkdir(parents=True)
    (tmp_path / "data" / "wavs" / "a.wav").touch()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "data"


def test_relative_path_is_found_beside_the_manifest_or_in_data_dir(data_dir):
    expected = str(data_dir / "wavs" / "a.wav")
    assert get_full_path("wavs/a.wav", manifest_file=str(data_dir / "train.json")) == expected
    assert get_full_path(["wavs/a.wav"], data_dir=str(data_dir)) == [expected]


def test_missing_relative_file_is_returned_unchanged(data_dir):
    assert get_full_path("wavs/missing.wav", manifest_file=str(data_dir / "train.json")) == "wavs/missing.wav"


def test_file_found_from_the_working_directory_wins(data_dir):
    (data_dir.parent / "cwd" / "wavs").mkdir()
    (data_dir.parent / "cwd" / "wavs" / "a.wav").touch()
    assert get_full_path("wavs/a.wav", manifest_file=str(data_dir / "train.json")) == "wavs/a.wav"


def test_absolute_long_and_home_paths_are_not_joined(data_dir):
    assert get_full_path("/abs/x.wav", manifest_file=str(data_dir / "m.json")) == "/abs/x.wav"
    assert get_full_path("~/x.wav", data_dir=str(data_dir), audio_file_len_limit=3) == os.path.expanduser(
        "~/x.wav"
    )


def test_tarred_member_names_are_not_resolved(data_dir):
    (data_dir / "a.wav").touch()
    assert get_full_path("a.wav", manifest_file=str(data_dir / "tarred_audio_manifest.json")) == "a.wav"
    assert is_tarred_dataset("a.wav", "/x/sharded_manifests/manifest_12.json")
    assert not is_tarred_dataset("a.wav", "/x/sharded_manifests/manifest_12.json.bak")
    assert not is_tarred_dataset("d/a.wav", "tarred_audio_manifest.json")
    assert not is_tarred_dataset("a.wav", None)


def test_store_paths_map_to_the_local_cache(data_dir, monkeypatch):
    monkeypatch.setattr(
        manifest, "datastore_path_to_local_path", lambda path: str(data_dir / path[len("ais://") :])
    )
    assert get_full_path("wavs/a.wav", data_dir="ais://") == str(data_dir / "wavs" / "a.wav")


def test_errors_name_the_arguments():
    with pytest.raises(ValueError, match="manifest_file or data_dir"):
        get_full_path("no/such/file.wav")
    with pytest.raises(ValueError, match="cannot be used simultaneously"):
        get_full_path("no/such/file.wav", manifest_file="m.json", data_dir="d")
    with pytest.raises(ValueError, match="Unexpected audio_file type"):
        get_full_path(("a", "b"))


def test_flatten_keeps_strings_whole():
    assert flatten(["ab", [("c", [1]), [[2.5]]], b"x"]) == ["ab", "c", 1, 2.5, b"x"]

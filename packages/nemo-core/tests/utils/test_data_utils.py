"""nemo.utils.data_utils: store paths resolved offline; expected values follow NeMo 1.23's documented behaviour."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from nemo.utils import data_utils


def test_store_path_checks_and_parsing() -> None:
    assert data_utils.is_datastore_path("ais://bucket/object")
    assert not data_utils.is_datastore_path("ais/bucket/object")
    assert not data_utils.is_datastore_path("/local/file")
    assert data_utils.is_tarred_path("/a/audio_3.tar") and not data_utils.is_tarred_path("/a/audio.tar.gz")
    assert data_utils.bucket_and_object_from_uri("ais://bucket_2/object/is/here") == (
        "bucket_2",
        "object/is/here",
    )
    with pytest.raises(ValueError, match="not a data-store path"):
        data_utils.bucket_and_object_from_uri("local/file")
    assert data_utils.ais_endpoint_to_dir("http://1.2.3.4:567") == os.path.join("1.2.3.4", "567")
    with pytest.raises(ValueError, match="http://host:port"):
        data_utils.ais_endpoint_to_dir("local:123")
    assert (
        data_utils.datastore_path_to_webdataset_url("ais://test/path")
        == "pipe:ais get ais://test/path - || true"
    )


def test_cache_shared_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEMO_DATA_STORE_CACHE_SHARED", raising=False)
    assert data_utils.is_datastore_cache_shared() is True
    monkeypatch.setenv("NEMO_DATA_STORE_CACHE_SHARED", "0")
    assert data_utils.is_datastore_cache_shared() is False
    monkeypatch.setenv("NEMO_DATA_STORE_CACHE_SHARED", "2")
    with pytest.raises(ValueError, match="NEMO_DATA_STORE_CACHE_SHARED"):
        data_utils.is_datastore_cache_shared()


def test_local_paths_pass_through_and_cached_objects_resolve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data_utils.DataStoreObject("/data/train.json").get() == "/data/train.json"
    monkeypatch.setenv("NEMO_DATA_STORE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("AIS_ENDPOINT", "http://store:51080")
    cached = tmp_path / "ais" / "store" / "51080" / "speech" / "train" / "manifest.json"
    assert data_utils.datastore_path_to_local_path("ais://speech/train/manifest.json") == str(cached)

    obj = data_utils.DataStoreObject("ais://speech/train/manifest.json")
    with pytest.raises(data_utils.DataStoreUnavailableError, match="downloads nothing"):
        obj.get()
    cached.parent.mkdir(parents=True)
    cached.write_text("{}\n")
    assert obj.get() == str(cached) and obj.local_path == str(cached)
    assert data_utils.datastore_object_get(data_utils.DataStoreObject("ais://speech/train/manifest.json"))
    with pytest.raises(data_utils.DataStoreUnavailableError, match="force=True"):
        data_utils.get_datastore_object("ais://speech/train/manifest.json", force=True)


def test_store_path_without_endpoint_and_unsupported_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIS_ENDPOINT", raising=False)
    with pytest.raises(RuntimeError, match="AIS_ENDPOINT"):
        data_utils.get_datastore_object("ais://b/o")
    with pytest.raises(NotImplementedError, match="local_path"):
        data_utils.DataStoreObject("ais://b/o", local_path="/x")
    with pytest.raises(NotImplementedError, match="put"):
        data_utils.DataStoreObject("/x").put()


def test_ais_binary_is_looked_up_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "ais"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert data_utils.ais_binary() == str(binary)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    if not os.path.isfile("/usr/local/bin/ais"):
        with pytest.raises(RuntimeError, match="not on PATH"):
            data_utils.ais_binary()

"""ASR manifest readers outside ``nemo.collections.asr.data.manifest`` read lines through ``iter_text_lines``.

Each reader gets the same result from a Windows-style manifest (UTF-8 byte-order mark, ``"\\r\\n"`` endings, a
lone ``"\\r"`` inside a line, a blank line) as from the plain one, and a broken JSON line is reported as
``<manifest>:<line>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from nemo.collections.asr.data.audio_to_audio import read_audio_collection
from nemo.collections.asr.data.audio_to_text import cache_datastore_manifests
from nemo.collections.asr.data.audio_to_text_prompted import read_prompted_manifest
from nemo.collections.asr.data.feature_to_label import read_feature_manifests
from nemo.collections.asr.data.manifest import ManifestError
from nemo.collections.asr.parts.utils import eval_utils, speaker_utils, transcribe_utils
from nemo.utils.data_utils import DataStoreUnavailableError
from omegaconf import OmegaConf

ENTRIES = [
    {"audio_filepath": "a.wav", "duration": 1.0, "offset": 0.0, "text": "the cat", "pred_text": "the cat"},
    {"audio_filepath": "b.wav", "duration": 1.5, "offset": 0.5, "text": "a dog", "pred_text": "a dot"},
    {"audio_filepath": "c.wav", "duration": 2.0, "offset": 1.0, "text": "hello world", "pred_text": "hello"},
]
for _entry, _stem in zip(ENTRIES, "abc"):
    _entry.update(uniq_id=_stem, label="speech", feature_file=f"{_stem}.pt", rttm_filepath=f"{_stem}.rttm")


def _plain_text() -> str:
    """The manifest as json.dumps lines ended by ``"\\n"``, and a blank last line."""
    return "".join(json.dumps(entry) + "\n" for entry in ENTRIES) + "\n"


def _windows_bytes() -> bytes:
    """The same manifest with a byte-order mark, ``"\\r\\n"`` endings and a lone ``"\\r"`` inside line 2."""
    lines = [json.dumps(entry) for entry in ENTRIES]
    lines[1] = lines[1].replace(", ", ",\r ", 1)
    return b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _broken_text() -> str:
    """Lines 1 and 2 valid, line 3 cut off in the middle of its JSON object."""
    return json.dumps(ENTRIES[0]) + "\n" + json.dumps(ENTRIES[1]) + "\n" + '{"audio_filepath": "c.wav", \n'


def _subsegments(path: Path) -> str:
    out = path.with_name("subsegments.json")
    speaker_utils.segments_manifest_to_subsegments_manifest(
        str(path), str(out), window=0.5, shift=0.25, include_uniq_id=True
    )
    return out.read_text()


def _vad_survivors(path: Path) -> list[str]:
    mapping = {"a": {}, "b": {}, "c": {}, "silent": {}}
    speaker_utils.validate_vad_manifest(mapping, str(path))
    return sorted(mapping)


def _prepare(path: Path) -> object:
    return transcribe_utils.prepare_audio_data(
        OmegaConf.create({"audio_dir": None, "dataset_manifest": str(path)})
    )


def _write_transcription(path: Path) -> str:
    out = path.with_name("transcribed.json")
    cfg = OmegaConf.create({"output_filename": str(out), "audio_dir": None, "dataset_manifest": str(path)})
    transcribe_utils.write_transcription(["x", "y", "z"], cfg, "model")
    return out.read_text()


def _wer(path: Path) -> tuple[object, str]:
    out = path.with_name("scored.json")
    _, totals, _ = eval_utils.cal_write_wer(str(path), output_filename=str(out))
    return totals, out.read_text()


READERS: dict[str, Callable[[Path], object]] = {
    "audio_rttm_map": lambda path: speaker_utils.audio_rttm_map(str(path)),
    "get_uniq_id_list_from_manifest": lambda path: speaker_utils.get_uniq_id_list_from_manifest(str(path)),
    "segments_manifest_to_subsegments_manifest": _subsegments,
    "validate_vad_manifest": _vad_survivors,
    "extract_timestamps": lambda path: speaker_utils.extract_timestamps(str(path)),
    "prepare_audio_data": _prepare,
    "write_transcription": _write_transcription,
    "compute_metrics_per_sample": lambda path: transcribe_utils.compute_metrics_per_sample(str(path)),
    "read_feature_manifests": lambda path: read_feature_manifests(str(path), label_key="label"),
    "read_audio_collection": lambda path: read_audio_collection(
        str(path), {"input_signal": "audio_filepath", "target_signal": None}
    ),
    "cal_write_wer": _wer,
    "read_prompted_manifest": lambda path: read_prompted_manifest(str(path)),
}


@pytest.mark.parametrize("name", READERS)
def test_bom_crlf_manifest_reads_as_the_plain_one(tmp_path: Path, name: str) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(_plain_text(), encoding="utf-8", newline="")
    expected = READERS[name](manifest)
    manifest.write_bytes(_windows_bytes())
    assert READERS[name](manifest) == expected


@pytest.mark.parametrize("name", READERS)
def test_broken_json_line_is_named_by_file_and_line(tmp_path: Path, name: str) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(_broken_text(), encoding="utf-8", newline="")
    with pytest.raises(ManifestError, match=re.escape(f"{manifest}:3: not valid JSON")):
        READERS[name](manifest)


def _store_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """``ais://bucket/set/manifest.json`` and its place in a local data-store cache under ``tmp_path``."""
    monkeypatch.setenv("AIS_ENDPOINT", "http://store:51080")
    monkeypatch.setenv("NEMO_DATA_STORE_CACHE_DIR", str(tmp_path))
    cached = tmp_path / "ais" / "store" / "51080" / "bucket" / "set"
    cached.mkdir(parents=True)
    return "ais://bucket/set/manifest.json", cached / "manifest.json"


def test_cache_datastore_manifests_reads_a_bom_crlf_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_manifest, cached = _store_manifest(tmp_path, monkeypatch)
    cached.write_bytes(_windows_bytes())
    (cached.parent / "a.wav").write_bytes(b"RIFF")
    (cached.parent / "b.wav").write_bytes(b"RIFF")
    # Line 3's audio is not cached yet: the error naming it shows every line was read.
    with pytest.raises(DataStoreUnavailableError, match="ais://bucket/set/c.wav"):
        cache_datastore_manifests(store_manifest, cache_audio=True, num_workers=1)
    (cached.parent / "c.wav").write_bytes(b"RIFF")
    cache_datastore_manifests(store_manifest, cache_audio=True, num_workers=1)


def test_cache_datastore_manifests_names_a_broken_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_manifest, cached = _store_manifest(tmp_path, monkeypatch)
    cached.write_text(_broken_text(), encoding="utf-8")
    with pytest.raises(ManifestError, match=re.escape(f"{cached}:3: not valid JSON")):
        cache_datastore_manifests(store_manifest, cache_audio=True, num_workers=1)

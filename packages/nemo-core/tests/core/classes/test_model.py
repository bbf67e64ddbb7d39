"""Model and PretrainedModelInfo: cheap import, name lookup, offline-only from_pretrained."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from nemo.core.classes.target_allowlist import UnsafeTargetError
from omegaconf import OmegaConf

CATALOG: list[PretrainedModelInfo] = []


class CatalogModel(ModelPT):
    """Only its pretrained catalog matters here; models are restored with return_config=True."""

    def setup_training_data(self, train_data_config):
        self._train_dl = None

    def setup_validation_data(self, val_data_config):
        self._validation_dl = None

    @classmethod
    def list_available_models(cls):
        return list(CATALOG)


@pytest.fixture
def catalog():
    CATALOG.clear()
    yield CATALOG
    CATALOG.clear()


def _nemo_file(path: Path, marker_value: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    weights = io.BytesIO()
    torch.save({}, weights)
    members = {
        "./model_config.yaml": OmegaConf.to_yaml(OmegaConf.create({"which": marker_value})).encode(),
        "./model_weights.ckpt": weights.getvalue(),
    }
    with tarfile.open(path, "w:") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_model_module_imports_no_torch():
    code = (
        "import sys, json\n"
        "from nemo.core.classes.model import PretrainedModelInfo\n"
        "PretrainedModelInfo('a', 'b', 'c')\n"
        "print(json.dumps(sorted(m for m in ('torch', 'pytorch_lightning', 'hydra') if m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_pretrained_model_info_is_one_class_under_every_import_path():
    import nemo.core
    import nemo.core.classes
    import nemo.core.classes.common
    import nemo.core.plugins

    paths = [
        nemo.core.PretrainedModelInfo,
        nemo.core.classes.PretrainedModelInfo,
        nemo.core.classes.common.PretrainedModelInfo,
        nemo.core.plugins.PretrainedModelInfo,
    ]
    assert all(found is PretrainedModelInfo for found in paths)


def test_pretrained_model_info_fields_equality_and_aliases():
    info = PretrainedModelInfo("stt_tiny", "tiny model", "https://host/stt_tiny.nemo", aliases=["tiny"])
    assert info.class_ is None
    assert info.matches("stt_tiny") and info.matches("tiny") and not info.matches("other")
    same_location = PretrainedModelInfo("renamed", "x", "https://host/stt_tiny.nemo")
    same_name = PretrainedModelInfo("stt_tiny", "x", "elsewhere.nemo")
    assert info == same_location and hash(info) == hash(same_location)
    assert info == same_name
    assert info != PretrainedModelInfo("other", "x", "other.nemo")
    assert len({info, same_location}) == 1


def test_get_available_model_names(catalog):
    catalog += [PretrainedModelInfo("a", "", "a.nemo"), PretrainedModelInfo("b", "", "b.nemo")]
    assert CatalogModel.get_available_model_names() == ["a", "b"]


def test_from_pretrained_with_a_local_path(tmp_path):
    archive = _nemo_file(tmp_path / "local.nemo", "local")
    assert CatalogModel.from_pretrained(str(archive), return_config=True).which == "local"


def test_from_pretrained_finds_registered_name_in_cache_dir(tmp_path, monkeypatch, catalog):
    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path / "cache"))
    _nemo_file(tmp_path / "cache" / "stt_tiny.nemo", "from-cache")
    catalog.append(PretrainedModelInfo("stt_tiny", "tiny", "stt_tiny.nemo", aliases=["tiny"]))
    assert CatalogModel.from_pretrained("stt_tiny", return_config=True).which == "from-cache"
    assert CatalogModel.from_pretrained("tiny", return_config=True).which == "from-cache"


def test_from_pretrained_reuses_nemo_cache_layout_for_urls(tmp_path, monkeypatch, catalog):
    location = "https://models.example.com/v1/stt_tiny.nemo"
    description = "tiny model"
    subfolder = hashlib.md5((location + description).encode("utf-8")).hexdigest()
    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path))
    _nemo_file(tmp_path / "stt_tiny" / subfolder / "stt_tiny.nemo", "nemo-layout")
    catalog.append(PretrainedModelInfo("stt_tiny", description, location))
    assert (
        CatalogModel.from_pretrained("stt_tiny", refresh_cache=True, return_config=True).which
        == "nemo-layout"
    )


def test_from_pretrained_with_file_url(tmp_path, catalog):
    archive = _nemo_file(tmp_path / "some where" / "m.nemo", "file-url")
    catalog.append(PretrainedModelInfo("m", "", archive.as_uri()))
    assert CatalogModel.from_pretrained("m", return_config=True).which == "file-url"


def test_from_pretrained_missing_file_says_where_it_looked(tmp_path, monkeypatch, catalog):
    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path / "cache"))
    catalog.append(PretrainedModelInfo("stt_big", "big", "https://models.example.com/stt_big.nemo"))
    with pytest.raises(FileNotFoundError) as info:
        CatalogModel.from_pretrained("stt_big")
    message = str(info.value)
    assert "nothing is downloaded" in message
    assert str(tmp_path / "cache" / "stt_big.nemo") in message
    assert str(tmp_path / "cache" / "stt_big" / "stt_big.nemo") in message
    assert "NEMO_CACHE_DIR" in message


def test_from_pretrained_unknown_name_lists_known_ones(catalog):
    catalog.append(PretrainedModelInfo("stt_tiny", "", "stt_tiny.nemo"))
    with pytest.raises(FileNotFoundError, match=r"'no_such_model'.*\['stt_tiny'\]"):
        CatalogModel.from_pretrained("no_such_model")


def test_from_pretrained_checks_class_given_by_path(tmp_path, catalog):
    archive = _nemo_file(tmp_path / "m.nemo", "x")
    catalog.append(PretrainedModelInfo("m", "", str(archive), class_="os.system"))
    with pytest.raises(UnsafeTargetError, match="PretrainedModelInfo 'm'"):
        CatalogModel.from_pretrained("m", return_config=True)

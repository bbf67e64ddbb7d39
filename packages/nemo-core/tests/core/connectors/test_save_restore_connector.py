"""SaveRestoreConnector on real archives: NeMo 1.23 fixtures, hostile configs and weights, artifacts."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import types
from pathlib import Path

import pytest
import torch
from nemo.core.classes.modelPT import ModelPT
from nemo.core.classes.target_allowlist import UnsafeTargetError
from nemo.core.connectors.restore_context import restoring
from nemo.core.connectors.save_restore_connector import SaveRestoreConnector
from nemo.core.connectors.weights import UnsafeCheckpointError
from nemo.utils.model_utils import ArtifactPathType
from omegaconf import DictConfig, OmegaConf

FIXTURES = Path(__file__).resolve().parents[5] / "tests" / "data" / "nemo-1.23"
FIXTURE_NAMES = ["conformer_ctc_char_tiny", "quartznet_ctc_char_tiny"]


class Payload:
    """Pickles as a call to os.system that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _archive(path: Path, config: dict, weights: bytes) -> Path:
    """A .nemo archive written with tarfile directly (NeMo's member names)."""
    members = {
        "./model_config.yaml": OmegaConf.to_yaml(OmegaConf.create(config)).encode(),
        "./model_weights.ckpt": weights,
    }
    with tarfile.open(path, "w:") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture
def private_tempdir(tmp_path, monkeypatch) -> Path:
    """Route tempfile's folders into a fresh folder so a test can see what restore leaves behind."""
    folder = tmp_path / "tempdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ---------------------------------------------------------------------------------- NeMo 1.23 fixtures
def test_connector_names():
    connector = SaveRestoreConnector()
    assert connector.model_config_yaml == "model_config.yaml"
    assert connector.model_weights_ckpt == "model_weights.ckpt"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_config_is_read_with_return_config(name):
    archive = FIXTURES / f"{name}.nemo"
    config = ModelPT.restore_from(str(archive), return_config=True)
    with tarfile.open(archive) as tar:
        expected = OmegaConf.create(tar.extractfile("./model_config.yaml").read().decode())
    assert isinstance(config, DictConfig)
    assert config == expected
    assert config.target == "nemo.collections.asr.models.ctc_models.EncDecCTCModel"
    assert len(config.labels) == 28


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_state_dict_is_extracted(name, tmp_path):
    archive = FIXTURES / f"{name}.nemo"
    with tarfile.open(archive) as tar:
        expected = torch.load(io.BytesIO(tar.extractfile("./model_weights.ckpt").read()), weights_only=True)

    state_dict = SaveRestoreConnector().extract_state_dict_from(str(archive), tmp_path / "whole")
    assert list(state_dict) == list(expected)
    assert all(torch.equal(state_dict[key], expected[key]) for key in expected)
    saved = torch.load(tmp_path / "whole" / "model_weights.ckpt", weights_only=True)
    assert all(torch.equal(saved[key], expected[key]) for key in expected)

    SaveRestoreConnector().extract_state_dict_from(str(archive), tmp_path / "split", split_by_module=True)
    modules = {key.split(".", 1)[0] for key in expected}
    assert sorted(os.listdir(tmp_path / "split")) == sorted(f"{module}.ckpt" for module in modules)
    encoder = torch.load(tmp_path / "split" / "encoder.ckpt", weights_only=True)
    assert set(encoder) == {key.split(".", 1)[1] for key in expected if key.startswith("encoder.")}


# ------------------------------------------------------------------------------------ hostile content
def test_pickle_payload_in_weights_is_refused_and_not_run(tmp_path, private_tempdir):
    marker = tmp_path / "pwned"
    weights = _saved({"layer.weight": torch.ones(2), "evil": Payload(marker)})
    archive = _archive(tmp_path / "evil.nemo", {"hidden": 2}, weights)

    with pytest.raises(UnsafeCheckpointError, match="Nothing in it was executed") as info:
        ModelPT.restore_from(str(archive), map_location="cpu")
    assert "weights_only=False" in str(info.value)
    assert not marker.exists()
    assert list(private_tempdir.iterdir()) == []

    with pytest.raises(UnsafeCheckpointError):
        SaveRestoreConnector().extract_state_dict_from(str(archive), tmp_path / "out")
    assert not marker.exists()


def test_return_config_never_reads_the_weights(tmp_path):
    marker = tmp_path / "pwned"
    archive = _archive(tmp_path / "a.nemo", {"hidden": 2}, _saved({"evil": Payload(marker)}))
    assert ModelPT.restore_from(str(archive), return_config=True) == OmegaConf.create({"hidden": 2})
    assert not marker.exists()


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"layer": {"_target_": "os.system", "command": "touch MARKER"}}, "layer._target_"),
        ({"layers": [{"_target_": "subprocess.run", "args": ["touch", "MARKER"]}]}, "layers[0]._target_"),
        ({"layer": {"cls": "os.system", "params": {"command": "touch MARKER"}}}, "layer.cls"),
    ],
)
def test_hostile_target_in_archive_config_is_refused(tmp_path, private_tempdir, config, key):
    marker = tmp_path / "pwned"
    text = OmegaConf.to_yaml(OmegaConf.create(config)).replace("MARKER", str(marker))
    archive = _archive(tmp_path / "evil.nemo", OmegaConf.to_container(OmegaConf.create(text)), _saved({}))

    with pytest.raises(UnsafeTargetError) as info:
        SaveRestoreConnector().restore_from(ModelPT, str(archive), map_location="cpu")
    assert repr(key) in str(info.value) and "evil.nemo" in str(info.value)
    assert not marker.exists()
    assert list(private_tempdir.iterdir()) == []


def test_hostile_model_target_in_archive_is_refused(tmp_path):
    archive = _archive(tmp_path / "evil.nemo", {"target": "os.system"}, _saved({}))
    with pytest.raises(UnsafeTargetError, match="'os.system'.*evil.nemo"):
        ModelPT.restore_from(str(archive), map_location="cpu")


def test_restore_of_abstract_class_without_importable_target_explains(tmp_path):
    archive = _archive(tmp_path / "a.nemo", {"target": "nemo.collections.not_installed.Model"}, _saved({}))
    with pytest.raises(TypeError, match="ModelPT is abstract"):
        ModelPT.restore_from(str(archive), map_location="cpu")


def test_missing_archive(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nemo"):
        ModelPT.restore_from(str(tmp_path / "nope.nemo"))


# ------------------------------------------------------------------------------------------ artifacts
def _model_like() -> types.SimpleNamespace:
    """The two attributes register_artifact uses: ``artifacts`` and ``_cfg``."""
    return types.SimpleNamespace(artifacts={}, _cfg=OmegaConf.create({"tokenizer": {"model_path": None}}))


def test_register_local_artifact_updates_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("vocab.txt").write_text("a\n")
    model = _model_like()
    path = SaveRestoreConnector().register_artifact(model, "tokenizer.model_path", "vocab.txt")
    assert path == str(tmp_path / "vocab.txt")
    assert model._cfg.tokenizer.model_path == path
    item = model.artifacts["tokenizer.model_path"]
    assert item.path == path and item.path_type == ArtifactPathType.LOCAL_PATH


def test_register_nemo_artifact_resolves_inside_restore_folder(tmp_path):
    name = "0123456789abcdef0123456789abcdef_vocab.txt"
    (tmp_path / name).write_text("a\n")
    model = _model_like()
    with restoring(tmp_path, "model.nemo"):
        path = SaveRestoreConnector().register_artifact(model, "tokenizer.model_path", f"nemo:{name}")
    assert path == str(tmp_path / name)
    assert model.artifacts["tokenizer.model_path"].path_type == ArtifactPathType.TAR_PATH
    assert model.artifacts["tokenizer.model_path"].hashed_path == f"nemo:{name}"


def test_register_bare_name_of_older_archives_resolves_inside_restore_folder(tmp_path, monkeypatch):
    (tmp_path / "restore").mkdir()
    (tmp_path / "restore" / "vocab.txt").write_text("a\n")
    monkeypatch.chdir(tmp_path)
    with restoring(tmp_path / "restore", "model.nemo"):
        path = SaveRestoreConnector().register_artifact(
            _model_like(), "tokenizer.model_path", "/old/machine/vocab.txt"
        )
    assert path == str(tmp_path / "restore" / "vocab.txt")


def test_register_artifact_errors_say_what_to_do(tmp_path):
    connector = SaveRestoreConnector()
    with pytest.raises(FileNotFoundError, match="no archive is being restored"):
        connector.register_artifact(_model_like(), "tokenizer.model_path", "nemo:abc_vocab.txt")
    with pytest.raises(FileNotFoundError, match="verify_src_exists=False"):
        connector.register_artifact(_model_like(), "tokenizer.model_path", str(tmp_path / "missing.txt"))
    with restoring(tmp_path, "model.nemo"), pytest.raises(FileNotFoundError, match="model.nemo"):
        connector.register_artifact(_model_like(), "tokenizer.model_path", "nemo:abc_vocab.txt")
    with pytest.raises(ValueError, match="without folders"):
        connector.register_artifact(_model_like(), "tokenizer.model_path", "nemo:../../etc/passwd")
    model = _model_like()
    assert (
        connector.register_artifact(model, "tokenizer.model_path", str(tmp_path / "missing"), False) is None
    )
    assert model.artifacts == {}

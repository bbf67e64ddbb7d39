"""NeMo models inside NeMo models (register_nemo_submodule), AppState's model registry, and which ``target`` a
restore accepts without the allow-list: the class ``restore_from`` was called on (or a user subclass)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from nemo.core.classes.modelPT import ModelPT
from nemo.core.classes.target_allowlist import UnsafeTargetError
from nemo.utils.app_state import AppState
from nemo.utils.exceptions import NeMoBaseException
from omegaconf import OmegaConf


class ChildModel(ModelPT):
    """A linear layer and, when the config names one, a vocabulary file artifact."""

    def __init__(self, cfg, trainer=None):
        super().__init__(cfg=cfg, trainer=trainer)
        self.layer = torch.nn.Linear(3, 3)
        self.words = None
        if cfg.get("vocab_file"):
            self.words = Path(self.register_artifact("vocab_file", cfg.vocab_file)).read_text().split()

    def setup_training_data(self, train_data_config):
        pass

    def setup_validation_data(self, val_data_config):
        pass

    @classmethod
    def list_available_models(cls):
        return []

    def forward(self, x):
        return self.layer(x)


class ParentModel(ChildModel):
    """Holds a ChildModel built from ``cfg.child``, registered as NeMo submodule ``child_model``."""

    def __init__(self, cfg, trainer=None):
        super().__init__(cfg=cfg, trainer=trainer)
        self.register_nemo_submodule("child_model", "child", ChildModel(self.cfg.child))


class ChildSubclass(ChildModel):
    """A subclass adding nothing: restoring a ChildModel archive through it builds a ChildSubclass."""


def _vocab(tmp_path: Path, name: str, words: str) -> str:
    path = tmp_path / name
    path.write_text(words)
    return str(path)


def test_nested_model_saves_one_archive_and_restores_child_with_its_artifact(tmp_path: Path) -> None:
    cfg = OmegaConf.create(
        {
            "vocab_file": _vocab(tmp_path, "parent.txt", "p q"),
            "child": {"vocab_file": _vocab(tmp_path, "child.txt", "a b c")},
        }
    )
    parent = ParentModel(cfg)
    assert [(a, c, type(m).__name__) for a, c, m in parent.named_nemo_modules()] == [
        ("", "", "ParentModel"),
        ("child_model", "child", "ChildModel"),
    ]
    assert (
        parent.has_nemo_submodules()
        and parent.has_artifacts()
        and parent.has_native_or_submodules_artifacts()
    )
    parent.child_model.cfg.note = "changed after construction"
    archive = tmp_path / "parent.nemo"
    parent.save_to(archive)
    for file in ("parent.txt", "child.txt"):
        (tmp_path / file).unlink()  # the restore must read both vocabularies from the archive

    restored = ParentModel.restore_from(str(archive), map_location="cpu")
    assert restored.child_model.words == ["a", "b", "c"] and restored.words == ["p", "q"]
    assert restored.cfg.child.note == "changed after construction"
    assert restored.cfg.child.vocab_file.startswith("nemo:")
    for name, tensor in parent.state_dict().items():
        torch.testing.assert_close(restored.state_dict()[name], tensor)
    assert AppState().get_model_metadata_from_guid(restored.model_guid).restoration_path == str(archive)
    assert AppState().get_model_metadata_from_guid(parent.model_guid).restoration_path is None


def test_registering_a_nemo_file_as_artifact_or_a_plain_module_as_submodule_is_refused(
    tmp_path: Path,
) -> None:
    child = ChildModel(OmegaConf.create({}))
    archive = tmp_path / "child.nemo"
    child.save_to(archive)
    with pytest.raises(NeMoBaseException, match="register_nemo_submodule"):
        ChildModel(OmegaConf.create({"vocab_file": str(archive)}))
    with pytest.raises(NeMoBaseException, match="ModelPT"):
        child.register_nemo_submodule("plain", "plain", torch.nn.Linear(2, 2))


def test_restore_trusts_only_the_callers_class_family(tmp_path: Path) -> None:
    """The archive's target names a class of this test module, which no allow-list prefix covers."""
    child = ChildModel(OmegaConf.create({}))
    archive = tmp_path / "child.nemo"
    child.save_to(archive)
    assert type(ChildModel.restore_from(str(archive), map_location="cpu")) is ChildModel
    parent = ParentModel(OmegaConf.create({"child": {}}))
    parent_archive = tmp_path / "parent.nemo"
    parent.save_to(parent_archive)
    # Called on the base class: the subclass named by the archive is already imported and user-defined.
    assert type(ChildModel.restore_from(str(parent_archive), map_location="cpu")) is ParentModel
    # Called on a subclass of the archive's class (NeMo builds the caller's class then).
    assert type(ChildSubclass.restore_from(str(archive), map_location="cpu")) is ChildSubclass
    # A nested `_target_` outside the allow-list is still refused, even with a trusted top-level target.
    hostile = OmegaConf.create({"child": {}, "decoder": {"_target_": "subprocess.Popen", "args": "true"}})
    ParentModel(hostile).save_to(tmp_path / "hostile.nemo")
    with pytest.raises(UnsafeTargetError, match="decoder._target_"):
        ParentModel.restore_from(str(tmp_path / "hostile.nemo"), map_location="cpu")


def test_app_state_is_one_object_and_unknown_guids_say_so() -> None:
    assert AppState() is AppState()
    with pytest.raises(KeyError, match="no-such-guid"):
        AppState().get_model_metadata_from_guid("no-such-guid")

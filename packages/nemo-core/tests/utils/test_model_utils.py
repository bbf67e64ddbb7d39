"""nemo.utils.model_utils: class paths from configs, cache folder, model-config conversion, dataset names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from nemo.core.classes.target_allowlist import UnsafeTargetError
from nemo.utils import model_utils
from nemo.utils.model_utils import (
    convert_model_config_to_dict_config,
    import_class_by_path,
    parse_dataset_as_name,
    resolve_cache_dir,
    resolve_dataset_name_from_cfg,
    unique_names_check,
)
from omegaconf import DictConfig, OmegaConf


# ------------------------------------------------------------------------------------ import_class_by_path
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("torch.nn.Linear", torch.nn.Linear),
        ("torch.nn.modules.linear.Linear", torch.nn.Linear),
        ("torch.optim.lr_scheduler.StepLR", torch.optim.lr_scheduler.StepLR),
        ("nemo.utils.model_utils.ArtifactItem", model_utils.ArtifactItem),
        ("nemo.utils.model_utils.ArtifactPathType.TAR_PATH", model_utils.ArtifactPathType.TAR_PATH),
    ],
)
def test_import_class_by_path_returns_the_named_object(path, expected):
    assert import_class_by_path(path) is expected


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("os.system", "allowed prefix"),
        ("nemo.utils.nemo_logging.os.system", "not a class"),
        ("nemo.utils.model_utils.importlib.import_module", "not a class"),
        ("torch.nn.Module.__init__", "special attribute"),
        ("torch.nn.functional", "module"),
        ("nemo.utils.model_utils.Path", "outside the allowed prefixes"),
    ],
)
def test_import_class_by_path_refuses_paths_that_escape_the_allow_list(path, reason):
    with pytest.raises(UnsafeTargetError, match=reason):
        import_class_by_path(path, source="config key 'x._target_'")


def test_import_class_by_path_names_the_missing_piece():
    with pytest.raises(ImportError, match="no attribute 'NoSuchLayer'"):
        import_class_by_path("torch.nn.NoSuchLayer")
    with pytest.raises(ImportError, match="nemo.no_such_package"):
        import_class_by_path("nemo.no_such_package.Model")


# ---------------------------------------------------------------------------------------- cache folder
def test_resolve_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path / "cache"))
    assert resolve_cache_dir() == (tmp_path / "cache").resolve()


def test_resolve_cache_dir_defaults_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("NEMO_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_cache_dir() == tmp_path / ".cache" / "torch" / "NeMo"


# ----------------------------------------------------------------------------------- config conversion
@dataclasses.dataclass
class TinyConfig:
    hidden: int = 4
    name: str = "tiny"


@pytest.mark.parametrize(
    "cfg", [TinyConfig(), {"hidden": 4, "name": "tiny"}, OmegaConf.create({"hidden": 4, "name": "tiny"})]
)
def test_convert_model_config_to_dict_config(cfg):
    converted = convert_model_config_to_dict_config(cfg)
    assert isinstance(converted, DictConfig)
    assert OmegaConf.to_container(converted) == {"hidden": 4, "name": "tiny"}


def test_convert_model_config_refuses_other_types():
    with pytest.raises(ValueError, match="got list"):
        convert_model_config_to_dict_config([1, 2])


# ---------------------------------------------------------------------------------------- dataset names
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("/data/an4-val_manifest.json", "an4_val_"),
        ("dev_clean.json", "dev_clean_"),
        ("test_other_dataset.txt", "test_other_"),
        ("librispeech", "librispeech_"),
    ],
)
def test_parse_dataset_as_name(name, expected):
    assert parse_dataset_as_name(name) == expected


def test_parse_dataset_as_name_refuses_names_that_vanish():
    with pytest.raises(ValueError, match="manifest.json"):
        parse_dataset_as_name("/data/manifest.json")


def test_unique_names_check():
    unique_names_check(["a_", "b_"])
    unique_names_check(None)
    with pytest.raises(ValueError, match="'a_'"):
        unique_names_check(["a_", "b_", "a_"])


def test_resolve_dataset_name_from_cfg_finds_existing_paths(tmp_path: Path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text("{}\n")
    second.write_text("{}\n")
    assert resolve_dataset_name_from_cfg(
        OmegaConf.create({"batch_size": 2, "manifest_filepath": str(first)})
    ) == ("manifest_filepath")
    assert resolve_dataset_name_from_cfg(OmegaConf.create({"files": [str(first), str(second)]})) == "files"
    assert (
        resolve_dataset_name_from_cfg(OmegaConf.create({"files": [str(first), str(tmp_path / "nope")]}))
        is None
    )
    assert resolve_dataset_name_from_cfg(OmegaConf.create({"batch_size": 2})) is None


def test_legacy_cls_params_nodes_become_target_nodes_as_nemo_converts_them():
    from nemo.utils.model_utils import convert_model_config_to_dict_config

    legacy = {
        "encoder": {
            "cls": "nemo.collections.asr.modules.ConvASREncoder",
            "params": {"feat_in": 64, "jasper": [{}]},
        },
        "optim": {"name": "adam", "params": {"weight_decay": 0.1}},  # no `cls`: left as it is
    }
    cfg = convert_model_config_to_dict_config(legacy)
    assert cfg.encoder._target_ == "nemo.collections.asr.modules.ConvASREncoder"
    assert cfg.encoder.feat_in == 64 and len(cfg.encoder.jasper) == 1 and "params" not in cfg.encoder
    assert cfg.optim.params.weight_decay == 0.1

"""Weights and Lightning checkpoints load with weights_only=True; pickled code never runs."""

from __future__ import annotations

import os
import zipfile

import pytest
import torch
from nemo.core.connectors.weights import (
    CONFIG_GLOBAL_NAMES,
    UnsafeCheckpointError,
    load_checkpoint,
    load_state_dict,
    plain_containers,
    refused_globals,
)
from omegaconf import OmegaConf


class Payload:
    """Pickles as a call to os.system that creates ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_payload_runs_when_loaded_without_weights_only(tmp_path):
    # Control for the refusal tests below: this file really does run code when fully unpickled.
    marker = tmp_path / "pwned"
    torch.save({"evil": Payload(marker)}, tmp_path / "evil.pt")
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.exists()


def test_state_dict_loads(tmp_path):
    state = {"layer.weight": torch.randn(3, 2), "layer.bias": torch.zeros(3)}
    torch.save(state, tmp_path / "w.ckpt")
    loaded = load_state_dict(tmp_path / "w.ckpt", map_location="cpu")
    assert all(torch.equal(loaded[key], state[key]) for key in state)


@pytest.mark.parametrize("load", [load_state_dict, load_checkpoint])
def test_payload_is_refused_and_not_run(tmp_path, load):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {"w": torch.ones(1)}, "evil": Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(UnsafeCheckpointError) as info:
        load(tmp_path / "evil.pt")
    message = str(info.value)
    assert "evil.pt" in message and "posix.system" in message and "weights_only=False" in message
    assert not marker.exists()


def test_checkpoint_with_omegaconf_hyper_parameters_loads(tmp_path):
    cfg = OmegaConf.create({"hidden": 4, "optim": {"betas": [0.9, 0.98]}, "name": None})
    torch.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": {"cfg": cfg}}, tmp_path / "a.ckpt")
    checkpoint = load_checkpoint(tmp_path / "a.ckpt")
    assert checkpoint["hyper_parameters"]["cfg"] == cfg
    assert torch.equal(checkpoint["state_dict"]["w"], torch.ones(2))
    # A bare weights file stays strict: configs are only accepted inside Lightning checkpoints.
    with pytest.raises(UnsafeCheckpointError):
        load_state_dict(tmp_path / "a.ckpt")


def test_truncated_checkpoint_gets_a_clear_error(tmp_path):
    torch.save({"w": torch.randn(64, 64)}, tmp_path / "w.ckpt")
    data = (tmp_path / "w.ckpt").read_bytes()
    (tmp_path / "w.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated, damaged or not a PyTorch checkpoint"):
        load_state_dict(tmp_path / "w.ckpt")


def test_every_bit_flip_of_the_pickle_is_refused_or_a_clear_error(tmp_path):
    """Flipping any bit of a checkpoint's ``data.pkl`` makes torch fail in a dozen ways (TypeError from a tensor
    rebuilder given the wrong arguments, IndexError, AttributeError, KeyError, AssertionError, UnicodeDecodeError,
    RuntimeError, EOFError...): each one must come out as a refusal or a ValueError naming the file."""
    torch.save({"w": torch.ones(2, 3), "b": torch.zeros(3)}, tmp_path / "w.ckpt")
    source = zipfile.ZipFile(tmp_path / "w.ckpt")
    names = source.namelist()
    (pickle_name,) = [name for name in names if name.endswith("data.pkl")]
    data = source.read(pickle_name)
    raw_errors, path = set(), tmp_path / "flipped.ckpt"
    for index in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[index] ^= 1 << bit
            with zipfile.ZipFile(path, "w") as target:
                for name in names:
                    target.writestr(name, bytes(flipped) if name == pickle_name else source.read(name))
            try:
                load_state_dict(path)
            except UnsafeCheckpointError:
                raw_errors.add("refused")
            except ValueError as error:
                assert "flipped.ckpt" in str(error) and "save or download it again" in str(error)
                raw_errors.add(type(error.__cause__).__name__)
    assert {"TypeError", "IndexError", "AttributeError", "KeyError", "refused"} <= raw_errors


def test_plain_containers_leave_nothing_weights_only_loading_refuses(tmp_path):
    root = OmegaConf.create(
        {"rate": 16000, "model": {"rate": "${rate}", "labels": ["a", "b"], "path": "???"}}
    )
    value = plain_containers({"cfg": root.model, "extra": (OmegaConf.create([1, {"k": "v"}]), 2)})
    assert value == {
        "cfg": {"rate": 16000, "labels": ["a", "b"], "path": "???"},
        "extra": ([1, {"k": "v"}], 2),
    }
    assert type(value["cfg"]) is dict and type(value["extra"][0]) is list

    torch.save({"hyper_parameters": {"cfg": root.model}}, tmp_path / "config.ckpt")
    torch.save({"hyper_parameters": value}, tmp_path / "plain.ckpt")
    assert "omegaconf.dictconfig.DictConfig" in refused_globals(tmp_path / "config.ckpt")
    assert set(refused_globals(tmp_path / "config.ckpt")) <= CONFIG_GLOBAL_NAMES
    assert refused_globals(tmp_path / "plain.ckpt") == []
    assert torch.load(tmp_path / "plain.ckpt", weights_only=True)["hyper_parameters"] == value

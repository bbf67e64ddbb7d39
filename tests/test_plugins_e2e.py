"""The example plugin examples/nemo-hello, pip-installed, seen and trained through the `nemo` CLI."""

import importlib.util
import tarfile

import pytest
from nemo.core.plugins.testing import run_python

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nemo_hello") is None,
    reason="nemo_hello is not installed; install it with `pip install -e examples/nemo-hello` (the nox tests session does)",
)


def _nemo(*args: str, timeout: float = 120):
    result = run_python(["-m", "nemo.core.cli.main", *args], timeout=timeout)
    assert result.returncode == 0, f"nemo {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_nemo_plugins_lists_hello_as_loaded():
    rows = {line.split()[0]: line.split(maxsplit=3) for line in _nemo("plugins").splitlines()[1:]}
    assert rows["hello"][1] == "nemo-hello"
    assert rows["hello"][3] == "loaded"


def test_nemo_models_lists_hello_echo():
    rows = [line.split(maxsplit=4) for line in _nemo("models", "--domain", "hello").splitlines()[1:]]
    assert rows == [["hello.echo", "hello", "nemo-hello", "hello_echo", "Echoes its input"]]


@pytest.mark.slow
def test_nemo_train_hello_echo_writes_a_nemo_archive(tmp_path):
    output = _nemo(
        "train", "hello.echo", "trainer.max_epochs=1", f"exp_manager.exp_dir={tmp_path}", timeout=600
    )
    archives = sorted(tmp_path.rglob("*.nemo"))
    assert len(archives) == 1, f"expected one .nemo under {tmp_path}, found {archives}\n{output}"
    assert f".nemo: {archives[0]}" in output
    with tarfile.open(archives[0]) as archive:
        members = {name.removeprefix("./") for name in archive.getnames()}
    assert {"model_config.yaml", "model_weights.ckpt"} <= members

    import torch
    from nemo.core import registry

    model = registry.get_model_class("hello.echo").restore_from(str(archives[0]))
    assert type(model).__name__ == "EchoModel" and model.cfg.dim == 8
    assert model(input_signal=torch.zeros(3, model.cfg.dim)).shape == (3, model.cfg.dim)


@pytest.mark.slow
def test_from_pretrained_resolves_a_plugin_entry_in_the_cache_dir_offline(tmp_path):
    _nemo(
        "train", "hello.echo", "trainer.max_epochs=1", f"exp_manager.exp_dir={tmp_path / 'runs'}", timeout=600
    )
    (trained,) = (tmp_path / "runs").rglob("*.nemo")
    cache = tmp_path / "cache"
    cache.mkdir()
    trained.rename(cache / "hello_echo_tiny.nemo")
    code = (
        "from nemo.core import ModelPT\n"
        "model = ModelPT.from_pretrained('hello_echo_tiny')\n"
        "print(type(model).__name__, model.cfg.dim)"
    )
    result = run_python(["-c", code], timeout=300, NEMO_CACHE_DIR=str(cache))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["EchoModel", "8"]

    missing = run_python(["-c", code], timeout=300, NEMO_CACHE_DIR=str(tmp_path / "empty"))
    assert missing.returncode != 0
    assert "hello_echo_tiny" in missing.stderr and str(tmp_path / "empty") in missing.stderr

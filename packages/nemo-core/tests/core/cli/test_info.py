import importlib.metadata
import platform
import re

from nemo.core.cli.main import main
from nemo.core.plugins import PLUGIN_API_VERSION


def test_info_reports_versions_plugin_api_and_cache_dir(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["info"]) == 0
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert rows["nemo-kit-core"] == importlib.metadata.version("nemo-kit-core")
    assert rows["torch"] == importlib.metadata.version("torch")
    assert rows["pytorch-lightning"] == importlib.metadata.version("pytorch-lightning")
    assert rows["python"] == platform.python_version()
    assert rows["plugin API"] == PLUGIN_API_VERSION
    assert rows["cache dir"] == str((tmp_path / "cache").resolve())

"""hydra_runner: real scripts run in subprocesses with command-line overrides, plus the direct-call path."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from nemo.core.config import hydra_runner
from omegaconf import OmegaConf

YAML = """\
name: demo
model:
  lr: 0.1
  layers: 2
"""

SCRIPT = """\
import json
import os
from dataclasses import dataclass, field

from omegaconf import MISSING, OmegaConf

from nemo.core.config import hydra_runner


@dataclass
class ModelSchema:
    lr: float = 0.01
    layers: int = 1
    dropout: float = 0.1


@dataclass
class Schema:
    name: str = MISSING
    model: ModelSchema = field(default_factory=ModelSchema)


@hydra_runner(config_path="conf", config_name="config"{schema_arg})
def main(cfg):
    print("RESULT=" + json.dumps({{"cfg": OmegaConf.to_container(cfg), "cwd": os.getcwd()}}))


if __name__ == "__main__":
    main()
"""


@pytest.fixture
def project(tmp_path):
    """A script folder with conf/config.yaml, and an empty folder to run it from."""
    (tmp_path / "app" / "conf").mkdir(parents=True)
    (tmp_path / "app" / "conf" / "config.yaml").write_text(YAML)
    (tmp_path / "run").mkdir()
    return tmp_path


def run_script(project: Path, *overrides: str, schema: bool = False) -> subprocess.CompletedProcess:
    script = project / "app" / "train.py"
    script.write_text(SCRIPT.format(schema_arg=", schema=Schema" if schema else ""))
    return subprocess.run(
        [sys.executable, str(script), *overrides],
        cwd=project / "run",
        capture_output=True,
        text=True,
        timeout=120,
    )


def result_of(completed: subprocess.CompletedProcess) -> dict:
    assert completed.returncode == 0, completed.stderr
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT="))
    return json.loads(line.removeprefix("RESULT="))


def test_script_gets_yaml_with_overrides_and_keeps_cwd_clean(project):
    result = result_of(run_script(project, "model.lr=0.5", "+model.extra=x"))
    assert result["cfg"] == {"name": "demo", "model": {"lr": 0.5, "layers": 2, "extra": "x"}}
    assert result["cwd"] == str(project / "run")
    assert list((project / "run").iterdir()) == []
    assert sorted(p.name for p in (project / "app").iterdir()) == ["conf", "train.py"]


def test_schema_is_merged_under_the_yaml(project):
    result = result_of(run_script(project, "model.dropout=0.3", schema=True))
    assert result["cfg"] == {"name": "demo", "model": {"lr": 0.1, "layers": 2, "dropout": 0.3}}
    assert list((project / "run").iterdir()) == []


def test_schema_rejects_an_override_of_the_wrong_type(project):
    completed = run_script(project, "model.layers=many", schema=True)
    assert completed.returncode != 0
    assert "model.layers" in completed.stderr
    assert "RESULT=" not in completed.stdout


def test_schema_alone_is_the_config_when_no_yaml_has_its_name(project):
    result = result_of(run_script(project, "--config-name", "Schema", "name=solo", schema=True))
    assert result["cfg"] == {"name": "solo", "model": {"lr": 0.01, "layers": 1, "dropout": 0.1}}


def test_direct_call_with_a_config_bypasses_hydra():
    @hydra_runner(config_path="does-not-exist", config_name="nothing")
    def main(cfg):
        return cfg.model.lr * 2

    assert main(OmegaConf.create({"model": {"lr": 0.25}})) == 0.5
    assert main.__name__ == "main"


def test_package_import_is_light():
    code = textwrap.dedent(
        """
        import sys
        import nemo.core.config, nemo.core.optim
        heavy = [m for m in ("torch", "pytorch_lightning", "lightning", "hydra") if m in sys.modules]
        print(heavy)
        """
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"

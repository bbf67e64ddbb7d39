"""docs/distributed.md's launch examples run as written, and ``ddp_spawn`` works from the config.

- The torchrun command is read from the page (the bash block after ``<!-- doc-test: torchrun -->``) and run from
  the repository root with two CPU processes.
- ``examples/distributed/train_asr.sbatch`` is run with bash as sbatch would, with the variables sbatch sets; a
  stand-in ``srun`` on PATH starts one task per node and slot with the variables srun gives each task
  (``SLURM_PROCID``, ``SLURM_LOCALID``, ``SLURM_NODEID``), two "nodes" on this machine.

Both append overrides that shrink the model and stop after two steps, and send logs to a temporary folder
(Hydra keeps the last value of a key); everything else is the documented command. Each run must train on both
processes and write a restorable ``.nemo``.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHRINK = [
    "model.encoder.d_model=16",
    "model.encoder.n_layers=1",
    "model.encoder.n_heads=2",
    "model.train_ds.num_workers=0",
    "model.train_ds.batch_size=2",
    "model.validation_ds.num_workers=0",
    "model.log_prediction=false",
    "trainer.max_steps=2",
    "trainer.enable_progress_bar=false",
    "+trainer.enable_model_summary=false",
]

FAKE_SRUN = """#!{python}
# Plays srun inside an sbatch allocation: one task per node and slot, each with the variables srun sets.
import os, subprocess, sys
nodes, per_node = int(os.environ["SLURM_JOB_NUM_NODES"]), int(os.environ["SLURM_NTASKS_PER_NODE"])
tasks = []
for node in range(nodes):
    for local in range(per_node):
        env = dict(os.environ, SLURM_NTASKS=str(nodes * per_node), SLURM_PROCID=str(node * per_node + local),
                   SLURM_LOCALID=str(local), SLURM_NODEID=str(node))
        tasks.append(subprocess.Popen(sys.argv[1:], env=env))
sys.exit(max(task.wait() for task in tasks))
"""


def documented_command(marker: str) -> list[str]:
    """The bash block after ``<!-- doc-test: marker -->`` in docs/distributed.md, as argv."""
    page = (REPO / "docs" / "distributed.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- doc-test: {marker} -->\s*```bash\n(.*?)```", page, re.S)
    assert match, f"docs/distributed.md has no bash block marked doc-test: {marker}"
    return shlex.split(match.group(1).replace("\\\n", " "))


def train_two_processes(
    command: list[str], env: dict[str, str], runs: Path, cwd: Path = REPO
) -> tuple[str, Path]:
    """Run ``command`` (from the repository root by default); check that both processes trained to the
    appended ``max_steps=2``; return the output and the one ``.nemo`` written under ``runs``."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    for rank in (0, 1):
        assert f"GLOBAL_RANK: {rank}, MEMBER: {rank + 1}/2" in output, output[-4000:]
    assert "`Trainer.fit` stopped: `max_steps=2` reached." in output
    (archive,) = runs.rglob("*.nemo")
    return output, archive


def run_and_check(command: list[str], env: dict[str, str], runs: Path) -> str:
    """:func:`train_two_processes` on the demo's ASR config; its shrunk model restores from the ``.nemo``."""
    output, archive = train_two_processes(command, env, runs)
    from nemo.collections.asr.models import EncDecCTCModel

    model = EncDecCTCModel.restore_from(str(archive), map_location="cpu")
    assert model.cfg.encoder.d_model == 16
    return output


def environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.slow
def test_the_documented_torchrun_command_trains_two_processes(tmp_path):
    command = documented_command("torchrun")
    assert command[0] == "torchrun" and "--nproc_per_node=2" in command
    runs = tmp_path / "runs"
    run_and_check([*command, *SHRINK, f"exp_manager.exp_dir={runs}"], environment(), runs)


@pytest.mark.slow
def test_the_slurm_script_trains_two_nodes_as_srun_would_start_it(tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    srun = fake_bin / "srun"
    srun.write_text(FAKE_SRUN.format(python=sys.executable), encoding="utf-8")
    srun.chmod(0o755)
    # What `sbatch --nodes=2 --ntasks-per-node=1` sets in the job's environment (a random job id gives the
    # rendezvous port, 15000 + its last four digits, as on a cluster).
    env = {
        **environment(),
        "PATH": f"{fake_bin}{os.pathsep}{environment()['PATH']}",
        "SLURM_JOB_NAME": "nemo_asr_ddp",
        "SLURM_JOB_ID": str(random.randint(100000, 999999)),
        "SLURM_JOB_NUM_NODES": "2",
        "SLURM_NTASKS_PER_NODE": "1",
        "SLURM_NODELIST": "localhost",
    }
    runs = tmp_path / "runs"
    script = REPO / "examples" / "distributed" / "train_asr.sbatch"
    output = run_and_check(["bash", str(script), *SHRINK, f"exp_manager.exp_dir={runs}"], env, runs)
    assert "SLURMEnvironment" in output or "SLURM" in output


@pytest.mark.slow
def test_ddp_spawn_from_the_config_trains_and_writes_a_nemo(tmp_path):
    """Lightning pickles the model into each spawned process. The example plugin's model keeps this cheap;
    tests/test_models_pickle.py checks that every shipped and test model pickles."""
    runs = tmp_path / "runs"
    command = [
        str(BIN / "nemo"),
        "train",
        "hello.echo",
        "trainer.devices=2",
        "+trainer.strategy=ddp_spawn",
        "trainer.accelerator=cpu",
        "+trainer.max_steps=2",
        "+trainer.enable_progress_bar=false",
        "+trainer.enable_model_summary=false",
        f"exp_manager.exp_dir={runs}",
    ]
    _, archive = train_two_processes(command, environment(), runs, cwd=tmp_path)
    from nemo_hello.models import EchoModel

    assert EchoModel.restore_from(str(archive), map_location="cpu").cfg.dim == 8

"""Storage faults: checkpoints survive a kill or a full disk mid-write, and an unusable log folder stops a run
before it trains.

* ``.ckpt`` and ``.nemo`` files written by exp_manager's checkpoint callback are, whenever they are read (even
  while a run that overwrites them every step is killed with SIGKILL), the previous or the new complete file.
* A checkpoint write that runs out of disk space raises and leaves the previous checkpoint as it was.
* Unfinished writes of a killed run are removed when the next run starts; nothing else is.
* A log or checkpoint folder that cannot be created or written, or a disk that is full, is a ``LogDirError``
  from ``exp_manager`` naming the folder and the setting to change, before anything is written.

Read-only folders: ``chmod 0o500`` where the tests do not run as root; as root (which ``chmod`` does not stop)
the folder is made immutable with ``chattr +i``. Full disks and a second filesystem are real ``tmpfs`` mounts
under the test's folder, made where the tests may mount (root); those tests are skipped elsewhere, and the
free-space check is then tested by raising ``MIN_FREE_DISK_BYTES`` above the disk's free space.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from nemo.utils import exp_manager as exp_manager_module
from nemo.utils.callbacks.atomic_checkpoint_io import remove_partial_writes
from nemo.utils.exp_log_dir import NEMO_ENV_VARNAME_VERSION
from nemo.utils.exp_manager import LogDirError, exp_manager

NAMES_TRIED = 3_614
"""File names (every combination of a few stems, extensions and suffixes) given to ``remove_partial_writes``."""
MARKER_FLOATS = 4_000_000
"""Size of the checkpoints the killed run overwrites: a 16 MB buffer, so that a kill often lands mid-write."""
OBSERVATIONS_BEFORE_KILL = 3
"""Distinct complete versions of each file the test reads before it kills the run."""
TIMEOUT_S = 300


@pytest.fixture(autouse=True)
def fresh_version(monkeypatch):
    """exp_manager shares the chosen version with child processes through the environment; start clean."""
    monkeypatch.delenv(NEMO_ENV_VARNAME_VERSION, raising=False)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path | None]:
    """A real ``tmpfs`` of ``size`` mounted at ``folder`` (another filesystem, tiny), or ``None`` if not allowed."""
    folder.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        yield None
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Write zeros into ``folder`` until its disk is full."""
    with open(folder / "filler", "wb") as stream:
        try:
            while True:
                stream.write(b"\0" * 65536)
                stream.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC


@contextlib.contextmanager
def unwritable_folder(folder: Path) -> Iterator[Path]:
    """An existing folder in which no file can be created, or the test is skipped."""
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        undo = ["chmod", "0700", str(folder)]
    elif (
        shutil.which("chattr")
        and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
    ):
        undo = ["chattr", "-i", str(folder)]
    else:
        pytest.skip("running as root without chattr +i support: no way to make a folder read-only")
    try:
        try:
            (folder / "probe").touch()
        except OSError:
            yield folder
        else:
            (folder / "probe").unlink()
            pytest.skip(f"{undo[0]} did not stop writes to {folder}")
    finally:
        subprocess.run(undo, check=True)


class Tiny(pl.LightningModule):
    """Linear regression on 8 samples; its state holds a ``marker`` buffer of ``size`` floats."""

    def __init__(self, size: int = 1):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.register_buffer("marker", torch.zeros(size))
        self.steps = 0

    def training_step(self, batch, batch_idx):
        self.steps += 1
        self.marker.fill_(float(self.global_step + 1))
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        inputs = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
        dataset = torch.utils.data.TensorDataset(inputs, inputs.sum(dim=1, keepdim=True))
        return torch.utils.data.DataLoader(dataset, batch_size=2)


def make_trainer(**kwargs) -> pl.Trainer:
    options = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        max_steps=4,
    )
    return pl.Trainer(**{**options, **kwargs})


def every_step(dirpath: Path, **extra) -> dict:
    """``checkpoint_callback_params`` that overwrite ``{dirpath}/big-last.ckpt`` after every step."""
    return {
        "dirpath": str(dirpath),
        "filename": "big",
        "monitor": None,
        "save_top_k": 0,
        "save_last": True,
        "every_n_train_steps": 1,
        "every_n_epochs": None,
        "save_nemo_on_train_end": False,
        **extra,
    }


# A ModelPT that overwrites big-last.ckpt and faults.nemo after every step, until it is killed.
CHILD = """
import sys

import pytorch_lightning as pl
import torch
from nemo.core.classes.modelPT import ModelPT
from nemo.utils.exp_manager import exp_manager

log_dir, checkpoint_dir, size = sys.argv[1], sys.argv[2], int(sys.argv[3])


class Big(ModelPT):
    def __init__(self, cfg, trainer=None):
        super().__init__(cfg=cfg, trainer=trainer)
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.register_buffer("marker", torch.zeros(size))

    def setup_training_data(self, config):
        self._train_dl = torch.utils.data.DataLoader(torch.ones(4, 1), batch_size=1)

    def setup_validation_data(self, config):
        pass

    @classmethod
    def list_available_models(cls):
        return []

    def training_step(self, batch, batch_idx):
        self.marker.fill_(float(self.global_step + 1))
        return ((self.weight - batch) ** 2).sum()


trainer = pl.Trainer(
    max_steps=100000, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
    enable_progress_bar=False, enable_model_summary=False,
)
exp_manager(trainer, {
    "explicit_log_dir": log_dir,
    "name": "faults",
    "create_tensorboard_logger": False,
    "checkpoint_callback_params": {
        "dirpath": checkpoint_dir, "filename": "big", "monitor": None, "save_top_k": 0, "save_last": True,
        "every_n_train_steps": 1, "every_n_epochs": None, "always_save_nemo": True,
        "save_nemo_on_train_end": False,
    },
})
trainer.fit(Big(cfg={"train_ds": {}, "optim": {"name": "sgd", "lr": 0.1}}, trainer=trainer))
"""


def complete_checkpoint_step(path: Path) -> int:
    """The global step of the checkpoint at ``path``, which must load and hold one step's weights only."""
    checkpoint = torch.load(path, weights_only=True)
    marker = checkpoint["state_dict"]["marker"]
    assert marker.numel() == MARKER_FLOATS
    assert bool((marker == checkpoint["global_step"]).all()), f"{path} mixes the weights of several steps"
    return checkpoint["global_step"]


def complete_archive_step(path: Path) -> int:
    """The step whose weights the ``.nemo`` at ``path`` holds; it must read as a whole tar with both members."""
    with tarfile.open(path, "r:") as archive:
        assert archive.extractfile("./model_config.yaml").read()
        weights = torch.load(archive.extractfile("./model_weights.ckpt"), weights_only=True)
    marker = weights["marker"]
    assert marker.numel() == MARKER_FLOATS
    assert bool((marker == marker[0]).all()), f"{path} mixes the weights of several steps"
    return int(marker[0])


def write_under_way(checkpoints: Path, child_tmp: Path) -> bool:
    """Whether a temporary file of a checkpoint or ``.nemo`` write exists (ours, ``write_archive``'s or those
    of Lightning's writer and ``ModelPT.save_to`` in ``$TMPDIR``)."""
    names = [path.name for folder in (checkpoints, child_tmp) if folder.is_dir() for path in folder.iterdir()]
    return any(".tmp-" in name or name.startswith(("tmp", "nemo_save_")) for name in names)


@pytest.mark.slow
def test_files_read_while_a_run_overwrites_them_and_is_killed_are_always_complete(tmp_path):
    """Read ``big-last.ckpt`` and ``faults.nemo`` over and over while the run rewrites them after every step,
    kill it with SIGKILL while a write is under way, and read them again: every read gets a complete file.

    The run's ``$TMPDIR`` is another filesystem where one can be mounted: Lightning's own writer goes through a
    temporary file there, and a move across filesystems is a copy over the old file.
    """
    script = tmp_path / "overwrite.py"
    script.write_text(CHILD, encoding="utf-8")
    checkpoints = tmp_path / "checkpoints"
    last, archive = checkpoints / "big-last.ckpt", checkpoints / "faults.nemo"
    with tmpfs(tmp_path / "other_fs", "256m") as other_fs:
        child_tmp = other_fs or tmp_path / "child_tmp"
        child_tmp.mkdir(exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(child_tmp)}
        env.pop(NEMO_ENV_VARNAME_VERSION, None)
        command = [sys.executable, str(script), str(tmp_path / "logs"), str(checkpoints), str(MARKER_FLOATS)]
        seen: dict[Path, set[int]] = {last: set(), archive: set()}
        with open(tmp_path / "child.log", "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            try:
                deadline = time.monotonic() + TIMEOUT_S
                while True:
                    assert process.poll() is None, (tmp_path / "child.log").read_text()[-3000:]
                    assert time.monotonic() < deadline, f"only saw {seen} in {TIMEOUT_S} s"
                    for path, steps in seen.items():
                        if path.exists():  # once written, the name is only ever replaced
                            steps.add(
                                complete_checkpoint_step(path)
                                if path == last
                                else complete_archive_step(path)
                            )
                    enough = all(len(steps) >= OBSERVATIONS_BEFORE_KILL for steps in seen.values())
                    if enough and write_under_way(checkpoints, child_tmp):
                        process.send_signal(signal.SIGKILL)
                        break
            finally:
                process.kill()
                process.wait()
        assert process.returncode == -signal.SIGKILL
        assert complete_checkpoint_step(last) >= max(seen[last])
        assert complete_archive_step(archive) >= max(seen[archive])


def test_checkpoint_write_on_a_full_disk_raises_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """A 12 MB disk holds one 8 MB checkpoint but not a second beside it: the second save fails."""
    with tmpfs(tmp_path / "small_disk", "12m") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (needs root): no real full disk")
        monkeypatch.setattr(exp_manager_module, "MIN_FREE_DISK_BYTES", 0)
        trainer = make_trainer()
        exp_manager(
            trainer,
            {
                "explicit_log_dir": str(tmp_path / "logs"),
                "create_tensorboard_logger": False,
                "checkpoint_callback_params": every_step(disk),
            },
        )
        model = Tiny(size=2_000_000)
        with pytest.raises(OSError) as raised:
            trainer.fit(model)
        assert model.steps == 2
        assert raised.value.errno == errno.ENOSPC
        message = str(raised.value)
        assert f"Could not write '{disk / 'big-last.ckpt'}': No space left on device" in message
        assert "is unchanged" in message
        checkpoint = torch.load(disk / "big-last.ckpt", weights_only=True)
        assert checkpoint["global_step"] == 1
        assert bool((checkpoint["state_dict"]["marker"] == 1.0).all())
        assert sorted(path.name for path in disk.iterdir()) == ["big-last.ckpt"]  # no partial file left


class Archiving(Tiny):
    """``save_to`` writes a tar in place (not atomically), its ``padding`` member growing with the step."""

    PADDING_BYTES = {1: 1_000_000, 2: 16_000_000}  # the second archive is larger than the 12 MB disk

    def save_to(self, path):
        weights = io.BytesIO()
        torch.save(self.state_dict(), weights)
        with tarfile.open(path, "w:") as archive:
            for name, data in (
                ("padding", bytes(self.PADDING_BYTES[self.global_step])),
                ("weights", weights),
            ):
                data = data.getvalue() if isinstance(data, io.BytesIO) else data
                member = tarfile.TarInfo(name)
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))


def test_nemo_write_on_a_full_disk_raises_and_keeps_the_previous_archive(tmp_path, monkeypatch):
    with tmpfs(tmp_path / "small_disk", "12m") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (needs root): no real full disk")
        monkeypatch.setattr(exp_manager_module, "MIN_FREE_DISK_BYTES", 0)
        trainer = make_trainer()
        exp_manager(
            trainer,
            {
                "explicit_log_dir": str(tmp_path / "logs"),
                "name": "tiny",
                "create_tensorboard_logger": False,
                "checkpoint_callback_params": every_step(disk, always_save_nemo=True),
            },
        )
        model = Archiving()
        with pytest.raises(OSError) as raised:
            trainer.fit(model)
        assert raised.value.errno == errno.ENOSPC
        assert f"Could not write '{disk / 'tiny.nemo'}': No space left on device" in str(raised.value)
        assert model.steps == 2
        with tarfile.open(disk / "tiny.nemo", "r:") as archive:
            contents = {member.name: archive.extractfile(member).read() for member in archive.getmembers()}
        assert contents.keys() == {"padding", "weights"}
        assert len(contents["padding"]) == Archiving.PADDING_BYTES[1]
        assert torch.load(io.BytesIO(contents["weights"]), weights_only=True)["marker"].tolist() == [1.0]
        assert sorted(path.name for path in disk.iterdir()) == ["big-last.ckpt", "tiny.nemo"]


def test_unfinished_writes_of_a_killed_run_are_removed_when_the_next_run_starts(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    (checkpoints / "sub").mkdir(parents=True)
    partial = [
        "big-last.ckpt.tmp-0a1b2c3d",
        "faults.nemo.tmp-00ff00ff",
        "faults.nemo.tmp-1234abcd.tmp-9f9f9f9f",
    ]
    kept = ["notes.tmp-1234", "old.ckpt", "big.ckpt.tmp-xyz", "big.ckpt.tmp-", "readme.txt.tmp-abcd"]
    for name in partial + kept:
        (checkpoints / name).write_bytes(b"PK\x03\x04 cut short")
    (checkpoints / "sub" / "deep.ckpt.tmp-abcd").write_bytes(b"not ours to remove")

    trainer = make_trainer(max_steps=1)
    exp_manager(
        trainer,
        {
            "explicit_log_dir": str(tmp_path / "logs"),
            "create_tensorboard_logger": False,
            "checkpoint_callback_params": every_step(checkpoints),
        },
    )
    trainer.fit(Tiny())
    remaining = {path.name for path in checkpoints.iterdir()}
    assert remaining == {*kept, "sub", "big-last.ckpt"}
    assert (checkpoints / "sub" / "deep.ckpt.tmp-abcd").exists()


_HEX = set("0123456789abcdef")
# Every file name built from these parts: {stem}{extension} then up to two {mark}{tail} suffixes.
_STEMS = ("", "a", "x.ckpt")
_EXTENSIONS = ("", ".ckpt", ".nemo", ".CKPT", "ckpt")
_MARKS = (".tmp-", ".tmp_", ".TMP-")
_TAILS = ("0a1b2c3d", "f", "AB", "0aZ", "")


def all_file_names() -> set[str]:
    suffixes = [""] + [mark + tail for mark in _MARKS for tail in _TAILS]
    names = {
        stem + extension + first + second
        for stem in _STEMS
        for extension in _EXTENSIONS
        for first in suffixes
        for second in (suffixes if first else [""])
    }
    return names - {"", ".", ".."}


def partial_write_of_ours(name: str) -> bool:
    """The naming rule, spelled out: ``{something}{.ckpt|.nemo}`` then one or more ``.tmp-{lowercase hex}``."""
    head, suffixes = name, 0
    while True:
        before, mark, tail = head.rpartition(".tmp-")
        if not (mark and tail and set(tail) <= _HEX):
            break
        head, suffixes = before, suffixes + 1
    return suffixes > 0 and any(
        head.endswith(extension) and len(head) > len(extension) for extension in (".ckpt", ".nemo")
    )


def test_only_partial_writes_of_checkpoints_and_archives_are_removed(tmp_path):
    names = all_file_names()
    assert len(names) == NAMES_TRIED
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = remove_partial_writes(tmp_path, (".ckpt", ".nemo"))
    expected = {name for name in names if partial_write_of_ours(name)}
    assert "a.ckpt.tmp-0a1b2c3d" in expected and "x.ckpt.nemo.tmp-f.tmp-0a1b2c3d" in expected
    assert {path.name for path in removed} == expected
    assert {path.name for path in tmp_path.iterdir()} == names - expected


def run_exp_manager(tmp_path: Path, **cfg) -> Path | None:
    return exp_manager(make_trainer(), {"create_tensorboard_logger": False, **cfg})


def test_log_folder_that_cannot_be_written_is_an_error_naming_it_before_anything_is_written(tmp_path):
    with unwritable_folder(tmp_path / "read_only") as read_only:
        with pytest.raises(LogDirError) as raised:
            run_exp_manager(tmp_path, explicit_log_dir=str(read_only))
        message = str(raised.value)
        assert f"cannot write to the log folder '{read_only}'" in message
        assert "exp_manager.explicit_log_dir" in message

        with pytest.raises(LogDirError) as raised:
            run_exp_manager(tmp_path, exp_dir=str(read_only), name="run")
        message = str(raised.value)
        assert f"cannot create the log folder '{read_only / 'run'}" in message
        assert "exp_manager.exp_dir" in message
        assert list(read_only.iterdir()) == []


def test_checkpoint_folder_that_cannot_be_written_is_an_error_before_any_log_is_written(tmp_path):
    logs = tmp_path / "logs"
    with unwritable_folder(tmp_path / "read_only") as read_only:
        with pytest.raises(LogDirError) as raised:
            run_exp_manager(
                tmp_path, explicit_log_dir=str(logs), checkpoint_callback_params={"dirpath": str(read_only)}
            )
    message = str(raised.value)
    assert f"cannot write to the checkpoint folder '{read_only}'" in message
    assert "exp_manager.checkpoint_callback_params.dirpath" in message
    assert list(logs.iterdir()) == []  # no log file, no cmd-args.log: the run stopped before writing


def test_log_folder_under_a_regular_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "runs").write_text("a file where the runs folder should be\n")
    with pytest.raises(LogDirError) as raised:
        run_exp_manager(tmp_path, exp_dir=str(tmp_path / "runs"), name="asr", version="v1")
    message = str(raised.value)
    assert f"cannot create the log folder '{tmp_path / 'runs' / 'asr' / 'v1'}'" in message
    assert "exp_manager.exp_dir" in message


@pytest.mark.parametrize("threshold", ["module default", 0])
def test_full_disk_is_an_error_naming_the_folder_before_training(tmp_path, monkeypatch, threshold):
    """A really full disk: refused by the free-space check, or (check off) by the write probe."""
    with tmpfs(tmp_path / "full_disk", "1m") as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here (needs root): the threshold test covers the check")
        fill(disk)
        if threshold == 0:
            monkeypatch.setattr(exp_manager_module, "MIN_FREE_DISK_BYTES", 0)
        with pytest.raises(LogDirError) as raised:
            run_exp_manager(tmp_path, explicit_log_dir=str(disk / "logs"))
    message = str(raised.value)
    assert f"'{disk / 'logs'}'" in message
    if threshold == 0:
        assert "cannot write to the log folder" in message and "No space left on device" in message
    else:
        assert "has 0.0 MiB free" in message and "MIN_FREE_DISK_BYTES" in message


def test_disk_with_less_free_space_than_the_threshold_is_an_error(tmp_path, monkeypatch):
    disk_size = shutil.disk_usage(tmp_path).total
    monkeypatch.setattr(exp_manager_module, "MIN_FREE_DISK_BYTES", disk_size + 1)
    logs = tmp_path / "logs"
    with pytest.raises(LogDirError) as raised:
        run_exp_manager(tmp_path, explicit_log_dir=str(logs))
    message = str(raised.value)
    assert f"The disk holding the log folder '{logs}' has" in message
    assert f"requires at least {(disk_size + 1) / 1024**2:.1f} MiB" in message
    assert "Free some space, or set exp_manager.explicit_log_dir to a folder" in message
    assert list(logs.iterdir()) == []

    monkeypatch.setattr(exp_manager_module, "MIN_FREE_DISK_BYTES", 0)
    assert run_exp_manager(tmp_path, explicit_log_dir=str(logs)) == logs

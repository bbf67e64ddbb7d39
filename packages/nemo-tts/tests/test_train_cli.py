"""``nemo train`` on the shipped small TTS configs, as a user runs it on the bundled 16 kHz speech:
``nemo tts pitch-stats`` fills FastPitch's pitch statistics, training writes TensorBoard curves and
images and a ``.nemo`` that restores and speaks; HiFi-GAN trains both of its optimizers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

REPO_ROOT = Path(__file__).resolve().parents[3]
ASTERISK = REPO_ROOT / "data" / "asterisk"
NEMO = Path(sys.executable).parent / "nemo"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run_nemo(*args: object, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(NEMO), *map(str, args)], capture_output=True, text=True, env=ENV, timeout=timeout, check=False
    )


def small_manifest(folder: Path, split: str, count: int, min_duration: float) -> Path:
    """The first ``count`` clips of a bundled split at least ``min_duration`` long, with absolute paths."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for line in (ASTERISK / f"{split}_manifest.json").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["duration"] >= min_duration:
            entry["audio_filepath"] = str(ASTERISK / entry["audio_filepath"])
            lines.append(json.dumps(entry))
        if len(lines) == count:
            break
    manifest = folder / f"{split}.json"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def events(run_dir: Path) -> EventAccumulator:
    (event_file,) = sorted(run_dir.rglob("events.out.tfevents.*"))[:1]
    accumulator = EventAccumulator(str(event_file), size_guidance={"images": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator


def train_tiny(
    config: str, train: Path, dev: Path, runs: Path, *overrides: str, train_batch_size: int
) -> tuple[EventAccumulator, Path]:
    """``nemo train config`` on the given manifests, logging every step into ``runs``.

    Returns:
        The run's TensorBoard events and the ``.nemo`` archive it wrote.
    """
    result = run_nemo(
        "train",
        config,
        f"train_dataset={train}",
        f"validation_datasets={dev}",
        *overrides,
        "trainer.log_every_n_steps=1",
        f"model.train_ds.dataloader_params.batch_size={train_batch_size}",
        "model.validation_ds.dataloader_params.batch_size=2",
        f"exp_manager.exp_dir={runs}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (archive,) = sorted(runs.rglob("*.nemo"))
    return events(runs), archive


def test_fastpitch_tiny_cpu_trains_from_pitch_stats_to_a_speaking_archive(tmp_path):
    train = small_manifest(tmp_path / "data", "train", count=8, min_duration=1.0)
    dev = small_manifest(tmp_path / "data", "dev", count=2, min_duration=1.0)
    sup = tmp_path / "sup"

    stats = run_nemo("tts", "pitch-stats", train, "--sample-rate", "16000", "--sup-data-path", sup)
    assert stats.returncode == 0, stats.stderr
    values = dict(line.split(": ") for line in stats.stdout.splitlines() if line.startswith("pitch_"))
    pitch_mean, pitch_std = float(values["pitch_mean"]), float(values["pitch_std"])
    assert 100.0 < pitch_mean < 300.0 and 10.0 < pitch_std < 100.0  # one female voice, as Hz
    assert len(list((sup / "pitch").iterdir())) == 8  # cached for training to reuse

    run, archive = train_tiny(
        "fastpitch_tiny_cpu",
        train,
        dev,
        tmp_path / "runs",
        f"sup_data_path={sup}",
        f"pitch_mean={pitch_mean}",
        f"pitch_std={pitch_std}",
        "trainer.max_epochs=2",
        train_batch_size=4,
    )
    scalars = set(run.Tags()["scalars"])
    assert {
        "t_loss",
        "t_mel_loss",
        "t_dur_loss",
        "t_pitch_loss",
        "t_ctc_loss",
        "t_bin_loss",
        "val_loss",
    } <= scalars
    assert len(run.Scalars("t_loss")) == 4  # 2 epochs x 2 batches, logged every step
    images = set(run.Tags()["images"])
    assert {"val_mel_target", "val_mel_predicted", "val_attn", "val_pitch_predicted"} <= images
    assert {"train_mel_target", "train_attn"} <= images  # after the first validation, as NeMo does

    from nemo.collections.tts.models import FastPitchModel

    model = FastPitchModel.restore_from(str(archive), map_location="cpu").eval()
    tokens = model.parse("please hold")
    # Four steps leave the duration predictor near zero (it may predict no frames), so the restored archive
    # speaks with given durations: three frames a token.
    with torch.inference_mode():
        spec, num_frames, *_ = model(text=tokens, durs=torch.full_like(tokens, 3), pitch=None, speaker=None)
    assert spec.shape == (1, 80, 3 * tokens.shape[1]) and num_frames.tolist() == [3 * tokens.shape[1]]
    assert torch.isfinite(spec).all()


def test_hifigan_tiny_cpu_trains_both_optimizers_and_logs_the_gan_losses(tmp_path):
    train = small_manifest(tmp_path / "data", "train", count=4, min_duration=1.0)
    dev = small_manifest(tmp_path / "data", "dev", count=2, min_duration=2.0)

    run, archive = train_tiny(
        "hifigan_tiny_cpu",
        train,
        dev,
        tmp_path / "runs",
        "trainer.max_steps=-1",
        "+trainer.max_epochs=1",
        "trainer.check_val_every_n_epoch=1",
        train_batch_size=2,
    )
    scalars = set(run.Tags()["scalars"])
    assert {
        "d_loss",
        "d_loss_mpd",
        "d_loss_msd",
        "g_loss",
        "g_loss_fm_mpd",
        "g_loss_gen_msd",
        "val_loss",
    } <= scalars
    assert len(run.Scalars("d_loss")) == 2  # 2 batches, both optimizers stepping on each
    from nemo.collections.tts.models import HifiGanModel

    model = HifiGanModel.restore_from(str(archive), map_location="cpu").eval()
    with torch.inference_mode():
        audio = model.convert_spectrogram_to_audio(spec=torch.zeros(1, 80, 10) - 5.0)
    assert audio.shape == (1, 2560) and torch.isfinite(audio).all()


@pytest.mark.parametrize("name", ["fastpitch_align_v1.05", "hifigan"])
def test_a_config_with_its_data_keys_unset_names_them(name, tmp_path, capsys):
    from nemo.core.cli.main import main  # in this process: the message is what is tested, not the launch

    assert main(["train", name, f"exp_manager.exp_dir={tmp_path}"]) == 1
    stderr = capsys.readouterr().err
    assert "train_dataset" in stderr and "unset (???)" in stderr

"""HiFi-GAN trains with a real Lightning Trainer on real speech (the bundled Asterisk prompts, 16 kHz).

The config is NeMo's ``hifigan.yaml`` model section with a small generator (upsample 8-8-4, hop 256) and NeMo's
``debug`` switch, which narrows the discriminators so that a CPU step takes a fraction of a second.
"""

import json
import math
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import soundfile as sf
import torch
from nemo.collections.tts.models import HifiGanModel
from omegaconf import OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[4]
ASTERISK = REPO_ROOT / "data" / "asterisk"
DATA = Path(__file__).parent / "data"
N_CLIPS = 4
SEGMENT = 4096


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hifigan_data") / "manifest.json"
    lines = (ASTERISK / "train_manifest.json").read_text().splitlines()[:N_CLIPS]
    with path.open("w") as file:
        for line in lines:
            entry = json.loads(line)
            entry["audio_filepath"] = str(ASTERISK / entry["audio_filepath"])
            file.write(json.dumps(entry) + "\n")
    return path


def tiny_config(manifest: Path) -> dict:
    """The model config of ``data/hifigan_train_tiny.nemo`` (see its generator script), warming up over half of
    ``max_steps`` 8, training and validating on ``manifest``'s clips."""
    with tarfile.open(DATA / "hifigan_train_tiny.nemo") as archive:
        text = archive.extractfile("./model_config.yaml").read().decode("utf-8")
    cfg = OmegaConf.to_container(OmegaConf.create(text))
    for key in ("target", "nemo_version"):
        del cfg[key]
    cfg["optim"]["sched"]["warmup_ratio"] = 0.5
    cfg["max_steps"] = 8
    dataset = {
        "_target_": "nemo.collections.tts.data.dataset.VocoderDataset",
        "manifest_filepath": str(manifest),
        "sample_rate": 16000,
        "n_segments": SEGMENT,
    }
    cfg["train_ds"] = {
        "dataset": dataset,
        "dataloader_params": {"drop_last": False, "shuffle": True, "batch_size": 2, "num_workers": 0},
    }
    cfg["validation_ds"] = {
        "dataset": dataset,
        "dataloader_params": {"drop_last": False, "shuffle": False, "batch_size": 2, "num_workers": 0},
    }
    return cfg


@pytest.fixture(scope="module")
def trained(manifest: Path, cpu_trainer: Callable[..., pl.Trainer]) -> tuple[HifiGanModel, dict, pl.Trainer]:
    torch.manual_seed(0)
    trainer = cpu_trainer(
        max_steps=6,  # Lightning counts both optimizers' steps: 3 training steps.
        limit_val_batches=1,
        val_check_interval=2,
        num_sanity_val_steps=0,
    )
    model = HifiGanModel(cfg=OmegaConf.create(tiny_config(manifest)), trainer=trainer)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    trainer.fit(model)
    return model, before, trainer


def test_both_optimizers_change_their_weights(trained: tuple[HifiGanModel, dict, pl.Trainer]) -> None:
    model, before, _ = trained
    after = model.state_dict()
    for key in (
        "generator.conv_pre.weight_v",
        "generator.ups.2.weight_g",
        "mpd.discriminators.4.convs.0.weight_v",
        "msd.discriminators.0.convs.0.weight_orig",
        "msd.discriminators.2.conv_post.weight_v",
    ):
        assert not torch.equal(after[key], before[key]), key
    # The mel filterbanks are buffers, not trained.
    assert torch.equal(after["trg_melspec_fn.fb"], before["trg_melspec_fn.fb"])


def test_logged_losses_are_finite_and_named_as_nemo(trained: tuple[HifiGanModel, dict, pl.Trainer]) -> None:
    _, _, trainer = trained
    metrics = trainer.callback_metrics
    names = (
        "g_loss_fm_mpd",
        "g_loss_fm_msd",
        "g_loss_gen_mpd",
        "g_loss_gen_msd",
        "g_loss",
        "d_loss_mpd",
        "d_loss_msd",
        "d_loss",
        "g_l1_loss",
        "val_loss",
        "lr",
    )
    for name in names:
        assert name in metrics, name
        assert math.isfinite(float(metrics[name])), name
    total = sum(
        float(metrics[name])
        for name in ("g_loss_fm_mpd", "g_loss_fm_msd", "g_loss_gen_mpd", "g_loss_gen_msd")
    )
    assert float(metrics["g_loss"]) == pytest.approx(total + 45 * float(metrics["g_l1_loss"]), rel=1e-5)
    assert float(metrics["d_loss"]) == pytest.approx(
        float(metrics["d_loss_mpd"]) + float(metrics["d_loss_msd"]), rel=1e-5
    )


def test_schedulers_step_with_the_training_steps(trained: tuple[HifiGanModel, dict, pl.Trainer]) -> None:
    model, _, trainer = trained
    optim_g, optim_d = trainer.optimizers
    scheduler_g, scheduler_d = (config.scheduler for config in trainer.lr_scheduler_configs)
    assert scheduler_g.last_epoch == scheduler_d.last_epoch == 3
    # Warm-up over half of max_steps 8 (4 steps); NeMo's WarmupPolicy gives peak * (step + 1) / (warmup + 1).
    assert optim_g.param_groups[0]["lr"] == pytest.approx(0.0002 * (3 + 1) / (4 + 1))
    assert optim_d.param_groups[0]["lr"] == pytest.approx(optim_g.param_groups[0]["lr"])
    assert model.lr_schedule_interval == "step"


def test_generator_losses_reach_only_the_generator(manifest: Path) -> None:
    """The generator step keeps the discriminators out of autograd, and leaves them trainable afterwards."""
    model = HifiGanModel(cfg=OmegaConf.create(tiny_config(manifest)))
    audio, audio_len = next(iter(model._train_dl))
    mel, _ = model.audio_to_melspec_precessor(audio, audio_len)
    audio_pred = model.generator(x=mel)
    losses = model._generator_adversarial_losses(audio.unsqueeze(1), audio_pred)
    sum(losses).backward()
    assert all(loss.ndim == 0 and torch.isfinite(loss) for loss in losses)
    assert model.generator.conv_pre.weight_v.grad is not None
    assert model.generator.ups[0].weight_g.grad.abs().sum() > 0
    discriminator_params = [*model.mpd.parameters(), *model.msd.parameters()]
    assert all(p.grad is None for p in discriminator_params)
    assert all(p.requires_grad for p in discriminator_params)


def test_two_training_steps_match_nemo(cpu_trainer: Callable[..., pl.Trainer]) -> None:
    """NeMo 1.23 trained ``data/hifigan_train_tiny.nemo`` for two steps on one batch (data/make_hifigan_train_fixture.py);
    the same steps here give the same weights, spectral-norm vectors and logged losses."""
    expected = torch.load(DATA / "hifigan_train_tiny.io.pt", weights_only=True)
    model = HifiGanModel.restore_from(DATA / "hifigan_train_tiny.nemo", map_location="cpu")
    loader = torch.utils.data.DataLoader([(expected["audio"], expected["audio_len"])] * 2, batch_size=None)
    trainer = cpu_trainer(
        max_epochs=1,
        num_sanity_val_steps=0,
    )
    model.set_trainer(trainer)
    model._train_dl = loader
    trainer.fit(model, train_dataloaders=loader)
    state = model.state_dict()
    for key, value in expected["after"].items():
        torch.testing.assert_close(state[key], value, atol=1e-5, rtol=1e-4, msg=key)
    for key, value in expected["metrics"].items():
        assert float(trainer.callback_metrics[key]) == pytest.approx(value, rel=1e-4, abs=1e-6), key


def test_fine_tuning_on_precomputed_mels(
    manifest: Path, tmp_path: Path, cpu_trainer: Callable[..., pl.Trainer]
) -> None:
    """``load_precomputed_mel`` (NeMo's fine-tuning set-up): the generator trains from the manifest's mel files."""
    cfg = tiny_config(manifest)
    featurizer = HifiGanModel(cfg=OmegaConf.create({**cfg, "train_ds": None, "validation_ds": None}))
    fine_tune_manifest = tmp_path / "mels.json"
    with fine_tune_manifest.open("w") as file:
        for index, line in enumerate(manifest.read_text().splitlines()):
            entry = json.loads(line)
            audio, _ = sf.read(entry["audio_filepath"], dtype="float32")
            with torch.no_grad():
                mel, _ = featurizer.audio_to_melspec_precessor(
                    torch.from_numpy(audio)[None], torch.tensor([audio.shape[0]])
                )
            entry["mel_filepath"] = str(tmp_path / f"{index}.npy")
            np.save(entry["mel_filepath"], mel[0].numpy())
            file.write(json.dumps(entry) + "\n")
    cfg["train_ds"]["dataset"].update(
        manifest_filepath=str(fine_tune_manifest), load_precomputed_mel=True, hop_length=256
    )
    cfg["validation_ds"] = None
    trainer = cpu_trainer(
        max_steps=4,
    )
    model = HifiGanModel(cfg=OmegaConf.create(cfg), trainer=trainer)
    assert model.input_as_mel
    before = model.generator.conv_pre.weight_v.detach().clone()
    trainer.fit(model)
    assert not torch.equal(model.generator.conv_pre.weight_v, before)
    assert math.isfinite(float(trainer.callback_metrics["g_l1_loss"]))


def test_hifigan_passes_the_conformance_kit(manifest: Path, tmp_path: Path) -> None:
    from nemo.core.conformance import assert_model_conforms

    cfg = OmegaConf.create(tiny_config(manifest))
    mels = torch.randn(2, cfg.preprocessor.nfilt, 20, generator=torch.Generator().manual_seed(0))
    assert_model_conforms(HifiGanModel, cfg, tmp_path, inputs={"spec": mels})

"""Mixed precision, gradient accumulation and gradient clipping come from the ``trainer`` section of the config.

Each test composes the demo's Conformer-CTC config with Hydra overrides, as ``nemo train`` does, builds the
``Trainer`` from ``cfg.trainer`` and trains a tiny model on CPU for a few steps, watching what Lightning did:
the dtype the encoder computed in, how many optimizer steps ran, and the gradient norm each step saw.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecCTCModel
from nemo.core.cli.train import compose_config

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = REPO_ROOT / "examples" / "asr" / "conf" / "demo_ctc_char.yaml"
SAMPLE_RATE = 16000
NUM_CLIPS = 8


def write_clips(folder: Path) -> Path:
    """Eight noise clips (0.3 s to 0.44 s) with short transcripts; returns their manifest."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    lines = []
    for index in range(NUM_CLIPS):
        length = int(SAMPLE_RATE * (0.30 + 0.02 * index))
        path = folder / f"clip{index}.wav"
        sf.write(path, rng.uniform(-0.3, 0.3, length).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        lines.append(
            {"audio_filepath": str(path), "duration": length / SAMPLE_RATE, "text": "ab cd"[: 2 + index % 4]}
        )
    manifest = folder / "manifest.json"
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return manifest


def train(tmp_path: Path, *overrides: str) -> tuple[EncDecCTCModel, pl.Trainer]:
    """Compose the demo config with ``overrides``, build the Trainer from ``cfg.trainer`` and fit."""
    manifest = write_clips(tmp_path / "data")
    cfg = compose_config(
        DEMO_CONFIG,
        [
            f"model.train_ds.manifest_filepath={manifest}",
            "model.train_ds.batch_size=2",  # 4 batches per epoch
            "model.train_ds.use_bucketing=false",
            "model.train_ds.shuffle=false",
            "model.train_ds.num_workers=0",
            "model.encoder.d_model=16",
            "model.encoder.n_layers=1",
            "model.encoder.n_heads=2",
            "model.log_prediction=false",
            "trainer.accelerator=cpu",
            "trainer.max_epochs=1",
            "trainer.max_steps=-1",
            "trainer.enable_progress_bar=false",
            "+trainer.enable_model_summary=false",
            *overrides,
        ],
    )
    torch.manual_seed(0)
    trainer = pl.Trainer(**cfg.trainer)
    model = EncDecCTCModel(cfg=cfg.model, trainer=trainer)
    return model, trainer


def test_bf16_mixed_precision_on_cpu_runs_the_encoder_in_bfloat16_and_keeps_float32_weights(tmp_path):
    model, trainer = train(tmp_path, "trainer.precision=bf16-mixed")
    dtypes = []
    model.encoder.register_forward_hook(lambda module, args, output: dtypes.append(output[0].dtype))
    losses = []
    model.on_train_batch_end = lambda outputs, batch, batch_idx: losses.append(float(outputs["loss"]))
    trainer.fit(model)
    assert trainer.precision == "bf16-mixed"
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert len(losses) == NUM_CLIPS // 2 and all(np.isfinite(losses))
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}


def test_full_precision_runs_the_encoder_in_float32(tmp_path):
    """The control for the test above: without ``precision=bf16-mixed`` nothing runs in bfloat16."""
    model, trainer = train(tmp_path, "trainer.precision=32")
    dtypes = []
    model.encoder.register_forward_hook(lambda module, args, output: dtypes.append(output[0].dtype))
    trainer.fit(model)
    assert dtypes and set(dtypes) == {torch.float32}


@pytest.mark.parametrize("accumulate", [1, 2, 4])
def test_accumulate_grad_batches_steps_the_optimizer_once_per_group_of_batches(tmp_path, accumulate):
    model, trainer = train(tmp_path, f"trainer.accumulate_grad_batches={accumulate}")
    optimizer_steps = []
    model.on_before_optimizer_step = lambda optimizer: optimizer_steps.append(trainer.fit_loop.batch_idx)
    trainer.fit(model)
    batches = NUM_CLIPS // 2
    assert trainer.global_step == batches // accumulate
    # The optimizer steps after the last batch of each group (batch indices accumulate - 1, 2 * accumulate - 1...).
    assert optimizer_steps == list(range(accumulate - 1, batches, accumulate))
    (state,) = {int(s["step"]) for s in trainer.optimizers[0].state.values()}
    assert state == batches // accumulate


def total_gradient_norm(model: torch.nn.Module) -> float:
    norms = [p.grad.detach().norm(2) for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms), 2))


@pytest.mark.parametrize("clip", [0.0, 0.05])
def test_gradient_clip_val_bounds_the_norm_the_optimizer_sees(tmp_path, clip):
    model, trainer = train(
        tmp_path, f"trainer.gradient_clip_val={clip}", "+trainer.gradient_clip_algorithm=norm"
    )
    seen = []
    # Lightning runs forward, backward and clipping in the closure it passes to optimizer.step: a hook after
    # the step sees the gradients the update used.
    model.on_train_start = lambda: trainer.optimizers[0].register_step_post_hook(
        lambda optimizer, args, kwargs: seen.append(total_gradient_norm(model))
    )
    trainer.fit(model)
    assert len(seen) == NUM_CLIPS // 2
    if clip:
        assert max(seen) <= clip * (1 + 1e-4)
    else:  # unclipped, the untrained model's gradients are far larger than the clip above
        assert min(seen) > 10 * 0.05

"""EMA with a real Lightning Trainer on a one-weight model whose weights after each step are known in closed form.

The model's loss is ``w`` itself, so every SGD step (lr 0.1) lowers ``w`` by exactly 0.1: after ``k`` steps
``w_k = 1 - 0.1 k``. The expected averages are computed from that by the recurrence of the EMA definition,
``ema <- decay * ema + (1 - decay) * w`` starting from ``w_0``, independently of the code under test.
"""

import pytest
import pytorch_lightning as pl
import torch
from nemo.collections.common.callbacks import EMA
from nemo.collections.common.callbacks.ema import EMAOptimizer
from nemo.utils.callbacks.nemo_model_checkpoint import NeMoModelCheckpoint
from nemo.utils.exp_manager import exp_manager
from pytorch_lightning.utilities.exceptions import MisconfigurationException

LR = 0.1


def weight_after(steps: int) -> float:
    return 1.0 - LR * steps


def expected_ema(steps: int, decay: float, every_n_steps: int = 1) -> float:
    """The average after ``steps`` optimizer steps; step ``k`` (0-based) updates it when ``k % every_n_steps == 0``."""
    ema = weight_after(0)
    for k in range(steps):
        if k % every_n_steps == 0:
            ema = decay * ema + (1 - decay) * weight_after(k + 1)
    return ema


class OneWeight(pl.LightningModule):
    """``loss = w``; validation records the weight it sees."""

    def __init__(self, batches: int = 4):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.batches = batches
        self.seen_in_validation: list[float] = []

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.zeros(self.batches, 1), batch_size=1)

    def val_dataloader(self):
        return torch.utils.data.DataLoader(torch.zeros(1, 1), batch_size=1)

    def training_step(self, batch, batch_idx):
        return self.w.sum()

    def validation_step(self, batch, batch_idx):
        self.seen_in_validation.append(float(self.w))
        self.log("val_loss", self.w.sum())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=LR)


def trainer(**kwargs) -> pl.Trainer:
    options = dict(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        accelerator="cpu",
        devices=1,
    )
    return pl.Trainer(**{**options, **kwargs})


def ema_value(fitted: pl.Trainer) -> float:
    (optimizer,) = fitted.optimizers
    assert isinstance(optimizer, EMAOptimizer)
    return float(optimizer.ema_params[0])


@pytest.mark.parametrize(("decay", "every_n_steps"), [(0.5, 1), (0.8, 2)])
def test_average_after_training_matches_the_recurrence(decay, every_n_steps):
    model = OneWeight(batches=4)
    fitted = trainer(limit_val_batches=0, callbacks=[EMA(decay=decay, every_n_steps=every_n_steps)])
    fitted.fit(model)
    assert float(model.w) == pytest.approx(weight_after(4))
    assert ema_value(fitted) == pytest.approx(expected_ema(4, decay, every_n_steps))
    assert fitted.optimizers[0].current_step == 4


@pytest.mark.parametrize("validate_original_weights", [False, True])
def test_validation_sees_the_average_unless_told_otherwise(validate_original_weights):
    model = OneWeight(batches=4)
    fitted = trainer(
        val_check_interval=2, callbacks=[EMA(decay=0.5, validate_original_weights=validate_original_weights)]
    )
    fitted.fit(model)
    if validate_original_weights:
        assert model.seen_in_validation == pytest.approx([weight_after(2), weight_after(4)])
    else:
        assert model.seen_in_validation == pytest.approx([expected_ema(2, 0.5), expected_ema(4, 0.5)])
    assert float(model.w) == pytest.approx(weight_after(4))  # the trained weight is back after validation


def test_decay_outside_unit_interval_is_refused():
    with pytest.raises(MisconfigurationException, match="between 0 and 1"):
        EMA(decay=1.5)


def test_exp_manager_saves_an_ema_twin_of_each_checkpoint_and_resumes_from_it(tmp_path):
    def run(ckpt_path=None, max_epochs=1):
        fitted = trainer(val_check_interval=4, limit_val_batches=1, max_epochs=max_epochs)
        exp_manager(
            fitted,
            {
                "explicit_log_dir": str(tmp_path),
                "create_tensorboard_logger": False,
                "ema": {"enable": True, "decay": 0.5},
                "checkpoint_callback_params": {
                    "filename": "{step}",
                    "save_top_k": -1,
                    "save_last": False,
                    "save_nemo_on_train_end": False,
                },
            },
        )
        model = OneWeight(batches=4)
        fitted.fit(model, ckpt_path=ckpt_path)
        return fitted, model

    run()
    plain_path, ema_path = (
        tmp_path / "checkpoints" / "step=4.ckpt",
        tmp_path / "checkpoints" / "step=4-EMA.ckpt",
    )
    plain = torch.load(plain_path, weights_only=True)
    averaged = torch.load(ema_path, weights_only=True)
    assert float(plain["state_dict"]["w"]) == pytest.approx(weight_after(4))
    assert "ema" not in plain["optimizer_states"][0]  # the wrapped optimizer's own state
    assert float(averaged["state_dict"]["w"]) == pytest.approx(expected_ema(4, 0.5))
    assert float(averaged["optimizer_states"][0]["ema"][0]) == pytest.approx(expected_ema(4, 0.5))
    assert averaged["optimizer_states"][0]["current_step"] == 4

    # Resuming X.ckpt takes the average from X-EMA.ckpt: a second epoch continues the same recurrence.
    resumed, model = run(ckpt_path=str(plain_path), max_epochs=2)
    assert resumed.global_step == 8
    assert float(model.w) == pytest.approx(weight_after(8))
    assert ema_value(resumed) == pytest.approx(expected_ema(8, 0.5))

    ema_path.unlink()
    with pytest.raises(MisconfigurationException, match="Unable to find the associated EMA weights"):
        run(ckpt_path=str(plain_path))


def test_optimizer_state_round_trip_and_plain_state():
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = EMAOptimizer(torch.optim.SGD([weight], lr=LR), torch.device("cpu"), decay=0.5)
    for _ in range(3):
        optimizer.zero_grad()
        weight.sum().backward()
        optimizer.step()
    state = optimizer.state_dict()
    assert float(state["ema"][0][0]) == pytest.approx(expected_ema(3, 0.5))

    other = EMAOptimizer(torch.optim.SGD([weight], lr=LR), torch.device("cpu"), decay=0.9)
    other.load_state_dict(state)
    assert (other.current_step, other.decay) == (3, 0.5)
    with other.swap_ema_weights():
        assert float(weight[0]) == pytest.approx(expected_ema(3, 0.5))
    assert float(weight[0]) == pytest.approx(weight_after(3))

    other.load_state_dict(torch.optim.SGD([weight], lr=LR).state_dict())  # no averages: they restart
    assert other.ema_params == () and other.rebuild_ema_params


def test_resuming_with_a_smaller_top_k_deletes_the_worst_checkpoints_and_their_twins(tmp_path):
    paths = {name: tmp_path / f"{name}.ckpt" for name in ("good", "fair", "bad")}
    for path in [*paths.values(), tmp_path / "bad-EMA.ckpt"]:
        path.touch()
    scores = {"good": 0.1, "fair": 0.5, "bad": 0.9}  # mode "min": lower is better
    callback = NeMoModelCheckpoint(dirpath=str(tmp_path), monitor="val_loss", save_top_k=2)
    callback.load_state_dict(
        {
            "dirpath": str(tmp_path),
            "best_model_score": torch.tensor(0.1),
            "best_model_path": str(paths["good"]),
            "best_k_models": {str(paths[name]): torch.tensor(score) for name, score in scores.items()},
        }
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fair.ckpt", "good.ckpt"]
    assert callback.kth_best_model_path == str(paths["fair"]) and callback.best_model_path == str(
        paths["good"]
    )

"""NeMo's schedules step by step against their formulas, the registry, compute_max_steps and prepare_lr_scheduler."""

import inspect
import math
from dataclasses import dataclass

import pytest
import pytorch_lightning as pl
import torch
from nemo.core.config import schedulers as scheduler_configs
from nemo.core.optim import lr_scheduler
from nemo.core.optim.lr_scheduler import (
    AVAILABLE_SCHEDULERS,
    CosineAnnealing,
    InverseSquareRootAnnealing,
    NoamAnnealing,
    NoamHoldAnnealing,
    PolynomialDecayAnnealing,
    PolynomialHoldDecayAnnealing,
    SquareAnnealing,
    SquareRootAnnealing,
    T5InverseSquareRootAnnealing,
    WarmupAnnealing,
    WarmupHoldPolicy,
    WarmupPolicy,
    compute_max_steps,
    get_scheduler,
    prepare_lr_scheduler,
    register_scheduler,
)
from omegaconf import OmegaConf

BASE_LR = 0.5


def make_optimizer(lr: float = BASE_LR) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=lr)


def lr_curve(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    """The learning rate in effect at steps 0..steps-1 (one optimizer step + one scheduler step each)."""
    curve = []
    for _ in range(steps):
        curve.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return curve


def warmup(step: int, warmup_steps: int) -> float:
    return BASE_LR * (step + 1) / (warmup_steps + 1)


def test_warmup_policy_warms_up_linearly_holds_base_lr_then_min_lr_after_max_steps():
    sched = WarmupPolicy(make_optimizer(), warmup_steps=4, max_steps=10, min_lr=0.01)
    expected = [warmup(k, 4) for k in range(5)] + [BASE_LR] * 6 + [0.01] * 3
    assert lr_curve(sched, 14) == pytest.approx(expected)


def test_warmup_ratio_is_a_fraction_of_max_steps():
    sched = WarmupPolicy(make_optimizer(), warmup_ratio=0.25, max_steps=10)
    assert sched.warmup_steps == int(0.25 * 10)


def test_warmup_hold_policy_holds_for_hold_steps_after_warmup():
    sched = WarmupHoldPolicy(make_optimizer(), warmup_steps=2, hold_steps=3, max_steps=10, min_lr=0.0)
    assert sched.hold_steps == 5
    curve = lr_curve(sched, 12)
    assert curve[:3] == pytest.approx([warmup(k, 2) for k in range(3)])
    assert curve[3:11] == pytest.approx([BASE_LR] * 8)
    assert curve[11] == 0.0


def test_cosine_annealing_follows_half_cosine_from_base_lr_to_min_lr():
    warmup_steps, max_steps, min_lr = 3, 13, 0.05
    sched = CosineAnnealing(make_optimizer(), warmup_steps=warmup_steps, max_steps=max_steps, min_lr=min_lr)
    curve = lr_curve(sched, 16)
    for step, lr in enumerate(curve):
        if step <= warmup_steps:
            expected = warmup(step, warmup_steps)
        elif step <= max_steps:
            progress = (step - warmup_steps) / (max_steps - warmup_steps)
            expected = min_lr + (BASE_LR - min_lr) * (1 + math.cos(math.pi * progress)) / 2
        else:
            expected = min_lr
        assert lr == pytest.approx(expected), step
    assert curve[max_steps] == pytest.approx(min_lr)


def test_cosine_annealing_with_constant_steps_uses_megatron_warmup_and_constant_tail():
    warmup_steps, constant_steps, max_steps, min_lr = 4, 3, 15, 0.1
    sched = CosineAnnealing(
        make_optimizer(),
        warmup_steps=warmup_steps,
        constant_steps=constant_steps,
        max_steps=max_steps,
        min_lr=min_lr,
    )
    decay_steps = max_steps - warmup_steps - constant_steps
    for step, lr in enumerate(lr_curve(sched, 18)):
        if step <= warmup_steps:
            expected = BASE_LR * step / warmup_steps
        elif step <= warmup_steps + decay_steps:
            progress = (step - warmup_steps) / decay_steps
            expected = min_lr + (BASE_LR - min_lr) * (1 + math.cos(math.pi * progress)) / 2
        else:
            expected = min_lr
        assert lr == pytest.approx(expected), step


def test_cosine_annealing_refuses_base_lr_below_min_lr():
    with pytest.raises(ValueError, match=r"initial learning rate \(0.01\) lower than min_lr \(0.1\)"):
        CosineAnnealing(make_optimizer(lr=0.01), max_steps=10, min_lr=0.1)


def test_square_and_square_root_annealing():
    square = SquareAnnealing(make_optimizer(), warmup_steps=2, max_steps=12, min_lr=1e-3)
    for step, lr in enumerate(lr_curve(square, 12)):
        if step > 2:
            decay = 12 - 2
            assert lr == pytest.approx(max(BASE_LR * ((decay - (step - 2)) / decay) ** 2, 1e-3)), step

    root = SquareRootAnnealing(make_optimizer(), max_steps=9, min_lr=0.1)
    for step, lr in enumerate(lr_curve(root, 9)):
        assert lr == pytest.approx(max(BASE_LR * math.sqrt((9 - step) / 9), 0.1)), step


def test_noam_annealing_matches_transformer_schedule():
    d_model, warmup_steps = 16, 4
    sched = NoamAnnealing(make_optimizer(), d_model=d_model, warmup_steps=warmup_steps, min_lr=1e-4)
    for step, lr in enumerate(lr_curve(sched, 12)):
        s = max(step, 1)
        expected = BASE_LR * d_model**-0.5 * min(s**-0.5, s * warmup_steps**-1.5)
        if s > warmup_steps:
            expected = max(expected, 1e-4)
        assert lr == pytest.approx(expected), step


def test_noam_hold_annealing_decays_from_the_end_of_the_hold():
    warmup_steps, hold_steps, rate = 3, 2, 0.5
    sched = NoamHoldAnnealing(
        make_optimizer(), warmup_steps=warmup_steps, hold_steps=hold_steps, max_steps=20, decay_rate=rate
    )
    curve = lr_curve(sched, 15)
    assert curve[warmup_steps + 1 : warmup_steps + hold_steps] == pytest.approx([BASE_LR] * (hold_steps - 1))
    for step in range(warmup_steps + hold_steps, 15):
        expected = BASE_LR * warmup_steps**rate / max(1, (step - hold_steps) ** rate)
        assert curve[step] == pytest.approx(expected), step


def test_noam_hold_annealing_without_warmup_is_an_error():
    with pytest.raises(ValueError, match="without warmup steps"):
        NoamHoldAnnealing(make_optimizer(), max_steps=10)


def test_warmup_annealing_is_linear_to_min_lr():
    sched = WarmupAnnealing(make_optimizer(), warmup_steps=2, max_steps=10, min_lr=0.1)
    for step, lr in enumerate(lr_curve(sched, 11)):
        if step > 2:
            assert lr == pytest.approx(0.1 + (BASE_LR - 0.1) * (1 - (step - 2) / 8)), step
    assert lr_curve(sched, 1)[0] == 0.1


def test_inverse_square_root_annealing():
    sched = InverseSquareRootAnnealing(make_optimizer(), warmup_steps=3, max_steps=50)
    for step, lr in enumerate(lr_curve(sched, 10)):
        if step > 3:
            assert lr == pytest.approx(BASE_LR * math.sqrt(4 / (step + 1))), step


def test_t5_inverse_square_root_annealing_ignores_the_optimizer_lr():
    sched = T5InverseSquareRootAnnealing(make_optimizer(), constant_steps=4, max_steps=8, min_lr=0.0)
    curve = lr_curve(sched, 10)
    assert curve[:5] == pytest.approx([1 / math.sqrt(4)] * 5)
    assert curve[5:9] == pytest.approx([1 / math.sqrt(step) for step in range(5, 9)])
    assert curve[9] == 0.0


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_polynomial_decay_annealing(power):
    warmup_steps, max_steps, min_lr = 2, 10, 0.05
    sched = PolynomialDecayAnnealing(
        make_optimizer(), warmup_steps=warmup_steps, max_steps=max_steps, min_lr=min_lr, power=power
    )
    for step, lr in enumerate(lr_curve(sched, 11)):
        if warmup_steps < step <= max_steps:
            fraction = (step - warmup_steps) / (max_steps - warmup_steps)
            assert lr == pytest.approx((BASE_LR - min_lr) * (1 - fraction) ** power + min_lr), step


def test_polynomial_decay_with_cycle_restarts_with_a_longer_period():
    # The schedule itself returns min_lr past max_steps, so the cycled decay is checked on its own.
    sched = PolynomialDecayAnnealing(make_optimizer(), max_steps=4, min_lr=0.0, cycle=True)
    period = 4 * math.ceil(6 / 4)
    assert sched._get_lr(6)[0] == pytest.approx(BASE_LR * (1 - 6 / period))


def test_polynomial_hold_decay_annealing_decays_after_the_hold():
    warmup_steps, hold_steps, max_steps = 2, 3, 15
    sched = PolynomialHoldDecayAnnealing(
        make_optimizer(), warmup_steps=warmup_steps, hold_steps=hold_steps, max_steps=max_steps, power=2.0
    )
    hold_end = warmup_steps + hold_steps
    curve = lr_curve(sched, 16)
    assert curve[warmup_steps + 1 : hold_end] == pytest.approx([BASE_LR] * (hold_steps - 1))
    for step in range(hold_end, max_steps + 1):
        fraction = min(step - hold_end, max_steps - hold_end) / (max_steps - hold_end)
        assert curve[step] == pytest.approx(BASE_LR * (1 - fraction) ** 2), step


@pytest.mark.parametrize("scheduler", [PolynomialDecayAnnealing, PolynomialHoldDecayAnnealing])
def test_polynomial_schedules_keep_nemos_keyword_only_constructor(scheduler):
    parameters = inspect.signature(scheduler).parameters
    assert list(parameters) == ["optimizer", "max_steps", "min_lr", "power", "cycle", "last_epoch", "kwargs"]
    assert parameters["max_steps"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["max_steps"].default is inspect.Parameter.empty
    sched = scheduler(make_optimizer(), max_steps=10, power=2.0, cycle=True, warmup_steps=2, min_lr=0.01)
    assert (sched.power, sched.cycle, sched.warmup_steps, sched.max_steps, sched.min_lr) == (
        2.0,
        True,
        2,
        10,
        0.01,
    )
    with pytest.raises(TypeError, match="max_steps"):
        scheduler(make_optimizer())


def test_steps_and_ratio_together_or_ratio_without_max_steps_are_errors():
    with pytest.raises(ValueError, match="both warmup_steps=2 and warmup_ratio=0.1"):
        WarmupPolicy(make_optimizer(), warmup_steps=2, warmup_ratio=0.1, max_steps=10)
    with pytest.raises(ValueError, match="hold_ratio=0.5 but no max_steps"):
        WarmupHoldPolicy(make_optimizer(), hold_ratio=0.5)


def test_get_lr_outside_step_warns_like_torch_schedulers():
    sched = WarmupPolicy(make_optimizer(), warmup_steps=2, max_steps=5)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


def test_scheduler_state_dict_round_trip_resumes_the_curve():
    sched = CosineAnnealing(make_optimizer(), warmup_steps=2, max_steps=10)
    lr_curve(sched, 5)
    resumed = CosineAnnealing(make_optimizer(), warmup_steps=2, max_steps=10)
    resumed.optimizer.load_state_dict(sched.optimizer.state_dict())  # as Lightning restores both
    resumed.load_state_dict(sched.state_dict())
    assert lr_curve(resumed, 4) == pytest.approx(lr_curve(sched, 4))


def test_registry_contains_nemo_and_torch_schedulers():
    expected = {
        "WarmupPolicy",
        "WarmupHoldPolicy",
        "SquareAnnealing",
        "CosineAnnealing",
        "NoamAnnealing",
        "NoamHoldAnnealing",
        "WarmupAnnealing",
        "InverseSquareRootAnnealing",
        "T5InverseSquareRootAnnealing",
        "SquareRootAnnealing",
        "PolynomialDecayAnnealing",
        "PolynomialHoldDecayAnnealing",
        "StepLR",
        "ExponentialLR",
        "ReduceLROnPlateau",
        "CyclicLR",
        "LambdaLR",
        "OneCycleLR",
    }
    assert expected <= set(AVAILABLE_SCHEDULERS)
    assert AVAILABLE_SCHEDULERS["StepLR"] is torch.optim.lr_scheduler.StepLR
    for name in expected - {"ReduceLROnPlateau"}:
        assert issubclass(AVAILABLE_SCHEDULERS[name], torch.optim.lr_scheduler.LRScheduler), name


def test_get_scheduler_binds_kwargs_and_rejects_unknown_names():
    sched = get_scheduler("StepLR", step_size=2, gamma=0.5)(make_optimizer())
    assert lr_curve(sched, 5) == pytest.approx([BASE_LR, BASE_LR, BASE_LR / 2, BASE_LR / 2, BASE_LR / 4])
    with pytest.raises(ValueError, match="Cannot resolve scheduler 'Nope'.*CosineAnnealing"):
        get_scheduler("Nope")


@pytest.fixture
def scheduler_registries(monkeypatch):
    monkeypatch.setattr(lr_scheduler, "AVAILABLE_SCHEDULERS", dict(lr_scheduler.AVAILABLE_SCHEDULERS))
    monkeypatch.setattr(
        scheduler_configs, "AVAILABLE_SCHEDULER_PARAMS", dict(scheduler_configs.AVAILABLE_SCHEDULER_PARAMS)
    )


@dataclass
class HalvingParams(scheduler_configs.SchedulerParams):
    every: int = 1


class Halving(torch.optim.lr_scheduler.LRScheduler):
    def __init__(self, optimizer, every=1, last_epoch=-1):
        self.every = every
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [lr * 0.5 ** (self.last_epoch // self.every) for lr in self.base_lrs]


def test_register_scheduler_makes_name_and_auto_params_resolvable(scheduler_registries):
    register_scheduler("Halving", Halving, HalvingParams)
    config = {"name": "Halving", "args": {"name": "auto", "params": {"every": 2}}}
    sched = prepare_lr_scheduler(make_optimizer(), config)["scheduler"]
    assert isinstance(sched, Halving)
    assert lr_curve(sched, 4) == pytest.approx([BASE_LR, BASE_LR, BASE_LR / 2, BASE_LR / 2])
    with pytest.raises(ValueError, match="Conflicting scheduler name = 'Halving'"):
        register_scheduler("Halving", Halving, HalvingParams)


def batches_per_epoch(num_samples: int, batch_size: int, drop_last: bool) -> int:
    loader = torch.utils.data.DataLoader(range(num_samples), batch_size=batch_size, drop_last=drop_last)
    return len(loader)


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("accumulate", [1, 3])
def test_compute_max_steps_matches_dataloader_length(drop_last, accumulate):
    per_epoch = batches_per_epoch(23, 4, drop_last)
    expected = math.ceil(per_epoch / accumulate) * 5
    assert compute_max_steps(5, accumulate, 1.0, 1, 23, 4, drop_last) == expected


def test_compute_max_steps_applies_limit_train_batches_and_workers():
    assert compute_max_steps(2, 1, 3, 1, 100, 10, False) == 3 * 2
    assert compute_max_steps(2, 1, 0.5, 1, 100, 10, False) == int(batches_per_epoch(100, 10, False) * 0.5) * 2
    assert compute_max_steps(1, 1, 1.0, 4, 100, 10, False) == batches_per_epoch(25, 10, False)


def test_prepare_lr_scheduler_with_flat_keys_returns_lightning_dict():
    config = OmegaConf.create(
        {"name": "CosineAnnealing", "max_steps": 20, "warmup_steps": 5, "min_lr": 1e-4, "monitor": "val_loss"}
    )
    result = prepare_lr_scheduler(make_optimizer(), config)
    sched = result["scheduler"]
    assert isinstance(sched, CosineAnnealing)
    assert (sched.max_steps, sched.warmup_steps, sched.min_lr) == (20, 5, 1e-4)
    assert {k: v for k, v in result.items() if k != "scheduler"} == {
        "interval": "step",
        "frequency": 1,
        "monitor": "val_loss",
        "reduce_on_plateau": False,
    }


def test_prepare_lr_scheduler_with_args_auto_resolves_params_dataclass():
    config = {
        "name": "CosineAnnealing",
        "max_steps": 30,
        "args": {"name": "auto", "params": {"warmup_ratio": 0.1}},
    }
    sched = prepare_lr_scheduler(make_optimizer(), config)["scheduler"]
    assert (sched.max_steps, sched.warmup_steps, sched.min_lr) == (
        30,
        3,
        scheduler_configs.CosineAnnealingParams.min_lr,
    )


def test_prepare_lr_scheduler_names_args_keys_it_ignores_beside_params(caplog):
    config = {
        "name": "CosineAnnealing",
        "max_steps": 30,
        "args": {"name": "auto", "params": {"warmup_ratio": 0.1}, "min_lr": 0.5},
    }
    with caplog.at_level("WARNING"):
        sched = prepare_lr_scheduler(make_optimizer(), config)["scheduler"]
    assert sched.min_lr == scheduler_configs.CosineAnnealingParams.min_lr  # NeMo reads `params` alone
    assert "optim.sched.args key(s) ['min_lr']" in caplog.text


def test_prepare_lr_scheduler_with_target_params_dataclass():
    config = {
        "max_steps": 12,
        "args": {"_target_": "nemo.core.config.schedulers.WarmupAnnealingParams", "warmup_steps": 2},
    }
    sched = prepare_lr_scheduler(make_optimizer(), config)["scheduler"]
    assert isinstance(sched, WarmupAnnealing)
    assert (sched.max_steps, sched.warmup_steps) == (12, 2)


def test_prepare_lr_scheduler_refuses_target_outside_allow_list():
    config = {"name": "CosineAnnealing", "max_steps": 5, "args": {"_target_": "os.system", "command": "true"}}
    with pytest.raises(ValueError, match="os.system"):
        prepare_lr_scheduler(make_optimizer(), config)


def test_prepare_lr_scheduler_accepts_a_dataclass_config():
    @dataclass
    class Sched(scheduler_configs.WarmupAnnealingHoldSchedulerParams):
        name: str = "CosineAnnealing"

    sched = prepare_lr_scheduler(make_optimizer(), Sched(max_steps=8, warmup_steps=1))["scheduler"]
    assert (type(sched), sched.max_steps, sched.warmup_steps) == (CosineAnnealing, 8, 1)


@pytest.mark.parametrize("max_steps", [None, -1])
def test_prepare_lr_scheduler_computes_max_steps_from_trainer_keys_and_dataloader(max_steps):
    dataset = torch.utils.data.TensorDataset(torch.zeros(50, 1))
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, drop_last=False)
    config = {
        "name": "CosineAnnealing",
        "max_steps": max_steps,
        "t_max_epochs": 3,
        "t_accumulate_grad_batches": 2,
        "t_limit_train_batches": 1.0,
        "t_num_workers": 1,
    }
    sched = prepare_lr_scheduler(make_optimizer(), config, train_dataloader=loader)["scheduler"]
    assert sched.max_steps == math.ceil(len(loader) / 2) * 3


def test_prepare_lr_scheduler_without_dataloader_or_name_returns_none():
    assert prepare_lr_scheduler(make_optimizer(), None) is None
    assert prepare_lr_scheduler(make_optimizer(), {"name": "CosineAnnealing", "t_max_epochs": 3}) is None
    assert prepare_lr_scheduler(make_optimizer(), {"max_steps": 3, "warmup_steps": 1}) is None


def test_prepare_lr_scheduler_unknown_name_lists_available():
    with pytest.raises(ValueError, match=r"Cannot resolve scheduler 'Cosine'.*'CosineAnnealing'"):
        prepare_lr_scheduler(make_optimizer(), {"name": "Cosine", "max_steps": 10})


def test_prepare_lr_scheduler_unknown_argument_names_the_scheduler():
    with pytest.raises(ValueError, match="CosineAnnealing.*warmup_stepz"):
        prepare_lr_scheduler(
            make_optimizer(), {"name": "CosineAnnealing", "max_steps": 10, "warmup_stepz": 2}
        )


def test_prepare_lr_scheduler_reduce_on_plateau_runs_per_epoch_on_the_monitor():
    config = {
        "name": "ReduceLROnPlateau",
        "monitor": "val_loss",
        "patience": 2,
        "factor": 0.5,
        "max_steps": 100,
    }
    result = prepare_lr_scheduler(make_optimizer(), config)
    assert isinstance(result["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert (result["reduce_on_plateau"], result["interval"], result["monitor"]) == (True, "epoch", "val_loss")
    assert (result["scheduler"].patience, result["scheduler"].factor) == (2, 0.5)


def test_prepare_lr_scheduler_honours_interval_and_frequency():
    config = {"name": "StepLR", "step_size": 3, "interval": "epoch", "frequency": 2}
    result = prepare_lr_scheduler(make_optimizer(), config)
    assert (result["interval"], result["frequency"], result["scheduler"].step_size) == ("epoch", 2, 3)


class _ScheduledModule(pl.LightningModule):
    def __init__(self, sched_config):
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.sched_config = sched_config
        self.seen_lrs = []

    def training_step(self, batch, batch_idx):
        self.seen_lrs.append(self.trainer.optimizers[0].param_groups[0]["lr"])
        return self.layer(batch[0]).pow(2).mean()

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(8, 1)), batch_size=2)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=BASE_LR)
        return {"optimizer": optimizer, "lr_scheduler": prepare_lr_scheduler(optimizer, self.sched_config)}


def test_lightning_steps_the_prepared_scheduler_once_per_optimizer_step():
    module = _ScheduledModule({"name": "WarmupAnnealing", "max_steps": 6, "warmup_steps": 2, "min_lr": 0.0})
    trainer = pl.Trainer(
        max_steps=6,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(module)
    reference = WarmupAnnealing(make_optimizer(), max_steps=6, warmup_steps=2, min_lr=0.0)
    assert module.seen_lrs == pytest.approx(lr_curve(reference, 6))


def test_prepare_lr_scheduler_reads_target_params_nested_under_params():
    config = {
        "_target_": "nemo.core.config.CosineAnnealingParams",
        "params": {"min_lr": 0.1},
        "max_steps": 10,
    }
    sched = prepare_lr_scheduler(make_optimizer(), config)["scheduler"]
    assert isinstance(sched, lr_scheduler.CosineAnnealing) and sched.min_lr == 0.1


def test_reduce_on_plateau_verbose_removed_by_torch_is_dropped_with_a_warning(caplog):
    """NeMo 1.23 configs set `verbose`; torch 2.7 removed it from ReduceLROnPlateau."""
    if "verbose" in inspect.signature(torch.optim.lr_scheduler.ReduceLROnPlateau).parameters:
        pytest.skip("this torch still takes `verbose`")
    config = {
        "name": "ReduceLROnPlateau",
        "monitor": "val_loss",
        "patience": 3,
        "verbose": True,
        "max_steps": 5,
    }
    with caplog.at_level("WARNING"):
        result = prepare_lr_scheduler(make_optimizer(), config)
    assert isinstance(result["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert result["scheduler"].patience == 3
    assert "sched.verbose=True" in caplog.text

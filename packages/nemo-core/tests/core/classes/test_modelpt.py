"""ModelPT with a real Lightning Trainer on CPU: data setup, optimization, several validation sets,
.nemo save/restore (artifacts, overrides, strictness), Lightning checkpoints and weight initialisation."""

from __future__ import annotations

import copy
import gc
import importlib.metadata
import inspect
import io
import json
import math
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.classes.modelPT import ModelPT
from nemo.core.classes.target_allowlist import UnsafeTargetError
from nemo.core.connectors.weights import UnsafeCheckpointError
from nemo.utils import model_utils
from omegaconf import DictConfig, OmegaConf

CATALOG: list[PretrainedModelInfo] = []


def write_manifest(path: Path, num_samples: int, seed: int) -> Path:
    """JSON lines ``{"x": [4 floats], "y": [2 floats]}``."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(num_samples, 4, generator=generator)
    y = torch.randn(num_samples, 2, generator=generator)
    with open(path, "w", encoding="utf-8") as stream:
        for row_x, row_y in zip(x.tolist(), y.tolist()):
            stream.write(json.dumps({"x": row_x, "y": row_y}) + "\n")
    return path


def read_manifest(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    return torch.tensor([row["x"] for row in rows]), torch.tensor([row["y"] for row in rows])


class TinyModel(ModelPT):
    """Linear regression 4 -> 2 on JSON-lines manifests; optional extra head and vocabulary artifact."""

    def __init__(self, cfg, trainer=None):
        super().__init__(cfg=cfg, trainer=trainer)
        self.layer = torch.nn.Linear(4, 2)
        if self.cfg.get("extra_head"):
            self.head = torch.nn.Linear(2, 2)
        if self.cfg.get("vocab_file"):
            self.vocab = Path(self.register_artifact("vocab_file", self.cfg.vocab_file)).read_text().split()

    def _loader(self, config):
        x, y = read_manifest(config.manifest_filepath)
        dataset = torch.utils.data.TensorDataset(x, y)
        return torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, shuffle=False)

    def setup_training_data(self, train_data_config):
        self._update_dataset_config("train", train_data_config)
        self._train_dl = self._loader(train_data_config)

    def setup_validation_data(self, val_data_config):
        self._update_dataset_config("validation", val_data_config)
        self._validation_dl = self._loader(val_data_config)

    def setup_test_data(self, test_data_config):
        self._update_dataset_config("test", test_data_config)
        self._test_dl = self._loader(test_data_config)

    @classmethod
    def list_available_models(cls):
        return list(CATALOG)

    def forward(self, x):
        out = self.layer(x)
        return self.head(out) if hasattr(self, "head") else out

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        return {"loss": loss, "log": {"train_mse": loss}}

    def _collect(self, outputs, batch, dataloader_idx, key):
        x, y = batch
        if outputs and isinstance(outputs[0], list):
            outputs = outputs[dataloader_idx]
        outputs.append({key: torch.nn.functional.mse_loss(self(x), y)})

    def validation_step(self, batch, batch_idx, dataloader_idx=0):
        self._collect(self.validation_step_outputs, batch, dataloader_idx, "val_loss")

    def test_step(self, batch, batch_idx, dataloader_idx=0):
        self._collect(self.test_step_outputs, batch, dataloader_idx, "test_loss")

    def multi_validation_epoch_end(self, outputs, dataloader_idx=0):
        loss = torch.stack([output["val_loss"] for output in outputs]).mean()
        return {"val_loss": loss, "log": {"val_loss": loss}}

    def multi_test_epoch_end(self, outputs, dataloader_idx=0):
        loss = torch.stack([output["test_loss"] for output in outputs]).mean()
        return {"test_loss": loss, "log": {"test_loss": loss}}


class EarlyArtifactModel(TinyModel):
    """Registers its artifact before ModelPT.__init__, as NeMo's BPE models do with their tokenizer."""

    def __init__(self, cfg, trainer=None):
        cfg = OmegaConf.create(cfg) if not isinstance(cfg, DictConfig) else cfg
        self.early_path = self.register_artifact("vocab_file", cfg.vocab_file)
        cfg.vocab_file = self.early_path
        super().__init__(cfg=cfg, trainer=trainer)


def make_trainer(**kwargs) -> pl.Trainer:
    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    return pl.Trainer(**{**defaults, **kwargs})


@pytest.fixture
def data(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    return {
        "train": write_manifest(folder / "train.json", 24, seed=1),
        "dev_a": write_manifest(folder / "dev_a.json", 8, seed=2),
        "dev_b": write_manifest(folder / "dev_b.json", 8, seed=3),
    }


@pytest.fixture
def catalog():
    CATALOG.clear()
    yield CATALOG
    CATALOG.clear()


def base_cfg(data, **extra) -> DictConfig:
    cfg = {
        "train_ds": {"manifest_filepath": str(data["train"]), "batch_size": 4},
        "optim": {"name": "adamw", "lr": 0.1, "betas": [0.8, 0.9], "weight_decay": 0.01},
    }
    cfg.update(extra)
    return OmegaConf.create(cfg)


def expected_mse(model: TinyModel, manifest: Path) -> torch.Tensor:
    x, y = read_manifest(manifest)
    with torch.no_grad():
        return torch.nn.functional.mse_loss(model(x), y)


# ---------------------------------------------------------------------------------------- construction
def test_init_stores_config_target_version_and_sets_up_data(data):
    model = TinyModel(base_cfg(data))
    assert isinstance(model.cfg, DictConfig)
    assert model.cfg.target == f"{TinyModel.__module__}.TinyModel"
    assert model.cfg.nemo_version == importlib.metadata.version("nemo-kit-core")
    assert model.hparams["cfg"] is model.cfg
    assert len(model._train_dl.dataset) == 24
    assert model.num_weights == 4 * 2 + 2
    assert model.summarize().total_parameters == 10


def test_init_refuses_bad_trainer_and_model_key(data):
    with pytest.raises(ValueError, match="pytorch_lightning.Trainer"):
        TinyModel(base_cfg(data), trainer="not a trainer")
    with pytest.raises(ValueError, match="cfg.model"):
        TinyModel(OmegaConf.create({"model": {"x": 1}}))


def test_cfg_setter_updates_hparams(data):
    model = TinyModel(base_cfg(data))
    new_cfg = copy.deepcopy(model.cfg)
    new_cfg.extra = 5
    model.cfg = new_cfg
    assert model.hparams["cfg"].extra == 5


def test_deferred_train_setup_happens_at_fit(data):
    cfg = base_cfg(data)
    cfg.train_ds.defer_setup = True
    model = TinyModel(cfg, trainer=make_trainer(max_steps=1))
    assert model._train_dl is None
    model._trainer.fit(model)
    assert model._train_dl is not None and model._trainer.global_step == 1


# ---------------------------------------------------------------------------------------- optimization
@pytest.mark.parametrize(
    ("scheduler", "trainer_kwargs", "batches_per_epoch"),
    [
        ("CosineAnnealing", {"max_epochs": 2, "limit_train_batches": 4}, 4),
        ("CosineAnnealing", {"max_epochs": 2, "limit_train_batches": 0.5}, 3),
        ("WarmupAnnealing", {"max_epochs": 3, "accumulate_grad_batches": 2}, 6),
    ],
)
def test_fit_computes_max_steps_from_trainer(data, scheduler, trainer_kwargs, batches_per_epoch):
    trainer = make_trainer(**trainer_kwargs)
    cfg = base_cfg(data)
    cfg.optim.sched = {"name": scheduler, "warmup_steps": 1, "min_lr": 1e-4}
    model = TinyModel(cfg, trainer=trainer)
    trainer.fit(model)

    accumulate = trainer_kwargs.get("accumulate_grad_batches", 1)
    expected_steps = math.ceil(batches_per_epoch / accumulate) * trainer_kwargs["max_epochs"]
    assert model._scheduler["scheduler"].max_steps == expected_steps
    assert trainer.global_step == expected_steps
    assert model._scheduler["interval"] == "step"
    assert model._optimizer.param_groups[0]["lr"] < 0.1
    assert "train_mse" in trainer.callback_metrics  # the training_step's "log" dict was logged


def test_trainer_max_steps_is_given_to_scheduler(data):
    trainer = make_trainer(max_steps=5)
    cfg = base_cfg(data)
    cfg.optim.sched = {"name": "CosineAnnealing", "warmup_ratio": 0.2, "min_lr": 1e-4}
    model = TinyModel(cfg, trainer=trainer)
    trainer.fit(model)
    assert model._scheduler["scheduler"].max_steps == 5 and trainer.global_step == 5


def test_a_null_scheduler_under_a_trainer_means_no_scheduler(data):
    # `optim.sched: null` is how a config switches the schedule off (NeMo 1.23 fails on it under a trainer).
    cfg = base_cfg(data)
    cfg.optim.sched = None
    model = TinyModel(cfg, trainer=make_trainer(max_steps=2))
    optimizer, scheduler = model.setup_optimization()
    assert isinstance(optimizer, torch.optim.AdamW) and scheduler is None


def test_configure_optimizers_uses_optim_keys(data):
    model = TinyModel(base_cfg(data))
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["betas"] == (0.8, 0.9) and optimizer.defaults["weight_decay"] == 0.01
    assert optimizer.defaults["lr"] == 0.1
    assert optimizer.defaults["fused"] is True  # torch's fused kernel: the config leaves the choice open

    cfg = base_cfg(data)
    cfg.optim.fused = False
    assert TinyModel(cfg).configure_optimizers().defaults["fused"] is False

    cfg = base_cfg(data)
    cfg.optim.sched = {"name": "CosineAnnealing", "max_steps": 10}
    optimizers, schedulers = TinyModel(cfg).configure_optimizers()
    assert isinstance(optimizers[0], torch.optim.AdamW)
    assert schedulers[0]["scheduler"].max_steps == 10 and schedulers[0]["interval"] == "step"


def test_setup_optimization_with_target_param_groups_and_kwargs(data):
    cfg = base_cfg(data, extra_head=True, optim_param_groups={"head": {"lr": 0.5}})
    model = TinyModel(cfg)
    optimizer, scheduler = model.setup_optimization(
        {"_target_": "torch.optim.SGD", "lr": 0.1}, optim_kwargs={"momentum": 0.9}
    )
    assert isinstance(optimizer, torch.optim.SGD) and scheduler is None
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.5]
    assert optimizer.param_groups[1]["params"] == list(model.head.parameters())
    assert optimizer.defaults["momentum"] == 0.9
    assert model.cfg.optim._target_ == "torch.optim.SGD"


def test_setup_optimization_args_without_lr_use_the_optimizers_default(data, caplog):
    # `args: {name: auto}` fills every field of the params dataclass; an unset `lr` ("???") must not reach torch.
    model = TinyModel(base_cfg(data))
    with caplog.at_level("WARNING"):
        optimizer, _ = model.setup_optimization({"name": "sgd", "args": {"name": "auto", "momentum": 0.5}})
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["lr"] == inspect.signature(torch.optim.SGD).parameters["lr"].default
    assert optimizer.defaults["momentum"] == 0.5
    assert "no value for ['lr']" in caplog.text


def test_setup_optimization_refuses_unsafe_optimizer_target(data):
    model = TinyModel(base_cfg(data))
    with pytest.raises(UnsafeTargetError, match="optim._target_"):
        model.setup_optimization({"_target_": "os.system", "lr": 0.1})


# ------------------------------------------------------------------------------ several validation sets
@pytest.mark.parametrize("val_dl_idx", [0, 1])
def test_several_validation_sets_log_per_dataset_names(data, val_dl_idx):
    cfg = base_cfg(
        data,
        validation_ds={
            "manifest_filepath": [str(data["dev_a"]), str(data["dev_b"])],
            "batch_size": 4,
            "val_dl_idx": val_dl_idx,
        },
    )
    model = TinyModel(cfg)
    assert isinstance(model._validation_dl, list) and len(model._validation_dl) == 2
    assert model._validation_names == ["dev_a_", "dev_b_"]

    trainer = make_trainer()
    trainer.validate(model)
    metrics = trainer.callback_metrics
    torch.testing.assert_close(metrics["dev_a_val_loss"], expected_mse(model, data["dev_a"]))
    torch.testing.assert_close(metrics["dev_b_val_loss"], expected_mse(model, data["dev_b"]))
    main = ["dev_a", "dev_b"][val_dl_idx]
    torch.testing.assert_close(metrics["val_loss"], expected_mse(model, data[main]))
    assert model.validation_step_outputs == [[], []]


def test_single_validation_set_logs_plain_names(data):
    model = TinyModel(
        base_cfg(data, validation_ds={"manifest_filepath": str(data["dev_a"]), "batch_size": 4})
    )
    trainer = make_trainer()
    trainer.validate(model)
    torch.testing.assert_close(trainer.callback_metrics["val_loss"], expected_mse(model, data["dev_a"]))
    assert not any(key.startswith("dev_a_") for key in trainer.callback_metrics)


def test_several_test_sets(data):
    cfg = base_cfg(
        data, test_ds={"manifest_filepath": [str(data["dev_b"]), str(data["dev_a"])], "batch_size": 8}
    )
    model = TinyModel(cfg)
    trainer = make_trainer()
    assert model.prepare_test(trainer)
    trainer.test(model)
    metrics = trainer.callback_metrics
    torch.testing.assert_close(metrics["dev_b_test_loss"], expected_mse(model, data["dev_b"]))
    torch.testing.assert_close(metrics["test_loss"], expected_mse(model, data["dev_b"]))
    torch.testing.assert_close(metrics["dev_a_test_loss"], expected_mse(model, data["dev_a"]))


def test_model_utils_resolve_helpers_set_up_every_listed_dataset(data):
    # NeMo's model_utils.resolve_validation_dataloaders / resolve_test_dataloaders, on a model whose
    # dataloaders were deferred.
    cfg = base_cfg(
        data,
        validation_ds={
            "manifest_filepath": [str(data["dev_a"]), str(data["dev_b"])],
            "batch_size": 4,
            "defer_setup": True,
        },
        test_ds={
            "manifest_filepath": [str(data["dev_b"]), str(data["dev_a"])],
            "batch_size": 8,
            "test_dl_idx": 1,
            "defer_setup": True,
        },
    )
    model = TinyModel(cfg)
    assert model._validation_dl is None and model._test_dl is None
    model_utils.resolve_validation_dataloaders(model)
    model_utils.resolve_test_dataloaders(model)
    assert model._validation_names == ["dev_a_", "dev_b_"] and model._val_dl_idx == 0
    assert model._test_names == ["dev_b_", "dev_a_"] and model._test_dl_idx == 1
    for loaders, order, batch_size in ((model._validation_dl, "ab", 4), (model._test_dl, "ba", 8)):
        for loader, which in zip(loaders, order, strict=True):
            torch.testing.assert_close(loader.dataset.tensors[0], read_manifest(data[f"dev_{which}"])[0])
            assert loader.batch_size == batch_size


def test_fit_without_validation_data(data):
    trainer = make_trainer(max_steps=2)
    model = TinyModel(base_cfg(data), trainer=trainer)
    trainer.fit(model)
    assert trainer.global_step == 2


# -------------------------------------------------------------------------------------- save / restore
@pytest.fixture
def vocab_file(tmp_path) -> Path:
    path = tmp_path / "user_files" / "vocab.txt"
    path.parent.mkdir()
    path.write_text("alpha beta gamma\n")
    return path


def _member_names(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:") as tar:
        return tar.getnames()


def test_save_restore_round_trip_with_artifact(tmp_path, data, vocab_file, monkeypatch):
    model = TinyModel(base_cfg(data, vocab_file=str(vocab_file)))
    assert model.cfg.vocab_file == str(vocab_file)
    archive = tmp_path / "out" / "tiny.nemo"
    model.save_to(archive)

    names = _member_names(archive)
    assert archive.read_bytes()[:2] != b"\x1f\x8b"
    assert names[:1] == ["."] and "./model_config.yaml" in names and "./model_weights.ckpt" in names
    (artifact_member,) = [name for name in names if name.endswith("_vocab.txt")]
    hashed = artifact_member[2:]
    assert len(hashed.split("_", 1)[0]) == 32 and all(c in "0123456789abcdef" for c in hashed[:32])
    with tarfile.open(archive) as tar:
        saved_cfg = OmegaConf.create(tar.extractfile("./model_config.yaml").read().decode())
    assert saved_cfg.vocab_file == f"nemo:{hashed}"
    assert model.cfg.vocab_file == str(vocab_file)  # the live model's config is untouched

    vocab_file.unlink()
    monkeypatch.chdir(tmp_path)
    restored = TinyModel.restore_from(str(archive), map_location="cpu")
    assert type(restored) is TinyModel
    assert restored.vocab == ["alpha", "beta", "gamma"]
    assert os.path.basename(restored.cfg.vocab_file) == hashed
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value)
    assert restored._train_dl is None  # data is not set up while restoring

    resaved = tmp_path / "resaved.nemo"
    restored.save_to(resaved)
    assert f"./{hashed}" in _member_names(resaved)
    again = TinyModel.restore_from(str(resaved), map_location="cpu")
    assert again.vocab == ["alpha", "beta", "gamma"]


def test_restore_builds_the_saved_subclass(tmp_path, data):
    class SubModel(TinyModel):
        pass

    archive = tmp_path / "sub.nemo"
    SubModel(base_cfg(data)).save_to(archive)
    # The config's target names a class defined inside this test, which cannot be imported by path;
    # restoring through that very class needs no import.
    assert type(SubModel.restore_from(str(archive), map_location="cpu")) is SubModel


def test_save_overwrites_atomically(tmp_path, data, vocab_file):
    archive = tmp_path / "tiny.nemo"
    model = TinyModel(base_cfg(data, vocab_file=str(vocab_file)))
    model.save_to(archive)
    before = archive.read_bytes()
    vocab_file.unlink()
    with pytest.raises(FileNotFoundError, match="vocab_file"):
        model.save_to(archive)
    assert archive.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["data", "tiny.nemo", "user_files"]


def test_return_config_reads_only_the_yaml(tmp_path, data):
    archive = tmp_path / "tiny.nemo"
    TinyModel(base_cfg(data, note="hello")).save_to(archive)
    broken = tmp_path / "broken.nemo"
    with tarfile.open(archive) as source, tarfile.open(broken, "w:") as target:
        config = source.extractfile("./model_config.yaml").read()
        for name, payload in (
            ("./model_config.yaml", config),
            ("./model_weights.ckpt", b"garbage, not a checkpoint"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            target.addfile(info, io.BytesIO(payload))

    config = TinyModel.restore_from(str(broken), return_config=True)
    assert isinstance(config, DictConfig) and config.note == "hello"
    with pytest.raises(UnsafeCheckpointError, match="model_weights.ckpt.*or it is corrupt"):
        TinyModel.restore_from(str(broken), map_location="cpu")


def test_override_config_path_and_strict(tmp_path, data):
    model = TinyModel(base_cfg(data))
    archive = tmp_path / "tiny.nemo"
    model.save_to(archive)

    override = TinyModel.restore_from(str(archive), return_config=True)
    override.extra_head = True
    yaml_path = tmp_path / "override.yaml"
    OmegaConf.save(OmegaConf.create({"model": override}), yaml_path)  # a full experiment config works too

    with pytest.raises(RuntimeError, match="head"):
        TinyModel.restore_from(str(archive), override_config_path=str(yaml_path), map_location="cpu")
    relaxed = TinyModel.restore_from(
        str(archive), override_config_path=override, map_location="cpu", strict=False
    )
    assert hasattr(relaxed, "head") and relaxed.cfg.extra_head is True
    assert torch.equal(relaxed.layer.weight, model.layer.weight)


def test_map_location_places_restored_weights(tmp_path, data):
    archive = tmp_path / "tiny.nemo"
    TinyModel(base_cfg(data)).save_to(archive)
    restored = TinyModel.restore_from(str(archive), map_location=torch.device("cpu"))
    assert {parameter.device for parameter in restored.parameters()} == {torch.device("cpu")}


def test_gzip_archive_restores(tmp_path, data):
    model = TinyModel(base_cfg(data))
    archive = tmp_path / "tiny.nemo"
    model.save_to(archive)
    gzipped = tmp_path / "old_style.nemo"
    with tarfile.open(archive) as source, tarfile.open(gzipped, "w:gz") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member) if member.isreg() else None)
    assert gzipped.read_bytes()[:2] == b"\x1f\x8b"
    restored = TinyModel.restore_from(str(gzipped), map_location="cpu")
    assert torch.equal(restored.layer.weight, model.layer.weight)


def test_restore_leaves_no_temporary_folders(tmp_path, data, vocab_file, monkeypatch):
    plain, with_artifact = tmp_path / "plain.nemo", tmp_path / "artifact.nemo"
    TinyModel(base_cfg(data)).save_to(plain)
    TinyModel(base_cfg(data, vocab_file=str(vocab_file))).save_to(with_artifact)
    tempdir = tmp_path / "tempdir"
    tempdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tempdir))

    TinyModel.restore_from(str(plain), map_location="cpu")
    assert list(tempdir.iterdir()) == []

    restored = TinyModel.restore_from(str(with_artifact), map_location="cpu")
    (folder,) = tempdir.iterdir()
    kept = {path.name for path in folder.iterdir()}
    assert os.path.basename(restored.cfg.vocab_file) in kept
    assert "model_weights.ckpt" not in kept  # the weights are loaded; only what the model uses stays
    duplicate = copy.deepcopy(restored)
    del restored
    gc.collect()
    assert folder.exists()  # the copy still uses the extracted artifact
    duplicate.save_to(tmp_path / "from_copy.nemo")
    del duplicate
    gc.collect()
    assert list(tempdir.iterdir()) == []


def test_artifact_registered_before_modelpt_init(tmp_path, data, vocab_file):
    model = EarlyArtifactModel(base_cfg(data, vocab_file=str(vocab_file)))
    assert model.early_path == str(vocab_file)
    archive = tmp_path / "early.nemo"
    model.save_to(archive)
    restored = EarlyArtifactModel.restore_from(str(archive), map_location="cpu")
    assert restored.vocab == ["alpha", "beta", "gamma"]
    assert Path(restored.early_path).parent != vocab_file.parent


def test_from_pretrained_restores_a_registered_model(tmp_path, data, catalog, monkeypatch):
    model = TinyModel(base_cfg(data))
    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    model.save_to(tmp_path / "cache" / "tiny_regression.nemo")
    catalog.append(
        PretrainedModelInfo("tiny_regression", "test model", "https://example.com/tiny_regression.nemo")
    )
    restored = TinyModel.from_pretrained("tiny_regression", map_location="cpu")
    assert torch.equal(restored.layer.weight, model.layer.weight)


# ------------------------------------------------------------------------------- Lightning checkpoints
def test_load_from_checkpoint_after_fit(tmp_path, data):
    trainer = make_trainer(max_steps=2)
    model = TinyModel(base_cfg(data), trainer=trainer)
    trainer.fit(model)
    checkpoint = tmp_path / "last.ckpt"
    trainer.save_checkpoint(checkpoint)

    loaded = TinyModel.load_from_checkpoint(str(checkpoint), map_location="cpu")
    assert torch.equal(loaded.layer.weight, model.layer.weight)
    assert loaded.cfg == model.cfg
    assert loaded._train_dl is None  # like restore_from, loading does not set up data


def test_load_from_checkpoint_refuses_pickled_code(tmp_path, data):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    model = TinyModel(base_cfg(data))
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": {"cfg": model.cfg},
        "pytorch-lightning_version": pl.__version__,
        "evil": Payload(),
    }
    torch.save(checkpoint, tmp_path / "evil.ckpt")
    with pytest.raises(UnsafeCheckpointError, match="weights_only=False"):
        TinyModel.load_from_checkpoint(str(tmp_path / "evil.ckpt"))
    assert not (tmp_path / "pwned").exists()


def test_checkpoints_pickle_no_classes_so_lightning_resumes_them_with_weights_only(tmp_path, data):
    class StartStep(pl.Callback):
        def on_train_start(self, trainer, pl_module):
            self.step = trainer.global_step

    trainer = make_trainer(max_steps=2)
    model = TinyModel(base_cfg(data), trainer=trainer)
    trainer.fit(model)
    checkpoint = tmp_path / "step2.ckpt"
    trainer.save_checkpoint(checkpoint)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(checkpoint)) == []
    saved = torch.load(checkpoint, weights_only=True)["hyper_parameters"]["cfg"]
    assert type(saved) is dict and saved["train_ds"] == {
        "manifest_filepath": str(data["train"]),
        "batch_size": 4,
    }

    start = StartStep()
    resumed_trainer = make_trainer(max_steps=4, callbacks=[start])
    resumed = TinyModel(base_cfg(data), trainer=resumed_trainer)
    resumed_trainer.fit(resumed, ckpt_path=str(checkpoint))  # Lightning's torch.load, weights_only by default
    assert (start.step, resumed_trainer.global_step) == (2, 4)
    assert isinstance(TinyModel.load_from_checkpoint(str(checkpoint)).cfg, DictConfig)


# ----------------------------------------------------------------------------- init from checkpoints
@pytest.fixture
def source_model(tmp_path, data) -> tuple[TinyModel, Path]:
    model = TinyModel(base_cfg(data, extra_head=True))
    archive = tmp_path / "source.nemo"
    model.save_to(archive)
    return model, archive


def _same(module_a: torch.nn.Module, module_b: torch.nn.Module) -> bool:
    return all(
        torch.equal(a, b) for a, b in zip(module_a.state_dict().values(), module_b.state_dict().values())
    )


def test_init_from_nemo_model(data, source_model):
    source, archive = source_model
    target = TinyModel(base_cfg(data, extra_head=True))
    target.maybe_init_from_pretrained_checkpoint(OmegaConf.create({"init_from_nemo_model": str(archive)}))
    assert _same(target, source)


def test_init_from_nemo_model_with_include_and_exclude(data, source_model):
    source, archive = source_model
    target = TinyModel(base_cfg(data, extra_head=True))
    untouched = copy.deepcopy(target.head)
    cfg = OmegaConf.create(
        {
            "init_from_nemo_model": {
                "part": {"path": str(archive), "include": ["layer", "head"], "exclude": ["head"]}
            }
        }
    )
    target.maybe_init_from_pretrained_checkpoint(cfg)
    assert _same(target.layer, source.layer)
    assert _same(target.head, untouched) and not _same(target.head, source.head)


def test_init_from_ptl_ckpt_and_pretrained_name(tmp_path, data, source_model, catalog, monkeypatch):
    source, archive = source_model
    torch.save(
        {"state_dict": source.state_dict(), "hyper_parameters": {"cfg": source.cfg}}, tmp_path / "s.ckpt"
    )
    target = TinyModel(base_cfg(data, extra_head=True))
    cfg = OmegaConf.create({"init_from_ptl_ckpt": str(tmp_path / "s.ckpt")})
    target.maybe_init_from_pretrained_checkpoint(cfg)
    assert _same(target, source)
    assert "init_from_ptl_ckpt" not in cfg

    monkeypatch.setenv("NEMO_CACHE_DIR", str(tmp_path))
    catalog.append(PretrainedModelInfo("source_model", "", "source.nemo"))
    other = TinyModel(base_cfg(data, extra_head=True))
    other.maybe_init_from_pretrained_checkpoint(
        OmegaConf.create({"init_from_pretrained_model": "source_model"})
    )
    assert _same(other, source)


def test_init_refuses_two_sources(data, source_model):
    _, archive = source_model
    cfg = OmegaConf.create({"init_from_nemo_model": str(archive), "init_from_ptl_ckpt": "x.ckpt"})
    with pytest.raises(ValueError, match="Only one"):
        TinyModel(base_cfg(data)).maybe_init_from_pretrained_checkpoint(cfg)

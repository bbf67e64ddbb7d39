"""HiFi-GAN vocoder (https://arxiv.org/abs/2010.05646) with NeMo 1.23's config keys, state-dict keys and
training loop.

Config (``examples/tts/conf/hifigan/hifigan.yaml``'s ``model`` section): ``preprocessor`` (a
``FilterbankFeatures`` config), ``generator`` (``Generator``: v1, v2, v3), ``optim`` (``_target_`` optimizer
plus an optional ``sched``), ``max_steps`` or ``max_epochs`` (+ ``steps_per_epoch``), ``l1_loss_factor`` (45),
``train_ds`` / ``validation_ds`` (``VocoderDataset``).

Example:
    >>> model = HifiGanModel.restore_from("hifigan.nemo").eval()
    >>> audio = model.convert_spectrogram_to_audio(spec=mel)  # (B, 80, T) -> (B, T * 256)
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from nemo.collections.tts.losses.hifigan_losses import DiscriminatorLoss, FeatureMatchingLoss, GeneratorLoss
from nemo.collections.tts.models.base import Vocoder
from nemo.collections.tts.modules.hifigan_modules import MultiPeriodDiscriminator, MultiScaleDiscriminator
from nemo.core.classes.exportable import Exportable
from nemo.core.classes.typecheck import typecheck
from nemo.core.neural_types.elements import AudioSignal, MelSpectrogramType
from nemo.core.neural_types.neural_type import NeuralType
from nemo.utils import logging, model_utils
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["HifiGanModel"]

_NEW_VOCODER_DATASET = "nemo.collections.tts.data.vocoder_dataset.VocoderDataset"


@contextmanager
def _frozen(*modules: torch.nn.Module) -> Iterator[None]:
    """Turn off ``requires_grad`` of the modules' parameters that have it, and turn it back on afterwards."""
    params = [p for module in modules for p in module.parameters() if p.requires_grad]
    for param in params:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param in params:
            param.requires_grad_(True)


class HifiGanModel(Vocoder, Exportable):
    """HiFi-GAN: a generator turns mel spectrograms into audio; two discriminators (``mpd``, ``msd``) train it.

    Attributes:
        audio_to_melspec_precessor: the input features (NeMo's spelling), from ``cfg.preprocessor``.
        trg_melspec_fn: the same features without ``highfreq`` and with gradients, for the L1 mel loss.
        generator: the :class:`~nemo.collections.tts.modules.hifigan_modules.Generator`.
        mpd, msd: the full-size multi-period and multi-scale discriminators (``cfg.debug`` narrows them).
    """

    def __init__(self, cfg: DictConfig | Mapping[str, Any], trainer: pl.Trainer | None = None) -> None:
        cfg = model_utils.convert_model_config_to_dict_config(cfg)
        for key in ("preprocessor", "generator"):
            if cfg.get(key) is None:
                raise ValueError(
                    f"HifiGanModel: the model config has no `{key}` section. Add it as in NeMo's "
                    f"examples/tts/conf/hifigan/hifigan.yaml (model.{key})."
                )
        train_ds = cfg.get("train_ds")
        dataset_cfg = train_ds.get("dataset") if train_ds is not None else None
        self.ds_class = dataset_cfg.get("_target_") if dataset_cfg is not None else None
        super().__init__(cfg=cfg, trainer=trainer)

        self.audio_to_melspec_precessor = self.from_config_dict(self._cfg.preprocessor)
        target_cfg = copy.deepcopy(self._cfg.preprocessor)
        with open_dict(target_cfg):
            target_cfg.highfreq = None
            target_cfg.use_grads = True
        self.trg_melspec_fn = self.from_config_dict(target_cfg)
        self.generator = self.from_config_dict(self._cfg.generator)
        debug = bool(self._cfg.get("debug", False))
        self.mpd = MultiPeriodDiscriminator(debug=debug)
        self.msd = MultiScaleDiscriminator(debug=debug)
        self.feature_loss = FeatureMatchingLoss()
        self.discriminator_loss = DiscriminatorLoss()
        self.generator_loss = GeneratorLoss()

        self.l1_factor = self._cfg.get("l1_loss_factor", 45)
        self.sample_rate = self._cfg.preprocessor.sample_rate
        self.input_as_mel = False
        if self._train_dl is not None:
            self.input_as_mel = bool(getattr(self._train_dl.dataset, "load_precomputed_mel", False))
        self.log_audio = self._cfg.get("log_audio", False)
        self.log_config = self._cfg.get("log_config", None)
        self.lr_schedule_interval = None
        # Two optimizers stepped by hand in training_step (NeMo's manual optimization).
        self.automatic_optimization = False

    # ------------------------------------------------------------------------------------ inference
    @property
    def input_types(self) -> dict[str, NeuralType]:
        return {"spec": NeuralType(("B", "D", "T"), MelSpectrogramType())}

    @property
    def output_types(self) -> dict[str, NeuralType]:
        return {"audio": NeuralType(("B", "S", "T"), AudioSignal(self.sample_rate))}

    @typecheck()
    def forward(self, *, spec: torch.Tensor) -> torch.Tensor:
        """Audio (B, 1, T * hop) from mel spectrograms ``spec`` (B, n_mels, T)."""
        return self.generator(x=spec)

    @typecheck(
        input_types={"spec": NeuralType(("B", "C", "T"), MelSpectrogramType())},
        output_types={"audio": NeuralType(("B", "T"), AudioSignal())},
    )
    def convert_spectrogram_to_audio(self, spec: torch.Tensor) -> torch.Tensor:
        """Audio (B, T * hop) from log-mel spectrograms ``spec`` (B, n_mels, T). Call in ``eval()`` mode."""
        return self(spec=spec).squeeze(1)

    def forward_for_export(self, spec: torch.Tensor) -> torch.Tensor:
        """The exported graph: ``spec`` (B, n_mels, T) -> ``audio`` (B, 1, T * hop)."""
        return self.generator(x=spec)

    def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[dict[str, torch.Tensor]]:
        """A random ``spec`` (max_batch, nfilt, max_dim) on the model's device and dtype, for tracing."""
        param = next(self.parameters())
        mel = torch.randn(
            (max_batch, self._cfg.preprocessor.nfilt, max_dim), device=param.device, dtype=param.dtype
        )
        return ({"spec": mel},)

    # ------------------------------------------------------------------------------------- training
    @property
    def max_steps(self) -> int:
        """Steps of the run: ``cfg.max_steps``, or ``max_epochs`` x (``steps_per_epoch`` or the loader's)."""
        if "max_steps" in self._cfg:
            return self._cfg.get("max_steps")
        if "max_epochs" not in self._cfg:
            raise ValueError(
                "HifiGanModel needs `max_steps` or `max_epochs` in the model config to size the LR schedule "
                "(optim.sched). Add model.max_steps, or remove optim.sched."
            )
        if "steps_per_epoch" in self._cfg:
            return self._cfg.max_epochs * self._cfg.steps_per_epoch
        from nemo.core.optim.lr_scheduler import compute_max_steps

        loader = self._train_dl
        batch_size = loader.batch_size if loader.batch_size is not None else loader.batch_sampler.batch_size
        return compute_max_steps(
            max_epochs=self._cfg.max_epochs,
            accumulate_grad_batches=self.trainer.accumulate_grad_batches,
            limit_train_batches=self.trainer.limit_train_batches,
            num_workers=self.trainer.num_devices * self.trainer.num_nodes,
            num_samples=len(loader.dataset),
            batch_size=batch_size,
            drop_last=loader.drop_last,
        )

    @staticmethod
    def get_warmup_steps(
        max_steps: int, warmup_steps: int | None, warmup_ratio: float | None
    ) -> float | None:
        """``warmup_steps`` if set, else ``warmup_ratio * max_steps``, else None."""
        if warmup_steps is not None:
            return warmup_steps
        if warmup_ratio is not None:
            return warmup_ratio * max_steps
        return None

    def _make_optimizer(self, optim_cfg: dict[str, Any], params: Iterator[torch.nn.Parameter]) -> Any:
        """An optimizer from ``optim`` (``_target_`` class path, or a ``nemo.core.optim`` ``name``)."""
        from nemo.core.optim import build_optimizer, get_optimizer

        target = optim_cfg.pop("_target_", None)
        if target is not None:
            optimizer_cls = model_utils.import_class_by_path(target, source="config key 'optim._target_'")
        else:
            optimizer_cls = get_optimizer(optim_cfg.pop("name", "adamw"))
        return build_optimizer(optimizer_cls, params, **optim_cfg)

    def configure_optimizers(self) -> Any:
        """``[optim_g, optim_d]`` (generator; both discriminators) and, with ``optim.sched``, their schedulers."""
        from nemo.core.optim.lr_scheduler import prepare_lr_scheduler

        optim_cfg = OmegaConf.to_container(self._cfg.optim, resolve=True)
        sched_cfg = optim_cfg.pop("sched", None)
        optim_g = self._make_optimizer(dict(optim_cfg), self.generator.parameters())
        optim_d = self._make_optimizer(
            dict(optim_cfg), itertools.chain(self.msd.parameters(), self.mpd.parameters())
        )
        if sched_cfg is None:
            return [optim_g, optim_d]

        max_steps = self.max_steps
        warmup_steps = self.get_warmup_steps(
            max_steps=max_steps,
            warmup_steps=sched_cfg.get("warmup_steps"),
            warmup_ratio=sched_cfg.get("warmup_ratio"),
        )
        sched_cfg["max_steps"] = max_steps
        if warmup_steps:
            sched_cfg["warmup_steps"] = warmup_steps
            sched_cfg.pop("warmup_ratio", None)
        scheduler_g = prepare_lr_scheduler(
            optimizer=optim_g, scheduler_config=sched_cfg, train_dataloader=self._train_dl
        )
        scheduler_d = prepare_lr_scheduler(
            optimizer=optim_d, scheduler_config=sched_cfg, train_dataloader=self._train_dl
        )
        self.lr_schedule_interval = scheduler_g["interval"]
        for scheduler in (scheduler_g, scheduler_d):
            # training_step steps the schedulers itself; Lightning ignores (and warns about) these keys.
            scheduler.pop("monitor", None)
            scheduler.pop("reduce_on_plateau", None)
        return [optim_g, optim_d], [scheduler_g, scheduler_d]

    def update_lr(self, interval: str = "step") -> None:
        """Step both schedulers when their interval is ``interval``."""
        schedulers = self.lr_schedulers()
        if schedulers is not None and self.lr_schedule_interval == interval:
            scheduler_g, scheduler_d = schedulers
            scheduler_g.step()
            scheduler_d.step()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One discriminator step, then one generator step (mel L1 x ``l1_loss_factor``, GAN, feature matching).

        The generator step scores real audio without autograd and keeps the discriminators' parameters out
        of the backward pass: the discriminators' gradients from it were discarded by NeMo's next
        ``optim_d.zero_grad()`` anyway, so both optimizers take the same steps as in NeMo.
        """
        audio, audio_len, audio_mel, _ = self._process_batch(batch)
        with torch.no_grad():
            audio_trg_mel, _ = self.trg_melspec_fn(audio, audio_len)
        audio = audio.unsqueeze(1)
        audio_pred = self.generator(x=audio_mel)
        audio_pred_mel, _ = self.trg_melspec_fn(audio_pred.squeeze(1), audio_len)
        optim_g, optim_d = self.optimizers()

        optim_d.zero_grad()
        generated = audio_pred.detach()
        mpd_real, mpd_generated, _, _ = self.mpd(y=audio, y_hat=generated)
        loss_disc_mpd, _, _ = self.discriminator_loss(
            disc_real_outputs=mpd_real, disc_generated_outputs=mpd_generated
        )
        msd_real, msd_generated, _, _ = self.msd(y=audio, y_hat=generated)
        loss_disc_msd, _, _ = self.discriminator_loss(
            disc_real_outputs=msd_real, disc_generated_outputs=msd_generated
        )
        loss_d = loss_disc_msd + loss_disc_mpd
        self.manual_backward(loss_d)
        optim_d.step()

        optim_g.zero_grad()
        loss_mel = F.l1_loss(audio_pred_mel, audio_trg_mel)
        loss_fm_mpd, loss_fm_msd, loss_gen_mpd, loss_gen_msd = self._generator_adversarial_losses(
            audio, audio_pred
        )
        loss_g = loss_gen_msd + loss_gen_mpd + loss_fm_msd + loss_fm_mpd + loss_mel * self.l1_factor
        self.manual_backward(loss_g)
        optim_g.step()

        self.update_lr()
        metrics = {
            "g_loss_fm_mpd": loss_fm_mpd,
            "g_loss_fm_msd": loss_fm_msd,
            "g_loss_gen_mpd": loss_gen_mpd,
            "g_loss_gen_msd": loss_gen_msd,
            "g_loss": loss_g,
            "d_loss_mpd": loss_disc_mpd,
            "d_loss_msd": loss_disc_msd,
            "d_loss": loss_d,
            "global_step": float(self.global_step),
            "lr": optim_g.param_groups[0]["lr"],
        }
        self.log_dict(metrics, on_step=True, sync_dist=True)
        self.log("g_l1_loss", loss_mel, prog_bar=True, logger=False, sync_dist=True)

    def _generator_adversarial_losses(
        self, audio: torch.Tensor, audio_pred: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Feature-matching and GAN losses of generated audio ``audio_pred`` against ``audio`` (both (B, 1, T)).

        Returns ``(fm_mpd, fm_msd, gen_mpd, gen_msd)``; their graph reaches the generator only: real audio is
        scored without autograd and the discriminators' parameters are frozen while the graph is built. Each
        discriminator scores real audio before generated audio, as in NeMo, so a spectral norm's power
        iteration runs in the same order.
        """
        losses = []
        with _frozen(self.mpd, self.msd):
            for discriminator in (self.mpd, self.msd):
                with torch.no_grad():
                    _, fmap_real = discriminator.discriminate(audio)
                scores_gen, fmap_gen = discriminator.discriminate(audio_pred)
                losses.append(
                    (
                        self.feature_loss(fmap_r=fmap_real, fmap_g=fmap_gen),
                        self.generator_loss(disc_outputs=scores_gen)[0],
                    )
                )
        (fm_mpd, gen_mpd), (fm_msd, gen_msd) = losses
        return fm_mpd, fm_msd, gen_mpd, gen_msd

    def on_train_epoch_end(self) -> None:
        self.update_lr("epoch")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """Log ``val_loss``: L1 between the input mel and the mel of the generated audio."""
        audio, audio_len, audio_mel, _ = self._process_batch(batch)
        audio_pred = self(spec=audio_mel)
        audio_pred_mel, _ = self.audio_to_melspec_precessor(audio_pred.squeeze(1), audio_len)
        loss_mel = F.l1_loss(audio_mel, audio_pred_mel)
        self.log_dict({"val_loss": loss_mel}, on_epoch=True, sync_dist=True)

    def _process_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        """``(audio (B, T), audio_len (B,), mel (B, n_mels, T'), mel_len)`` from a VocoderDataset batch.

        Batches are NeMo's: ``(audio, audio_len)``, ``(audio, audio_len, mel)`` with
        ``load_precomputed_mel``, or a dict with ``audio`` and ``audio_lens``.
        """
        if self.input_as_mel:
            audio, audio_len, audio_mel = batch
            return audio, audio_len, audio_mel, [audio_mel.shape[1]] * audio_mel.shape[0]
        if isinstance(batch, Mapping):
            audio, audio_len = batch["audio"], batch["audio_lens"]
        else:
            audio, audio_len = batch[0], batch[1]
        audio_mel, audio_mel_len = self.audio_to_melspec_precessor(audio, audio_len)
        return audio, audio_len, audio_mel, audio_mel_len

    # ----------------------------------------------------------------------------------------- data
    def _dataloader(self, cfg: DictConfig, name: str, shuffle_should_be: bool) -> torch.utils.data.DataLoader:
        for key in ("dataset", "dataloader_params"):
            if key not in cfg or not isinstance(cfg[key], DictConfig):
                raise ValueError(
                    f"HifiGanModel: the {name} data config has no `{key}` section. Add {name}.{key} as in "
                    "NeMo's examples/tts/conf/hifigan/model/train_ds/train_ds.yaml."
                )
        if shuffle_should_be and "shuffle" not in cfg.dataloader_params:
            logging.warning(f"{name}.dataloader_params has no `shuffle`; setting it to True.")
            with open_dict(cfg.dataloader_params):
                cfg.dataloader_params.shuffle = True
        elif bool(cfg.dataloader_params.get("shuffle", False)) != shuffle_should_be:
            logging.warning(
                f"{name}.dataloader_params.shuffle is {cfg.dataloader_params.get('shuffle')}; expected "
                f"{shuffle_should_be}."
            )
        dataset = self.from_config_dict(cfg.dataset)
        params = OmegaConf.to_container(cfg.dataloader_params, resolve=True)
        return torch.utils.data.DataLoader(dataset, collate_fn=dataset.collate_fn, **params)

    def setup_training_data(self, cfg: DictConfig) -> None:
        """Build ``self._train_dl`` from a ``train_ds`` config (``dataset`` + ``dataloader_params``)."""
        self._train_dl = self._dataloader(cfg, "train_ds", shuffle_should_be=True)
        self.input_as_mel = bool(getattr(self._train_dl.dataset, "load_precomputed_mel", False))

    def setup_validation_data(self, cfg: DictConfig) -> None:
        """Build ``self._validation_dl`` from a ``validation_ds`` config."""
        self._validation_dl = self._dataloader(cfg, "validation_ds", shuffle_should_be=False)

    def setup_test_data(self, cfg: DictConfig) -> None:
        """HiFi-GAN has no test stage (as in NeMo): nothing is set up."""

    def configure_callbacks(self) -> list:
        """No callbacks; NeMo's ``log_config`` sample logging is not available here (warns when set)."""
        if self.log_config:
            logging.warning(
                "HifiGanModel: `log_config` (NeMo's sample-logging callback) is not supported and is ignored. "
                "Remove model.log_config."
            )
        return []

    # ------------------------------------------------------------------------------------- weights
    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Load weights; flat ``generator.resblocks.{i}.*`` keys of old checkpoints become ``{stage}.{kernel}``."""
        num_kernels = len(self._cfg.generator.resblock_kernel_sizes)
        renamed = {}
        for key, value in state_dict.items():
            parts = key.split(".")
            if "resblocks" in key and len(parts) == 6:
                layer = int(parts[2])
                key = (
                    f"generator.resblocks.{layer // num_kernels}.{layer % num_kernels}.{'.'.join(parts[3:])}"
                )
            renamed[key] = value
        return super().load_state_dict(renamed, strict=strict)

"""ModelConfigBuilder: the base of NeMo's config builders (``EncDecCTCModelConfigBuilder``, ...).

A builder holds a model config dataclass, lets the caller change the knobs it exposes (``set_labels``,
``set_optim``, ...) and, in :meth:`ModelConfigBuilder.build`, writes the values that depend on each other
(labels into every dataset and the decoder, ``feat_in`` from the preprocessor, ...) before returning it.

NeMo 1.23 defines this class in ``nemo.core.config.modelPT``; it lives here until nemo-core has it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nemo.core.config.modelPT import ModelConfig, OptimConfig, SchedConfig

__all__ = ["ConvASRConfigBuilder", "ModelConfigBuilder"]


def _with_base(params: Any, base: type, name: str) -> Any:
    """``params`` (an ``OptimizerParams``/``SchedulerParams`` instance) as a dataclass that is also a ``base``.

    The result has ``base``'s fields (``name``, ...) followed by the parameters of ``params``, so it fits
    the ``optim`` / ``optim.sched`` slots of a structured model config.
    """
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise TypeError(
            f"set_optim expects dataclass instances such as AdamParams() / CosineAnnealingParams(); "
            f"got {params!r}."
        )
    combined = dataclasses.make_dataclass(
        f"{type(params).__name__}{base.__name__}", [], bases=(base, type(params))
    )
    values = {field.name: getattr(params, field.name) for field in dataclasses.fields(params) if field.init}
    return combined(name=name, **values)


class ModelConfigBuilder:
    """Holds ``model_cfg`` (a :class:`ModelConfig` dataclass) and finalises it in :meth:`build`.

    Subclasses implement ``_finalize_cfg`` (propagate interdependent values into ``self.model_cfg``) and
    add their own ``set_*`` methods.

    Args:
        model_cfg: the model config dataclass to build on; it is changed in place.
    """

    def __init__(self, model_cfg: ModelConfig) -> None:
        self.model_cfg = model_cfg
        self.train_ds_cfg = None
        self.validation_ds_cfg = None
        self.test_ds_cfg = None
        self.optim_cfg = None

    def set_train_ds(self, cfg: Any | None = None) -> None:
        """Use ``cfg`` (a ``DatasetConfig`` dataclass, or None for no training data) as ``train_ds``."""
        self.model_cfg.train_ds = cfg

    def set_validation_ds(self, cfg: Any | None = None) -> None:
        """Use ``cfg`` (a ``DatasetConfig`` dataclass, or None) as ``validation_ds``."""
        self.model_cfg.validation_ds = cfg

    def set_test_ds(self, cfg: Any | None = None) -> None:
        """Use ``cfg`` (a ``DatasetConfig`` dataclass, or None) as ``test_ds``."""
        self.model_cfg.test_ds = cfg

    def set_optim(self, cfg: Any, sched_cfg: Any | None = None) -> None:
        """Set ``optim`` from optimizer parameters, e.g. ``set_optim(AdamParams(lr=1e-3), CosineAnnealingParams())``.

        The optimizer's name is the class name without ``Params``, lower-cased (``AdamParams`` -> ``adam``);
        the scheduler's is the class name without ``Params`` (``CosineAnnealingParams`` -> ``CosineAnnealing``),
        the names NeMo's optimizer and scheduler registries use.
        """
        optim = _with_base(cfg, OptimConfig, type(cfg).__name__.removesuffix("Params").lower())
        optim.sched = None
        if sched_cfg is not None:
            optim.sched = _with_base(sched_cfg, SchedConfig, type(sched_cfg).__name__.removesuffix("Params"))
        self.model_cfg.optim = optim

    def _finalize_cfg(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _finalize_cfg().")

    def build(self) -> ModelConfig:
        """The model config with every dependent value filled in (``self.model_cfg``, finalised)."""
        self._finalize_cfg()
        return self.model_cfg


class ConvASRConfigBuilder(ModelConfigBuilder):
    """What the ConvASR builders (QuartzNet/Jasper CTC, MatchboxNet) share: setters and value propagation.

    ``build()`` copies ``labels`` into the datasets and decoder, ``sample_rate`` into the preprocessor and
    datasets, the preprocessor's feature count into ``encoder.feat_in``, the last block's filters into
    ``decoder.feat_in``, ``separable`` into every block but the last, ``repeat`` into every block but the
    first and the last two, and ``dropout`` into every block.
    """

    def set_labels(self, labels: list[str]) -> None:
        self.model_cfg.labels = labels

    def set_separable(self, separable: bool) -> None:
        self.model_cfg.separable = separable

    def set_repeat(self, repeat: int) -> None:
        self.model_cfg.repeat = repeat

    def set_sample_rate(self, sample_rate: int) -> None:
        self.model_cfg.sample_rate = sample_rate

    def set_dropout(self, dropout: float = 0.0) -> None:
        self.model_cfg.dropout = dropout

    def _datasets(self) -> list[Any]:
        return [
            ds
            for ds in (self.model_cfg.train_ds, self.model_cfg.validation_ds, self.model_cfg.test_ds)
            if ds is not None
        ]

    def _finalize_cfg(self) -> None:
        cfg = self.model_cfg
        for dataset in self._datasets():
            dataset.labels = cfg.labels
            dataset.sample_rate = cfg.sample_rate
        cfg.preprocessor.sample_rate = cfg.sample_rate
        cfg.decoder.num_classes = len(cfg.labels)
        if any(item.name == "vocabulary" for item in dataclasses.fields(cfg.decoder)):
            cfg.decoder.vocabulary = cfg.labels
        blocks = cfg.encoder.jasper
        if not blocks:
            raise ValueError(
                f"{type(self).__name__}: encoder.jasper is empty; pass encoder_cfg_func returning the blocks."
            )
        cfg.encoder.feat_in = self._preprocessor_features()
        cfg.decoder.feat_in = blocks[-1].filters
        for block in blocks[:-1]:
            block.separable = cfg.separable
        for block in blocks[1:-2]:
            block.repeat = cfg.repeat
        for block in blocks:
            block.dropout = cfg.dropout

    def _preprocessor_features(self) -> int:
        """Feature rows the preprocessor emits: ``features`` (mel) or ``n_mfcc`` (MFCC)."""
        preprocessor = self.model_cfg.preprocessor
        for key in ("features", "n_mfcc"):
            if hasattr(preprocessor, key):
                return getattr(preprocessor, key)
        raise ValueError(
            f"{type(self).__name__}: cannot tell the feature count of preprocessor {type(preprocessor).__name__}; "
            "it needs a `features` or `n_mfcc` field."
        )

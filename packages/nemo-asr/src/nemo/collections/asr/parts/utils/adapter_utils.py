"""Class paths of the ASR adapters and a helper that fits an adapter config's input width to a module."""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import Any

from nemo.utils import logging
from omegaconf import DictConfig, OmegaConf

__all__ = [
    "LINEAR_ADAPTER_CLASSPATH",
    "MHA_ADAPTER_CLASSPATH",
    "POS_ENCODING_ADAPTER_CLASSPATH",
    "RELMHA_ADAPTER_CLASSPATH",
    "REL_POS_ENCODING_ADAPTER_CLASSPATH",
    "convert_adapter_cfg_to_dict_config",
    "update_adapter_cfg_input_dim",
]

_MHA_MODULE = "nemo.collections.asr.parts.submodules.adapters.multi_head_attention_adapter_module"
LINEAR_ADAPTER_CLASSPATH = "nemo.collections.common.parts.adapter_modules.LinearAdapter"
MHA_ADAPTER_CLASSPATH = f"{_MHA_MODULE}.MultiHeadAttentionAdapter"
RELMHA_ADAPTER_CLASSPATH = f"{_MHA_MODULE}.RelPositionMultiHeadAttentionAdapter"
POS_ENCODING_ADAPTER_CLASSPATH = f"{_MHA_MODULE}.PositionalEncodingAdapter"
REL_POS_ENCODING_ADAPTER_CLASSPATH = f"{_MHA_MODULE}.RelPositionalEncodingAdapter"

# Config keys that hold an adapter's input width, in the order they are looked for.
_INPUT_WIDTH_KEYS = ("in_features", "n_feat")


def convert_adapter_cfg_to_dict_config(cfg: Any) -> DictConfig:
    """``cfg`` (dataclass, dict or ``DictConfig``) as a ``DictConfig``."""
    if is_dataclass(cfg) and not isinstance(cfg, type):
        return OmegaConf.structured(cfg)
    if isinstance(cfg, DictConfig):
        return cfg
    return OmegaConf.create(cfg)


def update_adapter_cfg_input_dim(module: Any, cfg: Any, *, module_dim: int) -> DictConfig:
    """Set the adapter config's input width (``in_features`` or ``n_feat``) to ``module_dim``.

    Args:
        module: the module the adapter goes into (named in the log message).
        cfg: the adapter config.
        module_dim: the width of the module's features at the adapter.

    Returns:
        The config as a ``DictConfig`` with the width set.

    Raises:
        ValueError: the config has neither ``in_features`` nor ``n_feat``.
    """
    cfg = convert_adapter_cfg_to_dict_config(cfg)
    key = next((name for name in _INPUT_WIDTH_KEYS if name in cfg), None)
    if key is None:
        raise ValueError(
            f"Cannot set the input width of this adapter config for {type(module).__name__}: it has none of "
            f"{list(_INPUT_WIDTH_KEYS)}.\n{OmegaConf.to_yaml(cfg)}"
        )
    if cfg[key] != module_dim:
        logging.info(f"{type(module).__name__}: adapter {key} changed from {cfg[key]} to {module_dim}")
        cfg[key] = module_dim
    return cfg

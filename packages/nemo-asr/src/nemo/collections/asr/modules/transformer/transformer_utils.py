"""``get_nemo_transformer``: build a transformer encoder or decoder module from a flat config (NeMo 1.23's
factory, the ``_target_`` of the AED model's ``transf_decoder``)."""

from __future__ import annotations

from collections.abc import Mapping

from nemo.collections.asr.modules.transformer.transformer import TransformerDecoderNM, TransformerEncoderNM

__all__ = ["get_nemo_transformer"]

_REQUIRED = ("vocab_size", "hidden_size", "num_layers", "inner_size", "num_attention_heads")
_SHARED_DEFAULTS = {
    "max_sequence_length": 512,
    "num_token_types": 2,
    "embedding_dropout": 0.0,
    "learn_positional_encodings": False,
    "ffn_dropout": 0.0,
    "attn_score_dropout": 0.0,
    "attn_layer_dropout": 0.0,
    "hidden_act": "relu",
    "pre_ln": False,
}
# Keys NeMo's transformer configs may carry, and the only value each may have here.
_FIXED = {"library": "nemo", "model_name": None, "pretrained": False, "r2l": False}


def get_nemo_transformer(
    model_name: str | None = None,
    pretrained: bool = False,
    config_dict: Mapping | None = None,
    encoder: bool = True,
    pre_ln_final_layer_norm: bool = True,
) -> TransformerEncoderNM | TransformerDecoderNM:
    """A :class:`TransformerEncoderNM` (``encoder=True``) or :class:`TransformerDecoderNM` from ``config_dict``.

    Args:
        model_name: must be None (no named/downloadable transformers).
        pretrained: must be False.
        config_dict: ``vocab_size``, ``hidden_size``, ``num_layers``, ``inner_size``, ``num_attention_heads``
            (required) and optionally ``max_sequence_length``, ``num_token_types``, the dropouts,
            ``learn_positional_encodings``, ``hidden_act``, ``pre_ln`` and, for encoders, ``mask_future``
            (default True, as NeMo's factory).
        encoder: build the encoder (True) or the decoder (False).
        pre_ln_final_layer_norm: final LayerNorm of pre-LN stacks.

    Raises:
        ValueError: a required key is missing, an unknown key is given, or a named/pretrained model is asked for.
    """
    if model_name is not None or pretrained:
        raise ValueError(
            "get_nemo_transformer builds transformers from config_dict only; set model_name: null and "
            "pretrained: false."
        )
    config = dict(config_dict or {})
    missing = [key for key in _REQUIRED if config.get(key) is None]
    if missing:
        raise ValueError(f"get_nemo_transformer: config_dict needs {missing} (got keys {sorted(config)}).")
    if config.get("arch"):
        raise ValueError(
            f"get_nemo_transformer: config_dict.arch={config['arch']!r} (bottleneck transformers) is not supported; "
            "remove the key."
        )
    for key, only in _FIXED.items():
        if key in config and config[key] != only:
            raise ValueError(
                f"get_nemo_transformer: config_dict.{key}={config[key]!r} is not supported; use {only!r}."
            )
    inner_final_norm = config.get("pre_ln_final_layer_norm", pre_ln_final_layer_norm)
    if inner_final_norm != pre_ln_final_layer_norm:
        raise ValueError(
            f"get_nemo_transformer: config_dict.pre_ln_final_layer_norm={inner_final_norm} contradicts the "
            f"pre_ln_final_layer_norm={pre_ln_final_layer_norm} argument; set it in one place."
        )
    allowed = (
        set(_REQUIRED)
        | set(_SHARED_DEFAULTS)
        | set(_FIXED)
        | {"mask_future", "arch", "pre_ln_final_layer_norm"}
    )
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(
            f"get_nemo_transformer: unknown config_dict keys {unknown}; allowed are {sorted(allowed)}."
        )
    arguments = {key: config[key] for key in _REQUIRED}
    arguments.update({key: config.get(key, default) for key, default in _SHARED_DEFAULTS.items()})
    arguments["pre_ln_final_layer_norm"] = pre_ln_final_layer_norm
    if encoder:
        return TransformerEncoderNM(**arguments, mask_future=config.get("mask_future", True))
    if config.get("mask_future") is not None:
        raise ValueError(
            "get_nemo_transformer: mask_future applies to encoders only; remove it for a decoder."
        )
    return TransformerDecoderNM(**arguments)

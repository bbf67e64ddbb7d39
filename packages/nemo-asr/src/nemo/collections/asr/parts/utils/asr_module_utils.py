"""NeMo 1.23's ``asr_module_utils``: change the Squeeze-Excitation context window of a ``ConvASREncoder`` model."""

from __future__ import annotations

from typing import Any

from nemo.utils import logging
from omegaconf import open_dict

__all__ = ["change_conv_asr_se_context_window"]


def change_conv_asr_se_context_window(model: Any, context_window: int, update_config: bool = True) -> None:
    """Set the context window of every Squeeze-Excitation module of ``model.encoder`` (a ``ConvASREncoder``).

    ``context_window`` counts input feature frames (window strides of the features); blocks after a strided
    convolution of the main path see fewer frames, so each block's window is divided by the strides met
    so far, as in NeMo. A model without a ``ConvASREncoder`` is left unchanged (logged).

    Args:
        model: an ASR model with ``encoder`` and ``cfg``.
        context_window: frames each SE step averages over (-1: the whole utterance).
        update_config: also write each block's window to ``cfg.encoder.jasper[i].se_context_size`` (blocks
            with SE only).
    """
    from nemo.collections.asr.modules.conv_asr import ConvASREncoder
    from nemo.collections.asr.parts.submodules.jasper import MaskedConv1d, SqueezeExcite

    if update_config and "encoder" not in model.cfg:
        logging.info("SE context window not changed: the model's config has no `encoder` section.")
        return
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, ConvASREncoder):
        logging.info(
            "SE context window not changed: the model's encoder is "
            f"{type(encoder).__name__}, not a ConvASREncoder (only its blocks have Squeeze-Excitation)."
        )
        return
    window = context_window
    block_windows: dict[int, int] = {}
    for index, block in enumerate(encoder.encoder):
        for name, module in block.named_modules():
            if isinstance(module, MaskedConv1d) and name.startswith("mconv") and module.conv.stride[0] > 1:
                window //= module.conv.stride[0]
            elif isinstance(module, SqueezeExcite):
                module.change_context_window(window)
                block_windows[index] = window
    if update_config:
        with open_dict(model.cfg):
            for index, block_window in block_windows.items():
                model.cfg.encoder.jasper[index].se_context_size = block_window

"""``transformer_weights_init``: BERT-style initial weights for heads on top of transformer encoders."""

from __future__ import annotations

import torch

__all__ = ["transformer_weights_init"]


def transformer_weights_init(
    module: torch.nn.Module, std_init_range: float = 0.02, xavier: bool = True
) -> None:
    """Initialise one module's weights in place, as transformer layers are (use with ``Module.apply``).

    Linear layers get Xavier-uniform weights (``xavier=True``) or normal ones with ``std_init_range`` (as in
    BERT) and zero biases; embeddings normal weights; layer norms weight 1 and bias 0. Other modules are
    left alone.

    Args:
        module: the module to initialise.
        std_init_range: standard deviation of the normal initialiser.
        xavier: Xavier-uniform instead of normal for linear layers.
    """
    if isinstance(module, torch.nn.Linear):
        if xavier:
            torch.nn.init.xavier_uniform_(module.weight)
        else:
            torch.nn.init.normal_(module.weight, mean=0.0, std=std_init_range)
        if module.bias is not None:
            torch.nn.init.zeros_(module.bias)
    elif isinstance(module, torch.nn.Embedding):
        torch.nn.init.normal_(module.weight, mean=0.0, std=std_init_range)
    elif isinstance(module, torch.nn.LayerNorm):
        torch.nn.init.ones_(module.weight)
        torch.nn.init.zeros_(module.bias)

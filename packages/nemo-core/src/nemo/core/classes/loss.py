"""``Loss``: base class of NeMo's typed loss modules."""

from __future__ import annotations

from typing import Any

import torch
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing

__all__ = ["Loss"]


class Loss(torch.nn.modules.loss._Loss, Typing, Serialization):
    """A ``torch`` loss with neural types and config serialization.

    Args:
        **kwargs: passed to ``torch.nn.modules.loss._Loss`` (``reduction``, ...).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

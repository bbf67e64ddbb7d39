"""Every weights load, always ``torch.load(weights_only=True)``, under its documented path.

Defined in :mod:`nemo.utils.checkpoint_loading`, below everything that loads checkpoints (``exp_manager``'s
resume included); this module only re-exports it.

Example:
    >>> from nemo.core.connectors.weights import load_state_dict
    >>> state_dict = load_state_dict("model_weights.ckpt", map_location="cpu")
"""

from nemo.utils.checkpoint_loading import CONFIG_GLOBAL_NAMES as CONFIG_GLOBAL_NAMES
from nemo.utils.checkpoint_loading import UnsafeCheckpointError as UnsafeCheckpointError
from nemo.utils.checkpoint_loading import config_safe_globals as config_safe_globals
from nemo.utils.checkpoint_loading import load_checkpoint as load_checkpoint
from nemo.utils.checkpoint_loading import load_state_dict as load_state_dict
from nemo.utils.checkpoint_loading import plain_containers as plain_containers
from nemo.utils.checkpoint_loading import refused_globals as refused_globals
from nemo.utils.checkpoint_loading import unpickling_error_reason as unpickling_error_reason

__all__ = [
    "CONFIG_GLOBAL_NAMES",
    "UnsafeCheckpointError",
    "config_safe_globals",
    "load_checkpoint",
    "load_state_dict",
    "plain_containers",
    "refused_globals",
    "unpickling_error_reason",
]

"""NeMo utilities: ``from nemo.utils import logging, model_utils``."""

from nemo.utils.lazy_exports import lazy_exports

__all__ = ["logging", "model_utils", "exp_manager"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "logging": "nemo.utils.nemo_logging:logging",
        "model_utils": "nemo.utils.model_utils",
        "exp_manager": "nemo.utils.exp_manager",
    },
)

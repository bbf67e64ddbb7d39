"""NeMo utilities: ``from nemo.utils import logging, model_utils``."""

from nemo.utils.lazy_exports import lazy_exports

__all__ = ["logging", "logging_mode", "model_utils", "exp_manager"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "logging": "nemo.utils.nemo_logging:logging",
        "logging_mode": "nemo.utils.nemo_logging:LogMode",
        "model_utils": "nemo.utils.model_utils",
        "exp_manager": "nemo.utils.exp_manager",
    },
)

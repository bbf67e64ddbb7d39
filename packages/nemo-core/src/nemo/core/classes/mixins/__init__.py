"""Mixins of NeMo's core classes: tensor access (``AccessMixin``) and adapters (``AdapterModuleMixin``, ...).

Names resolve on first use (``nemo.utils.lazy_exports``), so importing this package imports no torch.
"""

from nemo.utils.lazy_exports import lazy_exports

_ACCESS = "nemo.core.classes.mixins.access_mixins"
_STRATEGIES = "nemo.core.classes.mixins.adapter_mixin_strategies"
_ADAPTERS = "nemo.core.classes.mixins.adapter_mixins"

_EXPORTS = {
    "access_mixins": _ACCESS,
    "adapter_mixin_strategies": _STRATEGIES,
    "adapter_mixins": _ADAPTERS,
    "AccessMixin": _ACCESS,
    "set_access_cfg": _ACCESS,
    "ResidualAddAdapterStrategy": _STRATEGIES,
    "ResidualAddAdapterStrategyConfig": _STRATEGIES,
    "ReturnResultAdapterStrategy": _STRATEGIES,
    "ReturnResultAdapterStrategyConfig": _STRATEGIES,
    "AdapterModelPTMixin": _ADAPTERS,
    "AdapterModuleMixin": _ADAPTERS,
    "get_registered_adapter": _ADAPTERS,
    "register_adapter": _ADAPTERS,
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

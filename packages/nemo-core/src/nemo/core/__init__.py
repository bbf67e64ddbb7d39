"""nemo.core: neural types, typed modules, ModelPT, ``.nemo`` archives and the plugin system.

Importing this package is cheap: every public name is resolved on first use. It also connects the
``_target_`` allow-list (``nemo.utils.target_allowlist``, which imports nothing of nemo.core) to the prefixes
that installed plugins register; the plugins load when a config first names a class outside the built-in
prefixes.
"""

import sys

from nemo.core.version import __version__ as __version__
from nemo.utils.lazy_exports import lazy_exports
from nemo.utils.target_allowlist import set_plugin_prefix_source


def _plugin_target_prefixes() -> tuple[str, ...]:
    from nemo.core.registry import allowed_target_prefixes

    return allowed_target_prefixes()


set_plugin_prefix_source(_plugin_target_prefixes)

# `nemo` is a PEP 420 namespace shared by the nemo-kit distributions, so no file of ours can define
# `nemo.__version__`; importing nemo.core (every model import does) sets it on the namespace module.
sys.modules["nemo"].__version__ = __version__

_CLASSES = (
    "Typing typecheck NeuralModule Loss Dataset IterableDataset Exportable ExportFormat "
    "Serialization FileIO Model PretrainedModelInfo ModelPT"
).split()
_NEURAL_TYPES = (
    "AxisKind AxisType NeuralType NeuralTypeComparisonResult NeuralTypeError "
    "NeuralPortNameMismatchError NeuralPortNmTensorMismatchError"
).split()

_EXPORTS = {
    **{name: f"nemo.core.classes:{name}" for name in _CLASSES},
    **{name: f"nemo.core.neural_types:{name}" for name in _NEURAL_TYPES},
    "hydra_runner": "nemo.core.config.hydra_runner:hydra_runner",
    "neural_types": "nemo.core.neural_types",
    "classes": "nemo.core.classes",
    "optim": "nemo.core.optim",
    "config": "nemo.core.config",
    "plugins": "nemo.core.plugins",
    "registry": "nemo.core.registry",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

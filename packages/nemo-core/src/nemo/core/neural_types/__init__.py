"""Neural types: ``from nemo.core.neural_types import NeuralType, AxisKind, LogitsType, ...``.

Names resolve on first use; ``from nemo.core.neural_types import *`` imports every public name.
"""

from nemo.core.neural_types.elements import __all__ as _ELEMENT_NAMES
from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "AxisKindAbstract": "nemo.core.neural_types.axes",
    "AxisKind": "nemo.core.neural_types.axes",
    "AxisType": "nemo.core.neural_types.axes",
    "NeuralTypeComparisonResult": "nemo.core.neural_types.comparison",
    "NeuralType": "nemo.core.neural_types.neural_type",
    "NeuralTypeError": "nemo.core.neural_types.neural_type",
    "NeuralPortNameMismatchError": "nemo.core.neural_types.neural_type",
    "NeuralPortNmTensorMismatchError": "nemo.core.neural_types.neural_type",
    **{name: "nemo.core.neural_types.elements" for name in _ELEMENT_NAMES},
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

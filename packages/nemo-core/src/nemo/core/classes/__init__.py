"""NeMo's core classes: ``from nemo.core.classes import NeuralModule, ModelPT, typecheck``."""

# Eager and light (no torch): the submodule shares the decorator's name, so the name must be bound here
# or `from nemo.core.classes import typecheck` could return the module.
from nemo.core.classes.typecheck import Typing as Typing
from nemo.core.classes.typecheck import typecheck as typecheck
from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "NeuralModule": "nemo.core.classes.module",
    "Loss": "nemo.core.classes.loss",
    "Dataset": "nemo.core.classes.dataset",
    "IterableDataset": "nemo.core.classes.dataset",
    "Exportable": "nemo.core.classes.exportable",
    "ExportFormat": "nemo.core.classes.exportable",
    "Serialization": "nemo.core.classes.serialization",
    "FileIO": "nemo.core.classes.file_io",
    "Model": "nemo.core.classes.model",
    "PretrainedModelInfo": "nemo.core.plugins.types",
    "ModelPT": "nemo.core.classes.modelPT",
}

__all__ = sorted([*_EXPORTS, "Typing", "typecheck"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

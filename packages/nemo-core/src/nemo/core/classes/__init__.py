"""NeMo's core classes: ``from nemo.core.classes import NeuralModule, ModelPT, typecheck``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "Typing": "nemo.core.classes.typecheck",
    "typecheck": "nemo.core.classes.typecheck",
    "NeuralModule": "nemo.core.classes.module",
    "Loss": "nemo.core.classes.loss",
    "Dataset": "nemo.core.classes.dataset",
    "IterableDataset": "nemo.core.classes.dataset",
    "Exportable": "nemo.core.classes.exportable",
    "ExportFormat": "nemo.core.classes.exportable",
    "Serialization": "nemo.core.classes.serialization",
    "FileIO": "nemo.core.classes.file_io",
    "Model": "nemo.core.classes.model",
    "PretrainedModelInfo": "nemo.core.classes.model",
    "ModelPT": "nemo.core.classes.modelPT",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

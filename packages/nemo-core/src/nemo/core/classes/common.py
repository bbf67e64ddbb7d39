"""NeMo's ``nemo.core.classes.common`` import path, kept for compatibility; each name lives in its own module."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "Typing": "nemo.core.classes.typecheck:Typing",
    "typecheck": "nemo.core.classes.typecheck:typecheck",
    "is_typecheck_enabled": "nemo.core.classes.typecheck:is_typecheck_enabled",
    "is_semantic_typecheck_enabled": "nemo.core.classes.typecheck:is_semantic_typecheck_enabled",
    "Serialization": "nemo.core.classes.serialization",
    "FileIO": "nemo.core.classes.file_io",
    "Model": "nemo.core.classes.model",
    "PretrainedModelInfo": "nemo.core.plugins.types",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""Language-modelling datasets (NeMo 1.23's names), resolved on first use."""

from nemo.utils.lazy_exports import lazy_exports

_MEMMAP = "nemo.collections.nlp.data.language_modeling.text_memmap_dataset"
_EXPORTS = {
    "TextMemMapDataset": _MEMMAP,
    "CSVMemMapDataset": _MEMMAP,
    "CSVFieldsMemmapDataset": _MEMMAP,
    "JSONLMemMapDataset": _MEMMAP,
    "build_index_files": _MEMMAP,
    "text_memmap_dataset": _MEMMAP,
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

"""The NLP collection: import nemo.collections.nlp as nemo_nlp."""

from nemo.utils.lazy_exports import lazy_exports

__all__ = ["models"]
__getattr__, __dir__ = lazy_exports(__name__, {name: f"{__name__}.{name}" for name in __all__})

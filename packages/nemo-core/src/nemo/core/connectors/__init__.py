"""How models become ``.nemo`` archives and back: ``from nemo.core.connectors import SaveRestoreConnector``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {"SaveRestoreConnector": "nemo.core.connectors.save_restore_connector:SaveRestoreConnector"}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

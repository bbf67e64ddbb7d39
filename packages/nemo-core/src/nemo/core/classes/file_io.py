"""FileIO: the save/restore interface of NeMo objects, and their config as a YAML file.

``save_to``, ``restore_from`` and ``register_artifact`` are implemented by ``ModelPT`` (through
``SaveRestoreConnector``); ``from_config_file`` and ``to_config_file`` work for any object that also
mixes in :class:`~nemo.core.classes.serialization.Serialization`.
"""

from __future__ import annotations

import os
from abc import ABC
from typing import Any

from nemo.core.classes.serialization import Serialization
from omegaconf import DictConfig, OmegaConf

__all__ = ["FileIO"]


class FileIO(ABC):  # noqa: B024 - NeMo's interface: every method has a usable default or a clear refusal
    """Mixin: save to and restore from files."""

    def save_to(self, save_path: str) -> None:
        """Save the object (config and weights) to ``save_path``.

        Raises:
            NotImplementedError: this class does not save itself; ``ModelPT`` subclasses do.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot be saved with save_to(); only ModelPT subclasses write .nemo files. "
            "Save the whole model that contains this object instead."
        )

    @classmethod
    def restore_from(
        cls,
        restore_path: str,
        override_config_path: str | DictConfig | None = None,
        map_location: Any = None,
        strict: bool = True,
        return_config: bool = False,
        save_restore_connector: Any = None,
        trainer: Any = None,
    ) -> Any:
        """Restore an object saved with :meth:`save_to`.

        Raises:
            NotImplementedError: this class does not restore itself; ``ModelPT`` subclasses do.
        """
        raise NotImplementedError(
            f"{cls.__name__} cannot be restored with restore_from(); only ModelPT subclasses read .nemo files. "
            "Restore the whole model, e.g. ModelClass.restore_from('model.nemo')."
        )

    def register_artifact(self, config_path: str, src: str, verify_src_exists: bool = True) -> str | None:
        """Register a file (``src``) to be packed into saved archives under config key ``config_path``.

        Raises:
            NotImplementedError: this class keeps no artifacts; ``ModelPT`` subclasses do.
        """
        raise NotImplementedError(
            f"{type(self).__name__} keeps no artifacts; call register_artifact on the ModelPT that owns it."
        )

    @classmethod
    def from_config_file(cls, path2yaml_file: str | os.PathLike[str]) -> Any:
        """Build an instance from a YAML config file (``Serialization.from_config_dict`` on its content).

        Args:
            path2yaml_file: path of the YAML file.

        Raises:
            NotImplementedError: the class does not mix in ``Serialization``.
        """
        if not issubclass(cls, Serialization):
            raise NotImplementedError(
                f"{cls.__name__}.from_config_file needs the Serialization mixin to build objects from a config."
            )
        return cls.from_config_dict(config=OmegaConf.load(path2yaml_file))

    def to_config_file(self, path2yaml_file: str | os.PathLike[str]) -> None:
        """Write the object's config (``self._cfg``, resolved) to a YAML file.

        Args:
            path2yaml_file: destination path.

        Raises:
            NotImplementedError: the object has no ``_cfg``.
        """
        config = getattr(self, "_cfg", None)
        if config is None:
            raise NotImplementedError(
                f"{type(self).__name__}.to_config_file writes the object's `_cfg`, but it has none. "
                "Build the object from a config (from_config_dict) first."
            )
        with open(path2yaml_file, "w", encoding="utf-8") as stream:
            OmegaConf.save(config=config, f=stream, resolve=True)

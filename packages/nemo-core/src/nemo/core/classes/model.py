"""Model: the abstract NeMo model (pretrained-model lookup); ``PretrainedModelInfo`` re-exported.

``PretrainedModelInfo`` is defined with the other plugin specs in :mod:`nemo.core.plugins.types`, below the
registry that lists them; NeMo's import paths (this module, ``nemo.core.classes``) re-export it. This
module imports no torch.

``from_pretrained`` is offline-first and never touches the network: the name is a local ``.nemo`` path,
or a name (or alias) listed by ``cls.list_available_models()`` or by an installed plugin
(``nemo.core.registry.find_pretrained``) whose file is already on disk.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path
from typing import Any

from nemo.core.classes.file_io import FileIO
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing
from nemo.core.plugins.types import PretrainedModelInfo
from nemo.core.registry import find_pretrained
from nemo.utils import logging

__all__ = ["Model", "PretrainedModelInfo"]


class Model(Typing, Serialization, FileIO):
    """Abstract NeMo model: knows its pretrained checkpoints and restores them by name."""

    @classmethod
    @abstractmethod
    def list_available_models(cls) -> list[PretrainedModelInfo] | None:
        """Pretrained checkpoints of this class (``None`` or ``[]`` when there are none)."""

    @classmethod
    def get_available_model_names(cls) -> list[str]:
        """``pretrained_model_name`` of every entry of :meth:`list_available_models`."""
        return [info.pretrained_model_name for info in cls.list_available_models() or []]

    @classmethod
    def _find_pretrained_info(cls, model_name: str) -> PretrainedModelInfo | None:
        for info in cls.list_available_models() or []:
            if info.matches(model_name):
                return info
        return find_pretrained(model_name)

    @classmethod
    def resolve_pretrained_file(cls, model_name: str, refresh_cache: bool = False) -> tuple[Path, Any]:
        """The local ``.nemo`` file for ``model_name`` and the class to restore it with; nothing is downloaded.

        Args:
            model_name: a local ``.nemo`` path, or the name / alias of an entry of
                ``cls.list_available_models()`` or of an installed plugin.
            refresh_cache: NeMo re-downloads when set; offline, the cached file is used and a warning says so.

        Returns:
            ``(path, model class)``: the entry's ``class_`` when it names one, else ``cls``.

        Raises:
            FileNotFoundError: ``model_name`` is neither a file nor a known name, or the named model's file
                is not on this machine; the message lists where it looked and where to put the file.
        """
        from nemo.core.connectors.pretrained_location import find_local_file
        from nemo.utils.model_utils import import_class_by_path, resolve_cache_dir

        if os.path.isfile(os.path.expanduser(model_name)):
            return Path(model_name).expanduser(), cls
        info = cls._find_pretrained_info(model_name)
        if info is None:
            raise FileNotFoundError(
                f"Model {model_name!r} is neither a local file nor a known pretrained model name. Known "
                f"names for {cls.__name__}: {cls.get_available_model_names()}; installed plugins list theirs in "
                "nemo.core.registry.list_pretrained(). Pass the path of a .nemo file, or a known name."
            )
        if refresh_cache:
            logging.warning(
                f"refresh_cache=True for {model_name!r}: nothing is downloaded; using the local file."
            )
        path = find_local_file(model_name, info.location, info.description, resolve_cache_dir())
        if isinstance(info.class_, str):
            return path, import_class_by_path(info.class_, source=f"PretrainedModelInfo {model_name!r}")
        return path, info.class_ if info.class_ is not None else cls

    @classmethod
    def from_pretrained(
        cls,
        model_name: str,
        refresh_cache: bool = False,
        override_config_path: str | None = None,
        map_location: Any = None,
        strict: bool = True,
        return_config: bool = False,
        trainer: Any = None,
        save_restore_connector: Any = None,
    ) -> Any:
        """Restore a pretrained model from a local file; the network is never used.

        Args:
            model_name: a local ``.nemo`` path, or the name / alias of an entry of
                ``cls.list_available_models()`` or of an installed plugin (see :meth:`resolve_pretrained_file`).
            refresh_cache: NeMo re-downloads when set; offline, the cached file is used and a warning says so.
            override_config_path: YAML path or DictConfig replacing the archive's config.
            map_location: device to load the weights to (default: CUDA if available, else CPU).
            strict: passed to ``load_state_dict``.
            return_config: return only the config (read from the YAML member; no weights are loaded).
            trainer: Lightning trainer passed to the model's constructor.
            save_restore_connector: a custom ``SaveRestoreConnector``.

        Returns:
            The restored model, or its config when ``return_config`` is set.

        Raises:
            FileNotFoundError: see :meth:`resolve_pretrained_file`.
        """
        restore_path, restore_cls = cls.resolve_pretrained_file(model_name, refresh_cache=refresh_cache)
        return restore_cls.restore_from(
            restore_path=str(restore_path),
            override_config_path=override_config_path,
            map_location=map_location,
            strict=strict,
            return_config=return_config,
            trainer=trainer,
            save_restore_connector=save_restore_connector,
        )

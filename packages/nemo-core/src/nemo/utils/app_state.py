"""Process-wide state that NeMo code reads from anywhere: ranks and sizes, experiment paths, restored models.

``AppState()`` always returns the same object (one per process). Models register themselves by their
``model_guid`` when built and record the ``.nemo`` they were restored from::

    AppState().get_model_metadata_from_guid(model.model_guid).restoration_path

The parallel ranks and sizes are plain attributes that launchers and strategies may set; nothing in this
package reads them to decide how to train (Lightning's strategy does that).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["AppState", "ModelMetadataRegistry"]


@dataclass
class ModelMetadataRegistry:
    """What AppState knows of one model: its ``guid``, registration order ``gidx`` and ``.nemo`` path (or None)."""

    guid: str
    gidx: int
    restoration_path: str | None = None


# Attribute name -> default. Ranks and sizes stay None until a launcher sets them.
_DEFAULTS: dict[str, Any] = {
    "device_id": None,
    "local_rank": None,
    "global_rank": None,
    "world_size": None,
    "data_parallel_rank": None,
    "data_parallel_size": None,
    "data_parallel_group": None,
    "model_parallel_size": None,
    "tensor_model_parallel_rank": None,
    "tensor_model_parallel_size": None,
    "tensor_model_parallel_group": None,
    "pipeline_model_parallel_rank": None,
    "pipeline_model_parallel_size": None,
    "pipeline_model_parallel_group": None,
    "pipeline_model_parallel_split_rank": None,
    "virtual_pipeline_model_parallel_rank": None,
    "virtual_pipeline_model_parallel_size": None,
    "expert_model_parallel_rank": None,
    "expert_model_parallel_size": None,
    "context_parallel_size": None,
    "use_fp8": False,
    "random_seed": None,
    "log_dir": None,
    "exp_dir": None,
    "name": None,
    "checkpoint_name": None,
    "version": None,
    "create_checkpoint_callback": None,
    "checkpoint_callback_params": None,
    "tmpdir_name": None,
    "is_model_being_restored": False,
    "nemo_file_folder": None,
}


class AppState:
    """The one per-process state object (a singleton: ``AppState() is AppState()``)."""

    _instance: AppState | None = None
    _instance_lock = threading.Lock()

    def __new__(cls) -> AppState:
        with cls._instance_lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._lock = threading.RLock()
                instance._model_guid_map = {}
                instance._all_model_restore_paths = []
                for key, value in _DEFAULTS.items():
                    setattr(instance, key, value)
                cls._instance = instance
        return cls._instance

    # ------------------------------------------------------------------------------- restore paths
    @property
    def model_restore_path(self) -> str | None:
        """The ``.nemo`` (or extracted folder) restored last in this process, or None."""
        return self._all_model_restore_paths[-1] if self._all_model_restore_paths else None

    @model_restore_path.setter
    def model_restore_path(self, path: str | None) -> None:
        with self._lock:
            self._all_model_restore_paths.append(path)

    # -------------------------------------------------------------------------------- model guids
    def register_model_guid(self, guid: str, restoration_path: str | None = None) -> None:
        """Record the model ``guid`` (restored from ``restoration_path``, or built fresh when None)."""
        with self._lock:
            known = self._model_guid_map.get(guid)
            index = known.gidx if known is not None else len(self._model_guid_map)
            self._model_guid_map[guid] = ModelMetadataRegistry(guid, index, restoration_path)

    def get_model_metadata_from_guid(self, guid: str) -> ModelMetadataRegistry:
        """The registry entry of ``guid``.

        Raises:
            KeyError: no model with that guid was built in this process.
        """
        try:
            return self._model_guid_map[guid]
        except KeyError:
            raise KeyError(
                f"No model with guid {guid!r} is registered in this process; use the `model_guid` of a model "
                "built or restored here."
            ) from None

    def reset_model_guid_registry(self) -> None:
        """Forget every registered model."""
        with self._lock:
            self._model_guid_map.clear()

"""SaveRestoreConnector: how a model becomes a ``.nemo`` archive and back (NeMo 1.23's class and methods).

Saving writes ``model_config.yaml`` (the model's config, artifact keys pointing at ``nemo:<32 hex>_<name>``),
``model_weights.ckpt`` (``torch.save`` of the state dict) and every registered artifact into a temporary
folder, then packs it atomically with :func:`nemo.core.connectors.archive.write_archive`.

Restoring checks every archive member before extracting into a fresh temporary folder, refuses configs
whose ``_target_`` entries fall outside the allow-list, loads weights with ``weights_only=True`` and
builds the class named by the config's ``target`` when it subclasses the calling class. While the model's
constructor runs, ``register_artifact("key", "nemo:<name>")`` resolves to the extracted file. The folder
stays alive as long as the model holds artifacts from it and is removed afterwards.

Subclasses customise single steps through NeMo's hook names (``modify_state_dict``,
``load_instance_with_state_dict``, ``_load_state_dict_from_disk``, ``_save_state_dict_to_disk``,
``_unpack_nemo_file``, ``_make_nemo_file_from_folder``).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from nemo.core.connectors.archive import ArchiveError, extract_archive, write_archive
from nemo.core.connectors.restore_context import current_restore_context, restoring
from nemo.core.connectors.weights import UnsafeCheckpointError, load_state_dict
from nemo.utils import logging
from nemo.utils.model_utils import ArtifactItem, ArtifactPathType
from nemo.utils.target_allowlist import (
    check_config_targets,
    is_user_defined_class,
    lookup_imported,
    targets_from_file,
)
from omegaconf import DictConfig, OmegaConf, open_dict

__all__ = ["SaveRestoreConnector"]

NEMO_PATH_PREFIX = "nemo:"
_HASHED_NAME = re.compile(r"^[0-9a-f]{32}_.+")


def _default_map_location(map_location: Any) -> Any:
    if map_location is not None:
        return map_location
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _is_global_rank_zero() -> bool:
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def _config_from_override(override: str | os.PathLike[str] | DictConfig | Mapping[str, Any]) -> DictConfig:
    if isinstance(override, DictConfig):
        return OmegaConf.create(OmegaConf.to_container(override, resolve=True))
    if isinstance(override, Mapping):
        return OmegaConf.create(dict(override))
    return OmegaConf.load(override)


class _ExtractedArchive:
    """Owns the folder a restored model's artifacts were extracted to; removed when no model holds it.

    Copies of the model (``copy.deepcopy``) share the folder instead of copying it.
    """

    def __init__(self, directory: tempfile.TemporaryDirectory) -> None:
        self._directory = directory

    def __deepcopy__(self, memo: dict) -> _ExtractedArchive:
        return self

    def cleanup(self) -> None:
        """Remove the folder now (a restore that failed after the model was built)."""
        self._directory.cleanup()


def _is_yaml_member(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def _caller_family_target(container: object, calling_cls: type) -> tuple[str, ...]:
    """The archive's ``target`` when it is ``calling_cls``, one of its bases, or an imported user subclass of it.

    ``MyModel.restore_from(...)`` on an archive saved by ``MyModel`` (or a subclass the program defines and
    has imported) builds a class the caller already holds: nothing new is imported, so the allow-list need
    not list it. Every other class path in the archive is still checked.
    """
    target = container.get("target") if isinstance(container, dict) else None
    if not isinstance(target, str):
        return ()
    if any(target == f"{klass.__module__}.{klass.__qualname__}" for klass in calling_cls.__mro__):
        # The caller's class or one of its bases: already imported; from_config_dict then builds the caller.
        return (target,)
    if is_user_defined_class(target):
        found = lookup_imported(target)
        if isinstance(found, type) and issubclass(found, calling_cls):
            return (target,)
    return ()


def _model_section(conf: DictConfig) -> DictConfig:
    """A full experiment config (with a ``model:`` section) gives its model section, as in NeMo."""
    return conf.model if "model" in conf else conf


class SaveRestoreConnector:
    """Saves models to ``.nemo`` archives and restores them (NeMo 1.23's ``SaveRestoreConnector``)."""

    def __init__(self) -> None:
        self._model_config_yaml = "model_config.yaml"
        self._model_weights_ckpt = "model_weights.ckpt"
        self._model_extracted_dir: str | None = None

    # ------------------------------------------------------------------------------------------ names
    @property
    def model_config_yaml(self) -> str:
        """Archive member holding the config: ``"model_config.yaml"``."""
        return self._model_config_yaml

    @model_config_yaml.setter
    def model_config_yaml(self, path: str) -> None:
        self._model_config_yaml = path

    @property
    def model_weights_ckpt(self) -> str:
        """Archive member holding the state dict: ``"model_weights.ckpt"``."""
        return self._model_weights_ckpt

    @model_weights_ckpt.setter
    def model_weights_ckpt(self, path: str) -> None:
        self._model_weights_ckpt = path

    @property
    def model_extracted_dir(self) -> str | None:
        """A folder already holding the extracted archive; when set, restoring reads it instead of a tar."""
        return self._model_extracted_dir

    @model_extracted_dir.setter
    def model_extracted_dir(self, path: str | None) -> None:
        self._model_extracted_dir = path

    # ------------------------------------------------------------------------------------------ save
    def save_to(self, model: Any, save_path: str) -> None:
        """Write ``model`` (config, weights, artifacts) to ``save_path`` as an uncompressed ``.nemo`` tar.

        Only global rank zero writes. The config in the archive points each artifact key at
        ``nemo:<32 hex>_<basename>``; the model's own config is left unchanged.

        Args:
            model: a ``ModelPT`` (anything with ``to_config_file``, ``state_dict`` and ``artifacts``).
            save_path: destination; its folder must exist. Written atomically.
        """
        if not _is_global_rank_zero():
            return
        with tempfile.TemporaryDirectory(prefix="nemo_save_") as folder:
            config_yaml = os.path.join(folder, self.model_config_yaml)
            model.to_config_file(path2yaml_file=config_yaml)
            self._update_subconfigs(model, path2yaml_file=config_yaml)
            if self._all_artifacts(model):
                self._handle_artifacts(model, nemo_file_folder=folder)
                self._update_artifact_paths(model, path2yaml_file=config_yaml)
            self._save_state_dict_to_disk(model.state_dict(), os.path.join(folder, self.model_weights_ckpt))
            self._make_nemo_file_from_folder(filename=save_path, source_dir=folder)

    @staticmethod
    def _all_artifacts(model: Any) -> dict[str, Any]:
        """The artifacts of ``model`` and of its NeMo submodules, keyed by their key in the saved config."""
        named = getattr(model, "named_nemo_modules", None)
        modules = named() if named is not None else [("", "", model)]
        found: dict[str, Any] = {}
        for _, prefix, module in modules:
            for config_path, item in (getattr(module, "artifacts", None) or {}).items():
                found[f"{prefix}.{config_path}" if prefix else config_path] = item
        return found

    @staticmethod
    def _update_subconfigs(model: Any, path2yaml_file: str) -> None:
        """Copy each NeMo submodule's current config into its key of the saved YAML (parents first)."""
        named = getattr(model, "named_nemo_modules", None)
        if named is None or not model.has_nemo_submodules():
            return
        conf = OmegaConf.load(path2yaml_file)
        with open_dict(conf):
            for _, config_path, submodule in named():
                if config_path:
                    OmegaConf.update(conf, config_path, copy.deepcopy(submodule.cfg), merge=False)
        OmegaConf.save(config=conf, f=path2yaml_file)

    def _handle_artifacts(self, model: Any, nemo_file_folder: str) -> None:
        """Copy every artifact into the folder being packed as ``<32 hex>_<basename>``.

        Artifacts that came out of an archive keep their name, so re-saving a restored model keeps the
        config's ``nemo:`` paths stable.

        Raises:
            FileNotFoundError: an artifact's file no longer exists.
        """
        for config_path, item in self._all_artifacts(model).items():
            if item.path is None:
                continue
            source = Path(item.path)
            if not source.is_file():
                raise FileNotFoundError(
                    f"Cannot save artifact {config_path!r}: its file {str(source)!r} no longer exists (or is not "
                    "a file). Register it again with model.register_artifact(config_path, existing_file)."
                )
            if item.path_type == ArtifactPathType.TAR_PATH and _HASHED_NAME.match(source.name):
                name = source.name
            else:
                name = f"{uuid.uuid4().hex}_{source.name}"
            shutil.copy2(source, os.path.join(nemo_file_folder, name))
            item.hashed_path = NEMO_PATH_PREFIX + name

    def _update_artifact_paths(self, model: Any, path2yaml_file: str) -> None:
        """Point each artifact key of the YAML at its ``nemo:`` name."""
        conf = OmegaConf.load(path2yaml_file)
        with open_dict(conf):
            for config_path, item in self._all_artifacts(model).items():
                if item.hashed_path is not None:
                    OmegaConf.update(conf, config_path, item.hashed_path)
        OmegaConf.save(config=conf, f=path2yaml_file)

    @staticmethod
    def _save_state_dict_to_disk(
        state_dict: Mapping[str, torch.Tensor], filepath: str | os.PathLike[str]
    ) -> None:
        torch.save(state_dict, filepath)

    @staticmethod
    def _make_nemo_file_from_folder(
        filename: str | os.PathLike[str], source_dir: str | os.PathLike[str]
    ) -> None:
        write_archive(filename, source_dir)

    # --------------------------------------------------------------------------------------- restore
    @staticmethod
    def _load_state_dict_from_disk(model_weights: str | os.PathLike[str], map_location: Any = None) -> dict:
        return load_state_dict(model_weights, map_location=map_location)

    @staticmethod
    def _unpack_nemo_file(
        path2file: str | os.PathLike[str],
        out_folder: str | os.PathLike[str],
        extract_config_only: bool = False,
    ) -> str:
        """Extract ``path2file`` (every member checked first) into ``out_folder``; return ``out_folder``.

        With ``extract_config_only``, only the YAML members (the model config) are written.
        """
        extract_archive(path2file, out_folder, only=_is_yaml_member if extract_config_only else None)
        return str(out_folder)

    def _read_config(
        self, restore_path: str, override_config_path: str | os.PathLike[str] | DictConfig | None
    ) -> DictConfig:
        """The config alone: the YAML member (weights are never read) or the override."""
        if override_config_path is not None:
            return _model_section(_config_from_override(override_config_path))
        if self.model_extracted_dir is not None and os.path.isdir(self.model_extracted_dir):
            return _model_section(
                OmegaConf.load(os.path.join(self.model_extracted_dir, self.model_config_yaml))
            )
        with tempfile.TemporaryDirectory(prefix="nemo_config_") as folder:
            self._unpack_nemo_file(restore_path, folder, extract_config_only=True)
            return _model_section(_load_archive_config(Path(folder), self.model_config_yaml, restore_path))

    def load_config_and_state_dict(
        self,
        calling_cls: type,
        restore_path: str,
        override_config_path: str | os.PathLike[str] | DictConfig | None = None,
        map_location: Any = None,
        strict: bool = True,
        return_config: bool = False,
        trainer: Any = None,
    ) -> DictConfig | tuple[DictConfig, Any, dict]:
        """Read the config, build the model and load its state dict (not yet applied).

        Args:
            calling_cls: the class ``restore_from`` was called on.
            restore_path: the ``.nemo`` file.
            override_config_path: YAML path or config replacing the archive's config.
            map_location: device for the model and weights (default: CUDA if available, else CPU).
            strict: unused here; ``restore_from`` passes it on to ``load_instance_with_state_dict``.
            return_config: only read and return the config.
            trainer: passed to the model's constructor.

        Returns:
            The config when ``return_config`` is set, else ``(config, model, state_dict)``.

        Raises:
            FileNotFoundError, ArchiveError, UnsafeArchiveError: the archive is missing, corrupt or unsafe.
            UnsafeTargetError: the config names a class outside the allow-list.
            UnsafeCheckpointError: the weights pickle something other than tensors.
        """
        if return_config:
            return self._read_config(restore_path, override_config_path)
        map_location = _default_map_location(map_location)
        extracted: tempfile.TemporaryDirectory | None = None
        if self.model_extracted_dir is not None and os.path.isdir(self.model_extracted_dir):
            folder = Path(self.model_extracted_dir)
            logging.info(f"Restoring from the pre-extracted folder {folder} (model_extracted_dir).")
        else:
            extracted = tempfile.TemporaryDirectory(prefix="nemo_restore_")
            folder = Path(extracted.name)
        try:
            if extracted is not None:
                self._unpack_nemo_file(restore_path, extracted.name)
            if override_config_path is None:
                conf = _model_section(_load_archive_config(folder, self.model_config_yaml, restore_path))
            else:
                conf = _model_section(_config_from_override(override_config_path))
            container = OmegaConf.to_container(conf, resolve=True)
            trusted = _caller_family_target(container, calling_cls)
            check_config_targets(container, source=repr(restore_path), trusted_paths=trusted)
            OmegaConf.set_struct(conf, True)
            weights_path = folder / self.model_weights_ckpt
            state_dict = _load_archive_weights(
                self._load_state_dict_from_disk, weights_path, map_location, restore_path
            )
            with restoring(folder, restore_path), targets_from_file(trusted):
                instance = calling_cls.from_config_dict(config=conf, trainer=trainer)
            instance = instance.to(map_location)
        except BaseException:
            if extracted is not None:
                extracted.cleanup()
            raise
        if extracted is not None:
            self._keep_folder_if_used(instance, extracted, weights_path)
        return conf, instance, state_dict

    @staticmethod
    def _keep_folder_if_used(
        instance: Any, extracted: tempfile.TemporaryDirectory, weights_path: Path
    ) -> None:
        """Hand the extraction folder to the model if it registered artifacts there; else remove it now."""
        folder = Path(extracted.name)
        artifacts = getattr(instance, "artifacts", None) or {}
        uses_folder = any(
            item.path is not None and Path(item.path).is_relative_to(folder) for item in artifacts.values()
        )
        if not uses_folder:
            extracted.cleanup()
            return
        weights_path.unlink(missing_ok=True)
        instance._nemo_restore_dir = _ExtractedArchive(extracted)

    def modify_state_dict(self, conf: DictConfig, state_dict: dict) -> dict:
        """Hook to rewrite a loaded state dict before it is applied; returns it unchanged."""
        return state_dict

    def load_instance_with_state_dict(self, instance: Any, state_dict: dict, strict: bool) -> None:
        """Apply ``state_dict`` to ``instance`` with ``load_state_dict(strict=strict)``."""
        instance.load_state_dict(state_dict, strict=strict)

    def restore_from(
        self,
        calling_cls: type,
        restore_path: str,
        override_config_path: str | os.PathLike[str] | DictConfig | None = None,
        map_location: Any = None,
        strict: bool = True,
        return_config: bool = False,
        trainer: Any = None,
    ) -> Any:
        """Restore a model from a ``.nemo`` file (see :meth:`load_config_and_state_dict` for the arguments).

        Returns:
            The model with its weights loaded, or its config when ``return_config`` is set.

        Raises:
            RuntimeError: with ``strict``, the weights' keys or shapes do not match the model (the message names
                the archive and holds torch's list of differences).
        """
        loaded = self.load_config_and_state_dict(
            calling_cls, restore_path, override_config_path, map_location, strict, return_config, trainer
        )
        if return_config:
            return loaded
        conf, instance, state_dict = loaded
        state_dict = self.modify_state_dict(conf, state_dict)
        try:
            self.load_instance_with_state_dict(instance, state_dict, strict)
        except RuntimeError as error:  # torch's strict key/shape check: name the archive, keep the type
            extracted = getattr(instance, "_nemo_restore_dir", None)
            if isinstance(extracted, _ExtractedArchive):
                extracted.cleanup()  # the model is discarded: its extracted artifacts go with it, now
            raise RuntimeError(
                f"{restore_path!s}: its weights do not fit {type(instance).__name__} built from its config. {error}"
                "\nRestore with strict=False to load the weights that fit, or check that the archive is intact."
            ) from error
        logging.info(f"Model {type(instance).__name__} was successfully restored from {restore_path}.")
        return instance

    def extract_state_dict_from(
        self, restore_path: str, save_dir: str | os.PathLike[str], split_by_module: bool = False
    ) -> dict:
        """Load the state dict of a ``.nemo`` file and save it as checkpoint file(s) in ``save_dir``.

        Args:
            restore_path: the ``.nemo`` file.
            save_dir: folder to write ``model_weights.ckpt`` (or one ``<module>.ckpt`` per top-level module
                with ``split_by_module``); created if missing.
            split_by_module: write one file per top-level module, keys without the module prefix.

        Returns:
            The archive's state dict (parameter name -> tensor).
        """
        out_dir = Path(save_dir).absolute()
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="nemo_extract_") as folder:
            self._unpack_nemo_file(restore_path, folder)
            state_dict = self._load_state_dict_from_disk(os.path.join(folder, self.model_weights_ckpt))
        if not split_by_module:
            self._save_state_dict_to_disk(state_dict, out_dir / self.model_weights_ckpt)
        else:
            modules: dict[str, dict[str, torch.Tensor]] = {}
            for key, value in state_dict.items():
                module, _, rest = key.partition(".")
                modules.setdefault(module, {})[rest] = value
            for module, module_state in modules.items():
                self._save_state_dict_to_disk(module_state, out_dir / f"{module}.ckpt")
        logging.info(f"Checkpoints from {restore_path} were successfully extracted into {out_dir}.")
        return state_dict

    # ------------------------------------------------------------------------------------- artifacts
    def register_artifact(
        self, model: Any, config_path: str, src: str, verify_src_exists: bool = True
    ) -> str | None:
        """Record ``src`` as an artifact of ``model`` under config key ``config_path``.

        ``src`` is a local file, or ``nemo:<name>`` (a file of the archive being restored, valid only while
        ``restore_from`` builds the model), or, for archives of older NeMo versions, the bare name of a
        file of the archive being restored.

        Args:
            model: the model (its ``artifacts`` dict and, once built, its ``cfg`` are updated).
            config_path: dotted config key, e.g. ``"tokenizer.model_path"``.
            src: the file, as above.
            verify_src_exists: raise when ``src`` cannot be found; when False, return ``None`` instead.

        Returns:
            The absolute path of the existing file, or ``None`` (missing and ``verify_src_exists=False``).

        Raises:
            FileNotFoundError: ``src`` cannot be found and ``verify_src_exists`` is set.
            ValueError: a ``nemo:`` name contains a path separator.
        """
        context = current_restore_context()
        folder = context.folder if context is not None else None
        found: Path | None = None
        path_type = ArtifactPathType.LOCAL_PATH
        if src.startswith(NEMO_PATH_PREFIX):
            name = src[len(NEMO_PATH_PREFIX) :]
            if not name or name in (".", "..") or "/" in name or "\\" in name:
                raise ValueError(
                    f"Artifact {config_path!r} is {src!r}; expected 'nemo:<file name>' naming a file at the "
                    "archive root, without folders. Fix the config key or re-save the model."
                )
            path_type = ArtifactPathType.TAR_PATH
            if folder is not None and (folder / name).is_file():
                found = folder / name
        elif os.path.exists(src):
            found = Path(src)
        elif folder is not None and (folder / os.path.basename(src)).is_file():
            found = folder / os.path.basename(src)
            path_type = ArtifactPathType.TAR_PATH
        if found is None:
            if not verify_src_exists:
                return None
            raise FileNotFoundError(self._missing_artifact_message(config_path, src, context))
        return_path = os.path.abspath(found)
        hashed_path = src if src.startswith(NEMO_PATH_PREFIX) else None
        model.artifacts[config_path] = ArtifactItem(
            path=return_path, path_type=path_type, hashed_path=hashed_path
        )
        cfg = getattr(model, "_cfg", None)
        if isinstance(cfg, DictConfig):
            with open_dict(cfg):
                OmegaConf.update(cfg, config_path, return_path)
        return return_path

    @staticmethod
    def _missing_artifact_message(config_path: str, src: str, context: Any) -> str:
        if src.startswith(NEMO_PATH_PREFIX) and context is None:
            return (
                f"Artifact {config_path!r} is {src!r}, a file inside a .nemo archive, but no archive is being "
                "restored: 'nemo:' paths only resolve while restore_from() builds the model. Set "
                f"{config_path!r} to the path of a real file, or restore the model with restore_from()."
            )
        if context is not None:
            return (
                f"Artifact {config_path!r}: {src!r} is neither an existing file nor a file of the archive "
                f"{context.restore_path!r}. The archive may be incomplete; re-save the model, or pass a config "
                f"whose {config_path!r} points at an existing file (override_config_path)."
            )
        return (
            f"Artifact {config_path!r}: file {src!r} does not exist (absolute: {os.path.abspath(src)!r}). "
            f"Point {config_path!r} at an existing file, or register it with verify_src_exists=False if it "
            "is optional."
        )


def _load_archive_config(folder: Path, member: str, restore_path: str | os.PathLike[str]) -> DictConfig:
    """The YAML config ``member`` of an archive extracted into ``folder``.

    Raises:
        FileNotFoundError: the archive has no such member (the message names the archive).
        ArchiveError: the member is not readable YAML (damaged or not text), naming the archive and member.
    """
    import yaml

    path = folder / member
    if not path.is_file():
        raise FileNotFoundError(
            f"{restore_path!s} holds no {member!r}: it is not a .nemo archive of a model, or it is damaged. "
            "Save the model again with save_to()."
        )
    try:
        return OmegaConf.load(path)
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError) as error:
        raise ArchiveError(
            f"{restore_path!s}: its {member!r} is not a readable YAML config ({type(error).__name__}: "
            f"{str(error)[:200]}). The archive is damaged; save the model again with save_to()."
        ) from error


def _load_archive_weights(
    load: Any, weights_path: Path, map_location: Any, restore_path: str | os.PathLike[str]
) -> dict:
    """``load(weights_path, map_location=...)``, with errors of a missing or damaged weights member naming the
    archive.

    Raises:
        FileNotFoundError: the archive has no weights member.
        UnsafeCheckpointError: the weights pickle code (re-raised with the archive named).
        ArchiveError: the weights member cannot be read as a checkpoint (damaged).
    """
    if not weights_path.is_file():
        raise FileNotFoundError(
            f"{restore_path!s} holds no {weights_path.name!r}: it is not a .nemo archive of a model, or it is "
            "damaged. Save the model again with save_to()."
        )
    try:
        return load(weights_path, map_location=map_location)
    except UnsafeCheckpointError as error:
        raise UnsafeCheckpointError(f"{restore_path!s}: {error}") from error
    except (RuntimeError, KeyError, ValueError, EOFError, OSError) as error:
        raise ArchiveError(
            f"{restore_path!s}: its {weights_path.name!r} cannot be read as a checkpoint ({type(error).__name__}: "
            f"{str(error)[:200]}). The archive is damaged; save the model again with save_to()."
        ) from error

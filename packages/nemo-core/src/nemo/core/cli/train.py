"""``nemo train MODEL_OR_CONFIG [OVERRIDES...]``: compose a Hydra config and run NeMo's training script flow.

``MODEL_OR_CONFIG`` is, tried in this order: a YAML file; a registered model name (its ``ModelSpec.config``
is looked up with ``find_config``); a config name in the registered config paths. Overrides use Hydra's
grammar: ``key=value``, ``+new_key=value``, ``~key``. Then, as NeMo's ``examples/*/train.py`` scripts do::

    trainer = pytorch_lightning.Trainer(**cfg.trainer)
    exp_manager(trainer, cfg.get("exp_manager"))
    model = ModelClass(cfg=cfg.model, trainer=trainer)
    trainer.fit(model)

where ``ModelClass`` is ``cfg.model.target`` when present (checked against the ``_target_`` allow-list),
else the ``ModelSpec``'s target.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytorch_lightning as pl
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from nemo.core import registry
from nemo.core.cli.errors import CommandError
from nemo.core.plugins.targets import canonical_import_string, is_import_string
from nemo.core.plugins.types import ModelSpec
from nemo.utils import logging
from nemo.utils.exp_manager import LogDirError, exp_manager
from nemo.utils.model_utils import import_class_by_path
from nemo.utils.target_allowlist import UnsafeTargetError, targets_from_file
from omegaconf import DictConfig, OmegaConf


def resolve_config(model_or_config: str) -> tuple[Path, ModelSpec | None]:
    """Find the YAML file to compose and the ``ModelSpec`` it belongs to, if any.

    Args:
        model_or_config: a YAML path, a registered model name, or a config name.

    Returns:
        The absolute config path and the matching ``ModelSpec`` (``None`` for a file given by path or a
        config name that no single model names as its default).

    Raises:
        CommandError: nothing matches; the message lists the registered models.
    """
    path = Path(model_or_config).expanduser()
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise CommandError(f"config file {str(path)!r} does not exist. Check the path.")
        return path.resolve(), None
    models = {spec.name: spec for spec in registry.list_models()}
    spec = models.get(model_or_config)
    if spec is not None:
        provider = registry.get_model_provider(spec.name)
        if spec.config is None:
            raise CommandError(
                f"model {spec.name!r} ({provider.distribution}) registers no default config "
                "(its ModelSpec.config is None). Pass a YAML file instead: nemo train path/to/config.yaml"
            )
        found = registry.find_config(spec.config)
        if found is None:
            raise CommandError(
                f"model {spec.name!r} names the default config {spec.config!r}, which is in none of the "
                f"registered config paths. Reinstall {provider.distribution}, or pass a YAML file."
            )
        return found, spec
    found = registry.find_config(model_or_config)
    if found is not None:
        owners = [spec for spec in models.values() if spec.config == model_or_config]
        return found, owners[0] if len(owners) == 1 else None
    raise CommandError(
        f"{model_or_config!r} is not a YAML file, a registered model or a config in the registered config "
        f"paths. Registered models: {', '.join(sorted(models)) or 'none'} (see `nemo models`)."
    )


def compose_config(path: Path, overrides: list[str]) -> DictConfig:
    """Compose ``path`` with Hydra's compose API, applying ``overrides`` (``key=v``, ``+key=v``, ``~key``).

    Raises:
        CommandError: Hydra rejected the config or an override.
    """
    if path.suffix != ".yaml":
        raise CommandError(f"{path}: Hydra reads only '.yaml' config files; rename it to {path.stem}.yaml.")
    try:
        with initialize_config_dir(config_dir=str(path.parent), version_base=None, job_name="nemo_train"):
            return compose(config_name=path.name, overrides=overrides)
    except HydraException as exc:
        raise CommandError(f"cannot compose {path} with overrides {overrides}: {exc}") from exc
    except RecursionError:  # Hydra walks configs recursively; real ones nest fewer than 15 levels
        raise CommandError(
            f"cannot compose {path}: it nests dicts and lists too deeply for Hydra (a RecursionError). "
            "Flatten the config."
        ) from None


def check_no_missing_values(cfg: DictConfig, path: Path) -> None:
    """Refuse a config that still has ``???`` values, naming each key and how to set it.

    Raises:
        CommandError: the keys left ``???`` (e.g. ``train_dataset``), with an example override.
    """
    missing = _missing_keys(OmegaConf.to_container(cfg, resolve=False), "")
    if missing:
        raise CommandError(
            f"{path} leaves {len(missing)} value(s) unset (???): {', '.join(missing)}. Set each on the command "
            f"line, e.g. nemo train {path.stem} {missing[0]}=VALUE"
        )


def _missing_keys(node: object, prefix: str) -> list[str]:
    """Dotted keys whose value is the literal ``???`` in a plain (unresolved) config container."""
    if isinstance(node, dict):
        items = ((f"{prefix}{key}", value) for key, value in node.items())
    elif isinstance(node, list):
        items = ((f"{prefix[:-1]}[{index}]", value) for index, value in enumerate(node))
    else:
        return []
    missing = []
    for key, value in items:
        if value == "???":
            missing.append(key)
        else:
            missing += _missing_keys(value, f"{key}.")
    return missing


def resolve_model_class(cfg: DictConfig, spec: ModelSpec | None, path: Path) -> type:
    """The class to train: ``cfg.model.target`` if set, else ``spec``'s target.

    Raises:
        CommandError: the config has no ``model`` section, ``model.target`` is not allowed or cannot be
            imported, or there is neither ``model.target`` nor a ``ModelSpec``.
    """
    if not isinstance(cfg.get("model"), DictConfig):
        raise CommandError(f"{path} has no 'model' section; expected model: {{target: ..., ...}} in it.")
    target = cfg.model.get("target")
    try:
        if target is None:
            if spec is None:
                raise CommandError(
                    f"{path} has no 'model.target' and no registered model names it as its config, so the "
                    "model class is unknown. Add model.target (e.g. +model.target=pkg.models.MyModel) or "
                    "pass a registered model name (see `nemo models`)."
                )
            return registry.get_model_class(spec.name)
        if not is_import_string(target):
            raise CommandError(
                f"'model.target' in {path} is {target!r}; expected an import path such as 'pkg.models.MyModel'."
            )
        target = canonical_import_string(target)
        for registered in registry.list_models():
            if canonical_import_string(registered.target) == target:
                return registry.get_model_class(registered.name)
        return import_class_by_path(target, source=f"config key 'model.target' in {path}")
    except (ImportError, UnsafeTargetError, TypeError) as exc:
        raise CommandError(str(exc)) from exc


def _report(log_dir: Path | None) -> None:
    if log_dir is None:
        print("no exp_manager section in the config: no log directory or .nemo file was written.")
        return
    print(f"log dir: {log_dir}")
    for archive in sorted(Path(log_dir).rglob("*.nemo")):
        print(f".nemo: {archive}")


def run(argv: list[str]) -> int:
    """Entry point of ``nemo train``; returns 0 once training (and testing, if configured) finished."""
    parser = argparse.ArgumentParser(
        prog="nemo train",
        description="Train a model from a Hydra config, as NeMo's training scripts do.",
        epilog="Example: nemo train hello.echo trainer.max_epochs=2 exp_manager.exp_dir=/tmp/runs",
    )
    parser.add_argument(
        "model_or_config", metavar="MODEL_OR_CONFIG", help="YAML file, model name or config name"
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="OVERRIDE", help="Hydra override: key=value, +key=value, ~key"
    )
    args = parser.parse_args(argv)
    # The config is a file: only allow-listed classes may be named in it (see nemo.utils.target_allowlist).
    with targets_from_file():
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    path, spec = resolve_config(args.model_or_config)
    cfg = compose_config(path, args.overrides)
    check_no_missing_values(cfg, path)
    model_class = resolve_model_class(cfg, spec, path)
    logging.info(f"training {model_class.__module__}.{model_class.__qualname__} with config {path}")

    trainer = pl.Trainer(**cfg.get("trainer", {}))
    try:
        log_dir = exp_manager(trainer, cfg.get("exp_manager", None))
    except LogDirError as exc:  # a folder that cannot be written, or a full disk: the message says what to do
        raise CommandError(str(exc)) from exc
    model = model_class(cfg=cfg.model, trainer=trainer)
    trainer.fit(model)
    if cfg.model.get("test_ds") is not None and getattr(model, "_test_dl", None) is not None:
        trainer.test(model)
    _report(log_dir)
    return 0

"""Validation of config overrides against a parameter dataclass (shared by optimizer and scheduler params)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from nemo.utils import logging
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError


class UnknownParamsKeyError(ConfigKeyError, ValueError):
    """A config key that the parameter dataclass does not define (an OmegaConf ``ConfigKeyError``, as NeMo raises,
    and a ``ValueError``)."""


def check_overrides(params_cls: type, overrides: dict[str, Any], what: str) -> None:
    """Validate ``overrides`` against the fields and field types of the dataclass ``params_cls``.

    Args:
        params_cls: the parameter dataclass.
        overrides: field name -> value, as read from a config.
        what: how to name the parameters in an error, e.g. ``"optimizer parameters 'adam_params'"``.

    Raises:
        ValueError: a key is not a field of ``params_cls`` (the error lists the valid ones), or a value
            cannot be converted to its field's type.
    """
    valid = [f.name for f in fields(params_cls)]
    unknown = [key for key in overrides if key not in valid]
    if unknown:
        raise UnknownParamsKeyError(
            f"Unknown key(s) {unknown} for {what} ({params_cls.__qualname__}). Valid keys are: {valid}. "
            "Fix or remove them in the config."
        )
    try:
        OmegaConf.merge(OmegaConf.structured(params_cls), OmegaConf.create(overrides))
    except (ConfigKeyError, ValidationError) as error:
        raise ValueError(
            f"Invalid value for key {error.full_key!r} of {what} ({params_cls.__qualname__}): {error.msg}. "
            "Fix it in the config."
        ) from error


def named_params_overrides(args: dict[str, Any], section: str) -> dict[str, Any]:
    """The field overrides of a ``{name: <params name>, params: {...}}`` config section.

    NeMo's rule: when the section has a ``params`` mapping, the overrides are its keys and every other key
    beside ``name`` is ignored; without ``params``, the section's own keys (``name`` excepted) are the overrides.
    NeMo ignores those other keys silently; here each one is named in a warning, so a value put at the wrong
    level is not lost unnoticed.

    Args:
        args: the section as a plain dict (``name`` already removed or still present).
        section: the section's config path for the warning, e.g. ``"optim.args"``.

    Returns:
        The overrides (a new dict).
    """
    if "params" not in args:
        return {key: value for key, value in args.items() if key != "name"}
    ignored = sorted(key for key in args if key not in ("name", "params"))
    if ignored:
        logging.warning(
            f"Ignoring {section} key(s) {ignored}: with `{section}.params` present, only the keys under `params` "
            f"are read (NeMo's rule). Move them under `{section}.params` to use them, or remove them."
        )
    return dict(args["params"] or {})

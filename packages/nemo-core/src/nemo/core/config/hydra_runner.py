"""``hydra_runner``: NeMo's replacement for ``hydra.main`` in training and inference scripts.

Compared with ``hydra.main`` it keeps the working directory (``hydra.run.dir=.``, ``hydra.job.chdir=False``),
writes no ``.hydra`` folder (``hydra.output_subdir=null``), sends Hydra's job logging to stdout, can validate the
YAML against a ``schema`` dataclass, and lets tests call the script's function with a ready config.

Example:
    >>> @hydra_runner(config_path="conf", config_name="config")
    ... def main(cfg):
    ...     print(cfg.model.optim.lr)

    ``python train.py model.optim.lr=0.01 trainer.max_steps=10`` composes ``conf/config.yaml`` with the overrides
    and calls ``main``; ``main(OmegaConf.create({...}))`` calls it directly.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nemo.utils.target_allowlist import targets_from_file

if TYPE_CHECKING:
    from omegaconf import DictConfig

# Overrides appended after the user's: NeMo scripts never change directory nor write Hydra's output folder.
_NEMO_HYDRA_OVERRIDES = (
    "hydra.output_subdir=null",
    "hydra/job_logging=stdout",
    "hydra.run.dir=.",
    "hydra.job.chdir=False",
)


def hydra_runner(
    config_path: str | None = ".", config_name: str | None = None, schema: Any | None = None
) -> Callable[[Callable[[DictConfig], Any]], Callable[..., Any]]:
    """Decorate a script's ``main(cfg)`` so that it runs with the config Hydra composes from the command line.

    Args:
        config_path: folder of the YAML configs, relative to the decorated function's file (Hydra's rule).
            ``--config-path`` on the command line replaces it.
        config_name: YAML file name without ``.yaml`` (``--config-name`` replaces it). With ``schema`` and
            no such file, the schema itself is the config.
        schema: a dataclass (type or instance) stored in Hydra's ``ConfigStore`` under ``config_name``; the
            YAML is merged over it, so the YAML is type-checked against the schema, keys it lacks take the
            schema's defaults, and command-line overrides may set any schema key.

    Returns:
        A decorator. The decorated function takes an optional config: called as ``main(cfg)`` it calls the
        original function with ``cfg`` (no Hydra); called as ``main()`` it parses ``sys.argv`` with Hydra's
        parser (overrides, ``--cfg job``, ``--multirun``, ...) and runs the function once per composed config.
    """

    def decorator(task_function: Callable[[DictConfig], Any]) -> Callable[..., Any]:
        @functools.wraps(task_function)
        def wrapper(cfg_passthrough: DictConfig | None = None) -> Any:
            if cfg_passthrough is not None:
                return task_function(cfg_passthrough)

            # Hydra is imported here, not at the top: `nemo.core.config` re-exports this function eagerly.
            from hydra._internal.utils import _run_hydra, get_args_parser

            args_parser = get_args_parser()
            parsed_args = args_parser.parse_args()
            parsed_args.overrides.extend(_NEMO_HYDRA_OVERRIDES)

            if schema is not None:
                _store_schema(schema, parsed_args.config_name or config_name)

            with warnings.catch_warnings():
                # Registering the schema under the config's own name is how NeMo validates the YAML; Hydra 1.3
                # still supports it but warns on every run, which users cannot act on.
                warnings.filterwarnings("ignore", message=r"(?s).*is validated against ConfigStore schema")
                # Configs composed from files: only allow-listed classes may be named in them.
                with targets_from_file():
                    _run_hydra(
                        args=parsed_args,
                        args_parser=args_parser,
                        task_function=task_function,
                        config_path=config_path,
                        config_name=config_name,
                    )

        return wrapper

    return decorator


def _store_schema(schema: Any, config_name: str | None) -> None:
    """Store ``schema`` in Hydra's ``ConfigStore`` under ``config_name`` so Hydra merges the YAML over it."""
    if config_name is None:
        sys.stderr.write(
            "ERROR hydra_runner received a schema but no config name. Pass config_name=... to hydra_runner or "
            "--config-name on the command line.\n"
        )
        sys.exit(1)
    path, name = os.path.split(config_name)
    if path:
        sys.stderr.write(
            f"ERROR Cannot set the config file path with `--config-name {config_name}` when the script uses a "
            "schema. Pass the folder with `--config-path` and the file name with `--config-name` separately.\n"
        )
        sys.exit(1)
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=name.removesuffix(".yaml"), node=schema)

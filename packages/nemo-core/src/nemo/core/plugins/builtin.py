"""nemo-core's own hook implementations, loaded even when ``NEMO_DISABLE_PLUGIN_AUTOLOAD=1``.

They register the built-in ``_target_`` prefixes (defined by ``nemo.utils.target_allowlist``)
and the ``nemo`` subcommands that nemo-core itself provides.
"""

from __future__ import annotations

from nemo.core.plugins.hookspecs import PLUGIN_API_VERSION, hookimpl
from nemo.core.plugins.types import CommandSpec
from nemo.utils.target_allowlist import BUILTIN_TARGET_PREFIXES

NEMO_PLUGIN_API = PLUGIN_API_VERSION

CORE_COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "plugins", "nemo.core.cli.plugins:run", "List plugins: distribution, version, status or error"
        ),
        CommandSpec("models", "nemo.core.cli.models:run", "List registered models (--domain D to filter)"),
        CommandSpec("info", "nemo.core.cli.info:run", "Show versions, plugin API and cache directory"),
        CommandSpec(
            "train",
            "nemo.core.cli.train:run",
            "Train MODEL_OR_CONFIG with Hydra overrides (key=value, +k=v, ~k)",
        ),
        CommandSpec(
            "plugin",
            "nemo.core.cli.plugin:run",
            "Create a plugin: `nemo plugin new NAME` writes a ready package",
        ),
    )
}
"""The subcommands nemo-core itself provides, by name."""


@hookimpl
def nemo_register_target_prefixes() -> list[str]:
    return list(BUILTIN_TARGET_PREFIXES)


@hookimpl
def nemo_register_commands() -> list[CommandSpec]:
    return list(CORE_COMMANDS.values())

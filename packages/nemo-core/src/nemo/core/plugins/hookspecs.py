"""The hooks a nemo plugin may implement, the markers that tag them, and the plugin API version.

A plugin is a module named by an entry point in the group ``nemo.plugins``::

    # pyproject.toml of the distribution "nemo-hello"
    [project.entry-points."nemo.plugins"]
    hello = "nemo_hello.plugin"

The module stays tiny: hooks return specs holding import strings, so that listing models or commands
never imports a model. Every hook is optional; implement only those you need, each tagged with
``@hookimpl``. Hooks evolve by gaining arguments; an implementation may leave out any argument it does
not use, so plugins written for an older API keep working. A plugin may declare the API it was written
for with ``NEMO_PLUGIN_API = "1.0"``; nemo-core warns when that major version is newer than its own
``PLUGIN_API_VERSION``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from nemo.core.plugins.types import CommandSpec, ConfigPathSpec, ModelSpec, PretrainedModelInfo

PROJECT_NAME = "nemo"
"""pluggy project name; the markers below only tag hooks for this project."""

ENTRY_POINT_GROUP = "nemo.plugins"
"""Entry-point group that nemo-core scans for plugins."""

PLUGIN_API_VERSION = "1.0"
"""``MAJOR.MINOR`` of the hooks below. MINOR grows when a hook gains an argument or a new hook appears;
MAJOR grows only if a hook's meaning changes."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks the hook specifications below (nemo-core only)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin's hook implementations: ``from nemo.core.plugins import hookimpl``."""


@hookspec
def nemo_register_models() -> list[ModelSpec]:
    """Name the model classes this plugin provides.

    A name another plugin also registers is a conflict, reported naming both distributions; ours (nemo-core,
    nemo-asr, nemo-nlp, nemo-tts) is used unless ``NEMO_PLUGINS_PREFER`` names the other (docs/plugins.md).
    Targets are imported only by ``get_model_class``.

    Returns:
        One ``ModelSpec`` per model class.

    Example:
        A complete plugin module ``nemo_hello/plugin.py``::

            from nemo.core.plugins import ModelSpec, hookimpl

            NEMO_PLUGIN_API = "1.0"

            @hookimpl
            def nemo_register_models():
                return [
                    ModelSpec(
                        name="hello.echo",
                        target="nemo_hello.models:EchoModel",
                        domain="hello",
                        description="Echoes its input",
                        config="hello_echo",
                    )
                ]
    """


@hookspec
def nemo_register_config_paths() -> list[ConfigPathSpec]:
    """Add directories of Hydra YAML configs to the search path of ``find_config`` and ``nemo train``.

    Directories are searched in plugin load order; the first ``NAME.yaml`` found wins.

    Returns:
        One ``ConfigPathSpec`` per directory: ``"pkg://dotted.package"`` or an absolute path.

    Example:
        A complete plugin module whose configs live in ``nemo_hello/conf/*.yaml``::

            from nemo.core.plugins import ConfigPathSpec, hookimpl

            @hookimpl
            def nemo_register_config_paths():
                return [ConfigPathSpec("pkg://nemo_hello.conf")]
    """


@hookspec
def nemo_register_pretrained_models() -> list[PretrainedModelInfo]:
    """List checkpoints that ``from_pretrained`` can fetch, for ``list_pretrained`` and ``find_pretrained``.

    A pretrained model's domain (``list_pretrained(domain=...)``) is the name of the plugin that lists it.
    A name or alias another plugin also lists is a conflict: see docs/plugins.md for which one is used.

    Returns:
        One ``PretrainedModelInfo`` per checkpoint (NeMo's ``nemo.core.classes.PretrainedModelInfo``, defined
        in ``nemo.core.plugins.types``).

    Example:
        A complete plugin module (``class_`` is left out so that listing imports no model)::

            from nemo.core.plugins import PretrainedModelInfo, hookimpl

            @hookimpl
            def nemo_register_pretrained_models():
                return [
                    PretrainedModelInfo(
                        pretrained_model_name="hello_echo_tiny",
                        description="An EchoModel trained on random vectors",
                        location="https://example.com/hello_echo_tiny.nemo",
                        aliases=["echo-tiny"],
                    )
                ]
    """


@hookspec
def nemo_register_target_prefixes() -> list[str]:
    """Allow ``_target_`` values under these module prefixes in configs and ``.nemo`` archives.

    nemo-core refuses to instantiate a ``_target_`` outside the allowed prefixes. Each prefix must end
    with ``.`` so that ``"nemo_hello."`` does not also allow ``"nemo_hello_evil"``.

    Returns:
        Module prefixes, each ending with ``.``.

    Example:
        A complete plugin module::

            from nemo.core.plugins import hookimpl

            @hookimpl
            def nemo_register_target_prefixes():
                return ["nemo_hello."]
    """


@hookspec
def nemo_register_commands() -> list[CommandSpec]:
    """Add ``nemo`` subcommands; ``nemo --help`` lists them.

    The target is imported only when its subcommand runs and is called with the arguments after the
    subcommand's name; it returns the exit status. A name that repeats nemo-core's own commands (``plugins``,
    ``models``, ``info``, ``train``) or another plugin's is a conflict: see docs/plugins.md for which one is used.

    Returns:
        One ``CommandSpec`` per subcommand.

    Example:
        A complete plugin module, with the command in ``nemo_hello/cli.py``::

            # nemo_hello/plugin.py
            from nemo.core.plugins import CommandSpec, hookimpl

            @hookimpl
            def nemo_register_commands():
                return [CommandSpec(name="echo", target="nemo_hello.cli:echo", help="Print the arguments")]

            # nemo_hello/cli.py
            def echo(argv: list[str]) -> int:
                print(" ".join(argv))
                return 0
    """

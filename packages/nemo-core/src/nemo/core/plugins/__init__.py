"""nemo's plugin system: pluggy hooks that third-party distributions implement.

A plugin needs one entry point and one tiny module::

    # pyproject.toml
    [project.entry-points."nemo.plugins"]
    hello = "nemo_hello.plugin"

    # nemo_hello/plugin.py
    from nemo.core.plugins import ModelSpec, hookimpl

    @hookimpl
    def nemo_register_models():
        return [ModelSpec(name="hello.echo", target="nemo_hello.models:EchoModel", domain="hello",
                          description="Echoes its input")]

``nemo.core.plugins.hookspecs`` documents every hook with a complete example; ``nemo.core.registry``
answers questions about what the installed plugins provide.
"""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "hookimpl": "nemo.core.plugins.hookspecs:hookimpl",
    "hookspec": "nemo.core.plugins.hookspecs:hookspec",
    "PLUGIN_API_VERSION": "nemo.core.plugins.hookspecs:PLUGIN_API_VERSION",
    "ENTRY_POINT_GROUP": "nemo.core.plugins.hookspecs:ENTRY_POINT_GROUP",
    "ModelSpec": "nemo.core.plugins.types:ModelSpec",
    "ConfigPathSpec": "nemo.core.plugins.types:ConfigPathSpec",
    "CommandSpec": "nemo.core.plugins.types:CommandSpec",
    "PluginInfo": "nemo.core.plugins.types:PluginInfo",
    "PretrainedModelInfo": "nemo.core.plugins.types:PretrainedModelInfo",
    "NemoPluginManager": "nemo.core.plugins.manager:NemoPluginManager",
    "get_plugin_manager": "nemo.core.plugins.manager:get_plugin_manager",
    "reset_plugin_manager": "nemo.core.plugins.manager:reset_plugin_manager",
    "PluginError": "nemo.core.plugins.errors:PluginError",
    "PluginLoadError": "nemo.core.plugins.errors:PluginLoadError",
    "DuplicateRegistrationError": "nemo.core.plugins.errors:DuplicateRegistrationError",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

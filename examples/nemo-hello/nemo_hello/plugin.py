"""The plugin module named by the entry point ``hello = "nemo_hello.plugin"``.

It stays tiny on purpose: hooks return import strings and names, so ``nemo models`` lists
``hello.echo`` without importing torch or ``nemo_hello.models``.
"""

from __future__ import annotations

from nemo.core.classes.model import PretrainedModelInfo
from nemo.core.plugins import ConfigPathSpec, ModelSpec, hookimpl

NEMO_PLUGIN_API = "1.0"


@hookimpl
def nemo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="hello.echo",
            target="nemo_hello.models:EchoModel",
            domain="hello",
            description="Echoes its input",
            config="hello_echo",
        )
    ]


@hookimpl
def nemo_register_config_paths() -> list[ConfigPathSpec]:
    return [ConfigPathSpec("pkg://nemo_hello.conf")]


@hookimpl
def nemo_register_target_prefixes() -> list[str]:
    return ["nemo_hello."]


@hookimpl
def nemo_register_pretrained_models() -> list[PretrainedModelInfo]:
    # Offline by design: the file is looked up in $NEMO_CACHE_DIR (e.g. one made by `nemo train hello.echo`).
    return [
        PretrainedModelInfo(
            pretrained_model_name="hello_echo_tiny",
            description="An EchoModel trained for one epoch",
            location="hello_echo_tiny.nemo",
            class_="nemo_hello.models.EchoModel",
        )
    ]

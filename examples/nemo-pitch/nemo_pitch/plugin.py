"""The plugin module named by the entry point ``pitch = "nemo_pitch.plugin"``.

Hooks return names and import strings only, so ``nemo models`` lists ``pitch.estimator`` and ``nemo --help``
lists ``nemo pitch`` without importing torch, soundfile or ``nemo_pitch.models``.
"""

from __future__ import annotations

from nemo.core.plugins import CommandSpec, ConfigPathSpec, ModelSpec, PretrainedModelInfo, hookimpl

NEMO_PLUGIN_API = "1.0"

PRETRAINED_NAME = "pitch_estimator_asterisk"


@hookimpl
def nemo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="pitch.estimator",
            target="nemo_pitch.models:PitchEstimatorModel",
            domain="pitch",
            description="Frame-level F0 (pitch) and voicing, classified over 20-cent bins",
            config="pitch_estimator",
        )
    ]


@hookimpl
def nemo_register_config_paths() -> list[ConfigPathSpec]:
    return [ConfigPathSpec("pkg://nemo_pitch.conf")]


@hookimpl
def nemo_register_target_prefixes() -> list[str]:
    return ["nemo_pitch."]


@hookimpl
def nemo_register_pretrained_models() -> list[PretrainedModelInfo]:
    # Offline by design: the file is looked up in $NEMO_CACHE_DIR (copy a .nemo made by
    # `nemo train pitch.estimator` there under this name); nothing is downloaded.
    return [
        PretrainedModelInfo(
            pretrained_model_name=PRETRAINED_NAME,
            description="A PitchEstimatorModel trained on the bundled Asterisk prompts (see nemo-pitch's README)",
            location=f"{PRETRAINED_NAME}.nemo",
            class_="nemo_pitch.models.PitchEstimatorModel",
        )
    ]


@hookimpl
def nemo_register_commands() -> list[CommandSpec]:
    return [
        CommandSpec(
            name="pitch",
            target="nemo_pitch.evaluate:pitch_command",
            help="pitch tools: `nemo pitch eval MODEL.nemo MANIFEST` (raw pitch and voicing accuracy)",
        )
    ]

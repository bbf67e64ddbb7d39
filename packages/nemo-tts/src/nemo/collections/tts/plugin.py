"""nemo-tts's plugin: the TTS model classes, configs and commands, named without importing them.

Loaded through the entry point ``tts = "nemo.collections.tts.plugin"`` in the group ``nemo.plugins``.
"""

from __future__ import annotations

from pathlib import Path

from nemo.core.plugins import CommandSpec, ConfigPathSpec, ModelSpec, PretrainedModelInfo, hookimpl

NEMO_PLUGIN_API = "1.0"

_MODELS = "nemo.collections.tts.models"
# The voice that ships in the wheel (scripts/make_asterisk_voice.py made it; pretrained/README.md says how).
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
DEFAULT_VOICE = "tts_en_fastpitch_asterisk"


@hookimpl
def nemo_register_config_paths() -> list[ConfigPathSpec]:
    return [ConfigPathSpec("pkg://nemo.collections.tts.conf")]


@hookimpl
def nemo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="tts.FastPitchModel",
            target=f"{_MODELS}:FastPitchModel",
            domain="tts",
            description="FastPitch spectrogram generator with a learned alignment",
            config="fastpitch_align_v1.05",
        ),
        ModelSpec(
            name="tts.HifiGanModel",
            target=f"{_MODELS}:HifiGanModel",
            domain="tts",
            description="HiFi-GAN vocoder (GAN training, v1/v2/v3 generators)",
            config="hifigan",
        ),
        ModelSpec(
            name="tts.GriffinLimModel",
            target=f"{_MODELS}:GriffinLimModel",
            domain="tts",
            description="Griffin-Lim phase reconstruction from a linear spectrogram (no weights)",
        ),
        ModelSpec(
            name="tts.MelPsuedoInverseModel",
            target=f"{_MODELS}:MelPsuedoInverseModel",
            domain="tts",
            description="mel to linear spectrogram by the filterbank's pseudo-inverse (no weights)",
        ),
        ModelSpec(
            name="tts.TwoStagesModel",
            target=f"{_MODELS}:TwoStagesModel",
            domain="tts",
            description="vocoder chaining a mel-to-linear model and a linear-spectrogram vocoder",
        ),
    ]


@hookimpl
def nemo_register_pretrained_models() -> list[PretrainedModelInfo]:
    return [
        PretrainedModelInfo(
            pretrained_model_name=DEFAULT_VOICE,
            description=(
                "FastPitch, US English, one female voice (Allison Smith's Asterisk prompts, CC-BY-SA-3.0), "
                "16 kHz, ARPAbet phonemes; bundled with nemo-tts, no download (vocoder: Griffin-Lim)"
            ),
            location=str(PRETRAINED_DIR / f"{DEFAULT_VOICE}.nemo"),
            class_=f"{_MODELS}.FastPitchModel",
        )
    ]


@hookimpl
def nemo_register_target_prefixes() -> list[str]:
    # NeMo's FastPitch configs name nemo_text_processing's Normalizer as `text_normalizer._target_`.
    return ["nemo_text_processing.text_normalization."]


@hookimpl
def nemo_register_commands() -> list[CommandSpec]:
    return [
        CommandSpec(
            "synthesize",
            "nemo.collections.tts.cli:synthesize_main",
            "speak text with a .nemo spectrogram generator and vocoder: `nemo synthesize TEXT -o OUT.wav --model M`",
        ),
        CommandSpec(
            "tts",
            "nemo.collections.tts.cli:tts_main",
            "TTS tools: `nemo tts pitch-stats MANIFEST` (pitch_mean / pitch_std for FastPitch configs)",
        ),
    ]

"""nemo-asr's plugin: the ASR model classes and config directory, named without importing them.

Loaded through the entry point ``asr = "nemo.collections.asr.plugin"`` in the group ``nemo.plugins``.
"""

from __future__ import annotations

from nemo.core.plugins import CommandSpec, ConfigPathSpec, ModelSpec, hookimpl

NEMO_PLUGIN_API = "1.0"

_MODELS = "nemo.collections.asr.models"


@hookimpl
def nemo_register_config_paths() -> list[ConfigPathSpec]:
    return [ConfigPathSpec("pkg://nemo.collections.asr.conf")]


@hookimpl
def nemo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="asr.EncDecCTCModel",
            target=f"{_MODELS}:EncDecCTCModel",
            domain="asr",
            description="CTC speech recognition over characters",
            config="conformer_ctc_char",
        ),
        ModelSpec(
            name="asr.EncDecCTCModelBPE",
            target=f"{_MODELS}:EncDecCTCModelBPE",
            domain="asr",
            description="CTC speech recognition over BPE subwords",
            config="conformer_ctc_bpe",
        ),
        ModelSpec(
            name="asr.EncDecRNNTModel",
            target=f"{_MODELS}:EncDecRNNTModel",
            domain="asr",
            description="RNN-T (transducer) speech recognition over characters",
            config="conformer_transducer_char",
        ),
        ModelSpec(
            name="asr.EncDecRNNTBPEModel",
            target=f"{_MODELS}:EncDecRNNTBPEModel",
            domain="asr",
            description="RNN-T (transducer) speech recognition over BPE subwords",
            config="conformer_transducer_bpe",
        ),
        ModelSpec(
            name="asr.EncDecHybridRNNTCTCModel",
            target=f"{_MODELS}:EncDecHybridRNNTCTCModel",
            domain="asr",
            description="hybrid RNN-T + CTC speech recognition over characters (one encoder, two decoders)",
            config="conformer_hybrid_transducer_ctc_char",
        ),
        ModelSpec(
            name="asr.EncDecHybridRNNTCTCBPEModel",
            target=f"{_MODELS}:EncDecHybridRNNTCTCBPEModel",
            domain="asr",
            description="hybrid RNN-T + CTC speech recognition over BPE subwords",
            config="conformer_hybrid_transducer_ctc_bpe",
        ),
        ModelSpec(
            name="asr.EncDecMultiTaskModel",
            target=f"{_MODELS}:EncDecMultiTaskModel",
            domain="asr",
            description="multitask attention encoder-decoder (Canary): prompted transcription and translation",
            config="fast-conformer_aed",
        ),
        ModelSpec(
            name="asr.EncDecClassificationModel",
            target=f"{_MODELS}:EncDecClassificationModel",
            domain="asr",
            description="speech command and sound classification (MatchboxNet, MarbleNet VAD)",
            config="matchboxnet_3x1x64_v1",
        ),
        ModelSpec(
            name="asr.EncDecFrameClassificationModel",
            target=f"{_MODELS}:EncDecFrameClassificationModel",
            domain="asr",
            description="frame-level voice activity detection (MarbleNet, one decision per 20 ms)",
            config="marblenet_3x2x64_20ms",
        ),
        ModelSpec(
            name="asr.EncDecSpeakerLabelModel",
            target=f"{_MODELS}:EncDecSpeakerLabelModel",
            domain="asr",
            description="speaker recognition and verification (TitaNet, ECAPA-TDNN, SpeakerNet): embeddings",
            config="titanet-small",
        ),
    ]


@hookimpl
def nemo_register_commands() -> list[CommandSpec]:
    return [
        CommandSpec(
            "transcribe",
            "nemo.collections.asr.cli:transcribe_main",
            "transcribe audio files with a .nemo model",
        ),
        CommandSpec(
            "asr",
            "nemo.collections.asr.cli:asr_main",
            "ASR tools: `nemo asr eval MODEL.nemo MANIFEST` (WER), `nemo asr build-lm MANIFEST --out LM.arpa`",
        ),
        CommandSpec(
            "vad",
            "nemo.collections.asr.parts.utils.frame_vad_inference:vad_main",
            "speech segments of audio files as RTTM files, with a frame VAD .nemo model",
        ),
    ]

"""Text to waveform in one call: ``synthesize(text, spec_generator, vocoder) -> (waveform, sample_rate)``.

A voice is two models, as in NeMo: a ``SpectrogramGenerator`` (FastPitch) turns tokens into a log-mel
spectrogram and a ``Vocoder`` (HiFi-GAN) turns that into audio. Without a vocoder, Griffin-Lim
(``TwoStagesModel`` of ``MelPsuedoInverseModel`` and ``GriffinLimModel``) is built from the generator's own mel
settings: intelligible, robotic, and needs no second checkpoint.

Example:
    >>> from nemo.collections.tts.inference import load_tts_model, synthesize
    >>> fastpitch = load_tts_model("fastpitch.nemo")
    >>> hifigan = load_tts_model("hifigan.nemo")
    >>> waveform, sample_rate = synthesize("Hello world.", fastpitch, hifigan)
"""

from __future__ import annotations

from typing import Any

import torch
from nemo.collections.tts.models.base import SpectrogramGenerator, Vocoder

__all__ = ["griffin_lim_vocoder", "load_tts_model", "model_sample_rate", "synthesize"]

GRIFFIN_LIM_ITERATIONS = 32
"""Griffin-Lim iterations of the default vocoder, with ``GRIFFIN_LIM_MOMENTUM`` and the filterbank's
pseudo-inverse: on the Asterisk dev prompts' own mels, pocketsphinx's word error rate is 0.38 against 0.37 for
64 plain iterations and 0.34 for the recordings, at about 60x real time on one core
(``scripts/measure_griffin_lim.py``; docs/tts.md)."""
GRIFFIN_LIM_MOMENTUM = 0.99


def load_tts_model(model: str, map_location: str | torch.device | None = "cpu") -> Any:
    """Restore a TTS model from a ``.nemo`` path or a pretrained name; nothing is downloaded.

    Args:
        model: a ``.nemo`` file, or a name (or alias) a plugin registers (``nemo.core.registry.list_pretrained()``).
        map_location: device for the weights.

    Returns:
        The restored model, in eval mode: a ``SpectrogramGenerator`` or a ``Vocoder``.

    Raises:
        FileNotFoundError: neither a file nor a known name, or the named model's file is not on disk.
        TypeError: the archive holds a model that is neither a spectrogram generator nor a vocoder.
    """
    from nemo.core.classes.modelPT import ModelPT

    restored = ModelPT.from_pretrained(model, map_location=map_location)
    if not isinstance(restored, (SpectrogramGenerator, Vocoder)):
        raise TypeError(
            f"{model!r} holds a {type(restored).__name__}, which is neither a spectrogram generator (e.g. "
            "FastPitchModel) nor a vocoder (e.g. HifiGanModel). Pass a TTS model."
        )
    return restored.eval()


def model_sample_rate(model: Any) -> int:
    """The audio sample rate a TTS model works at: ``cfg.sample_rate`` or its preprocessor's ``sample_rate``.

    Raises:
        ValueError: the config names neither.
    """
    cfg = model.cfg
    for node in (cfg, cfg.get("preprocessor") or {}):
        rate = node.get("sample_rate")
        if rate is not None:
            return int(rate)
    raise ValueError(
        f"{type(model).__name__}'s config has neither `sample_rate` nor `preprocessor.sample_rate`; "
        "set one of them to the rate its audio was trained at."
    )


def griffin_lim_vocoder(
    spec_generator: SpectrogramGenerator,
    n_iters: int = GRIFFIN_LIM_ITERATIONS,
    momentum: float = GRIFFIN_LIM_MOMENTUM,
    inverse: str = "pinv",
) -> Vocoder:
    """A Griffin-Lim vocoder matching ``spec_generator``'s mel settings (no weights to load).

    ``n_iters``, ``momentum`` (``GriffinLimModel``) and ``inverse`` (``MelPsuedoInverseModel``: ``"pinv"``, or
    NeMo's ``"transpose"``, whose audio is about 1000 times quieter) default to the measured setting above.
    Reads ``sample_rate``, ``n_fft``, ``n_window_stride``, ``lowfreq``, ``highfreq`` and ``n_mel_channels``
    from the generator's config (NeMo's FastPitch keys), falling back to its ``preprocessor`` section.
    """
    from nemo.collections.tts.models.two_stages import (
        GriffinLimModel,
        MelPsuedoInverseModel,
        TwoStagesModel,
    )

    cfg = spec_generator.cfg
    preprocessor = cfg.get("preprocessor") or {}

    def setting(key: str, preprocessor_key: str) -> Any:
        value = cfg.get(key)
        return value if value is not None else preprocessor.get(preprocessor_key)

    n_fft = int(setting("n_fft", "n_fft"))
    highfreq = setting("highfreq", "highfreq")
    sample_rate = model_sample_rate(spec_generator)
    vocoder = TwoStagesModel({"mel2spec": {}, "linvocoder": {}, "sample_rate": sample_rate})
    vocoder.set_mel_to_spec_model(
        MelPsuedoInverseModel(
            {
                "sampling_rate": sample_rate,
                "n_fft": n_fft,
                "mel_fmin": float(setting("lowfreq", "lowfreq") or 0.0),
                "mel_fmax": float(highfreq) if highfreq is not None else sample_rate / 2,
                "mel_freq": int(setting("n_mel_channels", "features")),
                "inverse": inverse,
            }
        )
    )
    vocoder.set_linear_vocoder(
        GriffinLimModel(
            {
                "n_iters": n_iters,
                "n_fft": n_fft,
                "l_hop": int(setting("n_window_stride", "n_window_stride")),
                "momentum": momentum,
            }
        )
    )
    return vocoder.eval()


def _has_speakable_token(tokens: torch.Tensor, spec_generator: SpectrogramGenerator) -> bool:
    """Whether ``tokens`` (1, T) hold a letter or phoneme; without a token table, whether there are any."""
    table = getattr(getattr(spec_generator, "vocab", None), "tokens", None)
    if table is None:
        return tokens.numel() > 0
    return any(any(char.isalnum() for char in str(table[index])) for index in tokens.reshape(-1).tolist())


@torch.inference_mode()
def synthesize(
    text: str,
    spec_generator: SpectrogramGenerator,
    vocoder: Vocoder | None = None,
    *,
    speaker: int | None = None,
    pace: float = 1.0,
    normalize: bool = True,
) -> tuple[torch.Tensor, int]:
    """Speak ``text``: parse, generate a spectrogram, vocode.

    Args:
        text: what to say.
        spec_generator: e.g. a ``FastPitchModel``.
        vocoder: e.g. a ``HifiGanModel`` trained on the same mel settings; ``None`` builds Griffin-Lim.
        speaker: speaker id for a multi-speaker generator.
        pace: speaking rate (> 1 is faster), passed to ``generate_spectrogram``.
        normalize: normalize the text (numbers, dates, ...) when the generator has a normalizer.

    Returns:
        ``(waveform (T,) float32 on the CPU, sample_rate)``.

    Raises:
        ValueError: the text gives no tokens, or the two models disagree on the sample rate.
    """
    if vocoder is None:
        vocoder = griffin_lim_vocoder(spec_generator)
    sample_rate = model_sample_rate(spec_generator)
    vocoder_rate = model_sample_rate(vocoder)
    if vocoder_rate != sample_rate:
        raise ValueError(
            f"the spectrogram generator works at {sample_rate} Hz but the vocoder at {vocoder_rate} Hz; "
            "pass a vocoder trained at the generator's sample rate."
        )
    tokens = spec_generator.parse(text, normalize=normalize)
    if not _has_speakable_token(tokens, spec_generator):
        raise ValueError(
            f"text {text!r} gives nothing to say: none of its letters or sounds are in the model's vocabulary "
            "(spaces, padding and punctuation only). Write the text in the model's alphabet, or turn text "
            "normalization on to spell out numbers."
        )
    speaker_ids = None if speaker is None else torch.tensor([speaker], device=tokens.device)
    spec = spec_generator.generate_spectrogram(tokens=tokens, speaker=speaker_ids, pace=pace)
    audio = vocoder.convert_spectrogram_to_audio(spec=spec.to(vocoder.device))
    return audio.reshape(-1).float().cpu(), sample_rate

"""TTS datasets with NeMo 1.23's constructor arguments and batch layouts: ``TTSDataset``, ``VocoderDataset``.

``TTSDataset`` returns audio and tokens plus the supplementary data named in ``sup_data_types``; pitch,
energy and log mel are computed once per utterance and cached under ``sup_data_path``
(:mod:`.sup_data_cache`). Its ``collate_fn`` gives NeMo's tuple: ``audio, audio_lens, text, text_lens`` then,
for each supplementary type, its tensor (and ``<type>_lens`` for pitch, energy, log mel and reference
audio), in the order of ``tts_data_types.DATA_STR2DATA_CLASS``, which is the order in which FastPitch's
``process_batch`` reads the tuple back.

``VocoderDataset`` returns random fixed-length audio segments (drawn with torch's random generator, so
``seed_everything`` makes a run reproducible) and batches ``(audio, audio_lens)``.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment
from nemo.collections.tts.data.manifest import TTSManifestEntry, filter_entries, read_tts_manifests
from nemo.collections.tts.data.spectral import WINDOW_FN_SUPPORTED, SpectrogramFeatures
from nemo.collections.tts.data.sup_data_cache import cache_id, load_or_compute
from nemo.collections.tts.parts.preprocessing.pitch import estimate_pitch
from nemo.collections.tts.parts.utils.tts_dataset_utils import (
    BetaBinomialInterpolator,
    beta_binomial_prior_distribution,
    get_base_dir,
    stack_tensors,
)
from nemo.collections.tts.torch.tts_data_types import (
    DATA_STR2DATA_CLASS,
    MAIN_DATA_TYPES,
    AlignPriorMatrix,
    Durations,
    Energy,
    LMTokens,
    LogMel,
    P_voiced,
    Pitch,
    ReferenceAudio,
    SpeakerID,
    TTSDataType,
    Voiced_mask,
    WithLens,
)
from nemo.core.classes import Dataset
from nemo.utils import logging

__all__ = ["TTSDataset", "VocoderDataset", "WINDOW_FN_SUPPORTED", "load_entry_audio"]

PITCH_FMIN = 65.40639132514966  # librosa.note_to_hz("C2"), NeMo's default
PITCH_FMAX = 2093.004522404789  # librosa.note_to_hz("C7")


def _build_tokenizer(text_tokenizer: Any) -> Any:
    """A tokenizer object as given, or built from its config (a mapping with ``_target_``)."""
    if not isinstance(text_tokenizer, Mapping):
        return text_tokenizer
    from hydra.utils import instantiate
    from nemo.utils.target_allowlist import check_config_targets
    from omegaconf import DictConfig, OmegaConf

    if not isinstance(text_tokenizer, DictConfig):
        text_tokenizer = OmegaConf.create(dict(text_tokenizer))
    config = OmegaConf.to_container(text_tokenizer, resolve=True)
    if "_target_" not in config:
        raise ValueError(
            f"text_tokenizer config has no '_target_' (keys: {sorted(config)}). Give the tokenizer class, e.g. "
            "nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers.EnglishCharsTokenizer."
        )
    check_config_targets(config, source="text_tokenizer")
    return instantiate(config)


def _normalizer_call(text_normalizer: Any) -> Callable[..., str] | None:
    if text_normalizer is None:
        return None
    if hasattr(text_normalizer, "normalize"):
        return text_normalizer.normalize
    if callable(text_normalizer):
        return text_normalizer
    raise TypeError(
        f"text_normalizer must have a .normalize(text) method or be callable, got {type(text_normalizer).__name__}. "
        "Pass a Normalizer (nemo.collections.tts.parts.preprocessing.text_normalizer) or None."
    )


def load_entry_audio(entry: TTSManifestEntry, sample_rate: int, **trim: Any) -> torch.Tensor:
    """(T,) float32 samples of a manifest entry's audio; the file's rate must be ``sample_rate``."""
    segment = AudioSegment.from_file(entry.audio_filepath, channel_selector="average", **trim)
    if segment.sample_rate != sample_rate:
        raise ValueError(
            f"{entry.where}: audio file {entry.audio_filepath!r} has sample rate {segment.sample_rate} Hz, but the "
            f"dataset's sample_rate is {sample_rate} Hz. Resample the audio to {sample_rate} Hz, or set the "
            f"dataset's sample_rate to {segment.sample_rate}."
        )
    return torch.from_numpy(segment.samples)


class TTSDataset(Dataset):
    """Audio, tokens and supplementary data for spectrogram generators such as FastPitch (NeMo's class).

    Args:
        manifest_filepath: TTS manifest(s) (:mod:`nemo.collections.tts.data.manifest`): a path, comma-separated
            paths or a list.
        sample_rate: the audio's sample rate; a file with another rate is an error.
        text_tokenizer: a tokenizer (``tok(text) -> list[int]`` with ``pad``), or its config with ``_target_``.
        tokens: the tokenizer's tokens; needed only when the tokenizer has no ``pad``.
        text_normalizer: an object with ``.normalize(text, **kwargs)`` or a callable; used for lines without
            ``normalized_text``.
        text_normalizer_call_kwargs: keyword arguments for each normalizer call.
        text_tokenizer_pad_id: pad id; needed only when the tokenizer has no ``pad``.
        sup_data_types: names from ``tts_data_types.DATA_STR2DATA_CLASS``: ``align_prior_matrix``, ``pitch``,
            ``energy``, ``speaker_id``, ``log_mel``, ``durations``, ``voiced_mask``, ``p_voiced``,
            ``reference_audio``.
        sup_data_path: folder of the cached pitch, energy and log mel (created if missing).
        max_duration: drop utterances longer than this (seconds; logged).
        min_duration: drop utterances shorter than this (seconds; logged).
        ignore_file: a pickled list of audio paths to drop.
        trim: cut leading and trailing silence (nemo-asr's trimming, librosa's rule).
        trim_ref: reference power for trimming (default ``np.max``).
        trim_top_db: silence threshold below the reference, dB (default 60).
        trim_frame_length: trimming frame (default 2048).
        trim_hop_length: trimming hop (default 512).
        n_fft: FFT size.
        win_length: window length (default ``n_fft``).
        hop_length: hop length (default ``n_fft // 4``).
        window: ``hann``, ``hamming``, ``blackman``, ``bartlett`` or ``none``.
        n_mels: mel bands of ``log_mel``.
        lowfreq: lowest mel frequency.
        highfreq: highest mel frequency (default: Nyquist).
        segment_max_duration: SSLDisentangler's random segments; not supported (must be ``None``).
        pitch_augment: SSLDisentangler's pitch shifting; not supported (must be ``False``).
        cache_pitch_augment: accepted for NeMo's signature; unused.
        pad_multiple: zero-pad every waveform to a multiple of this many samples.
        **kwargs: per-type settings: ``pitch_fmin``, ``pitch_fmax`` (Hz), ``pitch_norm``, ``pitch_mean``,
            ``pitch_std``, ``pitch_stats_path`` (JSON of per-speaker ``pitch_mean``/``pitch_std`` with an
            optional ``default``), ``pitch_folder``, ``energy_folder``, ``log_mel_folder``,
            ``voiced_mask_folder``, ``p_voiced_folder``, ``use_beta_binomial_interpolator``, ``durs_file``,
            ``durs_type``, ``reference_audio_type`` (``same-speaker`` or ``ground-truth``).

    Raises:
        NotImplementedError: an unknown ``sup_data_types`` entry or ``window``, or an SSL-only option.
        ValueError: bad settings, or a manifest line whose text encodes to no usable token (naming the line).
        FileNotFoundError: a manifest or an audio file is missing (naming the line).
    """

    def __init__(
        self,
        manifest_filepath: str | Path | Sequence[str | Path],
        sample_rate: int,
        text_tokenizer: Any,
        tokens: list[str] | None = None,
        text_normalizer: Any = None,
        text_normalizer_call_kwargs: dict | None = None,
        text_tokenizer_pad_id: int | None = None,
        sup_data_types: Sequence[str] | None = None,
        sup_data_path: str | Path | None = None,
        max_duration: float | None = None,
        min_duration: float | None = None,
        ignore_file: str | Path | None = None,
        trim: bool = False,
        trim_ref: float | Callable[[np.ndarray], float] | None = None,
        trim_top_db: int | None = None,
        trim_frame_length: int | None = None,
        trim_hop_length: int | None = None,
        n_fft: int = 1024,
        win_length: int | None = None,
        hop_length: int | None = None,
        window: str = "hann",
        n_mels: int = 80,
        lowfreq: int = 0,
        highfreq: int | None = None,
        segment_max_duration: int | None = None,
        pitch_augment: bool = False,
        cache_pitch_augment: bool = True,
        pad_multiple: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if segment_max_duration is not None or pitch_augment:
            raise NotImplementedError(
                "segment_max_duration and pitch_augment serve NeMo's SSLDisentangler, which nemo-tts does not "
                f"include (got segment_max_duration={segment_max_duration}, pitch_augment={pitch_augment}). "
                "Remove them from the dataset config."
            )
        self.text_tokenizer = _build_tokenizer(text_tokenizer)
        self.phoneme_probability = getattr(self.text_tokenizer, "phoneme_probability", None)
        if getattr(self.text_tokenizer, "pad", None) is not None:
            self.text_tokenizer_pad_id = self.text_tokenizer.pad
        elif text_tokenizer_pad_id is None or tokens is None:
            raise ValueError(
                f"text_tokenizer {type(self.text_tokenizer).__name__} has no 'pad' id, so text_tokenizer_pad_id "
                f"and tokens must be given (got {text_tokenizer_pad_id!r} and {tokens!r})."
            )
        else:
            self.text_tokenizer_pad_id = text_tokenizer_pad_id
        self.cache_text = self.phoneme_probability is None
        self.text_normalizer = text_normalizer
        self.text_normalizer_call = _normalizer_call(text_normalizer)
        self.text_normalizer_call_kwargs = dict(text_normalizer_call_kwargs or {})

        entries = read_tts_manifests(manifest_filepath)
        self.manifest_filepath = manifest_filepath
        total_hours = sum(entry.duration for entry in entries) / 3600
        logging.info(f"Loaded dataset with {len(entries)} files ({total_hours:.2f} hours).")
        entries = filter_entries(entries, ignore_file, min_duration, max_duration)
        self.data = [self._file_info(entry) for entry in entries]
        self.lengths = [os.path.getsize(info["audio_filepath"]) // (n_fft // 2) for info in self.data]
        self.base_data_dir = get_base_dir(info["audio_filepath"] for info in self.data)

        self.sample_rate = sample_rate
        self.trim = trim
        self.trim_ref = trim_ref if trim_ref is not None else np.max
        self.trim_top_db = trim_top_db if trim_top_db is not None else 60
        self.trim_frame_length = trim_frame_length if trim_frame_length is not None else 2048
        self.trim_hop_length = trim_hop_length if trim_hop_length is not None else 512
        self.n_fft = n_fft
        self.n_mels = n_mels
        self.lowfreq = lowfreq
        self.highfreq = highfreq
        self.window = window
        self.win_length = win_length or n_fft
        self.hop_length = hop_length
        self.hop_len = hop_length or n_fft // 4
        self.features = SpectrogramFeatures(
            sample_rate, n_fft, self.win_length, self.hop_len, window, n_mels, lowfreq, highfreq
        )
        self.pad_multiple = pad_multiple

        self.sup_data_path = Path(sup_data_path) if sup_data_path is not None else None
        if self.sup_data_path is not None:
            self.sup_data_path.mkdir(parents=True, exist_ok=True)
        self.sup_data_types = [self._data_type(name) for name in (sup_data_types or [])]
        self.sup_data_types_set = set(self.sup_data_types)
        if (Voiced_mask in self.sup_data_types_set or P_voiced in self.sup_data_types_set) and (
            Pitch not in self.sup_data_types_set
        ):
            raise ValueError(
                "sup_data_types has 'voiced_mask' or 'p_voiced' without 'pitch'. Add 'pitch' to sup_data_types."
            )
        for data_type in self.sup_data_types:
            getattr(self, f"add_{data_type.name}")(**kwargs)

    @staticmethod
    def _data_type(name: str) -> type[TTSDataType]:
        data_type = DATA_STR2DATA_CLASS.get(name)
        if data_type is None or data_type in MAIN_DATA_TYPES or data_type is LMTokens:
            supported = [n for n, t in DATA_STR2DATA_CLASS.items() if t not in (*MAIN_DATA_TYPES, LMTokens)]
            raise NotImplementedError(
                f"sup_data_types entry {name!r} is not supported by TTSDataset. Use some of {supported}."
            )
        return data_type

    def _encode(self, text: str, where: str) -> list[int]:
        """Token ids of ``text``; an error naming the manifest line when no id is a real token."""
        ids = list(self.text_tokenizer(text))
        special = {getattr(self.text_tokenizer, name, None) for name in ("pad", "blank", "space")} | {
            self.text_tokenizer_pad_id
        }
        content = [i for i in ids if i not in special]
        oov = getattr(self.text_tokenizer, "oov", None)
        if not content or all(i == oov for i in content):
            raise ValueError(
                f"{where}: text {text!r} encodes to no known token ({ids}) with "
                f"{type(self.text_tokenizer).__name__}. Fix or normalise the text of that line, remove the line, "
                "or use a tokenizer that covers its characters."
            )
        return ids

    def _file_info(self, entry: TTSManifestEntry) -> dict[str, Any]:
        text = entry.normalized_text
        if text is None:
            text = entry.text
            if self.text_normalizer_call is not None:
                text = self.text_normalizer_call(text, **self.text_normalizer_call_kwargs)
        info: dict[str, Any] = {
            "audio_filepath": entry.audio_filepath,
            "original_text": entry.text,
            "normalized_text": text,
            "mel_filepath": entry.mel_filepath,
            "duration": entry.duration,
            "speaker_id": entry.speaker,
            "where": entry.where,
        }
        if self.cache_text:
            info["text_tokens"] = self._encode(text, entry.where)
        return info

    @staticmethod
    def filter_files(
        data: list[dict[str, Any]],
        ignore_file: str | Path | None,
        min_duration: float | None,
        max_duration: float | None,
        total_duration: float | None,
    ) -> list[dict[str, Any]]:
        """NeMo's filter on file-info dicts: drop by duration (when known) and by ``ignore_file``."""
        entries = [
            TTSManifestEntry(d["audio_filepath"], "", None, d.get("duration") or 0.0, None, None, "")
            for d in data
        ]
        if total_duration is None:
            min_duration = max_duration = None
        kept = {id(e) for e in filter_entries(entries, ignore_file, min_duration, max_duration)}
        return [d for d, e in zip(data, entries, strict=True) if id(e) in kept]

    def _folder(self, kwargs: dict[str, Any], data_type: type[TTSDataType]) -> Path:
        folder = kwargs.pop(f"{data_type.name}_folder", None)
        if folder is None:
            if self.sup_data_path is None:
                raise ValueError(
                    f"sup_data_types has {data_type.name!r} but neither sup_data_path nor {data_type.name}_folder "
                    "is set. Set sup_data_path in the dataset config (a folder for cached supplementary data)."
                )
            folder = self.sup_data_path / data_type.name
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def add_log_mel(self, **kwargs: Any) -> None:
        self.log_mel_folder = self._folder(kwargs, LogMel)

    def add_durations(self, **kwargs: Any) -> None:
        durs_file, durs_type = kwargs.pop("durs_file", None), kwargs.pop("durs_type", "aligner-based")
        if durs_type != "aligner-based":
            raise NotImplementedError(f"durs_type={durs_type!r} is not supported; only 'aligner-based' is.")
        if durs_file is None:
            raise ValueError("sup_data_types has 'durations' but durs_file is not set. Set durs_file.")
        stem_to_durs = torch.load(durs_file, map_location="cpu", weights_only=True)
        missing = [
            d["audio_filepath"] for d in self.data if Path(d["audio_filepath"]).stem not in stem_to_durs
        ]
        if missing:
            raise ValueError(
                f"durs_file {durs_file} has no durations for {len(missing)} files, e.g. {missing[:3]}."
            )
        self.durs = [stem_to_durs[Path(d["audio_filepath"]).stem] for d in self.data]

    def add_align_prior_matrix(self, **kwargs: Any) -> None:
        self.use_beta_binomial_interpolator = kwargs.pop("use_beta_binomial_interpolator", False)
        if not self.cache_text:
            if not self.use_beta_binomial_interpolator:
                logging.warning(
                    "The tokenizer has a phoneme_probability, so use_beta_binomial_interpolator is set to True."
                )
            self.use_beta_binomial_interpolator = True
        if self.use_beta_binomial_interpolator:
            self.beta_binomial_interpolator = BetaBinomialInterpolator()

    def add_pitch(self, **kwargs: Any) -> None:
        self.pitch_folder = self._folder(kwargs, Pitch)
        self.pitch_fmin = kwargs.pop("pitch_fmin", PITCH_FMIN)
        self.pitch_fmax = kwargs.pop("pitch_fmax", PITCH_FMAX)
        self.pitch_mean = kwargs.pop("pitch_mean", None)
        self.pitch_std = kwargs.pop("pitch_std", None)
        self.pitch_norm = kwargs.pop("pitch_norm", False)
        pitch_stats_path = kwargs.pop("pitch_stats_path", None)
        self.pitch_stats: dict[str, Any] = {}
        if self.pitch_norm:
            if (self.pitch_mean is None) != (self.pitch_std is None):
                raise ValueError(
                    f"pitch_norm needs both pitch_mean and pitch_std, got {self.pitch_mean} and {self.pitch_std}. "
                    "Compute them with `nemo tts pitch-stats`."
                )
            if (self.pitch_mean is None) == (pitch_stats_path is None):
                raise ValueError(
                    "pitch_norm needs exactly one of (pitch_mean, pitch_std) or pitch_stats_path, got "
                    f"({self.pitch_mean}, {self.pitch_std}) and {pitch_stats_path}. Set one of them."
                )
        if pitch_stats_path is not None:
            with open(pitch_stats_path, encoding="utf-8") as handle:
                self.pitch_stats = json.load(handle)

    def add_voiced_mask(self, **kwargs: Any) -> None:
        self.voiced_mask_folder = self._folder(kwargs, Voiced_mask)

    def add_p_voiced(self, **kwargs: Any) -> None:
        self.p_voiced_folder = self._folder(kwargs, P_voiced)
        logging.warning(
            "p_voiced: the pitch tracker makes hard voicing decisions, so p_voiced is 1.0 on voiced frames and 0.0 "
            "elsewhere (NeMo's pyin gives a probability)."
        )

    def add_energy(self, **kwargs: Any) -> None:
        self.energy_folder = self._folder(kwargs, Energy)

    def add_speaker_id(self, **kwargs: Any) -> None:
        missing = [d["where"] for d in self.data if d["speaker_id"] is None]
        if missing:
            raise ValueError(
                f"sup_data_types has 'speaker_id' but {len(missing)} manifest lines have no 'speaker', e.g. "
                f"{missing[:3]}. Add an integer 'speaker' to every line, or remove 'speaker_id'."
            )

    def add_reference_audio(self, **kwargs: Any) -> None:
        reference_audio_type = kwargs.pop("reference_audio_type", "same-speaker")
        if reference_audio_type == "same-speaker":
            if SpeakerID not in self.sup_data_types_set:
                raise ValueError("reference_audio_type 'same-speaker' needs 'speaker_id' in sup_data_types.")
            by_speaker: dict[int, list[int]] = defaultdict(list)
            for index, info in enumerate(self.data):
                by_speaker[info["speaker_id"]].append(index)
            self.get_reference_for_sample = lambda sample: self.data[
                random.choice(by_speaker[sample["speaker_id"]])
            ]
        elif reference_audio_type == "ground-truth":
            self.get_reference_for_sample = lambda sample: sample
        else:
            raise NotImplementedError(
                f"reference_audio_type {reference_audio_type!r} is not supported; use 'same-speaker' or 'ground-truth'."
            )

    def get_spec(self, audio: torch.Tensor) -> torch.Tensor:
        """(T,) waveform -> (1, n_fft // 2 + 1, T_spec) magnitude spectrogram (NeMo's shape)."""
        return self.features.spec(audio)[None]

    def get_log_mel(self, audio: torch.Tensor) -> torch.Tensor:
        """(T,) waveform -> (1, n_mels, T_spec) log mel."""
        return self.features.log_mel(self.features.spec(audio))

    def _load_audio(self, sample: dict[str, Any]) -> torch.Tensor:
        audio = load_entry_audio(
            TTSManifestEntry(sample["audio_filepath"], "", None, 0.0, None, None, sample["where"]),
            self.sample_rate,
            trim=self.trim,
            trim_ref=self.trim_ref,
            trim_top_db=self.trim_top_db,
            trim_frame_length=self.trim_frame_length,
            trim_hop_length=self.trim_hop_length,
        )
        if self.pad_multiple > 1 and audio.shape[0] % self.pad_multiple:
            audio = torch.nn.functional.pad(
                audio, (0, self.pad_multiple - audio.shape[0] % self.pad_multiple)
            )
        return audio

    def _pitch(self, audio: torch.Tensor, stem: str, n_frames: int) -> torch.Tensor:
        return load_or_compute(
            self.pitch_folder / f"{stem}.pt",
            lambda: estimate_pitch(
                audio, self.sample_rate, self.hop_len, self.win_length, self.pitch_fmin, self.pitch_fmax
            ),
            n_frames,
        ).float()

    def _normalize_pitch(self, pitch: torch.Tensor, sample: dict[str, Any]) -> torch.Tensor:
        if self.pitch_mean is not None and self.pitch_std is not None:
            mean, std = self.pitch_mean, self.pitch_std
        else:
            stats = self.pitch_stats.get(str(sample["speaker_id"]), self.pitch_stats.get("default"))
            if stats is None:
                raise ValueError(
                    f"{sample['where']}: no pitch statistics for speaker {sample['speaker_id']} in pitch_stats_path "
                    "and no 'default' entry. Add the speaker's pitch_mean and pitch_std, or a 'default'."
                )
            mean, std = stats["pitch_mean"], stats["pitch_std"]
        return torch.where(pitch == 0, torch.zeros_like(pitch), (pitch - mean) / std)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        """One utterance as NeMo's 18-tuple: audio, audio_len, text, text_len, log_mel, log_mel_len, durations,
        align_prior_matrix, pitch, pitch_len, energy, energy_len, speaker_id, voiced_mask, p_voiced,
        audio_shifted (always ``None``), reference_audio, reference_audio_len; types not requested are ``None``.
        """
        sample = self.data[index]
        stem = cache_id(sample["audio_filepath"], self.base_data_dir)
        audio = self._load_audio(sample)
        audio_length = torch.tensor(audio.shape[0]).long()
        n_frames = self.features.n_frames(audio.shape[0])
        tokens = sample.get("text_tokens")
        if tokens is None:
            tokens = self._encode(sample["normalized_text"], sample["where"])
        text = torch.tensor(tokens).long()
        text_length = torch.tensor(len(tokens)).long()

        spec_cache: list[torch.Tensor] = []

        def spec() -> torch.Tensor:
            if not spec_cache:
                spec_cache.append(self.features.spec(audio))
            return spec_cache[0]

        log_mel = log_mel_length = None
        if LogMel in self.sup_data_types_set:
            mel_path = sample["mel_filepath"]
            if mel_path is not None and Path(mel_path).exists():
                log_mel = torch.load(mel_path, map_location="cpu", weights_only=True)
            else:
                log_mel = load_or_compute(
                    self.log_mel_folder / f"{stem}.pt", lambda: self.features.log_mel(spec()), n_frames
                )
            log_mel = log_mel.squeeze(0)
            log_mel_length = torch.tensor(log_mel.shape[1]).long()

        durations = self.durs[index] if Durations in self.sup_data_types_set else None

        align_prior_matrix = None
        if AlignPriorMatrix in self.sup_data_types_set:
            if self.use_beta_binomial_interpolator:
                prior = self.beta_binomial_interpolator(n_frames, len(tokens))
            else:
                prior = beta_binomial_prior_distribution(len(tokens), n_frames)
            align_prior_matrix = torch.from_numpy(prior)

        pitch = pitch_length = voiced_mask = p_voiced = None
        if Pitch in self.sup_data_types_set:
            pitch = self._pitch(audio, stem, n_frames)
            if Voiced_mask in self.sup_data_types_set:
                voiced_mask = load_or_compute(
                    self.voiced_mask_folder / f"{stem}.pt", lambda: (pitch > 0).float(), n_frames
                ).float()
            if P_voiced in self.sup_data_types_set:
                p_voiced = load_or_compute(
                    self.p_voiced_folder / f"{stem}.pt", lambda: (pitch > 0).float(), n_frames
                ).float()
            pitch_length = torch.tensor(len(pitch)).long()
            if self.pitch_norm:
                pitch = self._normalize_pitch(pitch, sample)

        energy = energy_length = None
        if Energy in self.sup_data_types_set:
            energy = load_or_compute(
                self.energy_folder / f"{stem}.pt", lambda: self.features.energy(spec()), n_frames
            ).float()
            energy_length = torch.tensor(len(energy)).long()

        speaker_id = (
            torch.tensor(sample["speaker_id"]).long() if SpeakerID in self.sup_data_types_set else None
        )

        reference_audio = reference_audio_length = None
        if ReferenceAudio in self.sup_data_types_set:
            reference_audio = self._load_audio(self.get_reference_for_sample(sample))
            reference_audio_length = torch.tensor(reference_audio.shape[0]).long()

        return (
            audio,
            audio_length,
            text,
            text_length,
            log_mel,
            log_mel_length,
            durations,
            align_prior_matrix,
            pitch,
            pitch_length,
            energy,
            energy_length,
            speaker_id,
            voiced_mask,
            p_voiced,
            None,
            reference_audio,
            reference_audio_length,
        )

    def __len__(self) -> int:
        return len(self.data)

    def join_data(self, data_dict: dict[str, Any]) -> tuple[Any, ...]:
        """The batch dict as NeMo's tuple: main types, then supplementary types in ``DATA_STR2DATA_CLASS`` order,
        each followed by its ``_lens`` when it has lengths."""
        result = []
        for data_type in DATA_STR2DATA_CLASS.values():
            if data_type in MAIN_DATA_TYPES or data_type in self.sup_data_types_set:
                result.append(data_dict[data_type.name])
                if issubclass(data_type, WithLens):
                    result.append(data_dict[f"{data_type.name}_lens"])
        return tuple(result)

    def general_collate_fn(self, batch: list[tuple[Any, ...]]) -> dict[str, Any]:
        """Pad and stack a list of ``__getitem__`` tuples into NeMo's batch dict (absent types are ``None``).

        Shapes: audio (B, T_audio), text (B, T_text) padded with the pad id, log_mel (B, n_mels, T_spec)
        padded with float32 ``tiny``, align_prior_matrix (B, T_spec, T_text) zero-padded, pitch / energy /
        voiced_mask / p_voiced (B, T_spec), durations (B, T_text), speaker_id (B,), lengths (B,).
        """
        columns = list(zip(*batch, strict=True))
        has = self.sup_data_types_set.__contains__

        def pad(column: int, value: float = 0.0) -> torch.Tensor:
            return torch.nn.utils.rnn.pad_sequence(
                list(columns[column]), batch_first=True, padding_value=value
            )

        def lengths(column: int) -> torch.Tensor:
            return torch.stack(list(columns[column]))

        out: dict[str, Any] = {name: None for name in DATA_STR2DATA_CLASS}
        out.update({f"{t.name}_lens": None for t in DATA_STR2DATA_CLASS.values() if issubclass(t, WithLens)})
        out.update(
            audio=pad(0), audio_lens=lengths(1), text=pad(2, self.text_tokenizer_pad_id), text_lens=lengths(3)
        )
        out["audio_shifted"] = None
        if has(LogMel):
            mels = columns[4]
            out["log_mel"] = stack_tensors(
                mels, [max(m.shape[-1] for m in mels)], torch.finfo(mels[0].dtype).tiny
            )
            out["log_mel_lens"] = lengths(5)
        if has(Durations):
            out["durations"] = pad(6)
        if has(AlignPriorMatrix):
            priors = columns[7]
            out["align_prior_matrix"] = stack_tensors(
                priors, [max(p.shape[1] for p in priors), max(p.shape[0] for p in priors)]
            )
        if has(Pitch):
            out["pitch"], out["pitch_lens"] = pad(8), lengths(9)
        if has(Energy):
            out["energy"], out["energy_lens"] = pad(10), lengths(11)
        if has(SpeakerID):
            out["speaker_id"] = lengths(12)
        if has(Voiced_mask):
            out["voiced_mask"] = pad(13)
        if has(P_voiced):
            out["p_voiced"] = pad(14)
        if has(ReferenceAudio):
            out["reference_audio"], out["reference_audio_lens"] = pad(16), lengths(17)
        return out

    def _collate_fn(self, batch: list[tuple[Any, ...]]) -> tuple[Any, ...]:
        return self.join_data(self.general_collate_fn(batch))


class VocoderDataset(Dataset):
    """Audio segments (and optionally precomputed mels) for training vocoders such as HiFi-GAN (NeMo's class).

    Args:
        manifest_filepath: TTS manifest(s); only ``audio_filepath``, ``duration`` and ``mel_filepath`` are used.
        sample_rate: the audio's sample rate; a file with another rate is an error.
        n_segments: samples per item: a random window of that length (zero-padded when the clip is
            shorter); ``None`` returns whole clips.
        max_duration: drop clips longer than this (seconds).
        min_duration: drop clips shorter than this (seconds).
        ignore_file: a pickled list of audio paths to drop.
        trim: cut leading and trailing silence before taking the segment.
        load_precomputed_mel: also return the line's ``mel_filepath`` (``.pt`` or ``.npy``), cut to the segment.
        hop_length: the mel hop; needed with ``load_precomputed_mel``.

    Batches: ``(audio (B, T), audio_lens (B,))``, or with precomputed mels ``(audio (B, n_segments),
    audio_lens (B,), mel (B, n_mels, ceil(n_segments / hop_length)))``.
    """

    def __init__(
        self,
        manifest_filepath: str | Path | Sequence[str | Path],
        sample_rate: int,
        n_segments: int | None = None,
        max_duration: float | None = None,
        min_duration: float | None = None,
        ignore_file: str | Path | None = None,
        trim: bool | None = False,
        load_precomputed_mel: bool = False,
        hop_length: int | None = None,
    ) -> None:
        super().__init__()
        if load_precomputed_mel and (hop_length is None or n_segments is None):
            raise ValueError(
                f"load_precomputed_mel needs hop_length and n_segments, got {hop_length} and {n_segments}. Set both."
            )
        self.manifest_filepath = manifest_filepath
        entries = read_tts_manifests(manifest_filepath)
        if load_precomputed_mel:
            missing = [entry.where for entry in entries if entry.mel_filepath is None]
            if missing:
                raise ValueError(
                    f"load_precomputed_mel is set but {len(missing)} manifest lines have no 'mel_filepath', e.g. "
                    f"{missing[:3]}. Add it, or set load_precomputed_mel: false."
                )
        self.data = filter_entries(entries, ignore_file, min_duration, max_duration)
        self.base_data_dir = get_base_dir(entry.audio_filepath for entry in self.data)
        self.sample_rate = sample_rate
        self.n_segments = n_segments
        self.hop_length = hop_length
        self.trim = bool(trim)
        self.load_precomputed_mel = load_precomputed_mel

    def __len__(self) -> int:
        return len(self.data)

    def _segment(self, entry: TTSManifestEntry) -> torch.Tensor:
        """A random ``n_segments`` window of the clip, read without decoding the rest when not trimming."""
        if self.trim or self.n_segments is None:
            audio = load_entry_audio(entry, self.sample_rate, trim=self.trim)
            if self.n_segments is None:
                return audio
            start = int(torch.randint(0, max(audio.shape[0] - self.n_segments, 0) + 1, ()).item())
            audio = audio[start : start + self.n_segments]
        else:
            info = sf.info(entry.audio_filepath)
            if info.samplerate != self.sample_rate:
                load_entry_audio(entry, self.sample_rate)
            start = int(torch.randint(0, max(info.frames - self.n_segments, 0) + 1, ()).item())
            samples = sf.read(entry.audio_filepath, frames=self.n_segments, start=start, dtype="float32")[0]
            audio = torch.from_numpy(samples if samples.ndim == 1 else samples.mean(axis=1))
        return torch.nn.functional.pad(audio, (0, self.n_segments - audio.shape[0]))

    def _with_mel(self, entry: TTSManifestEntry) -> tuple[torch.Tensor, int, torch.Tensor]:
        audio = load_entry_audio(entry, self.sample_rate, trim=self.trim)
        if Path(entry.mel_filepath).suffix == ".npy":
            mel = torch.from_numpy(np.load(entry.mel_filepath))
        else:
            mel = torch.load(entry.mel_filepath, map_location="cpu", weights_only=True)
        frames = math.ceil(self.n_segments / self.hop_length)
        if audio.shape[0] >= self.n_segments:
            start = int(torch.randint(0, max(mel.shape[1] - frames - 1, 0) + 1, ()).item())
            mel = mel[:, start : start + frames]
            audio = audio[start * self.hop_length : (start + frames) * self.hop_length]
        else:
            mel = torch.nn.functional.pad(mel, (0, frames - mel.shape[1]))
            audio = torch.nn.functional.pad(audio, (0, self.n_segments - audio.shape[0]))
        return audio, audio.shape[0], mel

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        """``(audio (T,), audio_len)``, or ``(audio, len, mel (n_mels, frames))`` with precomputed mels."""
        entry = self.data[index]
        if self.load_precomputed_mel:
            return self._with_mel(entry)
        audio = self._segment(entry)
        return audio, torch.tensor(audio.shape[0]).long()

    def _collate_fn(self, batch: list[tuple[Any, ...]]) -> tuple[torch.Tensor, ...]:
        if self.load_precomputed_mel:
            return torch.utils.data.dataloader.default_collate(batch)
        audio = torch.nn.utils.rnn.pad_sequence([item[0] for item in batch], batch_first=True)
        return audio, torch.stack([item[1] for item in batch])

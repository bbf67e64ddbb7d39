"""NeMo 1.23's speech data simulation: multi-speaker sessions for diarization and room-acoustics mixtures.

Multi-speaker sessions (:class:`MultiSpeakerSimulator`) are built from single-speaker utterances with word
alignments (manifest layout: see :mod:`nemo.collections.asr.parts.utils.data_simulation_utils`). A session is a
sequence of sentences; each sentence is a few consecutive words of one speaker, cut at word boundaries and
placed after a random pause or overlapping the previous speaker's sentence, so that the session meets the
configured silence and overlap ratios. For each session ``<name>`` these files are written to
``outputs.output_dir``: ``<name>.wav`` (16-bit PCM, peak-normalized), ``<name>.rttm``, ``<name>.ctm``,
``<name>.txt``, ``<name>.json`` (one line per sentence) and ``<name>.meta``, plus ``params.yaml`` and
``synthetic_<type>.list`` files listing every session's files.

:class:`RIRMultiSpeakerSimulator` convolves each sentence with room impulse responses simulated by
``pyroomacoustics`` or ``gpuRIR``; neither is a dependency of this package, so it needs one installed.

The rest is the room-acoustics toolbox of NeMo's multichannel mixture simulation: angle checks, microphone
array geometry (:class:`ArrayGeometry`), placement ranges, RIR helpers and :func:`simulate_room_mix`, which
mixes a target, a diffuse noise and interferers from RIRs stored in an HDF5 file (reading those needs
``h5py``). NeMo's corpus generators built on pyroomacoustics (``RIRCorpusGenerator``, ``RIRMixGenerator``) are
not provided.

Shapes: mono signals are (T,); multichannel signals are (T, C) numpy arrays; RIRs are (L,) or (L, C).
"""

from __future__ import annotations

import concurrent.futures
import copy
import importlib.util
import os
import random
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import soundfile as sf
import torch
from nemo.collections.asr.parts.preprocessing.perturb import process_augmentations
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment
from nemo.collections.asr.parts.utils.audio_utils import (
    db2mag,
    generate_approximate_noise_field,
    mag2db,
    pow2db,
    rms,
)
from nemo.collections.asr.parts.utils.data_simulation_utils import (
    DataAnnotator,
    SpeechSampler,
    build_speaker_samples_map,
    get_background_noise,
    get_cleaned_base_path,
    get_random_offset_index,
    get_speaker_ids,
    get_speaker_samples,
    get_split_points_in_alignments,
    load_speaker_sample,
    normalize_audio,
    per_speaker_normalize,
    perturb_audio,
    read_audio_from_buffer,
    read_noise_manifest,
    speech_union_seconds,
)
from nemo.collections.asr.parts.utils.manifest_utils import read_manifest
from nemo.utils import logging
from omegaconf import OmegaConf
from scipy.signal import convolve
from scipy.signal.windows import cosine, hamming, hann
from scipy.spatial.transform import Rotation

__all__ = [
    "ArrayGeometry",
    "MultiSpeakerSimulator",
    "RIRMultiSpeakerSimulator",
    "calculate_drr",
    "check_angle",
    "check_min_sample_rate",
    "convert_numpy_to_serializable",
    "convert_placement_to_range",
    "convert_rir_to_multichannel",
    "convolve_rir",
    "load_rir_simulation",
    "normalize_max",
    "prepare_source_signal",
    "save_rir_simulation",
    "scaled_disturbance",
    "simulate_room_mix",
    "simulate_room_mix_helper",
    "simultaneously_active_rms",
    "wrap_to_180",
]

_WINDOWS = {"hamming": hamming, "hann": hann, "cosine": cosine}
_NORMALIZATION_TYPES = ("equal", "variable")
# A sentence gives up after this many utterance pieces in a row that contributed no word.
_MAX_EMPTY_PIECES = 50


# ====================================================================================================================
# Multi-speaker sessions
# ====================================================================================================================


def _resolve_audio_paths(manifest: list[dict], manifest_path: str) -> list[dict]:
    """Make relative ``audio_filepath`` entries that do not exist from the working directory relative to the
    manifest's folder (NeMo resolves them from the working directory only)."""
    folder = os.path.dirname(os.path.abspath(manifest_path))
    for entry in manifest:
        path = entry.get("audio_filepath")
        if isinstance(path, str) and not os.path.isabs(path) and not os.path.exists(path):
            candidate = os.path.join(folder, path)
            if os.path.exists(candidate):
                entry["audio_filepath"] = candidate
    return manifest


class MultiSpeakerSimulator:
    """Simulates multi-speaker sessions from single-speaker utterances with word alignments.

    Args:
        cfg: config with a ``data_simulator`` section (NeMo's ``data_simulator.yaml``) and optionally a top-level
            ``num_workers`` (sessions generated in that many processes; default 1).

    Config (under ``data_simulator``):
        manifest_filepath: utterances, each line with ``audio_filepath``, ``speaker_id``, ``words`` and
            ``alignments`` (word end times; "" words are pauses). Relative audio paths are looked up from the
            working directory, then from the manifest's folder.
        sr: sample rate of the sessions; source audio is resampled to it.
        random_seed: seed of session ``i``'s draws is ``random_seed + i``.
        multiprocessing_chunksize: sessions submitted to the process pool at once.
        session_config: ``num_speakers`` per session, ``num_sessions``, ``session_length`` (seconds).
        session_params:
            max_audio_read_sec: longest piece of an utterance read at once (>= 2.5).
            sentence_length_params: ``[k, p]``; words per sentence are 1 + NegativeBinomial(k, p).
            dominance_var, min_dominance: speaker shares are Normal(1/num_speakers, dominance_var), clipped at 0,
                rescaled so that each share is at least ``min_dominance``.
            turn_prob: probability of changing speaker after a sentence; ``min_turn_prob`` (or
                ``turn_prob_min``, default 0.5) is its lower bound while speaker enforcement is on.
            mean_silence, mean_silence_var, per_silence_var, per_silence_min, per_silence_max,
            mean_overlap, mean_overlap_var, per_overlap_var, per_overlap_min, per_overlap_max: the silence and
                overlap model (:class:`~nemo.collections.asr.parts.utils.data_simulation_utils.SpeechSampler`).
            start_window, window_type ("hamming", "hann", "cosine" or None), window_size (s): fade at the ends of
                each utterance piece; ``start_window=False`` fades only the end.
            start_buffer, release_buffer (s): audio kept before the first and after the last word of a piece.
            split_buffer (s): RTTM segments are cut at pauses longer than twice this.
            normalize, normalization_type ("equal" or "variable"), normalization_var, min_volume, max_volume:
                per-speaker RMS level of each sentence (1, or Normal(1, normalization_var) clipped to the range).
            end_buffer (s): a session ends once less than this is left to fill.
        outputs: ``output_dir``, ``output_filename`` (sessions are ``<output_filename>_<i>``),
            ``overwrite_output``, ``output_precision`` (decimals in RTTM, CTM and JSON entries).
        background_noise: ``add_bg``, ``background_manifest`` (path or list), ``num_noise_files`` drawn per session,
            ``snr`` (dB, against the mean speech power) or a uniform draw in [``snr_min``, ``snr_max``].
        segment_augmentor / session_augmentor: ``add_seg_aug`` / ``add_sess_aug`` and an ``augmentor`` mapping (as
            in dataset configs) applied to each utterance piece / to the whole session before noise is added.
        speaker_enforcement: ``enforce_num_speakers`` and ``enforce_time`` ``[lo, hi]``: after a session fraction drawn
            in that range, speakers not heard yet become more likely, and the session runs on until all spoke.
        segment_manifest: read by NeMo's separate segment-manifest tool, not by the simulator.
    """

    def __init__(self, cfg: Any) -> None:
        self._params = cfg
        sim = cfg.data_simulator
        self.annotator = DataAnnotator(cfg)
        self.sampler = SpeechSampler(cfg)
        self._manifest = _resolve_audio_paths(read_manifest(sim.manifest_filepath), sim.manifest_filepath)
        self._speaker_samples = build_speaker_samples_map(self._manifest)
        self._noise_samples: list[dict] = []
        self._sentence: torch.Tensor | None = None
        self._text = ""
        self._words: list[str] = []
        self._alignments: list[float] = []
        self._min_alignment_count = 2
        self._merged_speech_intervals: list = []
        self._furthest_sample = [0] * sim.session_config.num_speakers
        self._missing_overlap = 0
        self.base_manifest_filepath = None
        self.segment_manifest_filepath = None
        self._max_audio_read_sec = sim.session_params.max_audio_read_sec
        self._turn_prob_min = sim.session_params.get(
            "min_turn_prob", sim.session_params.get("turn_prob_min", 0.5)
        )
        self._volume: list[float] | None = None
        self._speaker_ids: list[str] | None = None
        self._device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        self._audio_read_buffer_dict: dict = {}
        if sim.session_params.get("add_missing_overlap", False):
            raise ValueError(
                "session_params.add_missing_overlap=True is not supported (NeMo 1.23 accepts it but never uses it); "
                "remove it or set it to False."
            )
        self.segment_augmentor = self._build_augmentor(sim.segment_augmentor, "add_seg_aug")
        self.session_augmentor = self._build_augmentor(sim.session_augmentor, "add_sess_aug")
        self._check_args()
        self._permutated_speaker_inds = self._init_speaker_permutations(
            num_sess=sim.session_config.num_sessions,
            num_speakers=sim.session_config.num_speakers,
            all_speaker_ids=self._speaker_samples.keys(),
            random_seed=sim.random_seed,
        )
        self.num_workers = int(cfg.get("num_workers", 1) or 1)
        self.multiprocessing_chunksize = int(sim.get("multiprocessing_chunksize", 10000))
        self.chunk_count = self._init_chunk_count()

    @staticmethod
    def _build_augmentor(section: Any, switch: str):
        """The augmentor of a ``segment_augmentor`` / ``session_augmentor`` section, or None when switched off."""
        if section is None or not section.get(switch, False):
            return None
        if not section.get("augmentor", None):
            raise ValueError(
                f"{switch}=True but its `augmentor` section is empty; add perturbations or set it False."
            )
        return process_augmentations(augmenter=section.augmentor)

    # ---------------------------------------------------------------------------------------------------------------
    # Set-up
    # ---------------------------------------------------------------------------------------------------------------

    def _init_speaker_permutations(
        self, num_sess: int, num_speakers: int, all_speaker_ids: Iterable[str], random_seed: int
    ) -> np.ndarray:
        """Speaker indices (num_sess, num_speakers) that sweep all speakers evenly; no session repeats a speaker.

        Speakers are taken in turn from successive random permutations of all speakers.
        """
        np.random.seed(random_seed)
        total = len(list(all_speaker_ids))
        pool: list[int] = []
        rows = []
        for _ in range(num_sess):
            row: list[int] = []
            while len(row) < num_speakers:
                if not pool:
                    pool = [int(k) for k in np.random.permutation(total)]
                position = next((j for j, speaker in enumerate(pool) if speaker not in row), None)
                if position is None:
                    pool = []
                    continue
                row.append(pool.pop(position))
            rows.append(row)
        logging.info(
            f"{total} speakers in the source manifest; {num_sess} sessions of {num_speakers} speakers."
        )
        return np.asarray(rows, dtype=np.int64).reshape(num_sess, num_speakers)

    def _init_chunk_count(self) -> int:
        """Number of chunks of ``multiprocessing_chunksize`` sessions."""
        num_sessions = self._params.data_simulator.session_config.num_sessions
        return int(np.ceil(num_sessions / self.multiprocessing_chunksize))

    def _check_args(self) -> None:
        """Validate the config; raise ValueError naming the offending key."""
        sim = self._params.data_simulator
        params, session, enforcement = sim.session_params, sim.session_config, sim.speaker_enforcement

        def require(condition: bool, message: str) -> None:
            if not condition:
                raise ValueError(message)

        require(session.num_speakers >= 1, "session_config.num_speakers must be at least 1.")
        require(
            session.num_speakers <= len(self._speaker_samples),
            f"session_config.num_speakers={session.num_speakers} but the manifest has only "
            f"{len(self._speaker_samples)} speakers.",
        )
        require(0 <= params.turn_prob <= 1, f"session_params.turn_prob={params.turn_prob} is outside [0, 1].")
        if params.turn_prob < self._turn_prob_min and enforcement.enforce_num_speakers:
            logging.warning(
                f"session_params.turn_prob={params.turn_prob} is below {self._turn_prob_min} while "
                f"enforce_num_speakers=True, which can make sessions very long; using {self._turn_prob_min}."
            )
            params.turn_prob = self._turn_prob_min
        require(
            params.max_audio_read_sec >= 2.5,
            "session_params.max_audio_read_sec must be at least 2.5 seconds.",
        )
        k, p = params.sentence_length_params
        require(k > 0, f"session_params.sentence_length_params[0] (k) must be positive, got {k}.")
        require(0 < p <= 1, f"session_params.sentence_length_params[1] (p) must be in (0, 1], got {p}.")
        for name in ("silence", "overlap"):
            mean, var = params[f"mean_{name}"], params[f"mean_{name}_var"]
            require(0 <= mean <= 1, f"session_params.mean_{name}={mean} is outside [0, 1].")
            require(var >= 0, f"session_params.mean_{name}_var={var} must not be negative.")
            require(
                mean == 0 or var < mean * (1 - mean),
                f"session_params.mean_{name}_var={var} must be below mean_{name} * (1 - mean_{name}) = "
                f"{mean * (1 - mean):.4f}.",
            )
            require(params[f"per_{name}_var"] >= 0, f"session_params.per_{name}_var must not be negative.")
        require(
            0 <= params.min_dominance <= 1,
            f"session_params.min_dominance={params.min_dominance} not in [0, 1].",
        )
        require(
            params.min_dominance * session.num_speakers <= 1,
            "session_params.min_dominance * session_config.num_speakers must not exceed 1.",
        )
        for bound in enforcement.enforce_time:
            require(
                0 <= bound <= 1,
                f"speaker_enforcement.enforce_time {list(enforcement.enforce_time)} not in [0, 1].",
            )
        require(
            params.window_type is None or params.window_type in _WINDOWS,
            f"session_params.window_type={params.window_type!r}; use one of {sorted(_WINDOWS)} or null.",
        )
        require(
            params.normalization_type in _NORMALIZATION_TYPES,
            f"session_params.normalization_type={params.normalization_type!r}; use one of {list(_NORMALIZATION_TYPES)}.",
        )
        require(len(self._manifest) > 0, f"Manifest {sim.manifest_filepath} is empty; check the path.")

    def clean_up(self) -> None:
        """Drop the sentence buffers and the audio read cache."""
        self._sentence = None
        self._words, self._alignments = [], []
        self._audio_read_buffer_dict = {}
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # ---------------------------------------------------------------------------------------------------------------
    # Speakers
    # ---------------------------------------------------------------------------------------------------------------

    def _get_speaker_dominance(self) -> np.ndarray:
        """Cumulative speaker shares (num_speakers,), ending at 1: Normal(1/n, dominance_var) draws, clipped at 0,
        scaled to ``1 - n * min_dominance`` and lifted by ``min_dominance``."""
        sim = self._params.data_simulator
        n, min_share = sim.session_config.num_speakers, sim.session_params.min_dominance
        shares = np.clip(np.random.normal(1.0 / n, sim.session_params.dominance_var, size=n), 0, None)
        shares = np.full(n, 1.0 / n) if shares.sum() == 0 else shares / shares.sum()
        return np.cumsum(shares * (1 - min_share * n) + min_share)

    def _increase_speaker_dominance(
        self, base_speaker_dominance: np.ndarray, factor: float
    ) -> tuple[np.ndarray, bool]:
        """Cumulative shares with speakers not heard yet ``factor`` times more likely, and whether any is left."""
        unheard = [k for k, furthest in enumerate(self._furthest_sample) if furthest == 0]
        if not unheard:
            return base_speaker_dominance, False
        shares = np.diff(np.asarray(base_speaker_dominance, dtype=np.float64), prepend=0.0)
        shares[unheard] *= factor
        return np.cumsum(shares / shares.sum()), True

    def _set_speaker_volume(self) -> None:
        """Per-speaker target RMS: all 1 (``equal``) or Normal(1, normalization_var) clipped (``variable``)."""
        sim = self._params.data_simulator
        params, n = sim.session_params, sim.session_config.num_speakers
        if params.normalization_type == "equal":
            self._volume = [1.0] * n
        else:
            volume = np.random.normal(1.0, params.normalization_var, size=n)
            self._volume = np.clip(volume, params.min_volume, params.max_volume).tolist()

    def _get_next_speaker(self, prev_speaker: int | None, dominance: np.ndarray) -> int:
        """The next speaker: another one with probability ``turn_prob`` (drawn by the shares of the others)."""
        sim = self._params.data_simulator
        if sim.session_config.num_speakers == 1:
            return 0
        if prev_speaker is not None and np.random.uniform(0, 1) > sim.session_params.turn_prob:
            return prev_speaker
        shares = np.diff(np.asarray(dominance, dtype=np.float64), prepend=0.0)
        if prev_speaker is not None:
            shares[prev_speaker] = 0.0
        if shares.sum() <= 0:  # every other speaker has a zero share
            shares = np.ones_like(shares)
            if prev_speaker is not None:
                shares[prev_speaker] = 0.0
        return int(np.random.choice(len(shares), p=shares / shares.sum()))

    # ---------------------------------------------------------------------------------------------------------------
    # Sentences
    # ---------------------------------------------------------------------------------------------------------------

    def _get_window(self, window_amount: int, start: bool = False) -> torch.Tensor:
        """Rising (``start``) or falling half of a ``window_type`` window of ``2 * window_amount`` samples."""
        window = _WINDOWS[self._params.data_simulator.session_params.window_type](2 * window_amount)
        half = window[:window_amount] if start else window[window_amount:]
        return torch.from_numpy(np.ascontiguousarray(half)).to(self._device)

    def _get_start_buffer_and_window(self, first_alignment: int) -> tuple[int, int]:
        """``(cut, fade)`` in samples: where a piece whose first word starts at ``first_alignment`` begins, and the
        fade-in length, keeping ``start_buffer`` of audio before the word after the fade."""
        params, sr = self._params.data_simulator.session_params, self._params.data_simulator.sr
        fade, buffer = int(params.window_size * sr), int(params.start_buffer * sr)
        if first_alignment < buffer:
            return 0, 0
        if first_alignment < buffer + fade:
            return 0, first_alignment - buffer
        return first_alignment - buffer - fade, fade

    def _get_end_buffer_and_window(
        self, current_sample_cursor: int, remaining_dur_samples: float, remaining_len_audio_file: int
    ) -> tuple[int, int]:
        """``(release, fade)`` in samples after a piece's last word, limited by the room left in the sentence
        (``remaining_dur_samples - current_sample_cursor``) and by the audio left in the file."""
        params, sr = self._params.data_simulator.session_params, self._params.data_simulator.sr
        fade, release = int(params.window_size * sr), int(params.release_buffer * sr)
        room = remaining_dur_samples - current_sample_cursor
        if release > room:
            release, fade = int(room), 0
        elif release + fade > room:
            fade = int(room - release)
        if release > remaining_len_audio_file:
            release, fade = remaining_len_audio_file, 0
        elif release + fade > remaining_len_audio_file:
            fade = remaining_len_audio_file - release
        return max(release, 0), max(fade, 0)

    def _add_file(
        self,
        audio_manifest: dict,
        audio_file: torch.Tensor,
        sentence_word_count: int,
        max_word_count_in_sentence: int,
        max_samples_in_sentence: float,
    ) -> tuple[int, int]:
        """Append the words of one utterance piece, from its first word up to the next pause, to the sentence.

        ``audio_manifest['alignments']`` are relative to ``audio_file`` (T,), whose token 0 is a pause. Words are
        added while the sentence stays within ``max_word_count_in_sentence`` words and
        ``max_samples_in_sentence`` samples. The piece keeps ``start_buffer`` before its first word and
        ``release_buffer`` after its last, with fades of ``window_size`` at both ends.

        Returns:
            ``(words in the sentence, samples in the sentence)``.
        """
        sim = self._params.data_simulator
        params, sr = sim.session_params, sim.sr
        words, times = audio_manifest["words"], audio_manifest["alignments"]
        sentence_len = len(self._sentence)
        room = max_samples_in_sentence - sentence_len
        cut, fade_in = self._get_start_buffer_and_window(int(times[0] * sr))
        if params.window_type is None or not params.start_window:
            fade_in = 0

        last_word, piece_end = 0, cut
        for index in range(1, len(words)):
            word_end = int(times[index] * sr)
            if (
                words[index] == ""
                or index > max_word_count_in_sentence - sentence_word_count
                or word_end - cut > room
                or word_end > len(audio_file)
            ):
                break
            last_word, piece_end = index, word_end
        if last_word == 0:
            return sentence_word_count, sentence_len

        offset = sentence_len / sr - cut / sr
        # A pause token where this piece's first word starts, so every word's start is known.
        self._words.append("")
        self._alignments.append(offset + times[0])
        for index in range(1, last_word + 1):
            self._words.append(words[index])
            self._alignments.append(offset + times[index])
        spoken = " ".join(words[1 : last_word + 1])
        self._text = spoken if not self._text else f"{self._text} {spoken}"

        piece = audio_file[cut:piece_end].to(self._device, torch.float64).clone()
        if fade_in > 0:
            piece[:fade_in] *= self._get_window(fade_in, start=True)
        tail = torch.zeros(0, dtype=torch.float64, device=self._device)
        if last_word + 1 < len(words) and params.window_type is not None:
            release, fade_out = self._get_end_buffer_and_window(
                piece_end - cut, room, len(audio_file) - piece_end
            )
            tail = (
                audio_file[piece_end : piece_end + release + fade_out].to(self._device, torch.float64).clone()
            )
            if fade_out > 0:
                tail[release:] *= self._get_window(fade_out, start=False)
        self._sentence = torch.cat((self._sentence, piece, tail))
        return sentence_word_count + last_word, len(self._sentence)

    def _build_sentence(
        self,
        speaker_turn: int,
        speaker_ids: Sequence[str],
        speaker_wav_align_map: dict[str, list[dict]],
        max_samples_in_sentence: float,
    ) -> None:
        """Fill ``self._sentence`` (T,), ``self._words``, ``self._alignments`` and ``self._text`` with one sentence
        of speaker ``speaker_turn``: pieces of random utterances until 1 + NegativeBinomial(k, p) words or
        ``max_samples_in_sentence`` samples are reached, then scaled to the speaker's volume."""
        sim = self._params.data_simulator
        k, p = sim.session_params.sentence_length_params
        target_words = int(np.random.negative_binomial(k, p)) + 1
        self._sentence = torch.zeros(0, dtype=torch.float64, device=self._device)
        self._text, self._words, self._alignments = "", [], []
        word_count, sample_count, empty_pieces = 0, 0, 0
        while word_count < target_words and sample_count < max_samples_in_sentence:
            audio_manifest = load_speaker_sample(
                speaker_wav_align_map, speaker_ids, speaker_turn, self._min_alignment_count
            )
            offset_index = get_random_offset_index(
                audio_manifest,
                self._audio_read_buffer_dict,
                offset_min=0,
                max_audio_read_sec=self._max_audio_read_sec,
                min_alignment_count=self._min_alignment_count,
            )
            audio_file, sr, audio_manifest = read_audio_from_buffer(
                audio_manifest,
                self._audio_read_buffer_dict,
                offset_index=offset_index,
                device=self._device,
                max_audio_read_sec=self._max_audio_read_sec,
                min_alignment_count=self._min_alignment_count,
                read_subset=True,
                target_sr=sim.sr,
            )
            if self.segment_augmentor is not None:
                audio_file = perturb_audio(audio_file, sr, self.segment_augmentor, device=self._device)
            previous = word_count
            word_count, sample_count = self._add_file(
                audio_manifest, audio_file, word_count, target_words, max_samples_in_sentence
            )
            empty_pieces = empty_pieces + 1 if word_count == previous else 0
            if empty_pieces >= _MAX_EMPTY_PIECES:
                break
        if (
            sim.session_params.normalize
            and len(self._sentence) > 0
            and torch.max(torch.abs(self._sentence)) > 0
        ):
            splits = get_split_points_in_alignments(
                self._words, self._alignments, sim.session_params.split_buffer, sim.sr, len(self._sentence)
            )
            self._sentence = per_speaker_normalize(
                self._sentence, splits, speaker_turn, self._volume, self._device
            )

    # ---------------------------------------------------------------------------------------------------------------
    # Session
    # ---------------------------------------------------------------------------------------------------------------

    def _add_silence_or_overlap(
        self,
        speaker_turn: int,
        prev_speaker: int | None,
        start: int,
        length: int,
        session_len_samples: int,
        prev_segment: tuple[int, int],
        enforce: bool,
    ) -> int:
        """Where the next sentence (``length`` samples) starts, given the session so far ends at ``start``.

        When the silence/overlap selector asks for overlap and the speaker changes, the sentence starts before
        ``start`` by a drawn overlap (never before 0 nor before this speaker's previous end); otherwise a drawn
        silence is inserted (shortened to keep the session length unless speakers are being enforced).
        ``prev_segment`` is the previous sentence's ``(start, end)``.
        """
        running_len = start + length
        non_silence = self.sampler.running_speech_len_samples + length
        add_overlap = self.sampler.silence_vs_overlap_selector(running_len, non_silence)
        if prev_speaker is not None and prev_speaker != speaker_turn and add_overlap:
            desired = self.sampler.sample_from_overlap_model(non_silence)
            new_start = max(start - desired, 0, self._furthest_sample[speaker_turn])
            overlap = max(0, min(prev_segment[1], new_start + length) - max(prev_segment[0], new_start))
            self._missing_overlap += max(desired - overlap, 0)
            self.sampler.running_overlap_len_samples += overlap
            return new_start
        silence = self.sampler.sample_from_silence_model(running_len)
        if start + length + silence > session_len_samples and not enforce:
            return max(session_len_samples - length, start)
        return start + silence

    def _get_session_silence_from_rttm(
        self, rttm_list: Sequence[str], running_len_samples: int
    ) -> tuple[int, int]:
        """``(speech, silence)`` samples of the session so far, speech being the union of the RTTM segments."""
        sr = self._params.data_simulator.sr
        speech = speech_union_seconds([float(x) for x in entry.split()[:2]] for entry in rttm_list)
        return int(speech * sr), int(running_len_samples - speech * sr)

    def _add_sentence_to_array(
        self, start: int, sentence: torch.Tensor, array: torch.Tensor, is_speech: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Add ``sentence`` (T,) or (T, C) to ``array`` at ``start`` (padding the session when it runs past the
        end) and mark its span in ``is_speech``. Returns ``(array, is_speech, end)``."""
        end = start + sentence.shape[0]
        if end > array.shape[0]:
            extra = end - array.shape[0]
            array = torch.nn.functional.pad(array, (0, 0, 0, extra) if array.dim() == 2 else (0, extra))
            is_speech = torch.nn.functional.pad(is_speech, (0, extra))
        array[start:end] += sentence.to(array.dtype)
        is_speech[start:end] = 1
        return array, is_speech, end

    def _get_session_meta_data(self, array: np.ndarray, snr: float | str) -> dict:
        """The ``.meta`` line of a session."""
        return {
            "duration": array.shape[0] / self._params.data_simulator.sr,
            "silence_mean": self.sampler.sess_silence_mean,
            "overlap_mean": self.sampler.sess_overlap_mean,
            "bg_snr": snr,
            "speaker_ids": self._speaker_ids,
            "speaker_volumes": [float(v) for v in self._volume],
        }

    def _check_missing_speakers(self, num_missing: int = 0) -> None:
        """Warn when some speakers of the session never spoke."""
        num_missing += sum(1 for furthest in self._furthest_sample if furthest == 0)
        requested = self._params.data_simulator.session_config.num_speakers
        if num_missing:
            warnings.warn(
                f"{requested - num_missing} speakers were included in the session instead of {requested}.",
                stacklevel=2,
            )

    # Hooks that the RIR simulator overrides.

    def _num_channels(self) -> int:
        return 1

    def _start_session(self) -> None:
        """Per-session set-up before the first sentence (nothing here)."""

    def _sentence_tail_samples(self) -> int:
        """Samples a rendered sentence is longer than the dry one (0 here)."""
        return 0

    def _render_sentence(self, speaker_turn: int) -> torch.Tensor:
        """The sentence as it is added to the session: (T,) here."""
        return self._sentence

    def _add_background(self, array: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Add background noise (T,) to the session."""
        return array + noise.to(array.dtype)

    def _generate_session(
        self,
        idx: int,
        basepath: str,
        filename: str,
        speaker_ids: Sequence[str],
        speaker_wav_align_map: dict[str, list[dict]],
        noise_samples: list[dict],
        device: torch.device,
        enforce_counter: int = 2,
    ) -> tuple[str, str]:
        """Simulate session ``idx`` and write its files as ``<basepath>/<filename>.*``.

        Args:
            idx: session index (seeds numpy's generator with ``random_seed + idx``).
            basepath: output folder.
            filename: base name of the session's files.
            speaker_ids: the session's speakers.
            speaker_wav_align_map: their utterances.
            noise_samples: background noise files of this session.
            device: where the session is assembled.
            enforce_counter: first boost factor for unheard speakers in enforcement mode.

        Returns:
            ``(basepath, filename)``.
        """
        sim = self._params.data_simulator
        sr = sim.sr
        np.random.seed(sim.random_seed + idx)
        self._device = device
        self._speaker_ids = list(speaker_ids)
        dominance = self._get_speaker_dominance()
        base_dominance = dominance.copy()
        self._set_speaker_volume()
        self._start_session()
        self.annotator.init_annotation_lists()
        self._noise_samples = noise_samples
        self._furthest_sample = [0] * sim.session_config.num_speakers
        self._missing_overlap = 0

        enforce_time = np.random.uniform(*sim.speaker_enforcement.enforce_time)
        enforce = bool(sim.speaker_enforcement.enforce_num_speakers)
        session_len = int(sim.session_config.session_length * sr)
        channels = self._num_channels()
        shape = (session_len,) if channels == 1 else (session_len, channels)
        array = torch.zeros(shape, dtype=torch.float64, device=device)
        is_speech = torch.zeros(session_len, device=device)
        self.sampler.get_session_silence_mean()
        self.sampler.get_session_overlap_mean()

        running_len, prev_speaker, prev_segment = 0, None, (0, 0)
        wav_path = os.path.join(basepath, f"{filename}.wav")
        while running_len < session_len or enforce:
            if enforce and running_len > enforce_time * session_len:
                dominance, enforce = self._increase_speaker_dominance(base_dominance, enforce_counter)
                if enforce:
                    enforce_counter += 1
            speaker = self._get_next_speaker(prev_speaker, dominance)
            if enforce:
                max_samples = float("inf")
            else:
                max_samples = session_len - running_len - self._sentence_tail_samples()
                if max_samples < sim.session_params.end_buffer * sr:
                    break
            self._build_sentence(speaker, speaker_ids, speaker_wav_align_map, max_samples)
            if len(self._sentence) == 0:
                if enforce:
                    raise RuntimeError(
                        f"No usable words for speaker {speaker_ids[speaker]!r} in {_MAX_EMPTY_PIECES} tries; check "
                        "the words and alignments of that speaker's manifest lines."
                    )
                break
            rendered = self._render_sentence(speaker)
            length = rendered.shape[0]
            start = self._add_silence_or_overlap(
                speaker, prev_speaker, running_len, length, session_len, prev_segment, enforce
            )
            array, is_speech, end = self._add_sentence_to_array(start, rendered, array, is_speech)

            speaker_id = speaker_ids[speaker]
            self.annotator.annote_lists["rttm"].extend(
                self.annotator.create_new_rttm_entry(
                    self._words, self._alignments, start / sr, end / sr, speaker_id
                )
            )
            self.annotator.annote_lists["json"].append(
                self.annotator.create_new_json_entry(
                    text=self._text,
                    wav_filename=wav_path,
                    start=start / sr,
                    length=length / sr,
                    speaker_id=speaker_id,
                    rttm_filepath=os.path.join(basepath, f"{filename}.rttm"),
                    ctm_filepath=os.path.join(basepath, f"{filename}.ctm"),
                )
            )
            self.annotator.annote_lists["ctm"].extend(
                self.annotator.create_new_ctm_entry(
                    self._words, self._alignments, filename, speaker_id, start / sr
                )
            )
            running_len = max(running_len, end)
            speech, silence = self._get_session_silence_from_rttm(
                self.annotator.annote_lists["rttm"], running_len
            )
            self.sampler.running_speech_len_samples, self.sampler.running_silence_len_samples = (
                speech,
                silence,
            )
            self._furthest_sample[speaker] = end
            prev_speaker, prev_segment = speaker, (start, end)

        if self.session_augmentor is not None:
            array = perturb_audio(array, sr, self.session_augmentor, device=device).to(torch.float64)
        snr: float | str = "N/A"
        if sim.background_noise.add_bg:
            if not self._noise_samples:
                raise ValueError(
                    "background_noise.add_bg=True but no noise files were drawn for this session; check "
                    "background_noise.background_manifest and num_noise_files."
                )
            speech_power = torch.mean(array[is_speech == 1] ** 2)
            noise, snr = get_background_noise(
                len_array=array.shape[0],
                power_array=speech_power,
                noise_samples=self._noise_samples,
                audio_read_buffer_dict=self._audio_read_buffer_dict,
                snr_min=sim.background_noise.get("snr_min", None),
                snr_max=sim.background_noise.get("snr_max", None),
                background_noise_snr=sim.background_noise.snr,
                seed=sim.random_seed + idx,
                device=device,
                target_sr=sr,
            )
            array = self._add_background(array, noise)
        samples = normalize_audio(array).cpu().numpy()
        sf.write(wav_path, samples, sr)
        self.annotator.write_annotation_files(basepath, filename, self._get_session_meta_data(samples, snr))
        self._check_missing_speakers()
        self.clean_up()
        return basepath, filename

    def generate_sessions(self, random_seed: int | None = None) -> None:
        """Simulate ``num_sessions`` sessions into ``outputs.output_dir`` (emptied first when overwrite_output).

        Args:
            random_seed: seed of the per-session speaker and noise draws (default ``data_simulator.random_seed``).
        """
        sim = self._params.data_simulator
        np.random.seed(sim.random_seed if random_seed is None else random_seed)
        output_dir = sim.outputs.output_dir
        basepath = get_cleaned_base_path(output_dir, overwrite_output=sim.outputs.overwrite_output)
        OmegaConf.save(self._params, os.path.join(basepath, "params.yaml"))
        noise_manifest = read_noise_manifest(
            add_bg=sim.background_noise.add_bg, background_manifest=sim.background_noise.background_manifest
        )
        num_sessions = sim.session_config.num_sessions
        jobs = []
        for sess_idx in range(num_sessions):
            speaker_ids = get_speaker_ids(sess_idx, self._speaker_samples, self._permutated_speaker_inds)
            if torch.cuda.is_available():
                device = torch.device(f"cuda:{sess_idx % torch.cuda.device_count()}")
            else:
                device = self._device
            jobs.append(
                (
                    sess_idx,
                    basepath,
                    f"{sim.outputs.output_filename}_{sess_idx}",
                    speaker_ids,
                    get_speaker_samples(speaker_ids, self._speaker_samples),
                    self.sampler.sample_noise_manifest(noise_manifest),
                    device,
                )
            )

        pool = (
            concurrent.futures.ProcessPoolExecutor(max_workers=self.num_workers)
            if self.num_workers > 1
            else None
        )
        try:
            for chunk_start in range(0, num_sessions, self.multiprocessing_chunksize):
                chunk = jobs[chunk_start : chunk_start + self.multiprocessing_chunksize]
                if pool is None:
                    results = [self._generate_session(*job) for job in chunk]
                else:
                    futures = [pool.submit(self._generate_session, *job) for job in chunk]
                    results = [future.result() for future in futures]
                for result_basepath, filename in results:
                    self.annotator.add_to_filename_lists(basepath=result_basepath, filename=filename)
        finally:
            if pool is not None:
                pool.shutdown()
        self.annotator.write_filelist_files(basepath=basepath)
        logging.info(f"Data simulation has been completed, results saved at: {basepath}")


# ====================================================================================================================
# Multi-speaker sessions with room impulse responses
# ====================================================================================================================

_RIR_TOOLKITS = {"pyroomacoustics": "pyroomacoustics", "gpuRIR": "gpuRIR"}


def _draw_positions(spec: Any, point_ndim: int) -> np.ndarray:
    """Fixed coordinates, or uniform draws where each coordinate is given as a ``[low, high]`` range.

    ``point_ndim`` is 1 for a single point (``[x, y, z]`` or ``[[lo, hi], ...]``) and 2 for a list of points.
    """
    values = np.asarray(OmegaConf.to_container(spec) if OmegaConf.is_config(spec) else spec, dtype=np.float64)
    if values.ndim == point_ndim + 1:
        return np.random.uniform(values[..., 0], values[..., 1])
    return values


class RIRMultiSpeakerSimulator(MultiSpeakerSimulator):
    """:class:`MultiSpeakerSimulator` whose sentences are convolved with simulated room impulse responses.

    A shoebox room is simulated once per session (with ``pyroomacoustics`` or ``gpuRIR``, which must be installed);
    each speaker has a source position and the session has ``num_channels`` microphones, so the session wav is
    (T, num_channels). A sentence's RTTM/JSON span includes its reverberation tail. Background noise, when
    enabled, is played from ``room_config.noise_src_pos``.

    Config (in addition to :class:`MultiSpeakerSimulator`'s), under ``data_simulator.rir_generation``:
        toolkit: "pyroomacoustics" or "gpuRIR".
        room_config: ``room_sz`` ([x, y, z] in m, or a ``[low, high]`` range per dimension), ``pos_src`` (one
            position per speaker, each coordinate fixed or a range), ``noise_src_pos``.
        mic_config: ``num_channels``, ``pos_rcv`` (one position per channel, fixed or ranges), ``orV_rcv``
            (orientations, gpuRIR only) and ``mic_pattern`` ("omni" for pyroomacoustics).
        absorbtion_params: ``T60`` (s); gpuRIR also uses ``abs_weights``, ``att_diff`` and ``att_max`` (dB).
    """

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self._rir: np.ndarray | None = None
        self._check_args_rir()

    def _require_toolkit(self, toolkit: str) -> None:
        """Raise ImportError when the RIR toolkit is not installed."""
        if importlib.util.find_spec(_RIR_TOOLKITS[toolkit]) is None:
            raise ImportError(
                f"rir_generation.toolkit={toolkit!r} needs the `{_RIR_TOOLKITS[toolkit]}` package, which is not "
                f"installed (it is not a dependency of nemo-asr). Install it, choose the other toolkit, or use "
                "MultiSpeakerSimulator (rir_generation.use_rir=False)."
            )

    def _check_args_rir(self) -> None:
        """Validate ``rir_generation``; raise ValueError naming the key, ImportError for a missing toolkit."""
        sim = self._params.data_simulator
        rir_cfg = sim.rir_generation
        if rir_cfg.toolkit not in _RIR_TOOLKITS:
            raise ValueError(f"rir_generation.toolkit={rir_cfg.toolkit!r}; use one of {list(_RIR_TOOLKITS)}.")
        self._require_toolkit(rir_cfg.toolkit)
        room, mics = rir_cfg.room_config, rir_cfg.mic_config
        if len(room.room_sz) != 3:
            raise ValueError(
                f"rir_generation.room_config.room_sz needs 3 dimensions, got {len(room.room_sz)}."
            )
        if mics.num_channels < 1:
            raise ValueError("rir_generation.mic_config.num_channels must be at least 1.")
        if len(room.pos_src) != sim.session_config.num_speakers:
            raise ValueError(
                f"rir_generation.room_config.pos_src has {len(room.pos_src)} positions for "
                f"session_config.num_speakers={sim.session_config.num_speakers}; give one per speaker."
            )
        if len(mics.pos_rcv) != mics.num_channels:
            raise ValueError(
                f"rir_generation.mic_config.pos_rcv has {len(mics.pos_rcv)} positions for num_channels="
                f"{mics.num_channels}; give one per channel."
            )
        for key, positions in (("room_config.pos_src", room.pos_src), ("mic_config.pos_rcv", mics.pos_rcv)):
            if any(len(position) != 3 for position in positions):
                raise ValueError(f"Every rir_generation.{key} entry needs 3 coordinates.")
        if not mics.get("orV_rcv", None) and mics.mic_pattern != "omni":
            raise ValueError("rir_generation.mic_config.orV_rcv is needed when mic_pattern is not 'omni'.")
        if mics.get("orV_rcv", None):
            if len(mics.orV_rcv) != len(mics.pos_rcv) or any(len(v) != 3 for v in mics.orV_rcv):
                raise ValueError(
                    "rir_generation.mic_config.orV_rcv needs one 3-D orientation per microphone."
                )
        if rir_cfg.toolkit == "pyroomacoustics" and mics.mic_pattern != "omni":
            raise ValueError("With pyroomacoustics only mic_pattern='omni' is supported.")

    def _room_geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(room (3,), sources (S, 3), mics (C, 3))`` for this session; the noise source is last when noise is on."""
        sim = self._params.data_simulator
        room_cfg, mic_cfg = sim.rir_generation.room_config, sim.rir_generation.mic_config
        room = _draw_positions(room_cfg.room_sz, 1)
        sources = _draw_positions(room_cfg.pos_src, 2)
        if sim.background_noise.add_bg:
            sources = np.vstack((sources, np.asarray(list(room_cfg.noise_src_pos), dtype=np.float64)))
        mics = _draw_positions(mic_cfg.pos_rcv, 2)
        return room, sources, mics

    def _generate_rir_pyroomacoustics(self) -> np.ndarray:
        """RIRs (S, C, L) of a shoebox room with pyroomacoustics (image sources, T60 by Sabine's formula)."""
        import pyroomacoustics as pra

        sim = self._params.data_simulator
        room_dim, sources, mics = self._room_geometry()
        absorption, max_order = pra.inverse_sabine(sim.rir_generation.absorbtion_params.T60, room_dim)
        room = pra.ShoeBox(room_dim, fs=sim.sr, materials=pra.Material(absorption), max_order=max_order)
        for position in sources:
            room.add_source(position)
        room.add_microphone_array(mics.T)
        room.compute_rir()
        per_source = convert_rir_to_multichannel(room.rir)  # S x (L_s, C)
        length = max(r.shape[0] for r in per_source)
        return np.stack([np.pad(r, ((0, length - r.shape[0]), (0, 0))).T for r in per_source])

    def _generate_rir_gpuRIR(self) -> np.ndarray:
        """RIRs (S, C, L) of a shoebox room with gpuRIR (image sources up to ``att_diff``, diffuse model after)."""
        import gpuRIR

        sim = self._params.data_simulator
        absorption, mic_cfg = sim.rir_generation.absorbtion_params, sim.rir_generation.mic_config
        room_dim, sources, mics = self._room_geometry()
        t60 = absorption.T60
        reflection = gpuRIR.beta_SabineEstimation(room_dim, t60, abs_weights=list(absorption.abs_weights))
        t_diffuse = gpuRIR.att2t_SabineEstimator(absorption.att_diff, t60)
        t_max = gpuRIR.att2t_SabineEstimator(absorption.att_max, t60)
        orientations = np.asarray(list(mic_cfg.orV_rcv), dtype=np.float64) if mic_cfg.get("orV_rcv") else None
        return np.asarray(
            gpuRIR.simulateRIR(
                room_dim,
                reflection,
                sources,
                mics,
                gpuRIR.t2n(t_diffuse, room_dim),
                t_max,
                sim.sr,
                Tdiff=t_diffuse,
                orV_rcv=orientations,
                mic_pattern=mic_cfg.mic_pattern,
            )
        )

    def _simulate_rir(self) -> np.ndarray:
        """This session's RIRs, (num_sources, num_channels, L)."""
        if self._params.data_simulator.rir_generation.toolkit == "gpuRIR":
            return self._generate_rir_gpuRIR()
        return self._generate_rir_pyroomacoustics()

    def _num_channels(self) -> int:
        return int(self._params.data_simulator.rir_generation.mic_config.num_channels)

    def _start_session(self) -> None:
        self._rir = np.asarray(self._simulate_rir(), dtype=np.float64)
        expected = (len(self._params.data_simulator.rir_generation.room_config.pos_src), self._num_channels())
        if self._rir.ndim != 3 or self._rir.shape[1] != expected[1] or self._rir.shape[0] < expected[0]:
            raise RuntimeError(
                f"Simulated RIRs have shape {self._rir.shape}; expected ({expected[0]}+, {expected[1]}, L)."
            )

    def _sentence_tail_samples(self) -> int:
        return self._rir.shape[-1] - 1

    def _convolve_rir(
        self, input: torch.Tensor | np.ndarray, speaker_turn: int, RIR: np.ndarray
    ) -> tuple[list, int]:
        """``input`` (T,) convolved with the RIRs of source ``speaker_turn`` (``RIR`` is (S, C, L)).

        Returns:
            ``(channels, length)``: one (T + L - 1,) tensor per microphone, and that length.
        """
        signal = input.detach().cpu().numpy() if isinstance(input, torch.Tensor) else np.asarray(input)
        channels = [torch.from_numpy(convolve(signal, RIR[speaker_turn, c])) for c in range(RIR.shape[1])]
        return channels, max(len(c) for c in channels)

    def _render_sentence(self, speaker_turn: int) -> torch.Tensor:
        channels, _ = self._convolve_rir(self._sentence, speaker_turn, self._rir)
        return torch.stack(channels, dim=1).to(self._device)

    def _add_background(self, array: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        channels, _ = self._convolve_rir(noise, -1, self._rir)
        reverberant = torch.stack([c[: array.shape[0]] for c in channels], dim=1)
        return array + reverberant.to(array.device, array.dtype)


# ====================================================================================================================
# Angles and microphone arrays
# ====================================================================================================================

_ANGLE_LIMITS = {"azimuth": 180, "elevation": 90, "yaw": 180, "pitch": 90, "roll": 180}


def check_angle(key: str, val: float | Iterable[float]) -> bool:
    """Check that angle(s) in degrees are in range: azimuth, yaw, roll in [-180, 180]; elevation, pitch in [-90, 90].

    Returns:
        True.

    Raises:
        ValueError: an unknown ``key`` or a value out of range.
    """
    if key not in _ANGLE_LIMITS:
        raise ValueError(f"Unknown angle {key!r}; expected one of {list(_ANGLE_LIMITS)}.")
    values = np.atleast_1d(np.asarray(val, dtype=np.float64))
    limit = _ANGLE_LIMITS[key]
    if values.size and (values.min() < -limit or values.max() > limit):
        raise ValueError(
            f"Invalid value for angle {key} = {val}: must be within [-{limit}, {limit}] degrees."
        )
    return True


def wrap_to_180(angle: float | np.ndarray) -> float | np.ndarray:
    """``angle`` (degrees) wrapped into [-180, 180); e.g. 181 -> -179, 360 -> 0."""
    return (
        np.mod(np.asarray(angle) + 180, 360) - 180
        if isinstance(angle, np.ndarray)
        else (angle + 180) % 360 - 180
    )


class ArrayGeometry:
    """Microphone array positions with translation, rotation and spherical coordinates of points.

    Args:
        mic_positions: (num_mics, 3) coordinates in metres.
        center: array center (default: the mean of ``mic_positions``).
        internal_cs: (3, 3) rows are the array's own x, y, z axes in global coordinates (default: identity);
            rotating the array rotates them too.
    """

    def __init__(
        self,
        mic_positions: np.ndarray | Sequence[Sequence[float]],
        center: np.ndarray | None = None,
        internal_cs: np.ndarray | None = None,
    ) -> None:
        positions = np.asarray(mic_positions, dtype=np.float64)
        if positions.ndim != 2:
            raise ValueError(
                f"mic_positions must be a 2-D (num_mics, 3) array, got {positions.ndim} dimensions."
            )
        if positions.shape[1] != 3:
            raise ValueError(f"mic_positions must hold 3-D positions, got {positions.shape[1]}-D positions.")
        mean = positions.mean(axis=0)
        self.centered_positions = positions - mean
        self.center = mean if center is None else center
        self.internal_cs = np.eye(3) if internal_cs is None else np.asarray(internal_cs, dtype=np.float64)

    @property
    def num_mics(self) -> int:
        return self.centered_positions.shape[0]

    @property
    def positions(self) -> np.ndarray:
        """Absolute positions (num_mics, 3)."""
        return self.centered_positions + self.center

    @property
    def internal_positions(self) -> np.ndarray:
        """Positions (num_mics, 3) in the array's internal coordinate system."""
        return self.centered_positions @ self.internal_cs.T

    @property
    def radius(self) -> float:
        """Largest distance of a microphone from the center."""
        return float(np.max(np.linalg.norm(self.centered_positions, axis=1)))

    @staticmethod
    def get_rotation(yaw: float = 0, pitch: float = 0, roll: float = 0) -> Rotation:
        """Rotation by yaw (about z), then pitch (about the new y), then roll (about the new x), in degrees,
        each by the right-hand rule."""
        check_angle("yaw", yaw)
        check_angle("pitch", pitch)
        check_angle("roll", roll)
        return Rotation.from_euler("ZYX", [yaw, pitch, roll], degrees=True)

    def translate(self, to: np.ndarray) -> None:
        """Move the array center to ``to`` (3,); the shape and orientation are kept."""
        self.center = to

    def rotate(self, yaw: float = 0, pitch: float = 0, roll: float = 0) -> None:
        """Rotate the microphones and the internal axes about the center (see :meth:`get_rotation`)."""
        rotation = self.get_rotation(yaw=yaw, pitch=pitch, roll=roll)
        self.centered_positions = rotation.apply(self.centered_positions)
        self.internal_cs = rotation.apply(self.internal_cs)

    def new_rotated_array(self, yaw: float = 0, pitch: float = 0, roll: float = 0) -> ArrayGeometry:
        """A rotated copy of this array (this one is unchanged)."""
        rotated = copy.deepcopy(self)
        rotated.rotate(yaw=yaw, pitch=pitch, roll=roll)
        return rotated

    def spherical_relative_to_array(
        self, point: np.ndarray, use_internal_cs: bool = True
    ) -> tuple[float, float, float]:
        """``(distance, azimuth, elevation)`` of ``point`` (3,) from the center, angles in degrees, measured in the
        internal axes (or the global axes when ``use_internal_cs`` is False)."""
        relative = np.asarray(point, dtype=np.float64) - self.center
        distance = float(np.linalg.norm(relative))
        if use_internal_cs:
            relative = self.internal_cs @ relative
        azimuth = float(np.degrees(np.arctan2(relative[1], relative[0])))
        elevation = float(np.degrees(np.arcsin(relative[2] / distance)))
        return distance, azimuth, elevation

    def __str__(self) -> str:
        with np.printoptions(precision=3, suppress=True):
            return (
                f"{type(self).__name__}:\ncenter =\n{self.center}\ncentered positions =\n{self.centered_positions}\n"
                f"radius =\n{self.radius:.3}\nabsolute positions =\n{self.positions}\n"
                f"internal coordinate system =\n{self.internal_cs}\n"
            )

    def plot(self, elev: float = 30, azim: float = -55, mic_size: float = 25) -> None:
        """Show the microphones and the internal axes in a 3-D matplotlib plot."""
        import matplotlib.pyplot as plt

        figure = plt.figure()
        axes = figure.add_subplot(projection="3d")
        positions = self.positions
        axes.scatter(positions[:, 0], positions[:, 1], positions[:, 2], marker="o", c="black", s=mic_size)
        for index, position in enumerate(positions):
            axes.text(*position, str(index), c="red")
        center = np.broadcast_to(np.asarray(self.center, dtype=np.float64), (3,))
        for dim, label in enumerate(("x'", "y'", "z'")):
            axis = self.internal_cs[dim] * self.radius
            axes.quiver(*center, *axis, linestyle=":", linewidth=1.0)
            axes.text(*(center + axis), label, c="blue")
        axes.view_init(elev=elev, azim=azim)
        for setter, value in zip((axes.set_xlim, axes.set_ylim, axes.set_zlim), center):
            setter([value - self.radius, value + self.radius])
        axes.set_xlabel("x/m")
        axes.set_ylabel("y/m")
        axes.set_zlabel("z/m")
        axes.set_title("Microphone positions")
        plt.show()


def convert_placement_to_range(
    placement: dict, room_dim: Sequence[float], object_radius: float = 0
) -> list[list[float]]:
    """``[[x_min, x_max], [y_min, y_max], [z_min, z_max]]`` where an object may be placed in a room.

    Args:
        placement: ``x``, ``y``, ``height``: None (anywhere), a value, or a ``[min, max]`` range; ``min_to_wall``:
            smallest distance from the object's edge to a wall (default 0).
        room_dim: room size (3,), positive.
        object_radius: the object's radius, non-negative.

    Raises:
        ValueError: non-positive room size, negative radius or ``min_to_wall``, a range without two values, or an
            empty range once the walls are kept at a distance.
    """
    if not np.all(np.asarray(room_dim) > 0):
        raise ValueError(f"Room dimensions must be positive: {room_dim}")
    if object_radius < 0:
        raise ValueError(f"object_radius must not be negative: {object_radius}")
    min_to_wall = placement.get("min_to_wall", 0)
    if min_to_wall < 0:
        raise ValueError(f"placement min_to_wall must not be negative: {min_to_wall}")
    ranges = []
    for dim, key in enumerate(("x", "y", "height")):
        value = placement.get(key)
        if value is None:
            low, high = 0, room_dim[dim]
        elif np.isscalar(value):
            low = high = value
        elif len(value) == 2:
            low, high = value
        else:
            raise ValueError(
                f"placement {key} must be None, a value or [min, max]; got {value} in {placement}."
            )
        low = max(low, min_to_wall + object_radius)
        high = min(high, room_dim[dim] - min_to_wall - object_radius)
        if low > high or min(low, high) < 0:
            raise ValueError(f"Empty placement range for {key} (dimension {dim}): min={low}, max={high}.")
        ranges.append([low, high])
    return ranges


# ====================================================================================================================
# RIR files and helpers
# ====================================================================================================================


def _import_h5py():
    try:
        import h5py
    except ImportError as err:
        raise ImportError(
            "Reading or writing simulated RIR files (.h5) needs the `h5py` package, which is not installed "
            "(it is not a dependency of nemo-asr); install h5py."
        ) from err
    return h5py


def save_rir_simulation(filepath: str, rir_dataset: dict[str, list[np.ndarray]], metadata: dict) -> None:
    """Write RIR sets and metadata to an HDF5 file: group ``<key>/<source index>`` per RIR, ``metadata/<name>``.

    Raises:
        RuntimeError: ``filepath`` exists.
        ValueError: a RIR set does not have ``metadata['num_sources']`` entries.
    """
    h5py = _import_h5py()
    if os.path.exists(filepath):
        raise RuntimeError(f"Output file exists: {filepath}")
    num_sources = metadata["num_sources"]
    with h5py.File(filepath, "w") as h5f:
        for key, rirs in rir_dataset.items():
            if len(rirs) != num_sources:
                raise ValueError(
                    f"RIR set {key!r} has {len(rirs)} entries; metadata num_sources is {num_sources}."
                )
            group = h5f.create_group(key)
            for index, rir in enumerate(rirs):
                group.create_dataset(str(index), data=rir)
        meta_group = h5f.create_group("metadata")
        for key, value in metadata.items():
            meta_group.create_dataset(key, data=value)


def load_rir_simulation(filepath: str, source: int = 0, rir_key: str = "rir") -> tuple[np.ndarray, float]:
    """``(rir (L, C), sample_rate)`` of ``source`` from a file written by :func:`save_rir_simulation`."""
    h5py = _import_h5py()
    with h5py.File(filepath, "r") as h5f:
        rir = h5f[rir_key][str(source)][:]
        sample_rate = h5f["metadata"]["sample_rate"][()]
    return rir, sample_rate


def convert_numpy_to_serializable(data: Any) -> Any:
    """``data`` with numpy arrays turned into lists and numpy scalars into Python numbers (dicts are changed
    in place), so it can be written as JSON."""
    if isinstance(data, dict):
        for key, value in data.items():
            data[key] = convert_numpy_to_serializable(value)
        return data
    if isinstance(data, list):
        return [convert_numpy_to_serializable(item) for item in data]
    if isinstance(data, np.ndarray):
        return data.tolist()
    if isinstance(data, np.generic):
        return data.item()
    return data


def convert_rir_to_multichannel(rir: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """Per-source (L, num_mics) arrays from ``rir[mic][source]`` 1-D RIRs, zero-padded to the longest channel."""
    num_mics, num_sources = len(rir), len(rir[0])
    multichannel = []
    for source in range(num_sources):
        length = max(len(rir[mic][source]) for mic in range(num_mics))
        stacked = np.zeros((length, num_mics))
        for mic in range(num_mics):
            stacked[: len(rir[mic][source]), mic] = rir[mic][source]
        multichannel.append(stacked)
    return multichannel


def convolve_rir(signal: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``signal`` (T,) convolved with ``rir`` (L,) or (L, C), cut to T samples: (T,) or (T, C)."""
    num_samples = len(signal)
    if rir.ndim == 1:
        return convolve(signal, rir)[:num_samples]
    if rir.ndim == 2:
        return np.stack([convolve(signal, rir[:, c])[:num_samples] for c in range(rir.shape[1])], axis=1)
    raise RuntimeError(f"RIR with {rir.ndim} dimensions is not supported; expected (L,) or (L, C).")


def calculate_drr(
    rir: np.ndarray, sample_rate: float, n_direct: Sequence[int], n_0_ms: float = 2.5
) -> list[float]:
    """Direct-to-reverberant ratio (dB) per channel of ``rir`` (L, C): energy within ``n_0_ms`` of the direct
    path delay ``n_direct[c]`` against the energy elsewhere (Eaton et al., ACE challenge, WASPAA 2015, eq. 3)."""
    half_window = int(n_0_ms * sample_rate / 1000)
    energy = np.abs(rir) ** 2
    drr = []
    for channel in range(rir.shape[1]):
        low, high = max(n_direct[channel] - half_window, 0), n_direct[channel] + half_window
        direct = np.sum(energy[low:high, channel])
        reverberant = np.sum(energy[:, channel]) - direct
        drr.append(pow2db(direct / reverberant))
    return drr


def normalize_max(x: np.ndarray, max_db: float = 0, eps: float = 1e-16) -> np.ndarray:
    """``x`` scaled so its peak magnitude is ``max_db`` dB of full scale."""
    return db2mag(max_db) * x / (np.max(np.abs(x)) + eps)


def simultaneously_active_rms(
    x: np.ndarray,
    y: np.ndarray,
    sample_rate: float,
    rms_threshold_db: float = -60,
    window_len_ms: float = 200,
    min_active_duration: float = 0.5,
) -> tuple[float, float]:
    """RMS of ``x`` and of ``y`` (same length, time first) over the windows where both are active.

    A window is active for a signal when its RMS, after peak normalization, exceeds ``rms_threshold_db``.

    Raises:
        RuntimeError: different lengths, or less than ``min_active_duration`` seconds of joint activity.
    """
    if len(x) != len(y):
        raise RuntimeError(f"Expecting signals of same length: len(x)={len(x)}, len(y)={len(y)}")
    window = int(window_len_ms * sample_rate / 1000)
    threshold = db2mag(rms_threshold_db)
    x_peak, y_peak = normalize_max(x), normalize_max(y)
    x_energy = y_energy = 0.0
    active = 0
    for start in range(0, len(x) - window, window):
        span = slice(start, start + window)
        if rms(x_peak[span]) > threshold and rms(y_peak[span]) > threshold:
            x_energy += np.sum(np.abs(x[span]) ** 2)
            y_energy += np.sum(np.abs(y[span]) ** 2)
            active += window
    if active < int(min_active_duration * sample_rate):
        raise RuntimeError(
            f"Signals are simultaneously active less than {min_active_duration} s: only {active / sample_rate} s"
        )
    return np.sqrt(x_energy / active), np.sqrt(y_energy / active)


def scaled_disturbance(
    signal: np.ndarray,
    disturbance: np.ndarray,
    sdr: float,
    sample_rate: float | None = None,
    ref_channel: int = 0,
    eps: float = 1e-16,
) -> np.ndarray:
    """``disturbance`` (T, C) scaled so that the signal-to-disturbance ratio at ``ref_channel``, over the
    windows where both are active, is ``sdr`` dB.

    Raises:
        ValueError: ``signal`` and ``disturbance`` shapes differ.
    """
    if signal.shape != disturbance.shape:
        raise ValueError(f"Signal and disturbance shapes do not match: {signal.shape} != {disturbance.shape}")
    signal_rms, disturbance_rms = simultaneously_active_rms(
        signal[:, ref_channel], disturbance[:, ref_channel], sample_rate=sample_rate
    )
    return db2mag(-sdr) * signal_rms / (disturbance_rms + eps) * disturbance


def check_min_sample_rate(filepath: str, sample_rate: float) -> None:
    """Raise RuntimeError when ``filepath`` has a lower sample rate than ``sample_rate`` (only downsampling is allowed)."""
    file_rate = sf.info(filepath).samplerate
    if file_rate < sample_rate:
        raise RuntimeError(
            f"Sample rate ({file_rate}) is lower than the desired sample rate ({sample_rate}). File: {filepath}."
        )


def _source_path(item: dict, audio_dir: str | None) -> str:
    path = item["audio_filepath"]
    return os.path.join(audio_dir, path) if audio_dir is not None and not os.path.isabs(path) else path


def _load_until(
    audio_data: Sequence[dict],
    audio_dir: str | None,
    sample_rate: int,
    samples_needed: int,
    random_offset: bool,
) -> tuple[np.ndarray, dict]:
    """Random items, each peak-normalized, concatenated until ``samples_needed`` samples: ``(signal (T,), metadata)``.

    With ``random_offset``, an item longer than needed is read from a random offset to its end; a multichannel
    item contributes one random channel.
    """
    pieces, metadata = [], {"audio_filepath": [], "duration": [], "offset": [], "text": []}
    remaining = samples_needed
    while remaining > 0:
        item = random.choice(audio_data)
        path = _source_path(item, audio_dir)
        check_min_sample_rate(path, sample_rate)
        offset, duration = item.get("offset", 0), item["duration"]
        if random_offset and (max_offset := item["duration"] - np.ceil(remaining / sample_rate)) > 0:
            offset, duration = random.uniform(0, max_offset), 0
        segment = AudioSegment.from_file(path, target_sr=sample_rate, offset=offset, duration=duration)
        samples = segment.samples
        if samples.ndim > 1:
            samples = samples[:, random.choice(range(samples.shape[1]))]
        metadata["audio_filepath"].append(path)
        metadata["duration"].append(len(samples) / sample_rate)
        metadata["offset"].append(offset)
        metadata["text"].append(item.get("text"))
        pieces.append(normalize_max(samples))
        remaining -= len(samples)
    return np.concatenate(pieces), metadata


def prepare_source_signal(
    signal_type: str,
    sample_rate: int,
    audio_data: Sequence[dict] | None,
    audio_dir: str | None = None,
    min_duration: float | None = None,
    ref_signal: np.ndarray | None = None,
    mic_positions: np.ndarray | None = None,
    num_retries: int = 10,
) -> tuple[np.ndarray | None, dict] | None:
    """A source signal made of random manifest items (drawn with Python's ``random``), each peak-normalized.

    Args:
        signal_type: ``'point'`` (one channel) or ``'diffuse'`` (a spherically diffuse field at ``mic_positions``,
            needs ``ref_signal``).
        sample_rate: sample rate of the result.
        audio_data: items with ``audio_filepath``, ``duration`` and optionally ``offset`` and ``text``.
        audio_dir: folder of relative ``audio_filepath``.
        min_duration: without ``ref_signal``: seconds to load at least (default: one item).
        ref_signal: the result gets its length and must be active together with it for at least 0.5 s.
        mic_positions: (M, 3) microphone positions for ``'diffuse'``.
        num_retries: draws tried to find a signal active together with ``ref_signal``.

    Returns:
        None when ``audio_data`` is None; else ``(signal, metadata)`` with signal (T,) for a point source (T, 1)
        when ``ref_signal`` is 2-D, (T, M) for a diffuse one, or None when no draw overlapped ``ref_signal``.
        Metadata holds ``source_signals`` (paths, durations, offsets of the items) and, without ``ref_signal``,
        ``duration``, ``offset`` and ``text`` (when every item has one).
    """
    if signal_type not in ("point", "diffuse"):
        raise ValueError(f"Unexpected signal type {signal_type!r}; use 'point' or 'diffuse'.")
    if audio_data is None:
        return None
    if ref_signal is None:
        if signal_type != "point":
            raise ValueError("A 'diffuse' source signal needs ref_signal (and mic_positions).")
        needed = int(min_duration * sample_rate) if min_duration is not None else 1
        signal, sources = _load_until(audio_data, audio_dir, sample_rate, needed, random_offset=False)
        metadata: dict = {"duration": sum(sources["duration"]), "offset": 0}
        if all(isinstance(text, str) for text in sources["text"]):
            metadata["text"] = " ".join(sources["text"])
        metadata["source_signals"] = sources
        return signal, metadata

    total = len(ref_signal)
    num_mics = len(mic_positions) if signal_type == "diffuse" else 1
    signal, sources = None, {}
    for _ in range(num_retries):
        signal, sources = _load_until(
            audio_data, audio_dir, sample_rate, num_mics * total, random_offset=True
        )
        sources.pop("text")
        if signal_type == "diffuse":
            channels = signal[: num_mics * total].reshape(num_mics, total).T
            signal = (
                generate_approximate_noise_field(
                    mic_positions=np.asarray(mic_positions), noise_signal=channels, sample_rate=sample_rate
                )
                if num_mics > 1
                else channels
            )
        signal = signal[:total]
        if ref_signal.ndim == 2 and signal.ndim == 1:
            signal = signal[:, None]
        try:
            simultaneously_active_rms(ref_signal, signal, sample_rate=sample_rate)
            break
        except RuntimeError as err:
            logging.info(f"{err}; drawing the {signal_type} signal again.")
            signal, sources = None, {}
    if signal is None:
        logging.warning(f"No {signal_type} signal active together with the reference in {num_retries} draws.")
    return signal, {"source_signals": sources}


def _early_rir(
    rir: np.ndarray, rir_anechoic: np.ndarray, sample_rate: int, early_duration: float = 0.050
) -> np.ndarray:
    """``rir`` (L, C) zeroed from ``early_duration`` after the earliest direct path of ``rir_anechoic``."""
    direct = int(np.min(np.argmax(rir_anechoic, axis=0)))
    early = rir.copy()
    early[direct + int(early_duration * sample_rate) :, :] = 0
    return early


def _load_room_rir(
    filepath: str, source: int, selected_mics: Sequence[int], sample_rate: int, key: str = "rir"
):
    rir, rir_rate = load_rir_simulation(filepath, source=source, rir_key=key)
    if rir_rate != sample_rate:
        raise RuntimeError(
            f"RIR sample rate ({rir_rate}) is not the expected {sample_rate}. File: {filepath}"
        )
    return rir[:, list(selected_mics)]


def simulate_room_mix(
    sample_rate: int,
    target_cfg: dict,
    interference_cfg: list[dict] | None,
    mix_cfg: dict,
    audio_metadata: dict,
    base_output_filepath: str,
    max_amplitude: float = 0.999,
    eps: float = 1e-16,
) -> dict:
    """Simulate the microphone signals of a target in a room with diffuse noise and interferers.

    The target and interferers are convolved with RIRs from ``target_cfg['room_filepath']`` (an HDF5 file written
    by :func:`save_rir_simulation`; needs ``h5py``); noise and interference are scaled to ``mix_cfg['rsnr']`` and
    ``mix_cfg['rsir']`` dB against the reverberant target at ``ref_mic``; the sum is set to ``ref_mic_rms`` dBFS
    at ``ref_mic`` (lowered when the peak would exceed ``max_amplitude``). All components get the same gain, so
    ``target_reverberant + noise + interference == mic``.

    Args:
        sample_rate: sample rate of every signal.
        target_cfg: ``room_filepath``, ``source``, ``selected_mics``, ``mic_positions`` (M, 3) and optionally
            ``rt60``.
        interference_cfg: one dict per interferer with ``source`` and ``selected_mics``, or None.
        mix_cfg: ``rsnr``, ``rsir``, ``ref_mic``, ``ref_mic_rms``, ``min_duration`` (s of target to load) and
            ``save``: per component (mic, target_reverberant, target_anechoic, target_early, noise, interference)
            "all" (default), "ref_mic" or a false value (not saved), plus ``format`` and ``subtype`` of the files.
        audio_metadata: ``target``, ``noise``, ``interference``: manifest items, with folders ``<key>_dir``.
        base_output_filepath: component ``c`` is written to ``<base_output_filepath>_<c>.<format>``.
        max_amplitude: peak limit of the mic signal.
        eps: regularization.

    Returns:
        The output-manifest line: file paths, text, duration, the configs, ``ref_channel``, ``rt60``, ``drr`` per
        channel, ``rsnr``, ``rsir`` and the source signals used (JSON-serializable).
    """
    room_file, selected = target_cfg["room_filepath"], target_cfg["selected_mics"]
    target_rir = _load_room_rir(room_file, target_cfg["source"], selected, sample_rate)
    target_rir_anechoic = _load_room_rir(
        room_file, target_cfg["source"], selected, sample_rate, key="anechoic"
    )
    target_rir_early = _early_rir(target_rir, target_rir_anechoic, sample_rate)

    target, target_metadata = prepare_source_signal(
        "point",
        sample_rate,
        audio_metadata["target"],
        audio_dir=audio_metadata["target_dir"],
        min_duration=mix_cfg["min_duration"],
    )
    sources = {"target": target_metadata["source_signals"]}
    target_reverberant = convolve_rir(target, target_rir)
    target_anechoic = convolve_rir(target, target_rir_anechoic)
    target_early = convolve_rir(target, target_rir_early)

    noise, noise_metadata = prepare_source_signal(
        "diffuse",
        sample_rate,
        audio_metadata["noise"],
        audio_dir=audio_metadata["noise_dir"],
        ref_signal=target_reverberant,
        mic_positions=target_cfg["mic_positions"],
    )
    sources["noise"] = noise_metadata["source_signals"]

    interference = None
    if interference_cfg is not None:
        interference = 0
        sources["interference"] = []
        for item in interference_cfg:
            signal, item_metadata = prepare_source_signal(
                "point",
                sample_rate,
                audio_metadata["interference"],
                audio_dir=audio_metadata["interference_dir"],
                ref_signal=target,
            )
            sources["interference"].append(item_metadata["source_signals"])
            rir = _load_room_rir(room_file, item["source"], item["selected_mics"], sample_rate)
            interference = interference + convolve_rir(
                np.squeeze(signal, axis=-1) if signal.ndim == 2 else signal, rir
            )

    mic = target_reverberant.copy()
    ref_mic = mix_cfg["ref_mic"]
    if noise is not None:
        noise = scaled_disturbance(
            target_reverberant, noise, mix_cfg["rsnr"], sample_rate, ref_channel=ref_mic
        )
        mic += noise
    if interference is not None:
        interference = scaled_disturbance(
            target_reverberant, interference, mix_cfg["rsir"], sample_rate, ref_channel=ref_mic
        )
        mic += interference

    gain = db2mag(mix_cfg["ref_mic_rms"]) / (rms(mic[:, ref_mic]) + eps)
    peak = np.max(np.abs(mic)) * gain
    if peak > max_amplitude:
        protection = max_amplitude / peak
        gain *= protection
        mix_cfg["ref_mic_rms"] += mag2db(protection)
        logging.debug(f"Clipping prevented for {base_output_filepath} (gain {mag2db(protection):.2f} dB)")

    components = {
        "mic": mic,
        "target_reverberant": target_reverberant,
        "target_anechoic": target_anechoic,
        "target_early": target_early,
        "noise": noise,
        "interference": interference,
    }
    save_cfg = mix_cfg["save"]
    metadata: dict = {}
    for tag, signal in components.items():
        path = None
        save = save_cfg.get(tag, "all")
        if signal is not None and save:
            signal = gain * signal
            if save == "ref_mic":
                signal = signal[:, ref_mic]
            path = f"{base_output_filepath}_{tag}.{save_cfg.get('format', 'wav')}"
            sf.write(path, signal, sample_rate, save_cfg.get("subtype", "float"))
        metadata["audio_filepath" if tag == "mic" else f"{tag}_filepath"] = path

    metadata.update(
        {
            "text": target_metadata.get("text"),
            "duration": target_metadata["duration"],
            "target_cfg": target_cfg,
            "interference_cfg": interference_cfg,
            "mix_cfg": mix_cfg,
            "ref_channel": mix_cfg.get("ref_mic"),
            "rt60": target_cfg.get("rt60"),
            "drr": calculate_drr(target_rir, sample_rate, n_direct=np.argmax(target_rir_anechoic, axis=0)),
            "rsnr": None if noise is None else mix_cfg["rsnr"],
            "rsir": None if interference is None else mix_cfg["rsir"],
            "source_signals": sources,
        }
    )
    return convert_numpy_to_serializable(metadata)


def simulate_room_mix_helper(example_and_audio_metadata: tuple[dict, dict]) -> dict:
    """:func:`simulate_room_mix` on ``(example_kwargs, audio_metadata)``, for ``Pool.imap``."""
    example, audio_metadata = example_and_audio_metadata
    return simulate_room_mix(**example, audio_metadata=audio_metadata)

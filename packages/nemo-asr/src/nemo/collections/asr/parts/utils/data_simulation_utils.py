"""Helpers of NeMo 1.23's multi-speaker session simulator (``nemo.collections.asr.data.data_simulation``).

Source utterances come from a manifest whose lines carry word alignments::

    {"audio_filepath": "a.wav", "duration": 3.1, "speaker_id": "42", "text": "hi there",
     "words": ["", "hi", "there", ""], "alignments": [0.31, 0.52, 0.98, 1.2]}

``words`` are tokens and ``alignments`` their END times in seconds; an empty word is a pause. Every
sample keeps an empty word first (:func:`add_silence_to_alignments` adds one at 0.0 when missing), so
word ``i`` spans ``[alignments[i - 1], alignments[i]]``.

Audio samples here are 1-D torch tensors of shape (T,). Annotation outputs follow NeMo's formats:

* RTTM: ``SPEAKER <session> 1   <start:.3f>   <duration:.3f> <NA> <NA> <speaker> <NA> <NA>``;
* CTM: :func:`~nemo.collections.asr.parts.utils.manifest_utils.get_ctm_line`, sorted by start time;
* TXT: the CTM words, each followed by a space, then a newline;
* JSON: one manifest line per inserted sentence (:meth:`DataAnnotator.create_new_json_entry`);
* META: one JSON line of session statistics.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from nemo.collections.asr.parts.preprocessing.perturb import AudioAugmentor
from nemo.collections.asr.parts.preprocessing.segment import AudioSegment
from nemo.collections.asr.parts.utils.manifest_utils import get_ctm_line, read_manifest, write_manifest
from nemo.utils import logging
from scipy.stats import beta, gamma

__all__ = [
    "DataAnnotator",
    "SpeechSampler",
    "add_silence_to_alignments",
    "binary_search_alignments",
    "build_speaker_samples_map",
    "get_background_noise",
    "get_cleaned_base_path",
    "get_desired_avg_power_noise",
    "get_power_of_audio_file",
    "get_random_offset_index",
    "get_scaled_audio_signal",
    "get_speaker_ids",
    "get_speaker_samples",
    "get_split_points_in_alignments",
    "get_subset_of_audio_manifest",
    "load_speaker_sample",
    "normalize_audio",
    "per_speaker_normalize",
    "perturb_audio",
    "read_audio_from_buffer",
    "read_noise_manifest",
    "speech_union_seconds",
]


# --------------------------------------------------------------------------------------------------------------------
# Output folder
# --------------------------------------------------------------------------------------------------------------------


def get_cleaned_base_path(output_dir: str, overwrite_output: bool = True) -> str:
    """Make ``output_dir`` an existing, empty folder and return its absolute path.

    Args:
        output_dir: the folder (created when missing).
        overwrite_output: delete what a non-empty ``output_dir`` holds; when False a non-empty folder is an error.

    Raises:
        FileExistsError: ``output_dir`` is not empty and ``overwrite_output`` is False.
    """
    if os.path.isdir(output_dir) and os.listdir(output_dir):
        if not overwrite_output:
            raise FileExistsError(
                f"Output directory {output_dir!r} is not empty and outputs.overwrite_output is False; "
                "empty it, choose another outputs.output_dir, or set outputs.overwrite_output=True."
            )
        shutil.rmtree(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    return os.path.abspath(output_dir)


# --------------------------------------------------------------------------------------------------------------------
# Reading source utterances
# --------------------------------------------------------------------------------------------------------------------


def binary_search_alignments(
    inds: Sequence[int], max_audio_read_sec: float, min_alignment_count: int, alignments: Sequence[float]
) -> int:
    """Position in ``inds`` of the last pause from which at least ``max_audio_read_sec`` of speech remains.

    The remaining speech after ``alignments[inds[k]]`` is measured up to ``alignments[-min_alignment_count]``;
    positions after ``len(inds) - 1 - min_alignment_count`` are not considered. ``alignments`` must be sorted.

    Args:
        inds: increasing indices into ``alignments`` (the pauses of an utterance).
        max_audio_read_sec: seconds of audio one read should cover.
        min_alignment_count: alignments to keep after the chosen pause.
        alignments: token end times in seconds.

    Returns:
        That position, at least 1 (the result is used as an exclusive upper bound of a random draw).
    """
    candidates = np.asarray(inds[: max(len(inds) - min_alignment_count, 0)], dtype=np.int64)
    times = np.asarray(alignments, dtype=np.float64)
    remaining = times[-min_alignment_count] - times[candidates]
    # ``remaining`` does not increase along ``candidates``, so the valid positions are a prefix.
    num_valid = int(np.count_nonzero(remaining >= max_audio_read_sec))
    return max(num_valid - 1, 1)


def get_subset_of_audio_manifest(
    audio_manifest: dict, offset_index: int, max_audio_read_sec: float, min_alignment_count: int
) -> dict:
    """Restrict ``audio_manifest`` (in place) to at most ``max_audio_read_sec`` from token ``offset_index``.

    ``offset`` becomes the end time of token ``offset_index``, ``duration`` the length covered, and ``words``
    / ``alignments`` the tokens kept, with alignments shifted so the first is 0.0. When fewer than
    ``min_alignment_count`` tokens fit, ``max_audio_read_sec`` is appended as a last (truncated) alignment.

    Returns:
        ``audio_manifest``.
    """
    times = np.asarray(audio_manifest["alignments"], dtype=np.float64)
    shifted = times[offset_index:] - times[offset_index]
    kept = shifted[shifted < max_audio_read_sec]
    if len(kept) < min_alignment_count:
        logging.warning(
            f"{audio_manifest['audio_filepath']}: only {len(kept)} alignments fit in max_audio_read_sec="
            f"{max_audio_read_sec} s after token {offset_index}; truncating the last word at that length."
        )
        kept = np.append(kept, max_audio_read_sec)
    audio_manifest["offset"] = float(times[offset_index])
    audio_manifest["duration"] = float(kept[-1] - kept[0])
    audio_manifest["alignments"] = kept.tolist()
    audio_manifest["words"] = list(audio_manifest["words"][offset_index : offset_index + len(kept)])
    return audio_manifest


def read_audio_from_buffer(
    audio_manifest: dict,
    buffer_dict: dict,
    offset_index: int,
    device: torch.device,
    max_audio_read_sec: float = 2.5,
    min_alignment_count: int = 2,
    read_subset: bool = True,
    target_sr: int | None = None,
) -> tuple[torch.Tensor, int, dict]:
    """Read an utterance (or, with ``read_subset``, a piece of it starting at a pause), caching by path and offset.

    Args:
        audio_manifest: a manifest line with ``audio_filepath`` (plus ``words`` and ``alignments`` when
            ``read_subset``); it is restricted in place by :func:`get_subset_of_audio_manifest`.
        buffer_dict: cache shared between calls; key ``"<audio_filepath>#<offset_index>"``.
        offset_index: token where the piece starts.
        device: device of the returned samples.
        max_audio_read_sec: longest piece read, in seconds.
        min_alignment_count: tokens a piece should hold.
        read_subset: read only the piece; False reads the whole file.
        target_sr: resample to this rate (``None`` keeps the file's rate).

    Returns:
        ``(samples (T,), sample_rate, audio_manifest)``; multi-channel audio is averaged to one channel.
    """
    key = f"{audio_manifest['audio_filepath']}#{offset_index}"
    if key in buffer_dict:
        return buffer_dict[key]
    if read_subset:
        audio_manifest = get_subset_of_audio_manifest(
            audio_manifest, offset_index, max_audio_read_sec, min_alignment_count
        )
        segment = AudioSegment.from_file(
            audio_manifest["audio_filepath"],
            target_sr=target_sr,
            offset=audio_manifest["offset"],
            duration=audio_manifest["duration"],
        )
        # A file shorter than its alignments claim: the last word ends with the audio.
        covered = audio_manifest["alignments"][-1] - audio_manifest["alignments"][0]
        if segment.duration < covered:
            audio_manifest["alignments"][-1] = min(segment.duration, audio_manifest["alignments"][-1])
    else:
        segment = AudioSegment.from_file(audio_manifest["audio_filepath"], target_sr=target_sr)
    samples = torch.from_numpy(np.ascontiguousarray(segment.samples))
    if samples.dim() > 1:
        samples = samples.mean(dim=1)
    buffer_dict[key] = (samples.to(device), segment.sample_rate, audio_manifest)
    return buffer_dict[key]


def get_random_offset_index(
    audio_manifest: dict,
    audio_read_buffer_dict: dict,
    offset_min: int = 0,
    max_audio_read_sec: float = 2.5,
    min_alignment_count: int = 2,
) -> int:
    """A random pause of ``audio_manifest`` to start reading from (``offset_min`` for short utterances).

    Pauses are drawn among those leaving at least ``max_audio_read_sec`` of speech (see
    :func:`binary_search_alignments`); the search result is cached in ``audio_read_buffer_dict``.

    Raises:
        ValueError: the utterance has at most ``min_alignment_count`` alignments.
    """
    words, times = audio_manifest["words"], audio_manifest["alignments"]
    if len(times) <= min_alignment_count:
        raise ValueError(
            f"Audio file {audio_manifest['audio_filepath']} has {len(times)} alignment timestamps; the simulator "
            f"needs more than {min_alignment_count}. Drop it from the manifest."
        )
    key = f"{audio_manifest['audio_filepath']}#index"
    total = times[-1] - times[0]
    if key not in audio_read_buffer_dict:
        pauses = np.flatnonzero(np.asarray(words, dtype=object) == "")
        upper = (
            1
            if total < max_audio_read_sec
            else binary_search_alignments(pauses, max_audio_read_sec, min_alignment_count, times)
        )
        audio_read_buffer_dict[key] = (pauses, upper)
    pauses, upper = audio_read_buffer_dict[key]
    if len(pauses) <= min_alignment_count or total < max_audio_read_sec:
        return offset_min
    return int(pauses[np.random.randint(offset_min, upper)])


def add_silence_to_alignments(audio_manifest: dict) -> dict:
    """Insert an empty word at 0.0 s before the first word when the manifest starts with a spoken word (in place)."""
    first = audio_manifest["words"][0]
    if isinstance(first, str) and first != "":
        audio_manifest["words"].insert(0, "")
        audio_manifest["alignments"].insert(0, 0.0)
    return audio_manifest


def load_speaker_sample(
    speaker_wav_align_map: dict[str, list[dict]],
    speaker_ids: Sequence[str],
    speaker_turn: int,
    min_alignment_count: int,
) -> dict:
    """A random utterance of speaker ``speaker_ids[speaker_turn]``, copied, starting with a pause token.

    As in NeMo, the draw is among all but the last utterance of a speaker who has more than one.

    Raises:
        ValueError: the drawn utterance has fewer than ``min_alignment_count`` alignments.
    """
    samples = speaker_wav_align_map[str(speaker_ids[speaker_turn])]
    audio_manifest = copy.deepcopy(samples[np.random.randint(0, max(len(samples) - 1, 1))])
    if len(audio_manifest["alignments"]) < min_alignment_count:
        raise ValueError(
            f"Alignments of {audio_manifest['audio_filepath']} have {len(audio_manifest['alignments'])} entries; "
            f"at least {min_alignment_count} are needed. Drop it from the manifest."
        )
    return add_silence_to_alignments(audio_manifest)


# --------------------------------------------------------------------------------------------------------------------
# Speakers and noise sources
# --------------------------------------------------------------------------------------------------------------------


def build_speaker_samples_map(manifest: Iterable[dict]) -> dict[str, list[dict]]:
    """Manifest lines grouped by their ``speaker_id`` (a defaultdict, speakers in first-seen order).

    Raises:
        KeyError: a line has no ``speaker_id``.
    """
    speaker_samples: dict[str, list[dict]] = defaultdict(list)
    for line_number, sample in enumerate(manifest, start=1):
        if "speaker_id" not in sample:
            raise KeyError(
                f"Manifest line {line_number} ({sample.get('audio_filepath')!r}) has no 'speaker_id'; the simulator "
                "needs speaker_id, words and alignments on every line."
            )
        speaker_samples[sample["speaker_id"]].append(sample)
    return speaker_samples


def get_speaker_ids(sess_idx: int, speaker_samples: dict, permutated_speaker_inds: np.ndarray) -> list[str]:
    """Speaker ids of session ``sess_idx``: row ``sess_idx`` of ``permutated_speaker_inds`` (num_sessions, num_speakers)
    indexes the keys of ``speaker_samples``."""
    all_ids = list(speaker_samples.keys())
    return [all_ids[i] for i in permutated_speaker_inds[sess_idx, :]]


def get_speaker_samples(speaker_ids: Iterable[str], speaker_samples: dict) -> dict[str, list[dict]]:
    """The utterance lists of ``speaker_ids`` only (a defaultdict)."""
    selected: dict[str, list[dict]] = defaultdict(list)
    for speaker_id in speaker_ids:
        selected[speaker_id] = speaker_samples[speaker_id]
    return selected


def read_noise_manifest(add_bg: bool, background_manifest: str | Sequence[str] | None) -> list[dict]:
    """All lines of the background-noise manifest(s), or ``[]`` when ``add_bg`` is False.

    Raises:
        FileNotFoundError: ``add_bg`` is True and ``background_manifest`` is None or names a missing file.
    """
    if not add_bg:
        return []
    if background_manifest is None:
        raise FileNotFoundError(
            "background_noise.add_bg=True but background_noise.background_manifest is None; give a noise manifest "
            "path (or a list of paths), or set add_bg=False."
        )
    paths = [background_manifest] if isinstance(background_manifest, str) else list(background_manifest)
    noise_manifest: list[dict] = []
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"Noise manifest file {path!r} (background_noise.background_manifest) not found."
            )
        noise_manifest.extend(read_manifest(path))
    return noise_manifest


# --------------------------------------------------------------------------------------------------------------------
# Signal levels
# --------------------------------------------------------------------------------------------------------------------


def perturb_audio(
    audio: torch.Tensor | np.ndarray,
    sr: int,
    augmentor: AudioAugmentor | None = None,
    device: torch.device | None = None,
) -> torch.Tensor | np.ndarray:
    """``audio`` (T,) or (T, C) passed through ``augmentor`` (returned unchanged when it is None), as a tensor on
    ``device`` (CPU by default)."""
    if augmentor is None:
        return audio
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    segment = AudioSegment(audio, sample_rate=sr)
    augmentor.perturb(segment)
    return torch.from_numpy(np.ascontiguousarray(segment.samples)).to(device or torch.device("cpu"))


def normalize_audio(array: torch.Tensor) -> torch.Tensor:
    """``array`` divided by its peak magnitude, so the peak is exactly 1 (any shape)."""
    return array / torch.max(torch.abs(array))


def get_power_of_audio_file(
    audio_file: torch.Tensor, end_audio_file: int, running_len_samples: int, device: torch.device
) -> torch.Tensor:
    """Mean square of the first ``end_audio_file - running_len_samples`` samples of ``audio_file`` (T,)."""
    return torch.mean(audio_file[: end_audio_file - running_len_samples] ** 2).to(device)


def get_scaled_audio_signal(
    audio_file: torch.Tensor,
    end_audio_file: int,
    running_len_samples: int,
    desired_avg_power_noise: float | torch.Tensor,
    device: torch.device,
) -> torch.Tensor:
    """The first ``end_audio_file - running_len_samples`` samples of ``audio_file`` scaled to mean square
    ``desired_avg_power_noise``."""
    power = get_power_of_audio_file(audio_file, end_audio_file, running_len_samples, device)
    gain = torch.sqrt(torch.as_tensor(desired_avg_power_noise, dtype=torch.float64) / power.double())
    return audio_file[: end_audio_file - running_len_samples] * gain.to(device=device, dtype=audio_file.dtype)


def get_desired_avg_power_noise(
    power_array: float, snr_min: float | None, snr_max: float | None, background_noise_snr: float
) -> tuple[float, float]:
    """Noise mean square giving the wanted SNR (dB) over a signal of mean square ``power_array``.

    The SNR is drawn uniformly from ``[snr_min, snr_max]`` when both are set (and ordered), else it is
    ``background_noise_snr``. Unlike NeMo 1.23, which divided the power by ``10 ** (snr / 20)`` (so the real
    SNR was half the requested one in dB), the power ratio here is ``10 ** (snr / 10)``.

    Returns:
        ``(noise_power, snr_db)``.
    """
    if snr_min is not None and snr_max is not None and snr_min <= snr_max:
        snr = float(np.random.uniform(snr_min, snr_max))
    else:
        snr = float(background_noise_snr)
    return power_array / 10.0 ** (snr / 10.0), snr


def get_background_noise(
    len_array: int,
    power_array: float,
    noise_samples: Sequence[dict],
    audio_read_buffer_dict: dict,
    snr_min: float | None,
    snr_max: float | None,
    background_noise_snr: float,
    seed: int,
    device: torch.device,
    target_sr: int | None = None,
) -> tuple[torch.Tensor, float]:
    """Background noise of ``len_array`` samples: random noise files, one after another, each scaled to the
    power that gives the drawn SNR against ``power_array`` (see :func:`get_desired_avg_power_noise`).

    Args:
        len_array: samples needed.
        power_array: mean square of the speech.
        noise_samples: noise manifest lines (``audio_filepath``).
        audio_read_buffer_dict: read cache (see :func:`read_audio_from_buffer`).
        snr_min, snr_max, background_noise_snr: SNR settings in dB.
        seed: seed of numpy's global generator for the file and SNR draws.
        device: device of the result.
        target_sr: resample noise files to this rate.

    Returns:
        ``(noise (len_array,), snr_db)``.
    """
    np.random.seed(seed)
    noise = torch.zeros(len_array, device=device)
    noise_power, snr = get_desired_avg_power_noise(power_array, snr_min, snr_max, background_noise_snr)
    filled = 0
    while filled < len_array:
        source = dict(noise_samples[np.random.randint(len(noise_samples))])
        audio, _, _ = read_audio_from_buffer(
            source,
            audio_read_buffer_dict,
            offset_index=0,
            device=device,
            read_subset=False,
            target_sr=target_sr,
        )
        if len(audio) == 0 or not torch.any(audio != 0):
            raise ValueError(
                f"Noise file {source['audio_filepath']} is empty or silent; remove it from the manifest."
            )
        end = min(filled + len(audio), len_array)
        noise[filled:end] = get_scaled_audio_signal(audio, end, filled, noise_power, device).to(noise.dtype)
        filled = end
    return noise, snr


# --------------------------------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------------------------------


def _long_inner_pauses(words: Sequence[str], alignments: Sequence[float], split_buffer: float) -> list[int]:
    """Indices of pause tokens, neither first nor last, longer than ``2 * split_buffer`` seconds."""
    return [
        i
        for i in range(1, len(words) - 1)
        if words[i] == "" and alignments[i] - alignments[i - 1] > 2 * split_buffer
    ]


def get_split_points_in_alignments(
    words: Sequence[str],
    alignments: Sequence[float],
    split_buffer: float,
    sr: int,
    sentence_audio_len: int,
    new_start: float = 0,
) -> list[list[int]]:
    """Speech stretches of a sentence, split at inner pauses longer than ``2 * split_buffer`` seconds.

    Each stretch keeps ``split_buffer`` seconds of the pause on each side it was cut at.

    Args:
        words: tokens, "" for a pause.
        alignments: token end times in seconds.
        split_buffer: seconds of pause kept at a cut.
        sr: sample rate.
        sentence_audio_len: end of the last stretch, in samples.
        new_start: start of the first stretch, in seconds.

    Returns:
        ``[[start_sample, end_sample], ...]``.
    """
    splits = []
    for i in _long_inner_pauses(words, alignments, split_buffer):
        splits.append([int(new_start * sr), int((alignments[i - 1] + split_buffer) * sr)])
        new_start = alignments[i] - split_buffer
    splits.append([int(new_start * sr), sentence_audio_len])
    return splits


def per_speaker_normalize(
    sentence_audio: torch.Tensor,
    splits: Sequence[Sequence[int]],
    speaker_turn: int,
    volume: Sequence[float],
    device: torch.device,
) -> torch.Tensor:
    """``sentence_audio`` (T,) scaled so that its RMS over the ``splits`` stretches is ``volume[speaker_turn]``."""
    energy = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    for start, end in splits:
        piece = sentence_audio[start:end].double()
        energy = energy + torch.sum(piece**2)
        count += len(piece)
    rms = torch.sqrt(energy / count)
    return (sentence_audio / rms * volume[speaker_turn]).to(sentence_audio.dtype)


def speech_union_seconds(intervals: Iterable[Sequence[float]]) -> float:
    """Total length of the union of ``[start, end]`` intervals (seconds); overlaps count once."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted((float(s), float(e)) for s, e in intervals if float(e) > float(s)):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return total


# --------------------------------------------------------------------------------------------------------------------
# Annotation files
# --------------------------------------------------------------------------------------------------------------------


def _rttm_line(session_name: str, start: float, end: float, speaker: str) -> str:
    """One RTTM line in NeMo's layout (three spaces around the times)."""
    return f"SPEAKER {session_name} 1   {start:.3f}   {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"


class DataAnnotator:
    """Builds and writes the RTTM, CTM, TXT, JSON and META files of simulated sessions.

    Config keys read (under ``data_simulator``): ``session_config.num_speakers``, ``session_params.split_buffer``
    (an inner pause longer than twice this splits an RTTM segment), ``outputs.output_dir`` (where RTTM files
    go) and ``outputs.output_precision`` (decimals of the times in RTTM, JSON and CTM entries).

    Attributes:
        annote_lists: ``"<type>"`` -> entries of the current session (``rttm``: ``"start end speaker"`` strings,
            ``json``: dicts, ``ctm``: ``(start, line)`` pairs) and ``"<type>_list"`` -> paths of every written
            session's files, for ``type`` in wav, rttm, json, ctm, txt, meta.
    """

    def __init__(self, cfg: Any) -> None:
        self._params = cfg
        self._file_base_str = "synthetic"
        self._file_types = ["wav", "rttm", "json", "ctm", "txt", "meta"]
        self.annote_lists: dict[str, list] = {f"{file_type}_list": [] for file_type in self._file_types}

    def _round(self, seconds: float) -> float:
        return round(float(seconds), int(self._params.data_simulator.outputs.output_precision))

    def init_annotation_lists(self) -> None:
        """Start a new session: empty the per-session entry lists."""
        for file_type in self._file_types:
            self.annote_lists[file_type] = []

    def create_new_rttm_entry(
        self, words: Sequence[str], alignments: Sequence[float], start: float, end: float, speaker_id: str
    ) -> list[str]:
        """``"<start> <end> <speaker>"`` segments (seconds) of a sentence placed at ``start`` s and ending at ``end`` s.

        ``alignments`` are relative to the sentence start. The sentence is cut at inner pauses longer than
        ``2 * split_buffer``; each segment keeps ``split_buffer`` seconds of the pause it was cut at.
        """
        split_buffer = self._params.data_simulator.session_params.split_buffer
        entries, segment_start = [], start
        for i in _long_inner_pauses(words, alignments, split_buffer):
            segment_end = start + alignments[i - 1] + split_buffer
            entries.append(f"{self._round(segment_start)} {self._round(segment_end)} {speaker_id}")
            segment_start = start + alignments[i] - split_buffer
        entries.append(f"{self._round(segment_start)} {self._round(end)} {speaker_id}")
        return entries

    def create_new_json_entry(
        self,
        text: str,
        wav_filename: str,
        start: float,
        length: float,
        speaker_id: str,
        rttm_filepath: str,
        ctm_filepath: str,
    ) -> dict:
        """The output-manifest line of one inserted sentence (``offset`` and ``duration`` in seconds, rounded)."""
        return {
            "audio_filepath": wav_filename,
            "offset": self._round(start),
            "duration": self._round(length),
            "label": speaker_id,
            "text": text,
            "num_speakers": self._params.data_simulator.session_config.num_speakers,
            "rttm_filepath": rttm_filepath,
            "ctm_filepath": ctm_filepath,
            "uem_filepath": None,
        }

    def create_new_ctm_entry(
        self,
        words: Sequence[str],
        alignments: Sequence[float],
        session_name: str,
        speaker_id: str,
        start: float,
    ) -> list[tuple[float, str]]:
        """``(word_start, ctm_line)`` for each spoken word of a sentence placed at ``start`` s.

        Word ``i`` starts where token ``i - 1`` ends (at the sentence start for ``i == 0``) and lasts until
        ``alignments[i]``; alignments are relative to the sentence start.
        """
        start = self._round(start)
        entries = []
        for i, word in enumerate(words):
            if word == "":
                continue
            previous_end = alignments[i - 1] if i > 0 else 0
            word_start = self._round(previous_end + start)
            line = get_ctm_line(
                source=session_name,
                channel=1,
                start_time=word_start,
                duration=self._round(alignments[i] - previous_end),
                token=word,
                conf=None,
                type_of_token="lex",
                speaker=speaker_id,
            )
            entries.append((word_start, line))
        return entries

    def add_to_filename_lists(self, basepath: str, filename: str) -> None:
        """Record the paths of one written session's files (``<basepath>/<filename>.<type>``)."""
        for file_type in self._file_types:
            self.annote_lists[f"{file_type}_list"].append(f"{os.path.join(basepath, filename)}.{file_type}")

    def write_filelist_files(self, basepath: str) -> None:
        """Write ``<basepath>/synthetic_<type>.list`` for each file type: the recorded paths, one a line."""
        for file_type in self._file_types:
            with open(os.path.join(basepath, f"{self._file_base_str}_{file_type}.list"), "w") as list_file:
                list_file.write("\n".join(self.annote_lists[f"{file_type}_list"]))

    def write_annotation_files(self, basepath: str, filename: str, meta_data: dict) -> None:
        """Write the current session's ``<filename>``.rttm (in ``outputs.output_dir``), .json, .ctm, .txt and .meta."""
        rttm_dir = self._params.data_simulator.outputs.output_dir
        with open(os.path.join(rttm_dir, f"{filename}.rttm"), "w") as rttm:
            for entry in self.annote_lists["rttm"]:
                seg_start, seg_end, speaker = entry.split()
                rttm.write(_rttm_line(filename, float(seg_start), float(seg_end), speaker))
        write_manifest(os.path.join(basepath, f"{filename}.json"), self.annote_lists["json"])
        ctm_entries = self.annote_lists["ctm"]
        ctm_entries.sort(key=lambda entry: entry[0])
        with open(os.path.join(basepath, f"{filename}.ctm"), "w") as ctm:
            ctm.writelines(line for _, line in ctm_entries)
        with open(os.path.join(basepath, f"{filename}.txt"), "w") as txt:
            txt.write("".join(line.split(" ")[4] + " " for _, line in ctm_entries) + "\n")
        write_manifest(os.path.join(basepath, f"{filename}.meta"), [meta_data])


# --------------------------------------------------------------------------------------------------------------------
# Silence and overlap model
# --------------------------------------------------------------------------------------------------------------------


def _beta_parameters(mean: float, var: float) -> tuple[float, float]:
    """``(a, b)`` of the Beta distribution with this mean and variance."""
    common = mean * (1 - mean) / var - 1
    return mean * common, (1 - mean) * common


def _draw_gamma(mean: float, var: float) -> int:
    """An integer drawn from the Gamma distribution with this mean and variance (``int(mean)`` when var is 0)."""
    if var <= 0:
        return int(mean)
    return int(gamma(a=mean**2 / var, scale=var / mean).rvs())


class SpeechSampler:
    """Draws the silence and overlap lengths that make a session meet its target silence and overlap ratios.

    Per session, target ratios are drawn from Beta distributions (:meth:`get_session_silence_mean`,
    :meth:`get_session_overlap_mean`); each pause or overlap is then drawn from a Gamma distribution whose mean
    brings the running ratio to the target. Random draws use numpy's global generator (scipy's default).

    Config keys read (under ``data_simulator``): ``sr``, ``session_config.session_length``,
    ``background_noise.num_noise_files`` and ``session_params``: ``mean_silence``, ``mean_silence_var``
    (``0 <= var < mean * (1 - mean)``), ``per_silence_var``, ``per_silence_min``, ``per_silence_max`` (seconds,
    -1 for no maximum) and the same six ``*_overlap*`` keys. Silence is measured against the whole session,
    overlap against the non-silent part.

    Attributes:
        running_speech_len_samples, running_silence_len_samples, running_overlap_len_samples: session totals.
        sess_silence_mean, sess_overlap_mean: the session's target ratios.
        per_silence_min_len, per_silence_max_len, per_overlap_min_len, per_overlap_max_len: bounds in samples.
    """

    def __init__(self, cfg: Any) -> None:
        self._params = cfg
        params = cfg.data_simulator.session_params
        self.running_speech_len_samples = 0
        self.running_silence_len_samples = 0
        self.running_overlap_len_samples = 0
        self.sess_silence_mean: float | None = None
        self.per_silence_min_len = 0
        self.per_silence_max_len = 0
        self.sess_overlap_mean: float | None = None
        self.per_overlap_min_len = 0
        self.per_overlap_max_len = 0
        self.mean_overlap = float(params.mean_overlap)
        self.mean_overlap_var = float(params.mean_overlap_var)
        self.mean_silence = float(params.mean_silence)
        self.mean_silence_var = float(params.mean_silence_var)
        self.per_silence_var = float(params.per_silence_var)
        self.per_overlap_var = float(params.per_overlap_var)
        self.num_noise_files = int(cfg.data_simulator.background_noise.num_noise_files)

    def _length_bounds(self, minimum: float, maximum: float) -> tuple[int, int]:
        """``(min, max)`` in samples from seconds; a non-positive maximum means the session length."""
        sim = self._params.data_simulator
        upper = maximum if maximum > 0 else sim.session_config.session_length
        return int(max(0.0, minimum) * sim.sr), int(upper * sim.sr)

    def _init_silence_params(self) -> None:
        """Reset the session's speech and silence totals and the per-silence bounds."""
        params = self._params.data_simulator.session_params
        self.running_speech_len_samples = 0
        self.running_silence_len_samples = 0
        self.per_silence_min_len, self.per_silence_max_len = self._length_bounds(
            params.per_silence_min, params.per_silence_max
        )

    def _init_overlap_params(self) -> None:
        """Reset the session's overlap total and the per-overlap bounds."""
        params = self._params.data_simulator.session_params
        self.running_overlap_len_samples = 0
        self.per_overlap_min_len, self.per_overlap_max_len = self._length_bounds(
            params.per_overlap_min, params.per_overlap_max
        )

    @staticmethod
    def _draw_session_mean(mean: float, var: float, key: str) -> float:
        """A session target ratio from Beta(mean, var), or ``mean`` itself when ``var`` is 0."""
        if var <= 0:
            return mean
        a, b = _beta_parameters(mean, var)
        if a <= 0 or b <= 0:
            raise ValueError(
                f"Invalid `{key}_var` value {var} for a Beta distribution with mean {mean} (a = {a:.3f}, b = "
                f"{b:.3f} must both be positive): `{key}_var` should be less than `{key} * (1 - {key})` = "
                f"{mean * (1 - mean):.4f}. Lower session_params.{key}_var."
            )
        return float(beta(a, b).rvs())

    def get_session_silence_mean(self) -> float:
        """Start a session's silence model and draw its target silence ratio (in [0, 1]).

        Raises:
            ValueError: ``mean_silence_var`` is not below ``mean_silence * (1 - mean_silence)``.
        """
        self._init_silence_params()
        self.sess_silence_mean = self._draw_session_mean(
            self.mean_silence, self.mean_silence_var, "mean_silence"
        )
        return self.sess_silence_mean

    def get_session_overlap_mean(self) -> float:
        """Start a session's overlap model and draw its target overlap ratio (in [0, 1]).

        Raises:
            ValueError: ``mean_overlap_var`` is not below ``mean_overlap * (1 - mean_overlap)``.
        """
        self._init_overlap_params()
        self.sess_overlap_mean = self._draw_session_mean(
            self.mean_overlap, self.mean_overlap_var, "mean_overlap"
        )
        return self.sess_overlap_mean

    def silence_vs_overlap_selector(self, running_len_samples: int, non_silence_len_samples: int) -> bool:
        """True to overlap the next sentence, False to put silence before it.

        Overlap is chosen when the running overlap ratio is further below its target than the running silence
        ratio is below its own (both ratios are 0 at the session start).
        """
        if running_len_samples > 0:
            self.current_silence_ratio = (
                running_len_samples - self.running_speech_len_samples
            ) / running_len_samples
            self.current_overlap_ratio = self.running_overlap_len_samples / non_silence_len_samples
        else:
            self.current_silence_ratio, self.current_overlap_ratio = 0, 0
        self.silence_discrepancy = self.current_silence_ratio - self.sess_silence_mean
        self.overlap_discrepancy = self.current_overlap_ratio - self.sess_overlap_mean
        return bool(self.overlap_discrepancy < self.silence_discrepancy)

    def sample_from_silence_model(self, running_len_samples: int) -> int:
        """Samples of silence to insert next.

        The Gamma mean is the silence ``s`` with ``(silence_so_far + s) / (running_len + s) = target``, clipped
        to the per-silence bounds; the variance is ``per_silence_var``.
        """
        target = self.sess_silence_mean
        mean = (target * running_len_samples - self.running_silence_len_samples) / (1 - target)
        mean = max(self.per_silence_min_len, min(mean, self.per_silence_max_len))
        if mean <= 0:
            return 0
        self.per_silence_var = float(self._params.data_simulator.session_params.per_silence_var)
        amount = _draw_gamma(mean, self.per_silence_var)
        return int(max(self.per_silence_min_len, min(amount, self.per_silence_max_len)))

    def sample_from_overlap_model(self, non_silence_len_samples: int) -> int:
        """Samples by which the next sentence should overlap the previous one.

        The Gamma mean is the overlap ``o`` with ``(overlap_so_far + o) / (non_silence - o) = target``, clipped
        to the per-overlap bounds; the variance is ``per_overlap_var``.
        """
        target = self.sess_overlap_mean
        mean = (target * non_silence_len_samples - self.running_overlap_len_samples) / (1 + target)
        mean = max(self.per_overlap_min_len, min(max(0.0, mean), self.per_overlap_max_len))
        if mean <= 0:
            return 0
        amount = _draw_gamma(mean, self.per_overlap_var)
        return int(max(self.per_overlap_min_len, min(amount, self.per_overlap_max_len)))

    def sample_noise_manifest(self, noise_manifest: Sequence[dict]) -> list[dict]:
        """Up to ``num_noise_files`` distinct noise-manifest lines drawn for one session."""
        count = min(len(noise_manifest), self.num_noise_files)
        if count <= 0:
            return []
        chosen = np.random.choice(len(noise_manifest), count, replace=False)
        return [noise_manifest[k] for k in chosen]

"""Voice activity post-processing: per-frame speech probabilities -> speech segments -> RTTM lines.

NeMo 1.23's functions of the same names and ``per_args`` keys, on torch alone (no pandas, pyannote,
librosa or scikit-learn). The pipeline a frame VAD model's output goes through::

    probs (T,) --generate_overlap_vad_seq_per_tensor (optional smoothing)--> probs (T',)
          --binarization (onset/offset hysteresis, pad_onset/pad_offset)--> segments (N, 2) [start, end]
          --filtering (min_duration_on / min_duration_off)--> segments (N', 2)
    generate_vad_segment_table_per_tensor does the last two and adds a duration column: (N', 3).

Segments are float32 tensors of seconds; "no segment" is NeMo's ``torch.empty(0)`` (shape ``(0,)``).

``per_args`` keys (seconds unless noted): ``onset``, ``offset`` (probability thresholds), ``pad_onset``,
``pad_offset``, ``min_duration_on``, ``min_duration_off``, ``filter_speech_first`` (1.0 = true),
``frame_length_in_sec`` (one probability's time step); for smoothing ``window_length_in_sec``,
``shift_length_in_sec``, ``overlap`` and ``frame_len``.

One deliberate difference: NeMo's ``merge_overlap_segment`` compares each segment only with its
neighbour, so a segment inside a longer one splits the merged result; here every overlap is merged.
Segments made by ``binarization`` and ``filtering`` never nest, so their results are NeMo's.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

__all__ = [
    "UNIT_FRAME_LEN",
    "binarization",
    "cal_vad_onset_offset",
    "convert_labels_to_speech_segments",
    "filter_short_segments",
    "filtering",
    "generate_overlap_vad_seq_per_tensor",
    "generate_vad_segment_table_per_file",
    "generate_vad_segment_table_per_tensor",
    "get_frame_labels",
    "get_gap_segments",
    "get_nonspeech_segments",
    "load_speech_segments_from_rttm",
    "load_tensor_from_file",
    "merge_intervals",
    "merge_overlap_segment",
    "percentile",
    "prepare_gen_segment_table",
    "remove_segments",
    "write_vad_segment_table",
]

# NeMo adds this to every segment's duration in the segment table, whatever the frame length.
UNIT_FRAME_LEN = 0.01


def _is_empty(segments: torch.Tensor) -> bool:
    return segments.numel() == 0


# ------------------------------------------------------------------------------------------ segments
def merge_overlap_segment(segments: torch.Tensor) -> torch.Tensor:
    """Merge overlapping or touching segments.

    Args:
        segments: (N, 2) ``[start, end]`` rows, in any order.

    Returns:
        (M, 2) disjoint segments sorted by start, e.g. ``[[0, 1.5], [1, 3.5]] -> [[0, 3.5]]``. Zero or one
        segment comes back unchanged.
    """
    if segments.dim() != 2 or segments.shape[0] <= 1:
        return segments
    segments = segments[torch.sort(segments[:, 0], stable=True).indices]
    running_end = torch.cummax(segments[:, 1], dim=0).values
    # A segment opens a new group when it starts after every earlier segment has ended.
    opens = torch.ones(segments.shape[0], dtype=torch.bool, device=segments.device)
    opens[1:] = segments[1:, 0] > running_end[:-1]
    closes = torch.ones_like(opens)
    closes[:-1] = opens[1:]
    return torch.stack((segments[opens, 0], running_end[closes]), dim=1)


def filter_short_segments(segments: torch.Tensor, threshold: float) -> torch.Tensor:
    """Keep the segments lasting at least ``threshold`` seconds.

    Args:
        segments: (N, 2) ``[start, end]`` rows.
        threshold: shortest duration kept.

    Returns:
        (N', 2), e.g. ``[[0, 1.5], [1, 3.5], [4, 7]]`` with 2.0 -> ``[[1, 3.5], [4, 7]]``.
    """
    if _is_empty(segments):
        return segments
    return segments[segments[:, 1] - segments[:, 0] >= threshold]


def remove_segments(original_segments: torch.Tensor, to_be_removed_segments: torch.Tensor) -> torch.Tensor:
    """The rows of ``original_segments`` equal to no row of ``to_be_removed_segments``.

    Args:
        original_segments: (N, 2).
        to_be_removed_segments: (K, 2).

    Returns:
        (N', 2), in the original order.
    """
    if _is_empty(original_segments) or _is_empty(to_be_removed_segments):
        return original_segments
    matches = (original_segments[:, None, :] == to_be_removed_segments[None, :, :]).all(dim=2)
    return original_segments[~matches.any(dim=1)]


def get_gap_segments(segments: torch.Tensor) -> torch.Tensor:
    """The gaps between consecutive segments (sorted by start).

    Args:
        segments: (N, 2) ``[start, end]`` rows.

    Returns:
        (N-1, 2) ``[end_i, start_i+1]`` rows.
    """
    if _is_empty(segments):
        return segments.reshape(0, 2)
    segments = segments[torch.sort(segments[:, 0], stable=True).indices]
    return torch.stack((segments[:-1, 1], segments[1:, 0]), dim=1)


# ------------------------------------------------------------------------------------- thresholds
def percentile(data: torch.Tensor, perc: int) -> float:
    """NeMo's percentile: the ``ceil(len * perc / 100)``-th smallest value (1-based).

    Args:
        data: (T,) values.
        perc: percentile in 0..100.
    """
    ordered = torch.sort(data.flatten()).values
    return float(ordered[int(math.ceil(ordered.numel() * perc / 100)) - 1])


def cal_vad_onset_offset(
    scale: str, onset: float, offset: float, sequence: torch.Tensor | None = None
) -> tuple[float, float]:
    """Thresholds on the probability scale ``scale`` names.

    Args:
        scale: ``"absolute"`` (0..1), ``"relative"`` (min..max of ``sequence``) or ``"percentile"``
            (1st..99th percentile of ``sequence``).
        onset: threshold as a fraction of that range.
        offset: threshold as a fraction of that range.
        sequence: (T,) probabilities, for the relative scales.

    Returns:
        (onset, offset) as probabilities.
    """
    if scale == "absolute":
        low, high = 0.0, 1.0
    elif scale in ("relative", "percentile"):
        if sequence is None or sequence.numel() == 0:
            raise ValueError(
                f"cal_vad_onset_offset: scale {scale!r} needs the probability sequence, got "
                f"{'None' if sequence is None else 'an empty one'}. Pass sequence=, or use scale='absolute'."
            )
        if scale == "relative":
            low, high = float(sequence.min()), float(sequence.max())
        else:
            low, high = percentile(sequence, 1), percentile(sequence, 99)
    else:
        raise ValueError(
            f"cal_vad_onset_offset: unknown scale {scale!r}; expected 'absolute', 'relative' or 'percentile'."
        )
    return float(low + onset * (high - low)), float(low + offset * (high - low))


# ---------------------------------------------------------------------------------- binarization
def binarization(sequence: torch.Tensor, per_args: Mapping[str, float]) -> torch.Tensor:
    """Speech segments from frame probabilities, with hysteresis (Gelly and Gauvain, InterSpeech 2015).

    Outside speech a frame above ``onset`` starts a segment at that frame; inside speech a frame below
    ``offset`` ends it there. Each segment is widened by ``pad_onset`` (not before 0) and ``pad_offset``;
    a speech run reaching the last frame ends at that frame's time. Widened segments that overlap merge.

    Args:
        sequence: (T,) speech probabilities, one per ``frame_length_in_sec`` (default 0.01 s).
        per_args: ``onset``, ``offset`` (default 0.5 each), ``pad_onset``, ``pad_offset`` (default 0),
            ``frame_length_in_sec``.

    Returns:
        (N, 2) float32 ``[start, end]`` rows in seconds, or ``torch.empty(0)`` when there is no speech.
    """
    frame_length_in_sec = per_args.get("frame_length_in_sec", 0.01)
    onset = per_args.get("onset", 0.5)
    offset = per_args.get("offset", 0.5)
    pad_onset = per_args.get("pad_onset", 0.0)
    pad_offset = per_args.get("pad_offset", 0.0)

    # Compared in the sequence's own dtype, as NeMo's TorchScript compares a tensor with a float.
    above_onset = (sequence > onset).tolist()
    below_offset = (sequence < offset).tolist()
    rows: list[list[float]] = []
    speech, start = False, 0.0
    for index, (is_above, is_below) in enumerate(zip(above_onset, below_offset)):
        if speech:
            if is_below:
                seg_start, seg_end = max(0, start - pad_onset), index * frame_length_in_sec + pad_offset
                if seg_end > seg_start:
                    rows.append([seg_start, seg_end])
                start, speech = index * frame_length_in_sec, False
        elif is_above:
            start, speech = index * frame_length_in_sec, True
    if speech:
        last = len(above_onset) - 1
        rows.append([max(0, start - pad_onset), last * frame_length_in_sec + pad_offset])
    if not rows:
        return torch.empty(0)
    return merge_overlap_segment(torch.tensor(rows, dtype=torch.float32))


def filtering(speech_segments: torch.Tensor, per_args: Mapping[str, float]) -> torch.Tensor:
    """Drop short speech segments and fill short gaps (Gelly and Gauvain, InterSpeech 2015).

    Args:
        speech_segments: (N, 2) ``[start, end]`` rows, or ``torch.empty(0)``.
        per_args: ``min_duration_on`` (speech shorter than this is dropped), ``min_duration_off`` (gaps
            shorter than this become speech), both default 0 (off); ``filter_speech_first`` (1.0, the
            default: drop short speech before filling gaps; 0.0: fill gaps first).

    Returns:
        (N', 2) segments; ``torch.empty(0)`` stays as it is.
    """
    if speech_segments.shape == torch.Size([0]):
        return speech_segments
    min_duration_on = per_args.get("min_duration_on", 0.0)
    min_duration_off = per_args.get("min_duration_off", 0.0)
    speech_first = per_args.get("filter_speech_first", 1.0) == 1.0

    def drop_short_speech(segments: torch.Tensor) -> torch.Tensor:
        return filter_short_segments(segments, min_duration_on) if min_duration_on > 0.0 else segments

    def fill_short_gaps(segments: torch.Tensor) -> torch.Tensor:
        if min_duration_off <= 0.0:
            return segments
        gaps = get_gap_segments(segments)
        short_gaps = remove_segments(gaps, filter_short_segments(gaps, min_duration_off))
        return merge_overlap_segment(torch.cat((segments, short_gaps), 0))

    if speech_first:
        return fill_short_gaps(drop_short_speech(speech_segments))
    return drop_short_speech(fill_short_gaps(speech_segments))


# -------------------------------------------------------------------------------------- smoothing
def generate_overlap_vad_seq_per_tensor(
    frame: torch.Tensor, per_args: Mapping[str, float], smoothing_method: str
) -> torch.Tensor:
    """Smooth window-level predictions into per-frame ones by mean or median over overlapping windows.

    Prediction ``i`` is taken to cover the window of ``window_length_in_sec`` starting ``i`` shifts in;
    every ``jump_on_frame``-th prediction is used (so windows overlap by ``overlap``), and each output
    frame gets the mean or the median (``nanquantile(0.5)``) of the used windows covering it. Frames no
    used window covers take the last covered frame's value.

    Args:
        frame: (T,) predictions, one per ``shift_length_in_sec``.
        per_args: ``overlap`` (0..1), ``window_length_in_sec``, ``shift_length_in_sec``, ``frame_len``
            (output frame length, default 0.01 s).
        smoothing_method: ``"mean"`` or ``"median"``.

    Returns:
        (T * shift,) float32 smoothed predictions, one per ``frame_len``.
    """
    overlap = per_args["overlap"]
    window_length_in_sec = per_args["window_length_in_sec"]
    shift_length_in_sec = per_args["shift_length_in_sec"]
    frame_len = per_args.get("frame_len", 0.01)
    if smoothing_method not in ("mean", "median"):
        raise ValueError(
            f"generate_overlap_vad_seq_per_tensor: smoothing_method is {smoothing_method!r}; expected "
            "'mean' or 'median'."
        )
    # The same float arithmetic (and truncations) as NeMo, so window sizes match exactly.
    shift = int(shift_length_in_sec / frame_len)
    seg = int(window_length_in_sec / frame_len + 1)
    jump_on_target = int(seg * (1 - overlap))
    jump_on_frame = int(jump_on_target / shift) if shift else 0
    if jump_on_frame < 1:
        raise ValueError(
            f"generate_overlap_vad_seq_per_tensor: the windows would not advance: jump_on_frame = "
            f"int(int(seg * (1 - overlap)) / shift) = {jump_on_frame}, expected >= 1 (seg = {seg} frames, "
            f"shift = {shift} frames, overlap = {overlap}). Lower overlap, lengthen window_length_in_sec, or "
            "shorten shift_length_in_sec."
        )
    target_len = int(len(frame) * shift)
    if target_len == 0:
        return torch.zeros(0)
    used = frame[::jump_on_frame].to(torch.float64)
    starts = torch.arange(used.numel()) * (jump_on_frame * shift)
    ends = torch.clamp(starts + seg, max=target_len)
    if smoothing_method == "mean":
        # Difference arrays in float64: sum and count of the windows covering each frame.
        sums = torch.zeros(target_len + 1, dtype=torch.float64)
        counts = torch.zeros(target_len + 1, dtype=torch.float64)
        sums.index_add_(0, starts, used)
        sums.index_add_(0, ends, -used)
        counts.index_add_(0, starts, torch.ones_like(used))
        counts.index_add_(0, ends, -torch.ones_like(used))
        counts = torch.cumsum(counts, 0)[:target_len].round()
        preds = (torch.cumsum(sums, 0)[:target_len] / counts).to(torch.float32)
        covered = counts > 0
    else:
        step = jump_on_frame * shift
        most_windows = -(-seg // step)
        positions = torch.arange(target_len)
        latest = torch.clamp(positions // step, max=used.numel() - 1)
        window = latest[:, None] - torch.arange(most_windows)[None, :]
        valid = (window >= 0) & (positions[:, None] < ends[window.clamp(min=0)])
        values = torch.where(valid, frame[::jump_on_frame][window.clamp(min=0)], float("nan"))
        preds = torch.nanquantile(values, q=0.5, dim=1)
        covered = ~torch.isnan(preds)
    preds[~covered] = preds[covered][-1]
    return preds


# ----------------------------------------------------------------------------------- segment table
def generate_vad_segment_table_per_tensor(
    sequence: torch.Tensor, per_args: Mapping[str, float]
) -> torch.Tensor:
    """Binarize and filter one sequence of speech probabilities into a segment table.

    Args:
        sequence: (T,) speech probabilities, one per ``per_args["frame_length_in_sec"]``.
        per_args: the keys of :func:`binarization` and :func:`filtering` (thresholds already on the
            probability scale: see :func:`prepare_gen_segment_table`).

    Returns:
        (N, 3) float32 rows ``[start, end, duration]`` sorted by start, where NeMo's duration is
        ``end - start + 0.01``; ``torch.empty(0)`` when there is no speech.
    """
    speech_segments = filtering(binarization(sequence, per_args), per_args)
    if speech_segments.shape == torch.Size([0]):
        return speech_segments
    speech_segments = torch.sort(speech_segments, dim=0).values
    duration = speech_segments[:, 1:2] - speech_segments[:, 0:1] + UNIT_FRAME_LEN
    return torch.cat((speech_segments, duration), dim=1)


def prepare_gen_segment_table(sequence: torch.Tensor, per_args: dict) -> tuple[str | None, dict[str, float]]:
    """Turn a post-processing config into the numeric ``per_args`` of the tensor functions.

    ``onset``/``offset`` are mapped through ``per_args["scale"]`` (default ``"absolute"``) with
    :func:`cal_vad_onset_offset`, ``filter_speech_first`` becomes 1.0/0.0, and non-numeric keys are dropped.
    ``per_args`` itself is updated, as NeMo does.

    Args:
        sequence: (T,) speech probabilities.
        per_args: post-processing keys, plus ``out_dir`` and ``frame_length_in_sec``.

    Returns:
        (``per_args["out_dir"]`` or None, the numeric keys).
    """
    per_args["onset"], per_args["offset"] = cal_vad_onset_offset(
        per_args.get("scale", "absolute"), per_args["onset"], per_args["offset"], sequence
    )
    if "filter_speech_first" in per_args:
        per_args["filter_speech_first"] = 1.0 if per_args["filter_speech_first"] else 0.0
    numeric = {
        key: value
        for key, value in per_args.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    return per_args.get("out_dir"), numeric


def write_vad_segment_table(
    table: torch.Tensor, path: str | os.PathLike, name: str, use_rttm: bool = True
) -> None:
    """Write a segment table as NeMo does: RTTM lines, or ``start duration speech`` lines.

    RTTM: ``SPEAKER <name> 1 <start> <duration> <NA> <NA> speech <NA> <NA>`` (4 decimals); a table with
    no speech writes the single line ``SPEAKER <NA> 1 0 0 <NA> <NA> speech <NA> <NA>`` (``0 0 speech``
    as text).

    Args:
        table: (N, 3) ``[start, end, duration]`` from :func:`generate_vad_segment_table_per_tensor`.
        path: the file to write.
        name: the recording id (NeMo: the audio file's stem).
        use_rttm: RTTM lines (True) or text lines.
    """
    if table.numel() == 0:
        lines = ["SPEAKER <NA> 1 0 0 <NA> <NA> speech <NA> <NA>" if use_rttm else "0 0 speech"]
    elif use_rttm:
        lines = [
            f"SPEAKER {name} 1 {start:.4f} {duration:.4f} <NA> <NA> speech <NA> <NA>"
            for start, _, duration in table.tolist()
        ]
    else:
        lines = [f"{start:.4f} {duration:.4f} speech" for start, _, duration in table.tolist()]
    with open(path, "w", encoding="utf-8") as file:
        file.write("".join(line + "\n" for line in lines))


def load_tensor_from_file(filepath: str | os.PathLike) -> tuple[torch.Tensor, str]:
    """Read a NeMo ``.frame``/``.mean``/``.median`` file: one probability per line.

    Returns:
        ((T,) float32 probabilities, the file's stem).

    Raises:
        ValueError: a line is not a number (the message names the file and line).
    """
    values = []
    with open(filepath, encoding="utf-8") as file:
        for line_number, line in enumerate(file, start=1):
            try:
                values.append(float(line))
            except ValueError as err:
                raise ValueError(
                    f"{filepath}:{line_number}: expected one probability per line, got {line.strip()!r}. "
                    "Fix or regenerate the prediction file."
                ) from err
    return torch.tensor(values, dtype=torch.float32), Path(filepath).stem


def generate_vad_segment_table_per_file(pred_filepath: str | os.PathLike, per_args: dict) -> str:
    """Segment table of one prediction file, written to ``per_args["out_dir"]/<stem>.rttm`` (or ``.txt``).

    Args:
        pred_filepath: a file of per-frame probabilities (see :func:`load_tensor_from_file`).
        per_args: post-processing keys, ``frame_length_in_sec``, ``out_dir``, ``use_rttm`` (default False).

    Returns:
        The path written.
    """
    sequence, name = load_tensor_from_file(pred_filepath)
    out_dir, numeric_args = prepare_gen_segment_table(sequence, per_args)
    if out_dir is None:
        raise ValueError(
            "generate_vad_segment_table_per_file: per_args has no 'out_dir'; set it to the folder for the tables."
        )
    use_rttm = bool(per_args.get("use_rttm", False))
    save_path = os.path.join(out_dir, name + (".rttm" if use_rttm else ".txt"))
    table = generate_vad_segment_table_per_tensor(sequence, numeric_args)
    write_vad_segment_table(table, save_path, name, use_rttm=use_rttm)
    return save_path


# ----------------------------------------------------------------------------------- RTTM and labels
def merge_intervals(intervals: list[list[float]]) -> list[list[float]]:
    """Merge overlapping or touching ``[start, end]`` intervals; ``intervals`` is sorted in place.

    Returns:
        Disjoint intervals sorted by start.
    """
    intervals.sort(key=lambda interval: interval[0])
    merged: list[list[float]] = []
    for interval in intervals:
        if merged and interval[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], interval[1])
        else:
            merged.append(interval)
    return merged


def _rttm_segments(rttm_file: str | os.PathLike) -> list[list[float]]:
    """``[start, start + duration]`` of every line of an RTTM file (fields 4 and 5), in file order."""
    if not Path(rttm_file).is_file():
        raise FileNotFoundError(f"RTTM file {os.fspath(rttm_file)!r} does not exist. Check the path.")
    segments = []
    with open(rttm_file, encoding="utf-8") as file:
        for line_number, line in enumerate(file, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                start, duration = float(fields[3]), float(fields[4])
            except (IndexError, ValueError) as err:
                raise ValueError(
                    f"{os.fspath(rttm_file)}:{line_number}: expected an RTTM line "
                    "'SPEAKER <file> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>' with numeric start and "
                    f"duration, got {line.strip()!r}."
                ) from err
            segments.append([start, start + duration])
    return segments


def load_speech_segments_from_rttm(rttm_file: str | os.PathLike) -> list[list[float]]:
    """Speech segments of an RTTM file, every speaker together, merged where they overlap or touch.

    Returns:
        ``[[start, end], ...]`` in seconds, disjoint and sorted.
    """
    return merge_intervals(_rttm_segments(rttm_file))


def get_nonspeech_segments(
    speech_segments: list[list[float]], max_duration: float | None = None
) -> list[list[float]]:
    """The gaps before and between sorted speech segments, and after them up to ``max_duration``.

    Returns:
        ``[[start, end], ...]``, starting with ``[0, first start]``.
    """
    nonspeech, start = [], 0.0
    for segment in speech_segments:
        nonspeech.append([start, segment[0]])
        start = segment[1]
    if max_duration is not None and start < max_duration:
        nonspeech.append([start, max_duration])
    return nonspeech


def get_frame_labels(
    segments: Sequence[Sequence[float]],
    frame_length: float,
    offset: float,
    duration: float,
    as_str: bool = True,
) -> str | list[float]:
    """Per-frame speech labels of a clip: frame ``i`` (at ``offset + i * frame_length``) is 1 inside a segment.

    Args:
        segments: sorted disjoint ``[start, end]`` speech segments (:func:`load_speech_segments_from_rttm`);
            the ends count as inside.
        frame_length: seconds per frame, e.g. 0.02.
        offset: where the clip starts in the recording, in seconds.
        duration: the clip's length; it has ``ceil(duration / frame_length)`` frames.
        as_str: return NeMo's manifest ``label`` string (``"0 1 1 0"``) instead of a list of floats.
    """
    labels = []
    segment_index = 0
    for index in range(int(math.ceil(duration / frame_length))):
        time = offset + index * frame_length
        while segment_index < len(segments) - 1 and segments[segment_index][1] < time:
            segment_index += 1
        inside = bool(segments) and segments[segment_index][0] <= time <= segments[segment_index][1]
        labels.append(1 if inside and segments[segment_index][1] != 0 else 0)
    if as_str:
        return " ".join(str(label) for label in labels)
    return [float(label) for label in labels]


def convert_labels_to_speech_segments(
    labels: Sequence[float], frame_length_in_sec: float = 0.01
) -> list[list[float]]:
    """Speech segments of per-frame 0/1 labels: each run of 1s becomes ``[first frame, last frame]`` times.

    Args:
        labels: per-frame labels (1 = speech).
        frame_length_in_sec: seconds per frame.

    Returns:
        ``[[start, end], ...]``, where ``end`` is the start time of the run's last frame (NeMo's rule).
    """
    segments = []
    start = None
    for index, label in enumerate(labels):
        if label == 1:
            if start is None:
                start = index * frame_length_in_sec
        elif start is not None:
            segments.append([start, (index - 1) * frame_length_in_sec])
            start = None
    if start is not None:
        segments.append([start, (len(labels) - 1) * frame_length_in_sec])
    return segments

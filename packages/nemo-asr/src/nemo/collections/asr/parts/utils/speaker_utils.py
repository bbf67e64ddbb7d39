"""Speaker-diarization helpers: segments and subsegments, interval arithmetic, RTTM and manifest files.

Labels are strings ``"<start> <end> <speaker>"`` (seconds). RTTM lines follow the NIST layout
``SPEAKER <file> <channel> <onset> <duration> <NA> <NA> <speaker> <NA> <NA>``.

The interval and online-segmentation functions (and :class:`OnlineSegmentor`) are compiled by
``torch.jit.script`` when a streaming diarizer is scripted, so they are fully typed and use only
TorchScript-friendly constructs.
"""

import json
import math
import os
import shutil
from copy import deepcopy
from typing import Any

import numpy as np
import torch
from nemo.collections.asr.data.audio_to_label import repeat_signal
from nemo.collections.asr.parts.utils.manifest_utils import read_manifest
from nemo.collections.asr.parts.utils.offline_clustering import get_argmin_mat, split_input_data

__all__ = [
    "audio_rttm_map",
    "check_ranges",
    "convert_rttm_line",
    "embedding_normalize",
    "extract_timestamps",
    "fl2int",
    "generate_cluster_labels",
    "generate_speaker_timestamps",
    "get_adaptive_threshold",
    "get_argmin_mat",
    "get_contiguous_stamps",
    "get_embs_and_timestamps",
    "get_id_tup_dict",
    "get_new_cursor_for_update",
    "get_offset_and_duration",
    "get_online_segments_from_slices",
    "get_online_subsegments_from_buffer",
    "get_overlap_range",
    "get_overlap_stamps",
    "get_scale_mapping_argmat",
    "get_speech_labels_for_update",
    "get_sub_range_list",
    "get_subsegments",
    "get_target_sig",
    "get_timestamps",
    "get_uniq_id_from_manifest_line",
    "get_uniq_id_list_from_manifest",
    "get_uniq_id_with_dur",
    "get_uniqname_from_filepath",
    "get_vad_out_from_rttm_line",
    "int2fl",
    "is_overlap",
    "labels_to_pyannote_object",
    "labels_to_rttmfile",
    "merge_float_intervals",
    "merge_int_intervals",
    "merge_stamps",
    "OnlineSegmentor",
    "parse_scale_configs",
    "prepare_split_data",
    "read_rttm_lines",
    "rttm_to_labels",
    "segments_manifest_to_subsegments_manifest",
    "split_input_data",
    "string_to_float",
    "tensor_to_list",
    "validate_vad_manifest",
    "write_cluster_labels",
    "write_overlap_segments",
    "write_rttm2manifest",
]


# --------------------------------------------------------------------------------------------------
# File names, manifests and RTTM files
# --------------------------------------------------------------------------------------------------


def get_uniqname_from_filepath(filepath: str) -> str:
    """File name without directory and extension, e.g. ``/a/b/sess1.wav`` -> ``sess1``."""
    if not isinstance(filepath, str):
        raise TypeError(f"get_uniqname_from_filepath: expected a path string, got {type(filepath).__name__}.")
    return os.path.splitext(os.path.basename(filepath))[0]


def get_uniq_id_from_manifest_line(line: str) -> str:
    """Unique id (file stem of ``audio_filepath``) of one JSON manifest line."""
    return get_uniqname_from_filepath(json.loads(line.strip())["audio_filepath"])


def get_uniq_id_with_dur(meta: dict, decimals: int = 3) -> str:
    """Id ``<rttm stem>_<offset>_<end>`` (times in units of ``10**-decimals`` s) for a cut of a recording.

    Without offset and duration the bare RTTM stem is returned; a missing duration gives ``NULL`` as end.
    """
    stem = get_uniqname_from_filepath(meta["rttm_filepath"])
    offset, duration = meta.get("offset"), meta.get("duration")
    if offset is None and duration is None:
        return stem
    start = str(int(round(offset, decimals) * 10**decimals)) if offset else 0
    end = str(int(round(offset + duration, decimals) * 10**decimals)) if duration else "NULL"
    return f"{stem}_{start}_{end}"


def audio_rttm_map(manifest: str, attach_dur: bool = False) -> dict[str, dict]:
    """Read a diarization manifest into ``{uniq_id: meta}``.

    ``meta`` holds ``audio_filepath``, ``rttm_filepath``, ``offset``, ``duration``, ``text``,
    ``num_speakers``, ``uem_filepath`` and ``ctm_filepath`` (None when absent).

    Args:
        manifest: JSON-lines manifest path.
        attach_dur: build ids with :func:`get_uniq_id_with_dur` (for cut recordings) instead of the audio stem.

    Raises:
        FileNotFoundError: ``manifest`` does not exist.
        ManifestError: a line is not UTF-8 or not one JSON object (the message names ``<manifest>:<line>``).
        KeyError: a line has no ``audio_filepath``, or two lines give the same id.
    """
    mapping: dict[str, dict] = {}
    keys = ("rttm_filepath", "offset", "duration", "text", "num_speakers", "uem_filepath", "ctm_filepath")
    for entry in read_manifest(manifest):
        meta = {"audio_filepath": entry["audio_filepath"]}
        meta.update({key: entry.get(key) for key in keys})
        uniq_id = (
            get_uniq_id_with_dur(meta) if attach_dur else get_uniqname_from_filepath(meta["audio_filepath"])
        )
        if uniq_id in mapping:
            raise KeyError(
                f"audio_rttm_map: {meta['audio_filepath']} gives the id '{uniq_id}' that is already in {manifest}; "
                "audio file base names must be unique."
            )
        mapping[uniq_id] = meta
    return mapping


def get_uniq_id_list_from_manifest(manifest_file: str) -> list[str]:
    """Unique ids of all lines of a manifest, in file order (blank lines skipped).

    Raises:
        FileNotFoundError, ManifestError: as :func:`~nemo.collections.asr.parts.utils.manifest_utils.read_manifest`.
    """
    return [get_uniqname_from_filepath(entry["audio_filepath"]) for entry in read_manifest(manifest_file)]


def string_to_float(x: str, round_digits: int) -> float:
    """``round(float(x), round_digits)``."""
    return round(float(x), round_digits)


def convert_rttm_line(rttm_line: str, round_digits: int = 3) -> tuple[float, float, str]:
    """(start, end, speaker) of one RTTM line, times rounded to ``round_digits``."""
    fields = rttm_line.strip().split()
    start = string_to_float(fields[3], round_digits)
    end = start + string_to_float(fields[4], round_digits)
    return start, end, fields[7]


def rttm_to_labels(rttm_filename: str) -> list[str]:
    """``"start end speaker"`` labels of every line of an RTTM file."""
    labels = []
    with open(rttm_filename) as handle:
        for line in handle:
            if line.strip():
                start, end, speaker = convert_rttm_line(line, round_digits=3)
                labels.append(f"{start} {end} {speaker}")
    return labels


def labels_to_rttmfile(labels: list[str], uniq_id: str, out_rttm_dir: str) -> str:
    """Write ``"start end speaker"`` labels as ``<out_rttm_dir>/<uniq_id>.rttm``; returns the file path."""
    path = os.path.join(out_rttm_dir, uniq_id + ".rttm")
    with open(path, "w") as handle:
        for label in labels:
            start, end, speaker = label.strip().split()
            onset, duration = float(start), float(end) - float(start)
            handle.write(
                f"SPEAKER {uniq_id} 1   {onset:.3f}   {duration:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
            )
    return path


def labels_to_pyannote_object(labels: list[str], uniq_name: str = "") -> Any:
    """``pyannote.core.Annotation`` built from ``"start end speaker"`` labels (needs pyannote.core)."""
    try:
        from pyannote.core import Annotation, Segment
    except ImportError as err:
        raise ImportError(
            "labels_to_pyannote_object needs the optional package `pyannote.core`; install it with "
            "`pip install pyannote.core`."
        ) from err
    annotation = Annotation(uri=uniq_name)
    for label in labels:
        start, end, speaker = label.strip().split()
        annotation[Segment(float(start), float(end))] = speaker
    return annotation


def read_rttm_lines(rttm_file_path: str) -> list[str]:
    """All lines of an RTTM (or VAD table) file; raises ``FileNotFoundError`` for a missing path."""
    if not rttm_file_path or not os.path.exists(rttm_file_path):
        raise FileNotFoundError(
            f"read_rttm_lines: RTTM/VAD file '{rttm_file_path}' does not exist; check `rttm_filepath` in the manifest."
        )
    with open(rttm_file_path) as handle:
        return handle.readlines()


def get_vad_out_from_rttm_line(rttm_line: str) -> tuple[float, float]:
    """(start, duration) of an RTTM line or of a three-column ``start duration label`` VAD line."""
    fields = rttm_line.strip().split()
    if len(fields) > 3:
        return float(fields[3]), float(fields[4])
    return float(fields[0]), float(fields[1])


def get_offset_and_duration(
    audio_rttm_map_dict: dict, uniq_id: str, decimals: int = 5
) -> tuple[float, float]:
    """(offset, duration) of a manifest entry; without a duration the whole audio file is used."""
    meta = audio_rttm_map_dict[uniq_id]
    if meta.get("duration"):
        return round(meta.get("offset") or 0.0, decimals), round(meta["duration"], decimals)
    import soundfile as sf

    info = sf.info(meta["audio_filepath"])
    return 0.0, info.frames / info.samplerate


def write_overlap_segments(
    outfile: Any,
    audio_rttm_map_dict: dict,
    uniq_id: str,
    overlap_range_list: list[list[float]],
    decimals: int = 5,
) -> None:
    """Append one manifest line (offset, duration, label ``UNK``, uniq_id) per range to an open file."""
    audio_path = audio_rttm_map_dict[uniq_id]["audio_filepath"]
    for start, end in overlap_range_list:
        entry = {
            "audio_filepath": audio_path,
            "offset": round(start, decimals),
            "duration": round(end - start, decimals),
            "label": "UNK",
            "uniq_id": uniq_id,
        }
        outfile.write(json.dumps(entry) + "\n")


def write_rttm2manifest(
    AUDIO_RTTM_MAP: dict, manifest_file: str, include_uniq_id: bool = False, decimals: int = 5
) -> str:
    """Write a segment manifest with the merged speech regions of every entry's RTTM/VAD file.

    Speech regions are merged and clipped to the entry's ``[offset, offset + duration]``.

    Args:
        AUDIO_RTTM_MAP: ``{uniq_id: meta}`` as from :func:`audio_rttm_map`.
        manifest_file: output path.
        include_uniq_id: accepted for NeMo compatibility; ``uniq_id`` is always written.
        decimals: rounding of times.

    Returns:
        ``manifest_file``.
    """
    with open(manifest_file, "w") as outfile:
        for uniq_id, meta in AUDIO_RTTM_MAP.items():
            regions = []
            for line in read_rttm_lines(meta["rttm_filepath"]):
                if line.strip():
                    start, dur = get_vad_out_from_rttm_line(line)
                    regions.append([start, start + dur])
            merged = merge_float_intervals(regions, decimals)
            offset, duration = get_offset_and_duration(AUDIO_RTTM_MAP, uniq_id, decimals)
            if len(merged) == 0 or duration <= 0:
                continue
            clipped = get_sub_range_list(target_range=[offset, offset + duration], source_range_list=merged)
            write_overlap_segments(outfile, AUDIO_RTTM_MAP, uniq_id, clipped, decimals)
    return manifest_file


def segments_manifest_to_subsegments_manifest(
    segments_manifest_file: str,
    subsegments_manifest_file: str | None = None,
    window: float = 1.5,
    shift: float = 0.75,
    min_subsegment_duration: float = 0.05,
    include_uniq_id: bool = False,
) -> str:
    """Cut every segment of a segment manifest into overlapping subsegments (``window`` long, ``shift`` apart).

    Subsegments not longer than ``min_subsegment_duration`` are dropped. ``uniq_id`` is copied from the
    segment line when ``include_uniq_id`` is set, else written as null.

    Returns:
        Path of the subsegment manifest (``./subsegments.json`` when not given).

    Raises:
        ManifestError: a segment line is not UTF-8 or not one JSON object (naming ``<manifest>:<line>``); the
            subsegment manifest is then not written.
    """
    if subsegments_manifest_file is None:
        subsegments_manifest_file = os.path.join(os.getcwd(), "subsegments.json")
    segments = read_manifest(segments_manifest_file)
    with open(subsegments_manifest_file, "w") as target:
        for entry in segments:
            uniq_id = entry.get("uniq_id") if include_uniq_id else None
            for start, dur in get_subsegments(
                offset=entry["offset"], window=window, shift=shift, duration=entry["duration"]
            ):
                if dur > min_subsegment_duration:
                    sub = {
                        "audio_filepath": entry["audio_filepath"],
                        "offset": start,
                        "duration": dur,
                        "label": entry["label"],
                        "uniq_id": uniq_id,
                    }
                    target.write(json.dumps(sub) + "\n")
    return subsegments_manifest_file


def validate_vad_manifest(AUDIO_RTTM_MAP: dict, vad_manifest: str) -> None:
    """Drop (in place) the entries of ``AUDIO_RTTM_MAP`` without any positive-length speech segment.

    Raises ``ValueError`` when no entry is left (a ``ManifestError`` naming ``<manifest>:<line>`` for a line
    that is not UTF-8 or not one JSON object).
    """
    with_speech = {entry["uniq_id"] for entry in read_manifest(vad_manifest) if entry["duration"] > 0}
    for uniq_id in set(AUDIO_RTTM_MAP) - with_speech:
        del AUDIO_RTTM_MAP[uniq_id]
    if len(AUDIO_RTTM_MAP) == 0:
        raise ValueError(
            f"validate_vad_manifest: no file in {vad_manifest} contains speech; nothing to diarize."
        )


# --------------------------------------------------------------------------------------------------
# Scales, embeddings and cluster labels
# --------------------------------------------------------------------------------------------------


def parse_scale_configs(
    window_lengths_in_sec: Any, shift_lengths_in_sec: Any, multiscale_weights: Any
) -> dict | None:
    """Validate multi-scale settings and return ``{'use_single_scale_clustering', 'scale_dict', 'multiscale_weights'}``.

    Either all three are lists (windows and shifts in descending order, each window longer than its
    shift), or window and shift are single floats (one scale, weight 1.0). Returns None when neither
    window nor shift is set.
    """
    sequence = (list, tuple)
    try:
        from omegaconf import ListConfig

        sequence = (list, tuple, ListConfig)
    except ImportError:
        pass
    floats = [isinstance(v, float) for v in (window_lengths_in_sec, shift_lengths_in_sec)]
    lists = [
        isinstance(v, sequence) for v in (window_lengths_in_sec, shift_lengths_in_sec, multiscale_weights)
    ]
    if all(floats):
        windows, shifts, weights = [window_lengths_in_sec], [shift_lengths_in_sec], [1.0]
    elif all(lists):
        windows, shifts, weights = (
            list(window_lengths_in_sec),
            list(shift_lengths_in_sec),
            list(multiscale_weights),
        )
    elif any(lists):
        raise ValueError(
            "parse_scale_configs: give `window_length_in_sec`, `shift_length_in_sec` and `multiscale_weights` "
            "all as lists (or window and shift as single floats)."
        )
    else:
        return None
    same_length = len(windows) == len(shifts) == len(weights) > 0
    descending = windows == sorted(windows, reverse=True) and shifts == sorted(shifts, reverse=True)
    window_over_shift = all(w > s for w, s in zip(windows, shifts))
    if not (same_length and descending and window_over_shift):
        raise ValueError(
            "parse_scale_configs: scales must have equal-length window/shift/weight lists, windows and shifts in "
            f"descending order and each window longer than its shift; got {windows}, {shifts}, {weights}."
        )
    return {
        "use_single_scale_clustering": False,
        "scale_dict": {k: (w, s) for k, (w, s) in enumerate(zip(windows, shifts))},
        "multiscale_weights": weights,
    }


def get_embs_and_timestamps(multiscale_embeddings_and_timestamps: dict, multiscale_args_dict: dict) -> dict:
    """Regroup ``{scale: (embeddings by id, timestamps by id)}`` into per-id clustering inputs.

    Returns:
        ``{uniq_id: {'embeddings': (sum N_s, D), 'timestamps': (sum N_s, 2), 'multiscale_segment_counts': (S,),
        'multiscale_weights': (1, S)}}``.
    """
    scale_dict = multiscale_args_dict["scale_dict"]
    weights = multiscale_args_dict["multiscale_weights"]
    scales = sorted(scale_dict.keys())
    if multiscale_args_dict.get("use_single_scale_clustering"):
        scales, weights = scales[:1], weights[:1]
    out: dict[str, dict] = {}
    for uniq_id in multiscale_embeddings_and_timestamps[scales[0]][0]:
        embs, stamps, counts = [], [], []
        for scale in scales:
            scale_embs, scale_stamps = multiscale_embeddings_and_timestamps[scale]
            if len(scale_embs[uniq_id]) != len(scale_stamps[uniq_id]):
                raise ValueError(
                    f"get_embs_and_timestamps: '{uniq_id}' scale {scale} has {len(scale_embs[uniq_id])} embeddings "
                    f"but {len(scale_stamps[uniq_id])} timestamps."
                )
            embs.append(scale_embs[uniq_id])
            stamps.append(torch.as_tensor(scale_stamps[uniq_id]))
            counts.append(int(scale_embs[uniq_id].shape[0]))
        out[uniq_id] = {
            "multiscale_weights": torch.tensor(weights).float().unsqueeze(0),
            "embeddings": torch.cat(embs, dim=0),
            "timestamps": torch.cat(stamps, dim=0),
            "multiscale_segment_counts": torch.tensor(counts),
        }
    return out


def get_timestamps(multiscale_timestamps: dict, multiscale_args_dict: dict) -> dict:
    """Regroup ``{scale: {uniq_id: stamps}}`` into ``{uniq_id: {'scale_dict': {scale: {'time_stamps': stamps}}}}``."""
    out: dict[str, dict] = {uniq_id: {"scale_dict": {}} for uniq_id in multiscale_timestamps[0]}
    for scale in sorted(multiscale_args_dict["scale_dict"].keys()):
        for uniq_id, stamps in multiscale_timestamps[scale].items():
            out[uniq_id]["scale_dict"][scale] = {"time_stamps": stamps}
    return out


def get_contiguous_stamps(stamps: list[str]) -> list[str]:
    """Remove overlaps between consecutive labels by cutting both at the midpoint of the overlap."""
    if not stamps:
        return []
    rows = [label.split() for label in deepcopy(stamps)]
    out = []
    for current, following in zip(rows[:-1], rows[1:]):
        if float(current[1]) > float(following[0]):
            middle = str((float(following[0]) + float(current[1])) / 2.0)
            following[0] = middle
            current = [current[0], middle, current[2]]
        out.append(" ".join(current))
    out.append(" ".join(rows[-1]))
    return out


def merge_stamps(lines: list[str]) -> list[str]:
    """Join consecutive labels of the same speaker that touch (end of one equals start of the next)."""
    if not lines:
        return []
    merged = [lines[0].split()]
    for label in lines[1:]:
        start, end, speaker = label.split()
        last = merged[-1]
        if float(last[1]) == float(start) and last[2] == speaker:
            last[1] = end
        else:
            merged.append([start, end, speaker])
    return [" ".join(row) for row in merged]


def generate_cluster_labels(segment_ranges: Any, cluster_labels: Any) -> tuple[list[str], list[str]]:
    """Speaker-turn labels from per-segment ranges and cluster indices.

    Returns:
        diar_hyp: merged turns, e.g. ``['0.0 4.375 speaker_1', '4.375 5.125 speaker_0']``.
        lines: one ``"start end speaker_<k>"`` per segment.
    """
    lines = []
    for (start, end), label in zip(segment_ranges, cluster_labels):
        lines.append(f"{float(start)} {float(end)} speaker_{int(label)}")
    return merge_stamps(get_contiguous_stamps(lines)), lines


def write_cluster_labels(base_scale_idx: int, lines_cluster_labels: list[str], out_rttm_dir: str) -> None:
    """Write per-segment cluster labels to ``<out_rttm_dir>/../speaker_outputs/subsegments_scale<k>_cluster.label``."""
    path = os.path.join(
        out_rttm_dir, "../speaker_outputs", f"subsegments_scale{base_scale_idx}_cluster.label"
    )
    with open(path, "w") as handle:
        handle.writelines(lines_cluster_labels)


def get_scale_mapping_argmat(uniq_embs_and_timestamps: dict) -> dict[int, torch.Tensor]:
    """``{scale: (N_base,) index of the nearest segment of that scale}`` for one session's clustering inputs."""
    _, stamps = split_input_data(
        embeddings_in_scales=uniq_embs_and_timestamps["embeddings"],
        timestamps_in_scales=uniq_embs_and_timestamps["timestamps"],
        multiscale_segment_counts=uniq_embs_and_timestamps["multiscale_segment_counts"],
    )
    return dict(enumerate(get_argmin_mat(stamps)))


def get_overlap_stamps(cont_stamps: list[str], ovl_spk_idx: list[list[int]]) -> list[str]:
    """Labels of overlapping speech: speaker k is added on the segments ``ovl_spk_idx[k]`` of ``cont_stamps``.

    Returns:
        ``"start end speaker_<k>"`` labels, touching segments of a speaker merged.
    """
    out: list[str] = []
    for speaker, segment_ids in enumerate(ovl_spk_idx):
        wanted = set(segment_ids)
        lines = [
            f"{label.split()[0]} {label.split()[1]} speaker_{speaker}"
            for idx, label in enumerate(cont_stamps)
            if idx in wanted
        ]
        out.extend(merge_stamps(lines))
    return out


def get_adaptive_threshold(
    estimated_num_of_spks: int, min_threshold: float, overlap_infer_spk_limit: int
) -> float:
    """Overlap-detection threshold rising linearly from ``min_threshold`` (2 speakers) to 1.0 (at the limit)."""
    return min_threshold - (estimated_num_of_spks - 2) * (min_threshold - 1) / (overlap_infer_spk_limit - 2)


def generate_speaker_timestamps(
    clus_labels: list[list[float | int]], msdd_preds: torch.Tensor, **params: Any
) -> tuple[list[str], list[str]]:
    """Main-speaker turns and extra overlap turns from clustering labels and MSDD speaker probabilities.

    Args:
        clus_labels: ``[start, end, cluster]`` per base-scale segment.
        msdd_preds: (1, N_base, S) speaker probabilities.
        params: ``threshold``, ``use_adaptive_thres``, ``overlap_infer_spk_limit``, ``use_clus_as_main`` (main
            speaker from clustering rather than from the highest probability) and ``max_overlap_spks``.

    Returns:
        maj_labels: merged single-speaker turns.
        ovl_labels: additional turns of overlapping speakers.
    """
    n_spks = msdd_preds.shape[-1]
    infer_overlap = n_spks < int(params["overlap_infer_spk_limit"])
    threshold = params["threshold"]
    if params["use_adaptive_thres"]:
        threshold = get_adaptive_threshold(n_spks, threshold, params["overlap_infer_spk_limit"])
    overlap_segments: list[list[int]] = [[] for _ in range(n_spks)]
    main_lines = []
    for seg_idx, label in enumerate(clus_labels):
        probs = msdd_preds[0, seg_idx].detach().cpu()
        ranked = torch.argsort(probs, descending=True).tolist()
        main = int(label[2]) if params["use_clus_as_main"] else ranked[0]
        if infer_overlap and int((probs > threshold).sum()) > 1:
            for speaker in ranked[: params["max_overlap_spks"]]:
                if speaker != main:
                    overlap_segments[speaker].append(seg_idx)
        main_lines.append(f"{label[0]} {label[1]} speaker_{main}")
    contiguous = get_contiguous_stamps(main_lines)
    return merge_stamps(contiguous), get_overlap_stamps(contiguous, overlap_segments)


def get_id_tup_dict(
    uniq_id_list: list[str], test_data_collection: Any, preds_list: list[torch.Tensor]
) -> dict:
    """``{uniq_id: [[target speakers, predictions], ...]}`` from a diarization data collection and its predictions."""
    sessions: dict[str, list] = {uniq_id: [] for uniq_id in uniq_id_list}
    for idx, item in enumerate(test_data_collection):
        sessions[get_uniqname_from_filepath(item.audio_file)].append([item.target_spks, preds_list[idx]])
    return sessions


def extract_timestamps(manifest_file: str) -> dict[str, list[list[float]]]:
    """``{uniq_id: [[start, end], ...]}`` from a subsegment manifest (``offset``/``duration``/``uniq_id`` lines).

    A line that is not UTF-8 or not one JSON object raises ``ManifestError`` naming ``<manifest>:<line>``.
    """
    stamps: dict[str, list[list[float]]] = {}
    for entry in read_manifest(manifest_file):
        stamps.setdefault(entry["uniq_id"], []).append([entry["offset"], entry["offset"] + entry["duration"]])
    return stamps


def prepare_split_data(
    manifest_filepath: str, _out_dir: str, multiscale_args_dict: dict, global_rank: int
) -> dict:
    """Multi-scale subsegment timestamps from oracle (RTTM) speech regions, for MSDD training data.

    Writes ``<_out_dir>/speaker_outputs/oracle_vad_manifest.json`` and one subsegment manifest per scale
    (reusing existing files; rank 0 clears the folder first).

    Returns:
        ``{uniq_id: {'scale_dict': {scale: {'time_stamps': [[start, end], ...]}}}}`` with ids
        ``<rttm stem>_<offset>_<end>`` (see :func:`get_uniq_id_with_dur`).
    """
    speaker_dir = os.path.join(_out_dir, "speaker_outputs")
    if global_rank == 0:
        shutil.rmtree(speaker_dir, ignore_errors=True)
        os.makedirs(speaker_dir)
    split_map = audio_rttm_map(manifest_filepath, attach_dur=True)
    vad_manifest = os.path.join(speaker_dir, "oracle_vad_manifest.json")
    if not os.path.exists(vad_manifest):
        write_rttm2manifest(split_map, vad_manifest, include_uniq_id=True)
    by_scale = {}
    for scale_idx, (window, shift) in multiscale_args_dict["scale_dict"].items():
        sub_manifest = os.path.join(speaker_dir, f"subsegments_scale{scale_idx}.json")
        if not os.path.exists(sub_manifest):
            segments_manifest_to_subsegments_manifest(
                segments_manifest_file=vad_manifest,
                subsegments_manifest_file=sub_manifest,
                window=window,
                shift=shift,
                include_uniq_id=True,
            )
        by_scale[scale_idx] = extract_timestamps(sub_manifest)
    return get_timestamps(by_scale, multiscale_args_dict)


def embedding_normalize(embs: np.ndarray, use_std: bool = False, eps: float = 1e-10) -> np.ndarray:
    """Mean-centre (and with ``use_std`` variance-normalise) (B, D) embeddings, then L2-normalise each row."""
    centred = embs - embs.mean(axis=0)
    if use_std:
        centred = centred / (centred.std(axis=0) + eps)
    return centred / np.linalg.norm(centred, ord=2, axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------------------
# Interval arithmetic and online segmentation (TorchScript-compatible)
# --------------------------------------------------------------------------------------------------


def is_overlap(rangeA: list[float], rangeB: list[float]) -> bool:
    """Whether two [start, end] ranges share a stretch of positive length."""
    return rangeA[1] > rangeB[0] and rangeB[1] > rangeA[0]


def get_overlap_range(rangeA: list[float], rangeB: list[float]) -> list[float]:
    """The common part of two overlapping [start, end] ranges."""
    if not is_overlap(rangeA, rangeB):
        raise ValueError(f"get_overlap_range: ranges {rangeA} and {rangeB} do not overlap.")
    return [max(rangeA[0], rangeB[0]), min(rangeA[1], rangeB[1])]


def merge_int_intervals(intervals_in: list[list[int]]) -> list[list[int]]:
    """Union of integer intervals; intervals that touch (end == next start) are joined.

    Example: [[8, 10], [1, 3], [2, 6]] -> [[1, 6], [8, 10]].
    """
    if len(intervals_in) <= 1:
        return intervals_in
    starts = torch.tensor([int(pair[0]) for pair in intervals_in], dtype=torch.long)
    order: list[int] = torch.argsort(starts, stable=True).tolist()
    merged: list[list[int]] = []
    for k in order:
        start, end = int(intervals_in[k][0]), int(intervals_in[k][1])
        if len(merged) > 0 and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def fl2int(x: float, decimals: int = 3) -> int:
    """``x`` in units of ``10**-decimals``, rounded to the nearest integer."""
    return int(round(x * (10**decimals)))


def int2fl(x: int, decimals: int = 3) -> float:
    """``x * 10**-decimals`` rounded to ``decimals`` digits."""
    return float(torch.round(torch.tensor(x / (10**decimals), dtype=torch.float64), decimals=decimals).item())


def merge_float_intervals(ranges: list[list[float]], decimals: int = 5, margin: int = 2) -> list[list[float]]:
    """Union of float intervals, computed on integers in units of ``10**-decimals``.

    Each start is moved right by ``margin`` units before merging (and back afterwards), so with the
    default ``margin=2`` intervals must overlap by more than touching to be joined; with ``margin=0``
    touching intervals are joined too. Intervals that vanish after the shift are dropped.
    """
    as_int: list[list[int]] = []
    for pair in ranges:
        start = fl2int(pair[0], decimals) + margin
        end = fl2int(pair[1], decimals)
        if start < end:
            as_int.append([start, end])
    merged = merge_int_intervals(as_int)
    return [[int2fl(pair[0] - margin, decimals), int2fl(pair[1], decimals)] for pair in merged]


def get_sub_range_list(target_range: list[float], source_range_list: list[list[float]]) -> list[list[float]]:
    """The parts of ``source_range_list`` that fall inside ``target_range`` (empty target -> empty list)."""
    if len(target_range) == 0:
        return []
    out: list[list[float]] = []
    for source in source_range_list:
        if is_overlap(source, target_range):
            out.append(get_overlap_range(source, target_range))
    return out


def get_subsegments(offset: float, window: float, shift: float, duration: float) -> list[list[float]]:
    """Cut ``[offset, offset + duration]`` into windows of ``window`` s every ``shift`` s.

    The last window is clipped to the segment end; a segment shorter than ``window`` gives one window.

    Returns:
        [start, duration] of every subsegment.
    """
    stop = offset + duration
    steps = math.ceil((duration - window) / shift)
    count = 1 if steps < 0 else steps + 1
    out: list[list[float]] = []
    for k in range(count):
        start = offset + k * shift
        out.append([start, min(start + window, stop) - start])
    return out


def get_target_sig(
    sig: torch.Tensor, start_sec: float, end_sec: float, slice_length: int, sample_rate: int
) -> torch.Tensor:
    """Samples of ``sig`` from ``start_sec`` to ``end_sec``, at most ``slice_length`` of them."""
    first = int(start_sec * sample_rate)
    last = min(int(end_sec * sample_rate), first + slice_length)
    return sig[first:last]


def check_ranges(range_tensor: torch.Tensor) -> bool:
    """True if no (start, end) row of a (N, 2) tensor ends before it starts; raises ``ValueError`` otherwise."""
    for k in range(range_tensor.shape[0]):
        if bool(range_tensor[k][1] < range_tensor[k][0]):
            raise ValueError(f"check_ranges: range {range_tensor[k].tolist()} ends before it starts.")
    return True


def tensor_to_list(range_tensor: torch.Tensor) -> list[list[float]]:
    """(N, 2) tensor -> list of [float, float]."""
    return [[float(range_tensor[k][0]), float(range_tensor[k][1])] for k in range(range_tensor.shape[0])]


def get_speech_labels_for_update(
    frame_start: float,
    buffer_end: float,
    vad_timestamps: torch.Tensor,
    cumulative_speech_labels: torch.Tensor,
    cursor_for_old_segments: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Speech regions to (re)segment for the current streaming frame, and the updated speech history.

    The regions are the parts of ``vad_timestamps`` inside ``[frame_start, buffer_end]`` plus the parts of
    ``cumulative_speech_labels`` between ``cursor_for_old_segments`` and ``frame_start`` (the old segments
    that are redone). Argument positions follow NeMo, whose callers pass the speech history third and the
    new VAD output fourth.

    Returns:
        speech_label_for_new_segments: (K, 2) merged regions to cut into segments.
        cumulative_speech_labels: (M, 2) ``cumulative_speech_labels`` merged with the new regions.
    """
    redo_range: list[float] = []
    if cursor_for_old_segments < frame_start:
        redo_range = [float(cursor_for_old_segments), float(frame_start)]
    incoming = get_sub_range_list(
        target_range=[float(frame_start), float(buffer_end)], source_range_list=tensor_to_list(vad_timestamps)
    )
    history = tensor_to_list(cumulative_speech_labels)
    redo = get_sub_range_list(target_range=redo_range, source_range_list=history)
    for_new_segments = merge_float_intervals(redo + incoming, margin=0)
    updated_history = merge_float_intervals(history + incoming, margin=0)
    return torch.tensor(for_new_segments), torch.tensor(updated_history)


def get_new_cursor_for_update(frame_start: float, segment_range_ts: list[list[float]]) -> tuple[float, int]:
    """Where re-segmentation starts: drop trailing segments that end at or after ``frame_start``.

    Returns:
        cursor_for_old_segments: start of the earliest dropped segment (``frame_start`` if none).
        cursor_index: number of segments kept.
    """
    cursor = frame_start
    kept = len(segment_range_ts)
    while kept > 0 and frame_start <= segment_range_ts[kept - 1][1]:
        cursor = segment_range_ts[kept - 1][0]
        kept -= 1
    return cursor, kept


def get_online_segments_from_slices(
    sig: torch.Tensor,
    buffer_start: float,
    buffer_end: float,
    subsegments: list[list[float]],
    ind_offset: int,
    window: float,
    sample_rate: int,
) -> tuple[int, list[torch.Tensor], list[list[float]], list[int]]:
    """Cut the audio of each subsegment out of the buffer, repeating short ones up to ``window`` s.

    Args:
        sig: (T,) audio buffer.
        buffer_start: time of the buffer's first sample.
        buffer_end: time of the buffer's end.
        subsegments: [start, duration] relative to the buffer start.
        ind_offset: index of the last segment produced so far.
        window: segment length in seconds.
        sample_rate: audio sample rate.

    Returns:
        ind_offset: index of the last segment produced.
        sigs_list: (window * sample_rate,) audio of every segment.
        sig_rangel_list: absolute [start, end] of every segment.
        sig_indexes: global index of every segment.
    """
    slice_length = int(window * sample_rate)
    sigs_list: list[torch.Tensor] = []
    sig_rangel_list: list[list[float]] = []
    sig_indexes: list[int] = []
    buffer_len = buffer_end - buffer_start
    for subseg in subsegments:
        start_sec = subseg[0]
        if start_sec > buffer_end:
            continue
        ind_offset += 1
        end_sec = float(min(start_sec + subseg[1], buffer_len))
        signal = get_target_sig(sig, start_sec, end_sec, slice_length, sample_rate)
        if signal.shape[0] == 0:
            raise ValueError(
                f"get_online_segments_from_slices: subsegment {subseg} selects no audio samples."
            )
        if signal.shape[0] < slice_length:
            signal = repeat_signal(signal, signal.shape[0], slice_length)
        sigs_list.append(signal)
        sig_rangel_list.append([buffer_start + start_sec, buffer_start + end_sec])
        sig_indexes.append(ind_offset)
    return ind_offset, sigs_list, sig_rangel_list, sig_indexes


def get_online_subsegments_from_buffer(
    buffer_start: float,
    buffer_end: float,
    sample_rate: int,
    speech_labels_for_update: torch.Tensor,
    audio_buffer: torch.Tensor,
    segment_indexes: list[int],
    window: float,
    shift: float,
) -> tuple[list[torch.Tensor], list[list[float]], list[int]]:
    """Segments (audio, absolute range, global index) for every speech region of the audio buffer.

    Args:
        buffer_start: time of the buffer's first sample.
        buffer_end: time of the buffer's end.
        sample_rate: audio sample rate.
        speech_labels_for_update: (K, 2) absolute speech regions to segment.
        audio_buffer: (T,) audio.
        segment_indexes: global indices of the segments kept so far (numbering continues after the last).
        window: segment length in seconds.
        shift: segment hop in seconds.

    Returns:
        Audio tensors, [start, end] ranges and global indices of the new segments.
    """
    sigs_list: list[torch.Tensor] = []
    sig_rangel_list: list[list[float]] = []
    sig_indexes: list[int] = []
    ind_offset = segment_indexes[-1] if len(segment_indexes) > 0 else -1
    for k in range(speech_labels_for_update.shape[0]):
        rel_start = max(0.0, float(speech_labels_for_update[k][0].item()) - buffer_start)
        rel_end = float(speech_labels_for_update[k][1].item()) - buffer_start
        subsegments = get_subsegments(
            offset=rel_start, window=window, shift=shift, duration=rel_end - rel_start
        )
        ind_offset, sigs, ranges, inds = get_online_segments_from_slices(
            sig=audio_buffer,
            buffer_start=buffer_start,
            buffer_end=buffer_end,
            subsegments=subsegments,
            ind_offset=ind_offset,
            window=window,
            sample_rate=sample_rate,
        )
        sigs_list.extend(sigs)
        sig_rangel_list.extend(ranges)
        sig_indexes.extend(inds)
    return sigs_list, sig_rangel_list, sig_indexes


class OnlineSegmentor:
    """Turns the streaming audio buffer into speaker-embedding segments, redoing the ones the new frame touches.

    The buffer holds past context, the current frame (starting at ``frame_start``) and look-ahead.

    Args:
        sample_rate: audio sample rate.
    """

    def __init__(self, sample_rate: int):
        self.frame_start: float = 0.0
        self.buffer_start: float = 0.0
        self.buffer_end: float = 0.0
        self.sample_rate: int = sample_rate
        self.cumulative_speech_labels: torch.Tensor = torch.tensor([])

    def run_online_segmentation(
        self,
        audio_buffer: torch.Tensor,
        vad_timestamps: torch.Tensor,
        segment_raw_audio: list[torch.Tensor],
        segment_range_ts: list[list[float]],
        segment_indexes: list[int],
        window: float,
        shift: float,
    ) -> tuple[list[torch.Tensor], list[list[float]], list[int]]:
        """Update the segment lists with the segments of the current buffer.

        Args:
            audio_buffer: (T,) audio.
            vad_timestamps: (K, 2) absolute speech regions of the buffer.
            segment_raw_audio: audio of the segments so far.
            segment_range_ts: [start, end] of the segments so far.
            segment_indexes: global indices of the segments so far.
            window: segment length in seconds.
            shift: segment hop in seconds.

        Returns:
            The three lists, with the segments overlapping the new frame replaced by fresh ones.
        """
        if self.buffer_start >= 0:
            if len(segment_raw_audio) == 0 and vad_timestamps.shape[0] > 0:
                vad_timestamps[0][0] = max(float(vad_timestamps[0][0].item()), 0.0)
                speech_labels_for_update = vad_timestamps
                self.cumulative_speech_labels = speech_labels_for_update
            else:
                cursor, kept = get_new_cursor_for_update(self.frame_start, segment_range_ts)
                segment_range_ts = segment_range_ts[:kept]
                segment_raw_audio = segment_raw_audio[:kept]
                segment_indexes = segment_indexes[:kept]
                speech_labels_for_update, self.cumulative_speech_labels = get_speech_labels_for_update(
                    self.frame_start, self.buffer_end, self.cumulative_speech_labels, vad_timestamps, cursor
                )
            sigs, ranges, indexes = get_online_subsegments_from_buffer(
                buffer_start=self.buffer_start,
                buffer_end=self.buffer_end,
                sample_rate=self.sample_rate,
                speech_labels_for_update=speech_labels_for_update,
                audio_buffer=audio_buffer,
                segment_indexes=segment_indexes,
                window=window,
                shift=shift,
            )
            segment_raw_audio.extend(sigs)
            segment_range_ts.extend(ranges)
            segment_indexes.extend(indexes)
        if not len(segment_raw_audio) == len(segment_range_ts) == len(segment_indexes):
            raise ValueError("OnlineSegmentor: segment audio, ranges and indices have different lengths.")
        return segment_raw_audio, segment_range_ts, segment_indexes

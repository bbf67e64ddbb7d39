"""Tensor helpers shared by the TTS models: masks, attention binarization (monotonic alignment search),
length regulation, per-token averaging, and the export input examples.

NeMo 1.23's names (``nemo.collections.tts.parts.utils.helpers``). Everything here is vectorised over the
batch; the monotonic alignment search is a dynamic programme over spectrogram frames, so it loops over
frames (in numpy, on the host, as NeMo does) and never over batch items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from nemo.collections.tts.parts.utils.plotting import (
    plot_alignment_to_numpy,
    plot_pitch_to_numpy,
    plot_spectrogram_to_numpy,
)

__all__ = [
    "average_features",
    "b_mas",
    "binarize_attention",
    "binarize_attention_parallel",
    "frames_per_token",
    "g2p_backward_compatible_support",
    "get_mask_from_lengths",
    "mask_from_lens",
    "mask_sequence_tensor",
    "plot_alignment_to_numpy",
    "plot_pitch_to_numpy",
    "plot_spectrogram_to_numpy",
    "process_batch",
    "regulate_len",
    "sample_tts_input",
    "sort_tensor",
    "unsort_tensor",
]


def mask_from_lens(lens: torch.Tensor, max_len: int | torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask of the valid positions of each sequence.

    Args:
        lens: (B,) sequence lengths.
        max_len: width of the mask (default: ``lens.max()``).

    Returns:
        (B, max_len) bool, True where the position is inside the sequence.
    """
    if max_len is None:
        max_len = lens.max()
    ids = torch.arange(0, max_len, device=lens.device, dtype=lens.dtype)
    return ids.unsqueeze(0) < lens.unsqueeze(1)


def get_mask_from_lengths(lengths: torch.Tensor | None = None, x: torch.Tensor | None = None) -> torch.Tensor:
    """NeMo's mask helper: (B, T) bool from (B,) lengths, T = ``x.shape[-1]`` when ``x`` is given.

    With no ``lengths``, a (T,) mask of ones for ``x``'s last dimension.
    """
    if lengths is None:
        if x is None:
            raise ValueError("get_mask_from_lengths needs lengths or x; got neither. Pass one of them.")
        return torch.ones(x.shape[-1], dtype=torch.bool, device=x.device)
    return mask_from_lens(lengths, None if x is None else x.shape[-1])


def mask_sequence_tensor(tensor: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero every position of ``tensor`` past its row's length along the last (time) axis.

    Args:
        tensor: (B, T), (B, D, T) or (B, D1, D2, T) batch of sequences.
        lengths: (B,) valid lengths.

    Returns:
        A tensor of ``tensor``'s shape with positions ``t >= lengths[b]`` set to zero.

    Raises:
        ValueError: ``tensor`` is not 2-, 3- or 4-dimensional.
    """
    if tensor.dim() not in (2, 3, 4):
        raise ValueError(
            f"mask_sequence_tensor masks (B, T), (B, D, T) or (B, D1, D2, T) tensors; got shape "
            f"{tuple(tensor.shape)}. Reshape the tensor to one of those."
        )
    valid = mask_from_lens(lengths, tensor.shape[-1])
    valid = valid.view(valid.shape[0], *([1] * (tensor.dim() - 2)), valid.shape[1])
    return tensor * valid


def sort_tensor(
    context: torch.Tensor, lens: torch.Tensor, dim: int = 0, descending: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reorder ``context`` along ``dim`` by ``lens`` (longest first unless ``descending=False``).

    Args:
        context: tensor whose ``dim`` axis has ``lens.numel()`` entries (e.g. (B, T, D) with ``dim=0``).
        lens: (N,) one length per entry of ``context`` along ``dim``.
        dim: the axis to reorder.
        descending: longest first when True.

    Returns:
        (sorted context, sorted lens (N,), the (N,) permutation applied); pass the permutation to
        :func:`unsort_tensor` to restore the original order.
    """
    lens_sorted, order = torch.sort(lens, descending=descending)
    return context.index_select(dim, order), lens_sorted, order


def unsort_tensor(ordered: torch.Tensor, indices: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Undo :func:`sort_tensor`: put entry ``i`` of ``ordered`` back at position ``indices[i]`` along ``dim``.

    Args:
        ordered: the sorted tensor.
        indices: (N,) the permutation :func:`sort_tensor` returned.
        dim: the axis that was reordered.

    Returns:
        ``ordered`` in the original order.
    """
    restored = torch.empty_like(ordered)
    return restored.index_copy_(dim, indices, ordered)


def b_mas(
    b_log_attn_map: np.ndarray, in_lens: np.ndarray, out_lens: np.ndarray, width: int = 1
) -> np.ndarray:
    """Monotonic alignment search (width 1) over a batch of log-attention maps.

    Each map's best monotonic path that starts at the first token on the first frame, ends at the last
    token (``in_lens - 1``) on the last frame (``out_lens - 1``), and moves at most one token per frame.
    Ties go to the earlier token, as in NeMo 1.23.

    Args:
        b_log_attn_map: (B, 1, T_spec, T_text) float log-probabilities.
        in_lens: (B,) text lengths.
        out_lens: (B,) spectrogram lengths.
        width: must be 1 (NeMo's only supported width).

    Returns:
        (B, 1, T_spec, T_text) array of the map's dtype: 1 on the path, 0 elsewhere (and outside the lengths).
    """
    if width != 1:
        raise ValueError(f"b_mas supports width=1 only, as NeMo 1.23; got width={width}. Pass width=1.")
    log_p = np.array(b_log_attn_map[:, 0], copy=True)
    batch, n_frames, n_tokens = log_p.shape
    log_p[:, 0, 1:] = -np.inf
    best_prev = np.empty((batch, n_tokens), dtype=log_p.dtype)
    for i in range(1, n_frames):
        prev = log_p[:, i - 1]
        best_prev[:, 0] = prev[:, 0]
        np.maximum(prev[:, :-1], prev[:, 1:], out=best_prev[:, 1:])
        log_p[:, i] += best_prev

    in_lens = np.asarray(in_lens, dtype=np.int64)
    out_lens = np.asarray(out_lens, dtype=np.int64)
    rows = np.arange(batch)
    token = in_lens - 1
    path = np.empty((batch, n_frames), dtype=np.int64)
    for i in range(n_frames - 1, 0, -1):
        path[:, i] = token
        prev = log_p[:, i - 1]
        step = (token > 0) & (i < out_lens) & (prev[rows, token - 1] >= prev[rows, np.maximum(token, 0)])
        token = token - step
    path[:, 0] = token

    attn_out = np.zeros((batch, n_frames, n_tokens), dtype=b_log_attn_map.dtype)
    valid = np.arange(n_frames)[None, :] < out_lens[:, None]
    batch_idx, frame_idx = np.nonzero(valid)
    attn_out[batch_idx, frame_idx, path[batch_idx, frame_idx]] = 1
    return attn_out[:, None]


def binarize_attention_parallel(
    attn: torch.Tensor, in_lens: torch.Tensor, out_lens: torch.Tensor
) -> torch.Tensor:
    """Hard (0/1) monotonic attention from soft attention, with no gradient (NeMo's training binarization).

    Args:
        attn: (B, 1, T_spec, T_text) soft attention, rows summing to 1 over the valid tokens.
        in_lens: (B,) text lengths.
        out_lens: (B,) spectrogram lengths.

    Returns:
        (B, 1, T_spec, T_text) hard attention on ``attn``'s device: one 1 per valid frame.
    """
    with torch.no_grad():
        log_attn = torch.log(attn.detach()).cpu().numpy()
        attn_out = b_mas(log_attn, in_lens.cpu().numpy(), out_lens.cpu().numpy(), width=1)
    return torch.from_numpy(attn_out).to(attn.device)


binarize_attention = binarize_attention_parallel


def frames_per_token(durations: torch.Tensor, pace: float | torch.Tensor = 1.0) -> torch.Tensor:
    """The frames ``regulate_len`` repeats each token for: ``durations / pace`` rounded half up.

    Args:
        durations: (B, T_text) or (T_text,) predicted or target durations (float or int).
        pace: speaking rate; 2.0 halves the durations.

    Returns:
        The same shape, int64.
    """
    return torch.floor(durations.float() / pace + 0.5).long()


def regulate_len(
    durations: torch.Tensor,
    enc_out: torch.Tensor,
    pace: float = 1.0,
    mel_max_len: int | None = None,
    group_size: int = 1,
    dur_lens: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Repeat each encoded token for its duration (rounded half up after dividing by ``pace``).

    Args:
        durations: (B, T_text) frames per token (float or int).
        enc_out: (B, T_text, D) encoded tokens.
        pace: speaking rate; 2.0 halves the durations.
        mel_max_len: cut the output after this many frames.
        group_size: pad each sequence (by lengthening its last token, ``dur_lens - 1``) to a multiple of this.
        dur_lens: (B,) text lengths, needed when ``group_size > 1``.

    Returns:
        enc_rep: (B, T_spec, D), zeros past each row's length; dec_lens: (B,) frames per row.
    """
    reps = frames_per_token(durations, pace)
    dec_lens = reps.sum(dim=1)
    if group_size > 1:
        if dur_lens is None:
            raise ValueError(f"regulate_len(group_size={group_size}) needs dur_lens (B,); got None. Pass it.")
        to_pad = group_size * torch.div(dec_lens + 1, group_size, rounding_mode="floor") - dec_lens
        batch_idx = torch.arange(dur_lens.shape[0], dtype=torch.long, device=reps.device)
        reps.index_put_((batch_idx, dur_lens.long() - 1), to_pad, accumulate=True)
        dec_lens = reps.sum(dim=1)
    max_len = dec_lens.max()
    ends = torch.cumsum(reps, dim=1)
    frames = torch.arange(max_len, device=enc_out.device, dtype=ends.dtype)
    if torch.onnx.is_in_onnx_export():
        token_idx = (ends.unsqueeze(1) <= frames[None, :, None]).sum(dim=2)
    else:
        token_idx = torch.searchsorted(ends, frames.unsqueeze(0).repeat(ends.shape[0], 1), right=True)
    batch, n_tokens, width = enc_out.shape
    valid = token_idx < n_tokens
    # One flat row lookup (much cheaper than gather on CPU); frames past a row's length are zeroed.
    flat_idx = (
        token_idx.clamp(max=n_tokens - 1) + torch.arange(batch, device=enc_out.device).unsqueeze(1) * n_tokens
    )
    enc_rep = enc_out.reshape(batch * n_tokens, width).index_select(0, flat_idx.reshape(-1))
    enc_rep = enc_rep.view(batch, -1, width) * valid.unsqueeze(2).to(enc_out.dtype)
    if mel_max_len is not None:
        enc_rep = enc_rep[:, :mel_max_len]
        dec_lens = torch.clamp_max(dec_lens, mel_max_len)
    return enc_rep, dec_lens


def average_features(pitch: torch.Tensor, durs: torch.Tensor) -> torch.Tensor:
    """Average a per-frame feature over each token's frames, ignoring zeros (unvoiced frames).

    Args:
        pitch: (B, C, T_spec) per-frame values (C formants, usually 1).
        durs: (B, T_text) frames per token, summing to at most T_spec.

    Returns:
        (B, C, T_text) mean of the non-zero values in each token's frames (0 where there are none).
    """
    ends = torch.cumsum(durs, dim=1).long()
    starts = torch.nn.functional.pad(ends[:, :-1], (1, 0))
    nonzero_cums = torch.nn.functional.pad(torch.cumsum(pitch != 0.0, dim=2), (1, 0))
    value_cums = torch.nn.functional.pad(torch.cumsum(pitch, dim=2), (1, 0))
    batch, n_tokens = ends.shape
    n_formants = pitch.shape[1]
    starts = starts[:, None, :].expand(batch, n_formants, n_tokens)
    ends = ends[:, None, :].expand(batch, n_formants, n_tokens)
    sums = (torch.gather(value_cums, 2, ends) - torch.gather(value_cums, 2, starts)).float()
    counts = (torch.gather(nonzero_cums, 2, ends) - torch.gather(nonzero_cums, 2, starts)).float()
    return torch.where(counts == 0.0, counts, sums / counts)


def process_batch(batch_data: list | tuple, sup_data_types_set: set) -> dict[str, Any]:
    """Name the items of a ``TTSDataset`` batch (NeMo's collate layout) by their data type.

    Args:
        batch_data: the collated tuple: audio, audio_lens, text, text_lens, then each supplementary type
            in ``DATA_STR2DATA_CLASS`` order (with ``<name>_lens`` after types that have lengths).
        sup_data_types_set: the dataset's supplementary data classes (``dataset.sup_data_types_set``).

    Returns:
        ``{"audio": ..., "audio_lens": ..., "text": ..., "text_lens": ..., "pitch": ..., ...}``.
    """
    from nemo.collections.tts.torch.tts_data_types import DATA_STR2DATA_CLASS, MAIN_DATA_TYPES, WithLens

    batch_dict: dict[str, Any] = {}
    index = 0
    for name, datatype in DATA_STR2DATA_CLASS.items():
        if datatype in MAIN_DATA_TYPES or datatype in sup_data_types_set:
            batch_dict[name] = batch_data[index]
            index += 1
            if issubclass(datatype, WithLens):
                batch_dict[name + "_lens"] = batch_data[index]
                index += 1
    return batch_dict


def sample_tts_input(
    export_config: dict[str, Any], device: torch.device | str, max_batch: int = 1, max_dim: int = 127
) -> dict[str, torch.Tensor]:
    """Random export inputs for a spectrogram generator: ``text``, ``pitch``, ``pace`` (B, T) and, as the
    export config asks, ``volume`` (B, T), ``batch_lengths`` (B,) and ``speaker`` (B,).

    Args:
        export_config: the model's ``export_config`` (``emb_range``, ``enable_volume``, ``num_speakers``).
        device: where to put the tensors.
        max_batch: B.
        max_dim: T.
    """
    size = (max_batch, max_dim)
    inputs = {
        "text": torch.randint(*export_config["emb_range"], size, device=device, dtype=torch.int64),
        "pitch": torch.randn(size, device=device, dtype=torch.float32) * 0.5,
        "pace": torch.clamp(torch.randn(size, device=device, dtype=torch.float32) * 0.1 + 1.0, min=0.2),
    }
    batch_lengths = torch.randint(max_dim // 2, max_dim, (max_batch,), device=device, dtype=torch.int32)
    batch_lengths[0] = max_dim
    inputs["batch_lengths"] = batch_lengths
    if export_config.get("enable_volume"):
        volume = torch.randn(size, device=device, dtype=torch.float32) * 0.1 + 1
        inputs["volume"] = torch.clamp(volume, min=0.01)
    if "num_speakers" in export_config:
        inputs["speaker"] = torch.randint(
            0, export_config["num_speakers"], (max_batch,), device=device, dtype=torch.int64
        )
    return inputs


def g2p_backward_compatible_support(g2p_target: str) -> str:
    """Map a pre-1.18 ``nemo_text_processing.g2p`` class path to ``nemo.collections.tts.g2p``."""
    return g2p_target.replace("nemo_text_processing.g2p", "nemo.collections.tts.g2p")

"""Images of spectrograms, alignments and pitch contours for TensorBoard, drawn with numpy alone.

NeMo 1.23 draws these with matplotlib; these functions keep its names and return the same kind of
value, an (H, W, 3) uint8 RGB array for ``SummaryWriter.add_image(..., dataformats="HWC")``, without the
dependency. Heat maps use a viridis-like colour ramp with the first row at the bottom, as ``imshow(origin=
"lower")`` does; each data cell is ``scale`` pixels wide and high.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_alignment_to_numpy", "plot_pitch_to_numpy", "plot_spectrogram_to_numpy"]

# Anchor colours of the ramp (dark blue -> teal -> green -> yellow), interpolated linearly.
_RAMP = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)


def _colorize(values: np.ndarray, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 colours, ``vmin``/``vmax`` (default: data range) at the ends."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low = float(values.min()) if vmin is None else vmin
    high = float(values.max()) if vmax is None else vmax
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0) if high > low else np.zeros_like(values)
    position = scaled * (len(_RAMP) - 1)
    lower = np.minimum(position.astype(np.int64), len(_RAMP) - 2)
    frac = (position - lower)[..., None]
    colours = _RAMP[lower] * (1.0 - frac) + _RAMP[lower + 1] * frac
    return np.round(colours).astype(np.uint8)


def _heat_map(data: np.ndarray, scale: int, vmin: float | None, vmax: float | None) -> np.ndarray:
    if data.ndim != 2:
        raise ValueError(f"Expected a 2-D array (rows, columns) to draw; got shape {data.shape}.")
    image = _colorize(data[::-1], vmin, vmax)
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def plot_spectrogram_to_numpy(spectrogram: np.ndarray, scale: int = 2) -> np.ndarray:
    """Image of a spectrogram.

    Args:
        spectrogram: (n_mels, T) values (e.g. log-mel).
        scale: pixels per cell.

    Returns:
        (n_mels * scale, T * scale, 3) uint8, low frequencies at the bottom.
    """
    return _heat_map(np.asarray(spectrogram), scale, None, None)


def plot_alignment_to_numpy(
    alignment: np.ndarray,
    title: str = "",
    info: str | None = None,
    phoneme_seq: list | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    scale: int = 2,
) -> np.ndarray:
    """Image of an attention/alignment matrix (NeMo's signature; ``title``, ``info`` and ``phoneme_seq`` are
    accepted for compatibility and not drawn).

    Args:
        alignment: (T_text, T_spec) weights (NeMo passes the transposed (T_spec, T_text) attention).
        vmin, vmax: colour range (default: data range).
        scale: pixels per cell.

    Returns:
        (T_text * scale, T_spec * scale, 3) uint8, the first token at the bottom.
    """
    return _heat_map(np.asarray(alignment), scale, vmin, vmax)


def plot_pitch_to_numpy(
    pitch: np.ndarray, ylim_range: tuple[float, float] | None = None, height: int = 160
) -> np.ndarray:
    """Line plot of a pitch contour on a white background.

    Args:
        pitch: (T,) values.
        ylim_range: (low, high) of the vertical axis (default: data range).
        height: image height in pixels.

    Returns:
        (height, T, 3) uint8 with the contour in blue, one column per frame.
    """
    pitch = np.nan_to_num(np.asarray(pitch, dtype=np.float64).reshape(-1))
    low, high = ylim_range if ylim_range is not None else (float(pitch.min()), float(pitch.max()))
    image = np.full((height, max(len(pitch), 1), 3), 255, dtype=np.uint8)
    if len(pitch) == 0:
        return image
    span = high - low if high > low else 1.0
    rows = np.clip(np.round((1.0 - (pitch - low) / span) * (height - 1)), 0, height - 1).astype(np.int64)
    columns = np.arange(len(pitch))
    # Join consecutive points with vertical runs so the line stays connected.
    top = np.minimum(rows, np.concatenate([rows[:1], rows[:-1]]))
    bottom = np.maximum(rows, np.concatenate([rows[:1], rows[:-1]]))
    in_run = (np.arange(height)[:, None] >= top[None, :]) & (np.arange(height)[:, None] <= bottom[None, :])
    image[in_run] = (31, 119, 180)
    image[rows, columns] = (31, 119, 180)
    return image

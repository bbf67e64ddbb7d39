"""TensorBoard images drawn with numpy: RGB uint8 (H, W, 3), the first row (lowest mel band, first token) at the
bottom, as matplotlib's ``origin="lower"`` plots that NeMo logs."""

import numpy as np
from nemo.collections.tts.parts.utils.plotting import (
    plot_alignment_to_numpy,
    plot_pitch_to_numpy,
    plot_spectrogram_to_numpy,
)


def test_spectrogram_image_shape_and_orientation():
    spectrogram = np.zeros((80, 30), dtype=np.float32)
    spectrogram[0] = 5.0  # the lowest band is the loudest
    image = plot_spectrogram_to_numpy(spectrogram)
    assert image.shape == (160, 60, 3) and image.dtype == np.uint8
    bottom, top = image[-1, 0].astype(int), image[0, 0].astype(int)
    assert bottom.sum() > top.sum(), "the high end of the colour ramp (yellow) is brighter than the low end"
    assert (image[-2:] == image[-1, 0]).all() and (image[:-2] == top).all()


def test_alignment_image_and_constant_input():
    alignment = np.eye(4, 6)
    image = plot_alignment_to_numpy(alignment, vmin=0.0, vmax=1.0)
    assert image.shape == (8, 12, 3)
    assert (image[-1, 0] != image[-1, 2]).any(), "token 0 is aligned to frame 0 only"
    flat = plot_alignment_to_numpy(np.ones((3, 3)))
    assert (flat == flat[0, 0]).all()


def test_pitch_plot_draws_one_point_per_frame():
    pitch = np.array([0.0, 1.0, 2.0, 3.0])
    image = plot_pitch_to_numpy(pitch, height=31)
    assert image.shape == (31, 4, 3)
    drawn = (image != 255).any(axis=2)
    assert drawn[30, 0] and drawn[0, 3], "the lowest value at the bottom, the highest at the top"
    assert drawn.any(axis=0).all()

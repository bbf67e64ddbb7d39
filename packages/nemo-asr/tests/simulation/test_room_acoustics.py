"""Angles, microphone arrays, placement ranges and RIR helpers of ``data_simulation``, against hand values and
numpy / scipy references."""

import numpy as np
import pytest
from nemo.collections.asr.data.data_simulation import (
    ArrayGeometry,
    calculate_drr,
    check_angle,
    convert_numpy_to_serializable,
    convert_placement_to_range,
    convert_rir_to_multichannel,
    convolve_rir,
    load_rir_simulation,
    scaled_disturbance,
    simultaneously_active_rms,
    wrap_to_180,
)


def test_check_angle_limits():
    assert check_angle("elevation", [-90, 0, 90]) is True
    assert check_angle("azimuth", 180.0) is True
    with pytest.raises(ValueError, match="pitch"):
        check_angle("pitch", 91)
    with pytest.raises(ValueError):
        check_angle("tilt", 0)


@pytest.mark.parametrize("angle, wrapped", [(181, -179), (-181, 179), (540, -180), (90.5, 90.5), (-720, 0)])
def test_wrap_to_180(angle, wrapped):
    assert wrap_to_180(angle) == wrapped
    np.testing.assert_allclose(wrap_to_180(np.array([angle], dtype=float)), [wrapped])


def test_array_rotation_and_spherical_coordinates():
    array = ArrayGeometry([[0.0, 0.0, 1.0], [0.2, 0.0, 1.0]])
    np.testing.assert_allclose(array.center, [0.1, 0.0, 1.0])
    assert array.radius == pytest.approx(0.1)
    # Yaw 90 degrees turns the x axis into y: the mics now lie along y.
    turned = array.new_rotated_array(yaw=90)
    np.testing.assert_allclose(turned.positions, [[0.1, -0.1, 1.0], [0.1, 0.1, 1.0]], atol=1e-12)
    np.testing.assert_allclose(
        array.positions, [[0.0, 0.0, 1.0], [0.2, 0.0, 1.0]]
    )  # the original is unchanged
    np.testing.assert_allclose(turned.internal_positions, array.internal_positions, atol=1e-12)
    # A point on the global +y axis is straight ahead of the turned array (azimuth 0 in its own axes).
    distance, azimuth, elevation = turned.spherical_relative_to_array(np.array([0.1, 2.0, 1.0]))
    assert (distance, azimuth, elevation) == pytest.approx((2.0, 0.0, 0.0), abs=1e-9)
    distance, azimuth, elevation = turned.spherical_relative_to_array(
        np.array([0.1, 0.0, 2.0]), use_internal_cs=False
    )
    assert (distance, elevation) == pytest.approx((1.0, 90.0))
    with pytest.raises(ValueError, match="3-D"):
        ArrayGeometry([[0.0, 1.0]])


def test_pitch_by_right_hand_rule():
    array = ArrayGeometry([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    array.rotate(pitch=90)  # about y: x -> -z
    np.testing.assert_allclose(array.centered_positions, [[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]], atol=1e-12)


def test_placement_range():
    placement = {"x": [0.2, 2.0], "y": 1.0, "height": None, "min_to_wall": 0.25}
    ranges = convert_placement_to_range(placement, room_dim=[3.0, 2.0, 2.5], object_radius=0.25)
    assert ranges == [[0.5, 2.0], [1.0, 1.0], [0.5, 2.0]]
    with pytest.raises(ValueError, match="height"):
        convert_placement_to_range({"height": [1.0, 2.0, 3.0]}, [3.0, 3.0, 3.0])
    with pytest.raises(ValueError):
        convert_placement_to_range({"min_to_wall": 2.0}, [3.0, 3.0, 3.0])


def test_rir_helpers():
    rir = [[np.array([1.0, 0.5]), np.array([2.0])], [np.array([3.0, 0.0, 1.0]), np.array([4.0, 4.0])]]
    multichannel = convert_rir_to_multichannel(rir)  # rir[mic][source] -> per source (L, mics)
    np.testing.assert_array_equal(multichannel[0], [[1.0, 3.0], [0.5, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(multichannel[1], [[2.0, 4.0], [0.0, 4.0]])

    signal = np.random.default_rng(0).standard_normal(50)
    two_channel = np.stack([np.array([1.0, 0.0, 0.5]), np.array([0.0, 2.0, 0.0])], axis=1)
    out = convolve_rir(signal, two_channel)
    assert out.shape == (50, 2)
    np.testing.assert_allclose(out[:, 0], np.convolve(signal, two_channel[:, 0])[:50])
    np.testing.assert_allclose(out[:, 1], np.convolve(signal, two_channel[:, 1])[:50])

    data = convert_numpy_to_serializable({"a": np.arange(2), "b": [np.float32(0.5)], "c": np.int64(3)})
    assert data == {"a": [0, 1], "b": [0.5], "c": 3} and type(data["c"]) is int


def test_drr_of_a_hand_made_rir():
    rir = np.zeros((1000, 1))
    rir[100, 0] = 1.0  # direct path
    rir[500, 0] = 0.1  # one reflection: energy 0.01 outside the 2.5 ms window around sample 100
    assert calculate_drr(rir, 16000, n_direct=[100])[0] == pytest.approx(20.0, abs=1e-6)


def test_scaled_disturbance_reaches_the_ratio():
    rng = np.random.default_rng(3)
    signal = rng.standard_normal((16000, 2))
    disturbance = 5 * rng.standard_normal((16000, 2))
    scaled = scaled_disturbance(signal, disturbance, sdr=10, sample_rate=16000, ref_channel=1)
    ratio = 10 * np.log10(np.mean(signal[:, 1] ** 2) / np.mean(scaled[:, 1] ** 2))
    assert ratio == pytest.approx(10, abs=0.1)
    with pytest.raises(RuntimeError, match="simultaneously active"):
        silent = np.zeros(16000)
        silent[:100] = 1.0
        simultaneously_active_rms(signal[:, 0], silent, sample_rate=16000)


def test_rir_files_need_h5py(tmp_path):
    try:
        import h5py  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="h5py"):
            load_rir_simulation(str(tmp_path / "room.h5"))
    else:
        pytest.skip("h5py is installed")

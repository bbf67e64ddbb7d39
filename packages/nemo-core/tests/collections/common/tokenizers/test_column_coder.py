"""Column codes on tiny data whose digits and ids are worked out by hand in the comments."""

import numpy as np
import pytest
from nemo.collections.common.tokenizers.column_coder import CategoryCode, ColumnCodes, FloatCode, IntCode


def test_int_code_with_all_digits_reserved():
    coder = IntCode("n", code_len=2, start_id=0, fillall=True, base=10, hasnan=True)
    coder.compute_code(np.array([3, 10, 17]))
    # Values minus the minimum 3: digit 0 gets ids 0-9, digit 1 ids 10-19, the nan id is 20.
    assert coder.end_id == 21
    assert coder.code_range == [(10, 21), (0, 10)]
    assert coder.encode("15") == [11, 2]  # 15 - 3 = 12
    assert coder.decode([11, 2]) == "15"
    assert coder.encode("nan") == [20, 9]
    assert coder.decode([20, 9]) == "nan"
    with pytest.raises(ValueError, match="not right length"):
        coder.encode("103")  # 100 needs three digits


def test_int_code_with_only_seen_digits_uses_the_nearest():
    coder = IntCode("n", code_len=2, start_id=5, fillall=False, base=10, hasnan=False)
    coder.compute_code(np.array([3, 10, 17]))
    # Shifted values 0, 7, 14: digit 0 takes 0, 4, 7 (ids 5-7), digit 1 takes 0, 1 (ids 8-9).
    assert coder.end_id == 10
    assert coder.encode("12") == [8, 7]  # 9 -> digit 0 is 9, unseen: nearest seen digit 7
    assert coder.decode([8, 7]) == "10"
    with pytest.raises(ValueError, match="cannot handle nan"):
        coder.encode("nan")


def test_float_code_robust_transform():
    coder = FloatCode("x", code_len=3, start_id=0, fillall=True, base=10, hasnan=True, transform="robust")
    coder.compute_code(np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    # Robust scaling: (x - median 2) / IQR 2 -> -1 .. 1, shifted by 1 -> 0 .. 2: one integer digit, two decimals.
    assert coder.extra_digits == 2
    assert coder.encode("2.5") == [21, 12, 5]  # (2.5 - 2) / 2 + 1 = 1.25 -> digits 1, 2, 5
    assert coder.decode([21, 12, 5]) == "2.500"  # three decimals: resolution 1/100, one more digit
    with pytest.raises(ValueError, match="yeo-johnson"):
        FloatCode("x", 3, 0, transform="log")


def test_column_codes_lay_blocks_end_to_end():
    configs = [
        {"name": "n", "code_type": "int", "args": {"code_len": 2, "base": 10}},
        {"name": "c", "code_type": "category"},
    ]
    codes = ColumnCodes.get_column_codes(
        configs, {"n": np.array([3, 10, 17]), "c": np.array(["y", "x", "y"])}
    )
    assert codes.columns == ["n", "c"] and codes.sizes == [2, 1]
    assert codes.vocab_size == 23  # 21 ids of n, then x -> 21, y -> 22
    assert codes.encode("c", "y") == [22]
    assert codes.get_range(1) == [(21, 23)]
    assert "start_id" not in configs[0]["args"]  # the configs are not modified
    with pytest.raises(ValueError, match="no column 'z'"):
        codes.encode("z", "1")
    with pytest.raises(KeyError, match="no category 'w'"):
        CategoryCode.encode(codes.column_codes["c"], "w")

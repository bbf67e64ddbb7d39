"""Codes for the columns of a table, as fixed-length token id sequences (NeMo 1.23's tabular GPT coder).

Every column owns a contiguous block of ids; :class:`ColumnCodes` lays the blocks of its columns end to end.

- :class:`IntCode` writes ``value - min`` (``min`` of the example data) in base ``base`` with ``code_len``
  digits, most significant first; digit ``i`` (``0``: least significant) has its own ids, ``base`` of them
  (``fillall``) or one per digit value seen in the example data. With ``hasnan`` one more id follows the
  block and the string ``"nan"`` is coded as that id followed by the last id of every other digit.
- :class:`FloatCode` first maps values through a fitted scikit-learn transform (``quantile``,
  ``yeo-johnson`` or ``robust``), shifts them to start at 0 and keeps ``code_len - digits`` base-``base``
  digits after the point, ``digits`` being what the integer part of the largest shifted value needs.
- :class:`CategoryCode` gives each distinct value of the example data one id, in sorted order.

Attribute names follow NeMo's, so coders pickled by NeMo load into these classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from nemo.utils import logging

__all__ = ["CategoryCode", "ColumnCodes", "FloatCode", "IntCode"]

NAN_TOKEN = "nan"


class Code:
    """Base of the column coders: the column ``name`` codes to ``code_len`` ids in ``[start_id, end_id)``.

    Args:
        col_name: Column name.
        code_len: Number of ids per value.
        start_id: First id of the column's block.
        fillall: Reserve ids for every digit value, not only those in the example data.
        hasnan: Reserve a code for the string ``"nan"``.
    """

    def __init__(
        self, col_name: str, code_len: int, start_id: int, fillall: bool = True, hasnan: bool = True
    ) -> None:
        if code_len < 1:
            raise ValueError(f"Column {col_name!r}: code_len must be at least 1, got {code_len}.")
        self.name = col_name
        self.code_len = code_len
        self.start_id = start_id
        self.end_id = start_id
        self.fillall = fillall
        self.hasnan = hasnan

    def compute_code(self, data_series: np.ndarray) -> None:
        """Fit the code to example values of the column, shape ``(N,)``, and assign the ids."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_code(data_series).")

    def encode(self, item: str) -> list[int]:
        """The ``code_len`` ids of one value, given as its text."""
        raise NotImplementedError(f"{type(self).__name__} must implement encode(item).")

    def decode(self, ids: list[int]) -> str:
        """The text of the value coded by ``ids``."""
        raise NotImplementedError(f"{type(self).__name__} must implement decode(ids).")

    @property
    def code_range(self) -> list[tuple[int, int]]:
        """For each of the ``code_len`` positions, the half-open id range ``(low, high)`` it may take."""
        return [(self.start_id, self.end_id)]


class IntCode(Code):
    """Integers as ``code_len`` base-``base`` digits of ``value - min``, most significant digit first.

    Args:
        col_name, code_len, start_id, fillall, hasnan: See :class:`Code`.
        base: Radix of the digits.
    """

    def __init__(
        self,
        col_name: str,
        code_len: int,
        start_id: int,
        fillall: bool = True,
        base: int = 100,
        hasnan: bool = True,
    ) -> None:
        super().__init__(col_name, code_len, start_id, fillall, hasnan)
        if base < 2:
            raise ValueError(f"Column {col_name!r}: base must be at least 2, got {base}.")
        self.base = base
        self.int_min: int | None = None
        self.NA_token = NAN_TOKEN

    # How values become non-negative integers (FloatCode overrides these three).
    def array_convert_to_int(self, val: np.ndarray) -> np.ndarray:
        """Fit the conversion to the example values ``(N,)`` and return them as non-negative integers ``(N,)``."""
        as_int = np.asarray(val).astype(int)
        self.int_min = as_int.min()
        return as_int - self.int_min

    def convert_to_int(self, val: float) -> int:
        return int(val) - self.int_min

    def reverse_convert_to_int(self, val: int) -> int | float:
        return val + self.int_min

    def _digits(self, value: int | np.ndarray, position: int) -> int | np.ndarray:
        """Digit ``position`` (``0``: least significant) of ``value``."""
        return (value // self.base**position) % self.base

    def compute_code(self, data_series: np.ndarray) -> None:
        shifted = self.array_convert_to_int(data_series)
        self.digits_item_to_id: list[dict[str, int]] = []
        self.digits_id_to_item: list[dict[int, str]] = []
        for position in range(self.code_len):  # least significant digit first: it gets the lowest ids
            if self.fillall:
                values = range(self.base)
            else:
                values = np.unique(self._digits(shifted, position)).tolist()
            item_to_id = {str(value): self.end_id + offset for offset, value in enumerate(values)}
            self.end_id += len(item_to_id)
            self.digits_item_to_id.append(item_to_id)
            self.digits_id_to_item.append({index: item for item, index in item_to_id.items()})
        if self.hasnan:
            self.end_id += 1
            self.NA_token_id = [high - 1 for _, high in self.code_range]

    @property
    def code_range(self) -> list[tuple[int, int]]:
        """Id ranges of the digits, most significant first; with ``hasnan`` the first also holds the nan id."""
        ranges = []
        for position in reversed(range(self.code_len)):
            ids = self.digits_id_to_item[position].keys()
            high = max(ids) + 1
            if self.hasnan and position == self.code_len - 1:
                high += 1
            ranges.append((min(ids), high))
        return ranges

    def encode(self, item: str) -> list[int]:
        """Ids of the value ``item``; a digit value unseen in the example data gets the nearest seen digit's id.

        Raises:
            ValueError: ``item`` is ``"nan"`` and the column has no nan code, or the value needs more than
                ``code_len`` digits (or lies below the example data's minimum).
        """
        if item == self.NA_token:
            if not self.hasnan:
                raise ValueError(f"colum {self.name} cannot handle nan, please set hasnan=True")
            return list(self.NA_token_id)
        value = self.convert_to_int(float(item))
        if value // self.base**self.code_len != 0:
            raise ValueError(
                f"not right length: column {self.name!r} codes {self.code_len} base-{self.base} digits, and "
                f"{item!r} does not fit them (it may lie below the minimum of the data the code was fitted to)."
            )
        ids = []
        for position in reversed(range(self.code_len)):
            item_to_id = self.digits_item_to_id[position]
            digit = str(self._digits(value, position))
            if digit not in item_to_id:
                seen = np.array([int(known) for known in item_to_id])
                digit = str(seen[np.argmin(np.abs(seen - int(digit)))])
                logging.warning(
                    f"Column {self.name!r}: {item!r} has a digit unseen in the data; using the nearest."
                )
            ids.append(item_to_id[digit])
        return ids

    def _digits_value(self, ids: list[int]) -> int:
        """The integer whose digits, most significant first, have the ids ``ids``."""
        value = 0
        for index, position in enumerate(reversed(range(self.code_len))):
            value += int(self.digits_id_to_item[position][ids[index]]) * self.base**position
        return value

    def _is_nan_code(self, ids: list[int]) -> bool:
        return self.hasnan and ids[0] == self.NA_token_id[0]

    def decode(self, ids: list[int]) -> str:
        if self._is_nan_code(ids):
            return self.NA_token
        return str(self.reverse_convert_to_int(self._digits_value(ids)))


def _make_scaler(transform: str) -> Any:
    """The scikit-learn transformer named ``transform``, unfitted."""
    try:
        from sklearn.preprocessing import PowerTransformer, QuantileTransformer, RobustScaler
    except ImportError as err:
        raise ImportError(
            "FloatCode needs scikit-learn for its value transforms; install it with `pip install scikit-learn`."
        ) from err
    if transform == "yeo-johnson":
        return PowerTransformer(method="yeo-johnson", standardize=True)
    if transform == "quantile":
        return QuantileTransformer(output_distribution="uniform", n_quantiles=100)
    if transform == "robust":
        return RobustScaler()
    raise ValueError(
        f'Supported data transformations are "yeo-johnson", "quantile", and "robust"; got transform={transform!r}.'
    )


class FloatCode(IntCode):
    """Real numbers as fixed-point base-``base`` digits of their transformed, shifted value.

    Args:
        col_name, code_len, start_id, fillall, base, hasnan: See :class:`IntCode`.
        transform: ``"quantile"`` (uniform output, 100 quantiles), ``"yeo-johnson"`` (standardized) or
            ``"robust"`` (median and interquartile range), fitted to the example data.
    """

    def __init__(
        self,
        col_name: str,
        code_len: int,
        start_id: int,
        fillall: bool = True,
        base: int = 100,
        hasnan: bool = True,
        transform: str = "quantile",
    ) -> None:
        super().__init__(col_name, code_len, start_id, fillall, base, hasnan)
        self.scaler = _make_scaler(transform)

    def array_convert_to_int(self, val: np.ndarray) -> np.ndarray:
        transformed = self.scaler.fit_transform(np.asarray(val, dtype=float).reshape(-1, 1))[:, 0]
        self.mval = transformed.min()
        shifted = transformed - self.mval
        integer_digits = int(math.log(shifted.max(), self.base)) + 1
        self.extra_digits = self.code_len - integer_digits
        if self.extra_digits < 0:
            raise ValueError(
                f"need large length to code the nummber: column {self.name!r} needs code_len >= {integer_digits}."
            )
        return (shifted * self.base**self.extra_digits).astype(int)

    def convert_to_int(self, val: float) -> int:
        shifted = self.scaler.transform(np.array([[val]], dtype=float))[0, 0] - self.mval
        return np.array(shifted * self.base**self.extra_digits).astype(int)[()]

    def reverse_convert_to_int(self, val: int) -> float:
        shifted = val / self.base**self.extra_digits
        return self.scaler.inverse_transform(np.array([[shifted + self.mval]]))[0, 0]

    def decode(self, ids: list[int]) -> str:
        """The value as text with as many decimals as the code resolves (at least one)."""
        if self._is_nan_code(ids):
            return self.NA_token
        value = self.reverse_convert_to_int(self._digits_value(ids))
        decimals = max(int(abs(np.log10(0.1 / self.base**self.extra_digits))), 1)
        return f"{value:.{decimals}f}"


class CategoryCode(Code):
    """One id per distinct value of the example data (sorted), ``code_len`` 1, no nan code.

    Args:
        col_name: Column name.
        start_id: First id of the column's block.
    """

    def __init__(self, col_name: str, start_id: int) -> None:
        super().__init__(col_name, 1, start_id, True, False)

    def compute_code(self, data_series: np.ndarray) -> None:
        self.item_to_id: dict[str, int] = {}
        for value in np.unique(data_series).tolist():
            self.item_to_id[str(value)] = self.end_id
            self.end_id += 1
        self.id_to_item = {index: item for item, index in self.item_to_id.items()}

    def encode(self, item: str) -> list[int]:
        if item not in self.item_to_id:
            raise KeyError(f"Column {self.name!r} has no category {item!r}: it was not in the example data.")
        return [self.item_to_id[item]]

    def decode(self, ids: list[int]) -> str:
        return self.id_to_item[ids[0]]


column_map: dict[str, type[Code]] = {"int": IntCode, "float": FloatCode, "category": CategoryCode}


class ColumnCodes:
    """The coders of a table's columns, in column order, with id blocks laid end to end."""

    def __init__(self) -> None:
        self.column_codes: dict[str, Code] = {}
        self.columns: list[str] = []
        self.sizes: list[int] = []

    @property
    def vocab_size(self) -> int:
        """Number of ids of all columns (the end of the last column's block)."""
        return self.column_codes[self.columns[-1]].end_id

    def register(self, name: str, ccode: Code) -> None:
        """Append a fitted coder as the next column."""
        self.columns.append(name)
        self.column_codes[name] = ccode
        self.sizes.append(ccode.code_len)

    def _coder(self, col: str, action: str) -> Code:
        if col not in self.column_codes:
            raise ValueError(f"cannot {action}: no column {col!r}; the columns are {self.columns}.")
        return self.column_codes[col]

    def encode(self, col: str, item: str) -> list[int]:
        return self._coder(col, f"encode {item!r}").encode(item)

    def decode(self, col: str, ids: list[int]) -> str:
        return self._coder(col, f"decode {ids}").decode(ids)

    def get_range(self, column_id: int) -> list[tuple[int, int]]:
        """Id ranges of the positions of column number ``column_id``."""
        return self.column_codes[self.columns[column_id]].code_range

    @classmethod
    def get_column_codes(
        cls, column_configs: Iterable[Mapping[str, Any]], example_arrays: Mapping[str, np.ndarray]
    ) -> ColumnCodes:
        """Fit one coder per config, in order, each starting where the previous one ends.

        Args:
            column_configs: ``{"name": ..., "code_type": "int" | "float" | "category", "args": {...}}`` per
                column; ``args`` are the coder's keyword arguments other than ``col_name`` and ``start_id``.
            example_arrays: Example values ``(N,)`` per column name.
        """
        codes = cls()
        next_id = 0
        for config in column_configs:
            name, code_type = config["name"], config["code_type"]
            if code_type not in column_map:
                raise ValueError(
                    f"Column {name!r}: unknown code_type {code_type!r}; use one of {sorted(column_map)}."
                )
            if name not in example_arrays:
                raise KeyError(
                    f"Column {name!r}: no example data in example_arrays (it has {sorted(example_arrays)})."
                )
            coder = column_map[code_type](col_name=name, start_id=next_id, **dict(config.get("args", {})))
            coder.compute_code(example_arrays[name])
            codes.register(name, coder)
            next_id = coder.end_id
        return codes

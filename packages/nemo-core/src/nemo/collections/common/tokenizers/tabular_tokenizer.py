"""``TabularTokenizer``: rows of delimited values coded column by column (NeMo 1.23's tabular GPT tokenizer).

Text is rows separated by ``"\\n"``, fields separated by ``delimiter``, and ``"<|endoftext|>"`` marking the end of
a document. Field ``k`` of a row is coded by column ``k`` of a :class:`ColumnCodes` (``sizes[k]`` ids); the
row and document ends are two special ids placed after the columns' ids. A text may start in the middle of a
row: the fields (or ids) before the first row end are taken to be the last columns of a row.
"""

from __future__ import annotations

import bisect
import io
import itertools
import pickle
from collections.abc import Sequence

from nemo.collections.common.tokenizers.column_coder import ColumnCodes
from nemo.collections.common.tokenizers.tokenizer_spec import TokenizerSpec

__all__ = ["TabularTokenizer"]

END_OF_TEXT = "<|endoftext|>"
NEW_LINE = "\n"

# What a pickled ColumnCodes may reference: the coder classes, numpy arrays and scalars, the scikit-learn
# transformers FloatCode fits. Anything else in the file is refused (a pickle can run arbitrary code).
_PICKLE_ALLOWED_PREFIXES = ("nemo.collections.common.tokenizers.column_coder.",)
_PICKLE_ALLOWED = frozenset(
    {
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "sklearn.preprocessing._data.PowerTransformer",
        "sklearn.preprocessing._data.QuantileTransformer",
        "sklearn.preprocessing._data.RobustScaler",
        "sklearn.preprocessing._data.StandardScaler",
    }
)


class _ColumnCodesUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        qualified = f"{module}.{name}"
        allowed = qualified in _PICKLE_ALLOWED or qualified.startswith(_PICKLE_ALLOWED_PREFIXES)
        if not allowed and not (module == "numpy.dtypes" and name.endswith("DType")):
            raise pickle.UnpicklingError(
                f"Refusing to unpickle {qualified}: a column-coder file may hold only ColumnCodes, numpy arrays and "
                "scikit-learn scalers. Rebuild the coder with ColumnCodes.get_column_codes and pass it directly."
            )
        return super().find_class(module, name)


def _load_column_codes(path: str) -> ColumnCodes:
    with open(path, "rb") as handle:
        coder = _ColumnCodesUnpickler(io.BytesIO(handle.read())).load()
    if not isinstance(coder, ColumnCodes):
        raise TypeError(f"{path} holds a {type(coder).__name__}, not a ColumnCodes.")
    return coder


class TabularTokenizer(TokenizerSpec):
    """Tokenizer of delimited tables.

    Args:
        coder: A fitted :class:`ColumnCodes`, or the path of one saved with :mod:`pickle`.
        special_tokens: Tokens given the ids after the columns' ids, in order (the document end and the row
            end by default; both are needed).
        delimiter: Field separator.

    Attributes:
        num_columns: Number of columns.
        eod_id, eos_id, bos_id: The document-end id (the same id for all three).
    """

    def __init__(
        self,
        coder: ColumnCodes | str,
        special_tokens: Sequence[str] = (END_OF_TEXT, NEW_LINE),
        delimiter: str = ",",
    ) -> None:
        self.code_column: ColumnCodes = coder if isinstance(coder, ColumnCodes) else _load_column_codes(coder)
        self.num_columns = len(self.code_column.columns)
        self.delimiter = delimiter
        self.special_tokens: dict[str, int] = {}
        self.special_tokens_decoder: dict[int, str] = {}
        self.add_special_tokens(list(special_tokens))
        for required in (END_OF_TEXT, NEW_LINE):
            if required not in self.special_tokens:
                raise ValueError(
                    f"TabularTokenizer: special_tokens must include {required!r}, got {special_tokens}."
                )
        self.eod_id = self.special_tokens[END_OF_TEXT]
        self.eos_id = self.eod_id
        self.bos_id = self.eod_id

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def vocab_size(self) -> int:
        """The column ids plus the special tokens."""
        return max(self.special_tokens_decoder, default=self.code_column.vocab_size - 1) + 1

    @property
    def eod(self) -> int:
        return self.eod_id

    @property
    def eor(self) -> int:
        """The row-end id."""
        return self.special_tokens[NEW_LINE]

    def add_special_tokens(self, special_tokens: Sequence[str]) -> None:
        """Give each new token of ``special_tokens`` the next free id, in order; an empty list removes them all."""
        if not special_tokens:
            self.special_tokens, self.special_tokens_decoder = {}, {}
            return
        for token in special_tokens:
            if token not in self.special_tokens:
                self.special_tokens[token] = self.vocab_size
                self.special_tokens_decoder[self.special_tokens[token]] = token

    # --- text <-> tokens ------------------------------------------------------------------------------------

    def text_to_tokens(self, text: str) -> list[str]:
        """Field values (stripped), with ``"\\n"`` after every row but the last and the document ends in place.

        Empty rows are dropped.

        Raises:
            ValueError: a field holds more than one document end.
        """
        tokens: list[str] = []
        rows = text.split(NEW_LINE)
        for row_number, row in enumerate(rows):
            if row == "":
                continue
            for field in row.split(self.delimiter):
                parts = field.split(END_OF_TEXT)
                if len(parts) > 2:
                    raise ValueError(
                        f"delimiter error: the field {field!r} holds {END_OF_TEXT} more than once."
                    )
                if len(parts) == 1:
                    tokens.append(field.strip())
                    continue
                before, after = parts
                tokens.extend([before.strip()] if before.strip() else [])
                tokens.append(END_OF_TEXT)
                tokens.extend([after.strip()] if after.strip() else [])
            if row_number != len(rows) - 1:
                tokens.append(NEW_LINE)
        return tokens

    def tokens_to_text(self, tokens: Sequence[str]) -> str:
        """Join the fields of each row with ``delimiter``; special tokens stay as they are."""
        pieces: list[str] = []
        for is_special, group in itertools.groupby(
            tokens, key=lambda token: token in (END_OF_TEXT, NEW_LINE)
        ):
            if is_special:
                pieces.extend(group)
            else:
                pieces.append(self.delimiter.join(group))
        return "".join(pieces)

    # --- tokens <-> ids -------------------------------------------------------------------------------------

    def tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        """The ids of the fields (each coded by its column) and of the special tokens.

        The fields before the first row end are the last columns of a row.
        """
        leading = _count_until(tokens, lambda token: token == NEW_LINE)
        if leading is None:
            column = 0
        else:
            fields_before = sum(token not in self.special_tokens for token in tokens[:leading])
            column = -fields_before % self.num_columns
        ids: list[int] = []
        for token in tokens:
            if token in self.special_tokens:
                ids.append(self.special_tokens[token])
                continue
            ids.extend(self.code_column.encode(self.code_column.columns[column % self.num_columns], token))
            column += 1
        return ids

    def ids_to_tokens(self, ids: Sequence[int], skip_special_tokens: bool = False) -> list[str]:
        """Decode the ids of each field; a field cut off at the start of ``ids`` is skipped.

        The ids before the first row or document end are the last ids of a row.
        """
        sizes = self.code_column.sizes
        row_size = sum(sizes)
        column_starts = list(itertools.accumulate(sizes, initial=0))
        first_end = _count_until(ids, lambda token_id: token_id in (self.eor, self.eod))
        if first_end is None:
            position = 0
        else:
            ids_before = sum(token_id not in self.special_tokens_decoder for token_id in ids[:first_end])
            position = -ids_before % row_size
        tokens: list[str] = []
        pending: list[int] = []
        for token_id in ids:
            if token_id in self.special_tokens_decoder:
                if not skip_special_tokens:
                    tokens.append(self.special_tokens_decoder[token_id])
                continue
            in_row = position % row_size
            column = bisect.bisect_right(column_starts, in_row) - 1
            offset = in_row - column_starts[column]
            pending = [token_id] if offset == 0 else pending + [token_id]
            if offset == sizes[column] - 1 and len(pending) == sizes[column]:
                tokens.append(self.code_column.decode(self.code_column.columns[column], pending))
            position += 1
        return tokens

    # --- text <-> ids ---------------------------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        return self.tokens_to_ids(self.text_to_tokens(text))

    def decode(self, token_ids: Sequence[int]) -> str:
        return self.tokens_to_text(self.ids_to_tokens(token_ids, skip_special_tokens=False))

    def text_to_ids(self, text: str) -> list[int]:
        return self.encode(text)

    def ids_to_text(self, token_ids: Sequence[int]) -> str:
        return self.decode(token_ids)


def _count_until(items: Sequence, is_end) -> int | None:
    """Index of the first item for which ``is_end`` holds, or ``None``."""
    return next((index for index, item in enumerate(items) if is_end(item)), None)

"""TabularTokenizer over a two-column coder (ids worked out by hand), and loading a pickled coder safely."""

import os
import pickle

import numpy as np
import pytest
from nemo.collections.common.tokenizers.column_coder import ColumnCodes
from nemo.collections.common.tokenizers.tabular_tokenizer import TabularTokenizer


@pytest.fixture()
def codes():
    configs = [
        {"name": "n", "code_type": "int", "args": {"code_len": 2, "base": 10}},
        {"name": "c", "code_type": "category"},
    ]
    # n: ids 0-20 (15 -> [11, 2]); c: x -> 21, y -> 22; then <|endoftext|> -> 23 and "\n" -> 24.
    return ColumnCodes.get_column_codes(configs, {"n": np.array([3, 10, 17]), "c": np.array(["x", "y"])})


def test_a_text_starting_mid_row(codes):
    tokenizer = TabularTokenizer(codes)
    assert (tokenizer.eod, tokenizer.eor, tokenizer.vocab_size, tokenizer.num_columns) == (23, 24, 25, 2)
    text = "y\n15, x<|endoftext|>"
    assert tokenizer.text_to_tokens(text) == ["y", "\n", "15", "x", "<|endoftext|>"]
    ids = tokenizer.text_to_ids(text)
    assert ids == [22, 24, 11, 2, 21, 23]  # "y" is the last column of a row
    assert tokenizer.ids_to_text(ids) == "y\n15,x<|endoftext|>"


def test_ids_starting_mid_field_drop_the_cut_field(codes):
    tokenizer = TabularTokenizer(codes)
    # Two ids before the row end: the second digit of n, then c. The cut n is dropped.
    assert tokenizer.ids_to_text([2, 21, 24, 11, 2, 22]) == "x\n15,y"
    assert tokenizer.ids_to_tokens([11, 2, 22, 24], skip_special_tokens=True) == ["15", "y"]


def test_coder_loads_from_a_pickle_file_and_other_pickles_are_refused(codes, tmp_path):
    path = tmp_path / "coder.pickle"
    path.write_bytes(pickle.dumps(codes))
    assert TabularTokenizer(str(path)).text_to_ids("15,y") == [11, 2, 22]

    evil = tmp_path / "evil.pickle"
    evil.write_bytes(pickle.dumps(os.getcwd))
    with pytest.raises(pickle.UnpicklingError, match="Refusing to unpickle"):
        TabularTokenizer(str(evil))

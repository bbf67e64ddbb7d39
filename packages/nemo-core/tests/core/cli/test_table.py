from nemo.core.cli.table import format_table


def test_columns_are_aligned_to_the_widest_cell():
    table = format_table([("a", "bb"), ("ccc", None)], headers=("NAME", "X"))
    assert table.splitlines() == ["NAME  X", "a     bb", "ccc   -"]


def test_newlines_in_cells_become_spaces_and_no_rows_is_empty():
    assert format_table([("x", "line one\nline two")]) == "x  line one line two"
    assert format_table([]) == ""

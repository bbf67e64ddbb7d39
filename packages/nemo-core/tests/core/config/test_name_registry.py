"""NameRegistry / ParamsRegistry: the unique-name and lookup rules every NeMo registry shares."""

import functools
from dataclasses import dataclass

import pytest
from nemo.core.config.name_registry import NameRegistry, ParamsRegistry

COLORS = NameRegistry("color", "colors", "Set `paint.color` or register yours with palette.register_color.")


@dataclass
class BrushParams:
    width: int = 1
    soft: bool = False


BRUSHES = ParamsRegistry(
    "brush parameters",
    "brush parameters",
    "Use one of them as `brush.name`.",
    register_function="register_brush_params",
    base_class=BrushParams,
)


def test_check_new_accepts_unused_names_and_rejects_taken_ones():
    table = {"red": 1}
    COLORS.check_new(table, "blue")
    with pytest.raises(ValueError) as error:
        COLORS.check_new(table, "red")
    assert str(error.value) == (
        "Cannot override pre-existing colors. Conflicting color name = 'red'; register it under another name."
    )
    assert table == {"red": 1}


def test_resolve_returns_the_entry_or_lists_the_sorted_names_and_the_hint():
    table = {"red": 1, "blue": 2}
    assert COLORS.resolve(table, "blue") == 2
    with pytest.raises(ValueError) as error:
        COLORS.resolve(table, "green")
    assert str(error.value) == (
        "Cannot resolve color 'green'. Available colors are: ['blue', 'red']. "
        "Set `paint.color` or register yours with palette.register_color."
    )


def test_resolve_reads_the_dict_it_is_given_each_time():
    table = {}
    with pytest.raises(ValueError, match="Available colors are: \\[\\]"):
        COLORS.resolve(table, "red")
    table["red"] = 1
    assert COLORS.resolve(table, "red") == 1


def test_params_registry_registers_dataclass_types_only():
    table = {}
    BRUSHES.register(table, "brush_params", BrushParams)
    assert table == {"brush_params": BrushParams}
    with pytest.raises(ValueError) as error:
        BRUSHES.register(table, "round_params", BrushParams(width=3))
    assert str(error.value) == (
        "register_brush_params('round_params', ...) expected a dataclass type, got BrushParams(width=3, soft=False). "
        f"Pass a @dataclass subclass of {__name__}.BrushParams."
    )
    assert "round_params" not in table


def test_params_registry_reports_a_taken_name_before_checking_the_type():
    table = {"brush_params": BrushParams}
    with pytest.raises(ValueError, match="Conflicting brush parameters name = 'brush_params'"):
        BRUSHES.register(table, "brush_params", dict)


def test_resolve_with_overrides_binds_checked_overrides():
    table = {"brush_params": BrushParams}
    params = BRUSHES.resolve_with_overrides(table, "brush_params", {"width": 5})
    assert isinstance(params, functools.partial)
    assert params() == BrushParams(width=5)
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['size'\] for brush parameters 'brush_params'"):
        BRUSHES.resolve_with_overrides(table, "brush_params", {"size": 5})
    with pytest.raises(ValueError, match="Invalid value for key 'width' of brush parameters 'brush_params'"):
        BRUSHES.resolve_with_overrides(table, "brush_params", {"width": "wide"})
    with pytest.raises(ValueError, match="Cannot resolve brush parameters 'pen_params'.*`brush.name`"):
        BRUSHES.resolve_with_overrides(table, "pen_params", {})

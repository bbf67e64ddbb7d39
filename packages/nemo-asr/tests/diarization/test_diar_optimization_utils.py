"""Linear sum assignment against scipy's solver (the independent reference)."""

import numpy as np
import pytest
import torch
from nemo.collections.asr.parts.utils.optimization_utils import (
    LinearSumAssignmentSolver,
    linear_sum_assignment,
)
from scipy.optimize import linear_sum_assignment as scipy_lsa


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (4, 7), (7, 4), (8, 8), (0, 3)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minimum_cost_matches_scipy(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    cost = torch.randint(0, 10, shape, generator=gen)
    rows, cols = linear_sum_assignment(cost)
    ref_rows, ref_cols = scipy_lsa(cost.numpy())
    assert rows.tolist() == sorted(rows.tolist())
    assert len(rows) == len(ref_rows) == min(shape)
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
    assert int(cost[rows, cols].sum()) == int(cost.numpy()[ref_rows, ref_cols].sum())


def test_float_costs_and_unique_optimum_match_scipy_exactly():
    cost = torch.tensor([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    rows, cols = linear_sum_assignment(cost)
    ref_rows, ref_cols = scipy_lsa(cost.numpy())
    assert rows.tolist() == ref_rows.tolist() and cols.tolist() == ref_cols.tolist()
    assert np.isclose(float(cost[rows, cols].sum()), 5.0)


def test_scripted_solver_and_function():
    cost = torch.tensor([[7, 6, 2, 9, 2], [6, 2, 1, 3, 9], [5, 6, 8, 9, 5], [6, 8, 5, 8, 6], [9, 5, 6, 4, 7]])
    scripted_solver = torch.jit.script(LinearSumAssignmentSolver(cost))
    assert isinstance(scripted_solver, torch.jit._script.RecursiveScriptClass)
    ref_rows, ref_cols = scipy_lsa(cost.numpy())
    best = int(cost.numpy()[ref_rows, ref_cols].sum())
    rows, cols = scripted_solver.solve()
    assert int(cost[rows, cols].sum()) == best
    rows, cols = torch.jit.script(linear_sum_assignment)(cost)
    assert int(cost[rows, cols].sum()) == best


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="max_size"):
        linear_sum_assignment(torch.zeros(3, 101))
    with pytest.raises(ValueError, match="2-D"):
        linear_sum_assignment(torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        linear_sum_assignment(torch.tensor([[float("nan"), 1.0], [1.0, 0.0]]))

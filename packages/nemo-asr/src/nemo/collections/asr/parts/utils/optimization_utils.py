"""Linear sum assignment (minimum-cost bipartite matching) that TorchScript can compile.

Speaker diarization needs the assignment problem in code that is scripted with ``torch.jit.script``
(label stitching in online clustering, cpWER), where scipy cannot be called. The solver below is the
shortest-augmenting-path form of the Hungarian method with row/column potentials: rows are inserted one
at a time, each insertion runs a Dijkstra-like search over reduced costs, so the whole solve is
``O(N^2 M)`` for an ``(N, M)`` matrix with ``N <= M``.
"""

import torch


class LinearSumAssignmentSolver:
    """Minimum-cost assignment of the rows of a cost matrix to its columns.

    Every row of the smaller side is matched to a distinct element of the larger side; a wide matrix
    (more columns than rows) and a tall one are both accepted. The instance is TorchScript-compatible:
    ``torch.jit.script(LinearSumAssignmentSolver(cost))`` compiles it.

    Args:
        cost_matrix: (N, M) costs; ``cost_matrix[i, j]`` is the price of matching row i to column j.
    """

    def __init__(self, cost_matrix: torch.Tensor):
        if cost_matrix.dim() != 2:
            raise ValueError(
                f"LinearSumAssignmentSolver: `cost_matrix` must be 2-D, got shape {list(cost_matrix.shape)}."
            )
        self.cost_mat = cost_matrix
        self.num_rows: int = int(cost_matrix.shape[0])
        self.num_cols: int = int(cost_matrix.shape[1])

    def _solve_wide(self, cost: list[list[float]], n_rows: int, n_cols: int) -> list[int]:
        """Match each of ``n_rows`` rows to a column (``n_rows <= n_cols``).

        Returns:
            For every row, the index of its column.
        """
        big = float("inf")
        # Index 0 of the column arrays is a virtual column that holds the row being inserted.
        row_pot = [0.0] * (n_rows + 1)
        col_pot = [0.0] * (n_cols + 1)
        owner = [0] * (n_cols + 1)  # owner[j]: 1-based row matched to 1-based column j, 0 if free
        came_from = [0] * (n_cols + 1)
        for new_row in range(1, n_rows + 1):
            owner[0] = new_row
            current = 0
            slack = [big] * (n_cols + 1)
            done = [False] * (n_cols + 1)
            while True:
                done[current] = True
                row = owner[current]
                step = big
                nearest = 0
                for col in range(1, n_cols + 1):
                    if not done[col]:
                        reduced = cost[row - 1][col - 1] - row_pot[row] - col_pot[col]
                        if reduced < slack[col]:
                            slack[col] = reduced
                            came_from[col] = current
                        if slack[col] < step:
                            step = slack[col]
                            nearest = col
                for col in range(n_cols + 1):
                    if done[col]:
                        row_pot[owner[col]] += step
                        col_pot[col] -= step
                    else:
                        slack[col] -= step
                current = nearest
                if owner[current] == 0:
                    break
            # Flip the alternating path that ends at the free column just reached.
            while current != 0:
                previous = came_from[current]
                owner[current] = owner[previous]
                current = previous
        assignment = [-1] * n_rows
        for col in range(1, n_cols + 1):
            if owner[col] > 0:
                assignment[owner[col] - 1] = col - 1
        return assignment

    def solve(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Solve the assignment problem.

        Returns:
            row_index: (K,) long, ascending, K = min(N, M).
            col_index: (K,) long, the column matched to each entry of ``row_index``.
        """
        device = self.cost_mat.device
        if self.num_rows == 0 or self.num_cols == 0:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return empty, empty.clone()
        if not bool(torch.isfinite(self.cost_mat.double()).all()):
            raise ValueError("LinearSumAssignmentSolver: `cost_matrix` contains NaN or infinite entries.")
        transposed = self.num_rows > self.num_cols
        matrix = self.cost_mat.t() if transposed else self.cost_mat
        cost: list[list[float]] = matrix.detach().double().cpu().tolist()
        short_side = min(self.num_rows, self.num_cols)
        long_side = max(self.num_rows, self.num_cols)
        assignment = self._solve_wide(cost, short_side, long_side)
        matched = torch.tensor(assignment, dtype=torch.long, device=device)
        short_index = torch.arange(short_side, dtype=torch.long, device=device)
        if transposed:
            order = torch.argsort(matched)
            return matched[order], short_index[order]
        return short_index, matched


def linear_sum_assignment(
    cost_matrix: torch.Tensor, max_size: int = 100
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimum-cost assignment, a TorchScript-compatible stand-in for ``scipy.optimize.linear_sum_assignment``.

    Args:
        cost_matrix: (N, M) costs.
        max_size: largest N or M accepted; larger problems raise (the pure-Python solver is cubic).

    Returns:
        row_index: (min(N, M),) long, ascending.
        col_index: (min(N, M),) long, the column assigned to each row in ``row_index``.
    """
    if cost_matrix.dim() != 2:
        raise ValueError(
            f"linear_sum_assignment: expected a 2-D cost matrix, got shape {list(cost_matrix.shape)}."
        )
    if max(int(cost_matrix.shape[0]), int(cost_matrix.shape[1])) > max_size:
        raise ValueError(
            f"linear_sum_assignment: cost matrix of shape {list(cost_matrix.shape)} exceeds `max_size`={max_size}; "
            "pass a larger `max_size` to accept it."
        )
    solver = LinearSumAssignmentSolver(cost_matrix.clone().detach())
    return solver.solve()

"""Thin model builder over highspy for the planning MILPs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

INF = highspy.kHighsInf


@dataclass
class Solution:
    """Outcome of one HiGHS solve."""

    status: str
    values: list[float]
    objective: float
    bound: float
    seconds: float


@dataclass
class Milp:
    """Columns and rows collected in Python, passed to HiGHS in one go."""

    cost: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    rows: list[tuple[list[int], list[float], float, float]] = field(default_factory=list)

    def var(self, cost: float = 0.0, lo: float = 0.0, hi: float = 1.0, binary: bool = True) -> int:
        """Add a column and return its index."""
        self.cost.append(cost)
        self.lower.append(lo)
        self.upper.append(hi)
        if binary:
            self.integer.append(len(self.cost) - 1)
        return len(self.cost) - 1

    def row(self, idx: list[int], val: list[float], lo: float = -INF, hi: float = INF) -> None:
        """Add a row lo <= sum(val * x[idx]) <= hi."""
        if idx:
            self.rows.append((idx, val, lo, hi))

    def solve(
        self,
        time_limit: float,
        gap: float,
        start: list[float] | None = None,
    ) -> Solution:
        """Solve with HiGHS and map its status to planning words."""
        began = time.monotonic()
        h = highspy._core._Highs()  # core object: no banner on stdout, no callback machinery
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("time_limit", max(0.05, time_limit))
        h.setOptionValue("mip_rel_gap", gap)
        n = len(self.cost)
        h.addCols(
            n,
            np.array(self.cost, dtype=np.float64),
            np.array(self.lower, dtype=np.float64),
            np.array(self.upper, dtype=np.float64),
            0,
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.float64),
        )
        if self.integer:
            h.changeColsIntegrality(
                len(self.integer),
                np.array(self.integer, dtype=np.int32),
                np.ones(len(self.integer), dtype=np.uint8),
            )
        if self.rows:
            starts: list[int] = []
            index: list[int] = []
            value: list[float] = []
            for idx, val, _lo, _hi in self.rows:
                starts.append(len(index))
                index.extend(idx)
                value.extend(val)
            h.addRows(
                len(self.rows),
                np.array([r[2] for r in self.rows], dtype=np.float64),
                np.array([r[3] for r in self.rows], dtype=np.float64),
                len(index),
                np.array(starts, dtype=np.int32),
                np.array(index, dtype=np.int32),
                np.array(value, dtype=np.float64),
            )
        if start is not None and len(start) == n:
            sol = highspy.HighsSolution()
            sol.col_value = list(start)
            h.setSolution(sol)
        h.run()
        model_status = h.getModelStatus()
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2
        values = list(h.getSolution().col_value) if has_solution else []
        status = _status(model_status, has_solution)
        bound = info.mip_dual_bound if self.integer else info.objective_function_value
        return Solution(
            status=status,
            values=values,
            objective=info.objective_function_value if has_solution else INF,
            bound=bound if status != "infeasible" else INF,
            seconds=time.monotonic() - began,
        )


def _status(model_status: highspy.HighsModelStatus, has_solution: bool) -> str:
    """Planning status of a HiGHS model status."""
    ms = highspy.HighsModelStatus
    if model_status == ms.kOptimal:
        return "optimal"
    if model_status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return "infeasible"
    if model_status == ms.kTimeLimit:
        return "time_limit" if has_solution else "no_solution"
    return "feasible" if has_solution else "no_solution"

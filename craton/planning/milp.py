"""MILP planner: cells solved independently in worker processes under a hard deadline."""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from craton.planning.bound import cell_lower_bound, host_lower_bound
from craton.planning.cells import build_items, cell_label, split_cells
from craton.planning.diagnose import diagnose_cell, diagnose_fleet
from craton.planning.exact import solve_exact
from craton.planning.greedy import greedy_cell
from craton.planning.model import InfeasiblePlan, PlanInput, PlanningError, PlanResult
from craton.planning.outcome import CellOutcome, worst
from craton.planning.result import make_result, objective_value
from craton.planning.twostage import solve_two_stage

__all__ = ["host_lower_bound", "plan", "plan_milp", "solve_cell"]

SMALL_HOSTS = 40
SMALL_INSTANCES = 400
GRACE_S = 1.0


def solve_cell(cell: PlanInput, time_limit: float, conn: Connection | None = None) -> CellOutcome:
    """Plan one cell: exact model when small, two-stage model otherwise."""
    began = time.monotonic()
    items = build_items(cell)
    diagnose_cell(cell, items)
    try:
        greedy: dict[int, int] | None = greedy_cell(cell, items)
    except InfeasiblePlan:
        greedy = None
    if conn is not None:
        conn.send(("greedy", greedy))
    left = max(0.1, time_limit - (time.monotonic() - began))
    if len(cell.hosts) <= SMALL_HOSTS and len(cell.instances) <= SMALL_INSTANCES:
        outcome = solve_exact(cell, items, greedy, left)
    else:
        outcome = solve_two_stage(cell, items, greedy, left)
    complete = len(outcome.layout) == len(cell.instances)
    if greedy is not None and (
        not complete or objective_value(cell, greedy) < objective_value(cell, outcome.layout) - 1e-9
    ):
        outcome.layout = greedy
        outcome.notes.append(f"{cell_label(cell.hosts[0].cell_id)}: greedy layout was better")
    elif not complete:
        raise InfeasiblePlan(f"no layout found for {cell_label(cell.hosts[0].cell_id)}")
    return outcome


def _work(conn: Connection, cell: PlanInput, time_limit: float) -> None:
    """Worker process body: report the greedy layout, then the solved outcome."""
    try:
        conn.send(("done", solve_cell(cell, time_limit, conn)))
    except PlanningError as exc:
        conn.send(("infeasible", str(exc)))
    except Exception as exc:
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


@dataclass
class _Running:
    """A cell being solved in a worker process."""

    index: int
    process: multiprocessing.process.BaseProcess
    conn: Connection
    kill_at: float


def _solve_parallel(
    cells: list[PlanInput], time_limit: float, workers: int
) -> tuple[dict[int, CellOutcome], dict[int, dict[int, int] | None], list[str]]:
    """Solve cells in worker processes; kill any that outlive the deadline."""
    ctx: Any = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    deadline = time.monotonic() + time_limit
    queue = list(range(len(cells)))
    running: dict[Connection, _Running] = {}
    done: dict[int, CellOutcome] = {}
    greedy: dict[int, dict[int, int] | None] = {}
    errors: list[str] = []
    try:
        while queue or running:
            while queue and len(running) < workers:
                idx = queue.pop(0)
                now = time.monotonic()
                left = max(0.2, deadline - now - 0.2)
                budget = min(left, left * workers / (len(queue) + len(running) + 1))
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_work, args=(child, cells[idx], budget), daemon=True)
                proc.start()
                child.close()
                kill_at = min(now + budget + GRACE_S, deadline + GRACE_S)
                running[parent] = _Running(idx, proc, parent, kill_at)
            timeout = max(0.0, min(r.kill_at for r in running.values()) - time.monotonic())
            for ready in wait(list(running), timeout=timeout):
                job = running[ready]  # type: ignore[index]
                try:
                    kind, payload = job.conn.recv()
                except EOFError:
                    kind, payload = "error", "worker exited"
                if kind == "greedy":
                    greedy[job.index] = payload
                    continue
                if kind == "done":
                    done[job.index] = payload
                if kind == "error":
                    greedy.setdefault(job.index, None)
                    errors.append(f"cell solver failed: {payload}")
                if kind == "infeasible":
                    raise InfeasiblePlan(payload)
                _finish(running.pop(job.conn))
            now = time.monotonic()
            for conn, job in list(running.items()):
                if now >= job.kill_at:
                    _finish(running.pop(conn))
    finally:
        for job in running.values():
            _finish(job)
    return done, greedy, errors


def _finish(job: _Running) -> None:
    """Stop a worker process and release its pipe."""
    if job.process.is_alive():
        job.process.kill()
    job.process.join(1.0)
    job.conn.close()


def plan_milp(inp: PlanInput, processes: int | None = None) -> PlanResult:
    """Consolidate with HiGHS per cell, never beyond the time limit by more than a grace."""
    began = time.monotonic()
    diagnose_fleet(inp)
    cells = [c for c in split_cells(inp) if c.hosts]
    workers = min(os.cpu_count() or 1, len(cells)) if processes is None else processes
    if workers <= 0:
        done = {k: solve_cell(c, inp.time_limit_s) for k, c in enumerate(cells)}
        greedy: dict[int, dict[int, int] | None] = {}
        errors: list[str] = []
    else:
        done, greedy, errors = _solve_parallel(cells, inp.time_limit_s, max(1, workers))
    layout: dict[int, int] = {}
    statuses, notes, bound = [], list(errors), 0.0
    for k, cell in enumerate(cells):
        outcome = done.get(k)
        if outcome is None:
            known = greedy.get(k)
            label = cell_label(cell.hosts[0].cell_id)
            notes.append(f"{label}: solver did not return in time; greedy layout used")
            fallback = known if known is not None else greedy_cell(cell)
            outcome = CellOutcome(fallback, "time_limit", cell_lower_bound(cell))
        layout.update(outcome.layout)
        statuses.append(outcome.status)
        notes.extend(outcome.notes)
        bound += outcome.bound
    return make_result(
        inp,
        layout,
        status=worst(statuses),
        bound=bound,
        solve_time_s=time.monotonic() - began,
        planner="milp",
        notes=notes,
    )


def plan(inp: PlanInput) -> PlanResult:
    """Planner entry point: per-cell HiGHS models."""
    return plan_milp(inp)

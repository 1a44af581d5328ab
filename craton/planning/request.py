"""The shape of a plan request: every value known, of the right type and in range,
and every host it names a host of the project, before anything is solved."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, select

from craton.batches import pieces
from craton.domain.errors import InvalidInput
from craton.domain.ids import MAX_ID
from craton.projections.tables import LIVE
from craton.projections.timeline import visible

SCOPE_IDS = ("cloud_id", "region_id", "cell_id")
SCOPE_KEYS = (*SCOPE_IDS, "label", "hosts")
WEIGHTS = ("host_weight", "move_weight", "soft_penalty")
OBJECTIVE_KEYS = (*WEIGHTS, "moves_by")
MOVES_BY = ("count", "memory")
HOST_LISTS = ("pinned_hosts", "maintenance_hosts")
CONSTRAINT_KEYS = (*HOST_LISTS, "mip_gap")
# A weight far beyond the others only makes the solver's arithmetic unreliable.
MAX_WEIGHT = 1e6

Problems = dict[str, list[str]]


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _are_ids(value: Any) -> bool:
    return isinstance(value, list) and all(_is_id(v) for v in value)


def _unknown(found: Problems, where: str, given: dict[str, Any],
             allowed: tuple[str, ...]) -> None:
    """A misspelt key would be ignored silently, so every unknown key is refused."""
    for key in sorted(set(given) - set(allowed)):
        found.setdefault(where, []).append(
            f"unknown key {key!r} (allowed: {', '.join(allowed)})")


def _number_problem(value: Any, low: float, high: float) -> str | None:
    """What is wrong with a number bounded by [low, high], if anything."""
    if not _is_number(value):
        return "a number"
    if not math.isfinite(value):
        return "a finite number"
    if value < low:
        return f"at least {low:g}"
    if value > high:
        return f"at most {high:g}"
    return None


def request_problems(scope: dict[str, Any], objective: dict[str, Any],
                     constraints: dict[str, Any]) -> Problems:
    """Every key unknown and every value of the wrong type or out of range."""
    found: Problems = {}

    def wrong(where: str, key: str, should: str) -> None:
        found.setdefault(where, []).append(f"{key} must be {should}")

    for key in SCOPE_IDS:
        if key in scope and not _is_id(scope[key]):
            wrong("scope", key, "an id")
    if "hosts" in scope and not _are_ids(scope["hosts"]):
        wrong("scope", "hosts", "a list of ids")
    if "label" in scope and not isinstance(scope["label"], str):
        wrong("scope", "label", "a string")
    for key in WEIGHTS:
        problem = _number_problem(objective[key], 0, MAX_WEIGHT) if key in objective else None
        if problem:
            wrong("objective", key, problem)
    if objective.get("moves_by", "count") not in MOVES_BY:
        wrong("objective", "moves_by", "'count' or 'memory'")
    for key in HOST_LISTS:
        if key in constraints and not _are_ids(constraints[key]):
            wrong("constraints", key, "a list of ids")
    gap = _number_problem(constraints.get("mip_gap", 0), 0, 1)
    if gap:
        wrong("constraints", "mip_gap", "a number of at least 0" if gap == "a number" else gap)
    _unknown(found, "scope", scope, SCOPE_KEYS)
    _unknown(found, "objective", objective, OBJECTIVE_KEYS)
    _unknown(found, "constraints", constraints, CONSTRAINT_KEYS)
    return found


def _named_hosts(scope: dict[str, Any], constraints: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The well-formed host lists of a request, by where they were given."""
    named = {"scope": {"hosts": scope.get("hosts")}, "constraints": {
        key: constraints.get(key) for key in HOST_LISTS}}
    return {where: {k: v for k, v in lists.items() if v and _are_ids(v)}
            for where, lists in named.items()}


def host_problems(conn: Connection, project_id: str | None, scope: dict[str, Any],
                  constraints: dict[str, Any], position: int) -> Problems:
    """Ids in the request's host lists that were not hosts of the project at ``position``."""
    named = _named_hosts(scope, constraints)
    wanted = sorted({i for lists in named.values() for ids in lists.values() for i in ids})
    t = LIVE.resources
    hosts: set[int] = set()
    for chunk in pieces(wanted):
        query = select(t.c.id).where(t.c.id.in_(chunk), t.c.kind == "host", visible(t, position))
        if project_id is not None:
            query = query.where(t.c.project_id == project_id)
        hosts.update(conn.execute(query).scalars())
    found: Problems = {}
    for where, lists in named.items():
        for key, ids in lists.items():
            missing = sorted(set(ids) - hosts)
            if missing:
                found.setdefault(where, []).append(
                    f"{key}: no host with id {', '.join(map(str, missing))} in the project")
    return found


def merge(*found: Problems) -> Problems:
    out: Problems = {}
    for problems in found:
        for where, said in problems.items():
            out.setdefault(where, []).extend(said)
    return out


def refuse(problems: Problems) -> None:
    """InvalidInput naming every problem found, if there is any."""
    if problems:
        summary = "; ".join(f"{where}: {', '.join(found)}"
                            for where, found in sorted(problems.items()))
        raise InvalidInput(f"invalid plan request: {summary}", problems)

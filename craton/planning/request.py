"""The shape of a plan request: each value of the right type before anything is read."""

from __future__ import annotations

from typing import Any

from craton.domain.errors import InvalidInput
from craton.domain.ids import MAX_ID

SCOPE_IDS = ("cloud_id", "region_id", "cell_id")
WEIGHTS = ("host_weight", "move_weight", "soft_penalty")
HOST_LISTS = ("pinned_hosts", "maintenance_hosts")


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _are_ids(value: Any) -> bool:
    return isinstance(value, list) and all(_is_id(v) for v in value)


def check_request(scope: dict[str, Any], objective: dict[str, Any],
                  constraints: dict[str, Any]) -> None:
    """InvalidInput naming every value of the wrong type in scope, objective and constraints."""
    problems: dict[str, list[str]] = {}

    def wrong(where: str, key: str, should: str) -> None:
        problems.setdefault(where, []).append(f"{key} must be {should}")

    for key in SCOPE_IDS:
        if key in scope and not _is_id(scope[key]):
            wrong("scope", key, "an id")
    if "hosts" in scope and not _are_ids(scope["hosts"]):
        wrong("scope", "hosts", "a list of ids")
    if "label" in scope and not isinstance(scope["label"], str):
        wrong("scope", "label", "a string")
    for key in WEIGHTS:
        if key in objective and not _is_number(objective[key]):
            wrong("objective", key, "a number")
    for key in HOST_LISTS:
        if key in constraints and not _are_ids(constraints[key]):
            wrong("constraints", key, "a list of ids")
    gap = constraints.get("mip_gap", 0)
    if not _is_number(gap) or gap < 0:
        wrong("constraints", "mip_gap", "a number of at least 0")
    if problems:
        summary = "; ".join(f"{where}: {', '.join(found)}"
                            for where, found in sorted(problems.items()))
        raise InvalidInput(f"invalid plan request: {summary}", problems)

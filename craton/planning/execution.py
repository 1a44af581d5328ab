"""Whether a recorded plan may still be carried out, and how its run left it.

Both ways of starting a plan's run (``POST /v1/plans/<id>/execute`` and a
``POST /v1/workflow-runs`` naming the execute-plan workflow) go through
:func:`check_executable`, inside the write transaction that records the run,
so neither can start a plan that is stale or already being carried out.
The run's end records how the plan ended (:func:`settle_plan`, through the
execute-plan workflow's ``settle``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from craton.batches import pieces
from craton.domain.errors import Conflict
from craton.domain.meta import Meta
from craton.domain.plans import (
    COMPUTED,
    EXECUTED,
    EXECUTING,
    FAILED,
    PARTIALLY_EXECUTED,
)
from craton.planning.capacity import SIZING_VARIABLES
from craton.projections.listing import get_row
from craton.projections.tables import LIVE
from craton.projections.timeline import visible
from craton.projections.variables import resolved_values

SHOWN_CHANGES = 10


def plan_hosts(plan: dict[str, Any]) -> list[int]:
    """Every host the plan moves instances from or to, and every host it frees."""
    moves = plan.get("moves") or []
    hosts = {int(m["from_host_id"]) for m in moves} | {int(m["to_host_id"]) for m in moves}
    hosts |= {int(h["id"]) for h in plan.get("hosts_freed") or []}
    return sorted(hosts)


def touched(conn: Connection, plan: dict[str, Any]) -> list[int]:
    """The plan's hosts and the instances on them, when it was computed and now.

    An instance created on, placed on, resized on or moved off one of these
    hosts changes what the hosts can take, so its events count as changes.
    """
    hosts = plan_hosts(plan)
    ids = set(hosts) | {int(m["instance_id"]) for m in plan.get("moves") or []}
    t = LIVE.resources
    for chunk in pieces(hosts):
        for at in (plan["position"], None):
            ids.update(conn.execute(select(t.c.id).where(
                t.c.kind == "instance", t.c.host_id.in_(chunk), visible(t, at))).scalars())
    return sorted(ids)


def stale_changes(conn: Connection, plan: dict[str, Any]) -> list[str]:
    """What changed, since the plan's position, in the hosts and instances it touches,
    and in the variables its hosts were sized with (inherited ones too)."""
    e = LIVE.events
    out: list[tuple[int, str]] = []
    for chunk in pieces(touched(conn, plan)):
        rows = conn.execute(select(e.c.position, e.c.event_type, e.c.resource_id)
                            .where(e.c.resource_id.in_(chunk),
                                   e.c.position > plan["position"]))
        out += [(r.position, f"{r.event_type} of {r.resource_id} at @{r.position}")
                for r in rows]
    return [said for _, said in sorted(out)] + sizing_changes(conn, plan)


def sizing_changes(conn: Connection, plan: dict[str, Any]) -> list[str]:
    """The plan's hosts whose allocation ratios or asset_cost resolve to other values
    now than at the plan's position (set on the host or on a cell, region, cloud or
    project above it)."""
    out: list[str] = []
    for chunk in pieces(plan_hosts(plan)):
        then = _sizing(conn, chunk, plan["position"])
        now = _sizing(conn, chunk, None)
        for host_id in chunk:
            if host_id not in then or host_id not in now:
                continue  # (a host registered or deleted since: its own events say so)
            out += [f"{key} of host {host_id} resolves to {now[host_id].get(key)!r}, "
                    f"not {then[host_id].get(key)!r}" for key in SIZING_VARIABLES
                    if then[host_id].get(key) != now[host_id].get(key)]
    return out


def _sizing(conn: Connection, host_ids: list[int], at: int | None
            ) -> dict[int, dict[str, Any]]:
    """The resolved variables a plan is sized with, of each host that exists at ``at``."""
    t = LIVE.resources
    rows = list(conn.execute(select(t).where(
        t.c.kind == "host", t.c.id.in_(host_ids), visible(t, at))))
    resolved = resolved_values(conn, rows, at)
    return {rid: {k: v for k, v in values.items() if k in SIZING_VARIABLES}
            for rid, values in resolved.items()}


def check_executable(conn: Connection, plan_id: int, plan: dict[str, Any]) -> None:
    """Conflict (409) unless the plan is computed and is not stale.

    A plan is marked executing in the transaction that records its run, so a
    computed plan has no run. (A run recorded before requests marked their plan
    is refused by its own first step if another run has the plan by then.) A
    plan recorded without a position is judged from its own recording.
    """
    state = plan.get("state") or COMPUTED
    if state != COMPUTED:
        raise Conflict(f"plan {plan_id} is already {state}")
    refuse_stale(conn, plan_id, plan)


def refuse_stale(conn: Connection, plan_id: int, plan: dict[str, Any]) -> None:
    """Conflict (409) saying what changed, if anything the plan touches or was sized
    with has changed since its position."""
    plan = _positioned(plan_id, plan)
    changed = stale_changes(conn, plan)
    if changed:
        raise Conflict(f"plan {plan_id} is stale: {len(changed)} changes since "
                       f"@{plan['position']}: " + "; ".join(changed[:SHOWN_CHANGES]))


def _positioned(plan_id: int, plan: dict[str, Any]) -> dict[str, Any]:
    """The plan, judged from its own recording (its id is the position of the event
    that created it) when it was recorded without a position."""
    return plan if plan.get("position") is not None else {**plan, "position": plan_id}


def moves_done(conn: Connection, plan: dict[str, Any]) -> int:
    """How many of the plan's moves the ledger shows done: the instance on its target."""
    moves = plan.get("moves") or []
    target = {int(m["instance_id"]): int(m["to_host_id"]) for m in moves}
    t = LIVE.resources
    done = 0
    for chunk in pieces(sorted(target)):
        rows = conn.execute(select(t.c.id, t.c.host_id).where(
            t.c.id.in_(chunk), t.c.kind == "instance", t.c.valid_to.is_(None)))
        done += sum(1 for r in rows if r.host_id == target[r.id])
    return done


def ended_state(conn: Connection, plan: dict[str, Any]) -> str:
    """The plan's state once its run has ended, read from where its instances are.

    The ledger's placements, not the run's step results, are the record: a
    failed batch's steps are reverted, but the instances it moved stay moved.
    """
    done, total = moves_done(conn, plan), len(plan.get("moves") or [])
    if done == total:
        return EXECUTED
    return PARTIALLY_EXECUTED if done else FAILED


def settle_plan(ledger: Any, conn: Connection, meta: Meta, plan_id: int,
                run_uuid: str, state: str | None = None) -> str | None:
    """Record how the plan ended (``state``, else read from where its instances are),
    if the run ``run_uuid`` is still executing it.

    Returns the state recorded (None when the plan is not this run's to settle).
    """
    row = get_row(conn, "plan", plan_id, None, None)
    if row is None:
        return None
    plan = dict(row.data)
    if plan.get("state") != EXECUTING or plan.get("run_id") != run_uuid:
        return None
    state = state or ended_state(conn, plan)
    ledger.update(meta, "plan", plan_id, {"state": state})
    return state

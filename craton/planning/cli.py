"""``craton plan``: compute a consolidation plan and print its summary as a table."""

from __future__ import annotations

import argparse
from typing import Any

from craton.cli import _services, command, project_id
from craton.settings import Settings


def _plan_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", required=True, help="the project (UUID) to plan for")
    p.add_argument("--planner", default="milp", choices=("milp", "greedy"))
    for scope in ("cloud-id", "region-id", "cell-id"):
        p.add_argument(f"--{scope}", type=int)
    p.add_argument("--label")
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    p.add_argument("--reason", help="why (stored on the plan's events)")


def table(rows: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _shown(notes: list[str], most: int = 5) -> list[str]:
    """The solver's notes (a cell left to the greedy layout, say), the first few."""
    shown = list(notes[:most])
    if len(notes) > most:
        shown.append(f"... and {len(notes) - most} more")
    return shown


def summary(plan: dict[str, Any]) -> str:
    f = plan["fields"]
    s = f["summary"]
    lines = table([
        ("plan", f"{plan['id']} ({f['planner']}, as of @{f['position']})"),
        ("status", f["status"]),
        ("hosts", f"{s['hosts']} in scope, {s['hosts_used']} used after the plan"),
        ("hosts freed", f"{len(f['hosts_freed'])} (asset cost {f['freed_asset_cost']:g})"),
        ("moves", f"{len(f['moves'])} of {s['instances']} instances"),
        # (the bound and the gap are of the hosts' cost, the objective adds the moves)
        ("objective", f"{f['objective_value']:.4g}, moves included"),
        ("hosts' cost", f"within {100 * f['gap']:.2f}% of its lower bound {f['bound']:.4g}"),
        ("solve time", f"{f['solve_time_s']:.2f} s"),
        *(("note", note) for note in _shown(s.get("notes") or [])),
    ])
    moves = "\n".join(f"  {m['instance']}: host {m['from_host_id']} -> {m['to_host_id']}"
                      for m in f["moves"][:20])
    more = f"\n  ... and {len(f['moves']) - 20} more" if len(f["moves"]) > 20 else ""
    return lines + ("\nmoves:\n" + moves + more if moves else "")


@command("plan", "compute a consolidation plan, record it, print its summary", _plan_args)
def _plan(args: argparse.Namespace, settings: Settings) -> int:
    from craton.domain.meta import Meta
    from craton.planning.service import compute_plan

    scope = {k: v for k, v in (("cloud_id", args.cloud_id), ("region_id", args.region_id),
                               ("cell_id", args.cell_id), ("label", args.label))
             if v is not None}
    svc = _services(settings)
    meta = Meta(actor_id=None, actor_name="cli", source="cli",
                project_id=project_id(svc, args.project), reason=args.reason)
    plan = compute_plan(svc, meta, planner_name=args.planner, scope=scope,
                        time_limit_s=args.time_limit)
    print(summary(plan))
    return 0

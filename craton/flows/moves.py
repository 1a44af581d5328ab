"""Moving instances in batches: re-check, live-migrate with retries, hand over."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, select
from taskflow.patterns import linear_flow

from craton.batches import pieces
from craton.drivers.errors import DriverError
from craton.flows.runtime import Step
from craton.flows.tasks import AttemptCounter, FleetTask, step_task
from craton.projections.tables import LIVE


def current(step: Step, resource_id: int) -> dict[str, Any] | None:
    """The resource's current row as the ledger sees it now (None if gone): under the
    step's lock once it has begun writing, else from a snapshot that takes none."""
    from craton.projections.lookup import CurrentLookup

    with step.reading() as conn:
        return CurrentLookup(conn).current(resource_id)


def host_name(step: Step, host_id: int) -> str:
    row = current(step, host_id)
    return str(row["name"]) if row else f"host-{host_id}"


class CheckBatch(FleetTask):
    """Before a batch: skip instances that are gone or no longer on their source host."""

    def act(self, step: Step, moves: list[dict[str, Any]]) -> dict[str, Any]:
        skipped = []
        for move in moves:
            row = current(step, move["instance_id"])
            reason = None
            if row is None or row["kind"] != "instance":
                reason = "the instance no longer exists"
            elif row["fields"].get("host_id") not in (move["from_host_id"],
                                                      move.get("to_host_id")):
                reason = (f"the instance is now on host {row['fields'].get('host_id')}, "
                          f"not {move['from_host_id']}")
            if reason is not None:
                step.skip(move["instance_id"], reason)
                skipped.append(move["instance_id"])
        return {"checked": len(moves), "skipped": skipped}


class MigrateInstance(FleetTask):
    """Live-migrate one instance; on its last attempt, hand it over instead of failing."""

    def act(self, step: Step, move: dict[str, Any], attempt: int, attempts: int,
            check_step: str, target_step: str | None = None) -> dict[str, Any]:
        run = step.run()
        instance_id = move["instance_id"]
        if instance_id in (run.step_result(check_step) or {}).get("skipped", []):
            return {"instance_id": instance_id, "outcome": "skipped"}
        to_host_id: int = move.get("to_host_id") or 0
        if target_step is not None:
            to_host_id = (run.step_result(target_step) or {})["host_id"]
        row = current(step, instance_id)
        if row is None:
            step.skip(instance_id, "the instance no longer exists")
            return {"instance_id": instance_id, "outcome": "skipped"}
        here = row["fields"].get("host_id")
        if here == to_host_id:
            return {"instance_id": instance_id, "outcome": "moved", "to_host_id": to_host_id}
        if here != move["from_host_id"]:
            step.skip(instance_id, f"the instance is now on host {here}")
            return {"instance_id": instance_id, "outcome": "skipped"}
        reason = (move.get("hand_over") or _target_refusal(step, to_host_id)
                  or _spread_breach(step, move, row, to_host_id))
        if reason:
            step.hand_over(instance_id, reason)
            return {"instance_id": instance_id, "outcome": "handed-over", "error": reason}
        source, target = host_name(step, move["from_host_id"]), host_name(step, to_host_id)
        try:  # (no lock held: a migration may take minutes)
            result = step.driver.live_migrate(str(row["name"]), source, target)
        except DriverError as exc:
            if exc.retryable and attempt < attempts:
                raise
            step.hand_over(instance_id, f"after {attempt} attempt(s): {exc}")
            return {"instance_id": instance_id, "outcome": "handed-over", "error": str(exc)}
        step.begin()
        now = current(step, instance_id)  # (under the lock: changed while it moved?)
        if now is None or now["fields"].get("host_id") != here:
            reason = ("the instance was deleted while it was migrated" if now is None else
                      f"the ledger put the instance on host {now['fields'].get('host_id')} "
                      f"while it was migrated to host {to_host_id}")
            step.hand_over(instance_id, reason)
            return {"instance_id": instance_id, "outcome": "handed-over", "error": reason}
        refused = _target_refusal(step, to_host_id)
        if refused:  # the ledger cannot place it there: the world and the record differ
            reason = (f"{refused}, and the instance was migrated to it: it runs there "
                      f"while the ledger keeps it on host {here}")
            step.hand_over(instance_id, reason)
            return {"instance_id": instance_id, "outcome": "handed-over", "error": reason}
        step.ledger.place_instance(step.meta, instance_id, to_host_id)
        return {"instance_id": instance_id, "outcome": "moved", "from_host_id": here,
                "to_host_id": to_host_id, "seconds": result.seconds}


def migration(run_id: str, prefix: str, move: dict[str, Any], attempts: int,
              check_step: str, target_step: str | None = None) -> linear_flow.Flow:
    """One instance's move, in a subflow of its own that retries it."""
    name = f"{prefix}.migrate-{move['instance_id']}"
    counter = AttemptCounter(f"{name}.attempts", attempts, provides=f"{name}.attempt")
    flow = linear_flow.Flow(name, retry=counter)
    flow.add(step_task(MigrateInstance, name, run_id, rebind={"attempt": f"{name}.attempt"},
                       move=move, attempts=attempts, check_step=check_step,
                       target_step=target_step))
    return flow


def _target_refusal(step: Step, to_host_id: int) -> str | None:
    """Why the target host can no longer take an instance: gone, or not active.

    Checked before a migration and again, under the lock, after it: the fleet may
    change while a run goes on, and the ledger places instances on active hosts only.
    """
    row = current(step, to_host_id)
    if row is None or row["kind"] != "host":
        return f"host {to_host_id} no longer exists"
    if not row["fields"].get("active", False):
        return f"host {row['name']!r} ({to_host_id}) is no longer active"
    return None


def _spread_breach(step: Step, move: dict[str, Any], row: dict[str, Any],
                   to_host_id: int) -> str | None:
    """Why the target already holds a member of one of the instance's anti-affinity
    groups: those the move was planned with and those it belongs to now.

    Checked when the move runs, not only when it was planned, because the fleet
    may have changed since the run was requested.
    """
    m, r = LIVE.members, LIVE.resources
    belongs = set(_ids(row["fields"].get("group_ids")))
    planned = set(move.get("anti_affinity") or [])
    if not belongs and not planned:
        return None
    with step.reading() as conn:
        now = {g for g, (_, policy) in _hard_groups(conn, belongs).items()
               if policy == "anti-affinity"} if belongs else set()
        groups = sorted(now | planned)
        if not groups:
            return None
        peer = conn.execute(select(r.c.id, m.c.group_id).join(
            m, m.c.resource_id == r.c.id).where(
            m.c.group_id.in_(groups), m.c.valid_to.is_(None), r.c.kind == "instance",
            r.c.valid_to.is_(None), r.c.host_id == to_host_id,
            r.c.id != move["instance_id"])).first()
    if peer is None:
        return None
    return (f"host {to_host_id} already holds instance {peer.id} of anti-affinity group "
            f"{peer.group_id}")


def group_placements(conn: Connection, guests: list[Any]) -> list[dict[str, Any]]:
    """The moves of a batch whose guests all go to one new host, instance groups kept.

    Members of an affinity group go together or not at all, and no two members of
    an anti-affinity group may land on the one host; a move that cannot keep its
    groups carries the reason it is handed over instead (it is never misplaced).
    """
    groups = _hard_groups(conn, {g for i in guests for g in _group_ids(i)})
    split = _split_affinity(conn, guests, groups)
    taken: dict[int, int] = {}  # anti-affinity group -> instance already heading there
    moves: dict[int, dict[str, Any]] = {}
    for unit in _units(guests, {g for g, (_, p) in groups.items() if p == "affinity"}):
        anti = Counter(g for i in unit for g in _group_ids(i)
                       if groups.get(g, ("", ""))[1] == "anti-affinity")
        reason = next((split[i.id] for i in unit if i.id in split), None)
        if reason is None and any(n > 1 for n in anti.values()):
            gid = next(g for g, n in anti.items() if n > 1)
            reason = (f"affinity keeps members of anti-affinity group '{groups[gid][0]}' "
                      "together: no host can take them")
        if reason is None and any(g in taken for g in anti):
            gid = next(g for g in anti if g in taken)
            reason = (f"instance {taken[gid]} of anti-affinity group '{groups[gid][0]}' "
                      "already goes to the batch's new host")
        for i in unit:
            moves[i.id] = {"instance_id": i.id, "name": i.name, "from_host_id": i.host_id,
                           **({"anti_affinity": sorted(anti)} if anti else {}),
                           **({"hand_over": reason} if reason else {})}
            if reason is None:
                taken.update(dict.fromkeys(anti, i.id))
    return [moves[i.id] for i in guests]


def _group_ids(instance: Any) -> list[int]:
    return _ids(instance.data.get("group_ids"))


def _ids(group_ids: list[Any] | None) -> list[int]:
    return [int(g) for g in (group_ids or [])]


def _hard_groups(conn: Connection, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Name and policy of the groups among ``ids`` whose policy is a rule, not a wish."""
    t = LIVE.resources
    rows = conn.execute(select(t.c.id, t.c.name, t.c.data).where(
        t.c.kind == "instance-group", t.c.id.in_(ids or {-1}), t.c.valid_to.is_(None)))
    return {r.id: (str(r.name), str(r.data.get("policy"))) for r in rows
            if r.data.get("policy") in ("affinity", "anti-affinity")}


def _split_affinity(conn: Connection, guests: list[Any],
                    groups: dict[int, tuple[str, str]]) -> dict[int, str]:
    """Guests whose affinity group has members outside the batch: moving them splits it."""
    affinity = [g for g, (_, p) in groups.items() if p == "affinity"]
    if not affinity:
        return {}
    m, r = LIVE.members, LIVE.resources
    members: dict[int, set[int]] = {}
    for row in conn.execute(select(m.c.group_id, m.c.resource_id).join(
            r, r.c.id == m.c.resource_id).where(
            m.c.group_id.in_(affinity), m.c.valid_to.is_(None), r.c.valid_to.is_(None),
            r.c.kind == "instance")):
        members.setdefault(row.group_id, set()).add(row.resource_id)
    here = {i.id for i in guests}
    out: dict[int, str] = {}
    for i in guests:
        for gid in _group_ids(i):
            if gid in members and not members[gid] <= here:
                out[i.id] = (f"affinity group '{groups[gid][0]}' has members on hosts "
                             "outside the batch: moving this one alone would split it")
    return out


def _units(guests: list[Any], affinity: set[int]) -> list[list[Any]]:
    """The guests that must land together (joined by affinity groups), in batch order."""
    parent = {i.id: i.id for i in guests}

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    first: dict[int, int] = {}
    for i in guests:
        for gid in _group_ids(i):
            if gid in affinity:
                parent[root(i.id)] = root(first.setdefault(gid, i.id))
    units: dict[int, list[Any]] = {}
    for i in guests:
        units.setdefault(root(i.id), []).append(i)
    return list(units.values())


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return list(pieces(items, size))

"""Random command sequences: the log, the live read models and as_of always agree."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from craton import replay
from craton.bootstrap import Services, bootstrap
from craton.domain.errors import DomainError
from craton.projections import listing, timeline
from craton.settings import Settings
from tests.conftest import make_fleet

NAMES = st.sampled_from(["a", "b", "c"])
KEYS = st.sampled_from(["zone", "tier"])
VALUES = st.one_of(st.integers(0, 3), st.sampled_from(["x", "y"]), st.none())
LABELS = st.lists(st.sampled_from(["gpu", "ssd", "edge"]), max_size=2)
PICK = st.integers(0, 10)

COMMANDS = st.one_of(
    st.tuples(st.just("register"), NAMES),
    st.tuples(st.just("set_vars"), PICK, KEYS, VALUES),
    st.tuples(st.just("delete_vars"), PICK, KEYS),
    st.tuples(st.just("add_labels"), PICK, LABELS),
    st.tuples(st.just("remove_labels"), PICK, LABELS),
    st.tuples(st.just("activate"), PICK, st.booleans()),
    st.tuples(st.just("rename"), PICK, NAMES),
    st.tuples(st.just("delete"), PICK),
    st.tuples(st.just("instance"), PICK),
    st.tuples(st.just("delete_region"),),
)


def snapshot(svc: Services, at: int | None) -> list[dict[str, Any]]:
    with svc.db.reading() as conn:
        out = []
        for kind in ("host", "instance", "region"):
            q = listing.ListQuery(kinds=(kind,), at=at, details=True, limit=1000)
            rows, _ = listing.list_rows(conn, q)
            out += listing.present_rows(conn, rows, at, True)
        return out


def apply(svc: Services, fleet: dict[str, Any], ids: list[int], command: tuple[Any, ...]
          ) -> None:
    led, meta = svc.ledger, fleet["meta"]
    name, *args = command
    target = ids[args[0] % len(ids)] if args and isinstance(args[0], int) and ids else None
    region = fleet["region"]["id"]
    if name == "register":
        ids.append(led.register(meta, "host", {"name": args[0], "region_id": region})["id"])
    elif name == "set_vars":
        led.set_variables(meta, "host", target, {args[1]: args[2]})
    elif name == "delete_vars":
        led.delete_variables(meta, "host", target, [args[1]])
    elif name == "add_labels":
        led.add_labels(meta, "host", target, args[1])
    elif name == "remove_labels":
        led.remove_labels(meta, "host", target, args[1])
    elif name == "activate":
        led.update(meta, "host", target, {"active": args[1]})
    elif name == "rename":
        led.update(meta, "host", target, {"name": args[1]})
    elif name == "delete":
        led.delete(meta, "host", target)
    elif name == "instance":
        led.register(meta, "instance", {"name": "vm", "host_id": target})
    elif name == "delete_region":
        led.delete(meta, "region", region)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(COMMANDS, min_size=1, max_size=20))
@example([("set_vars", 0, "zone", 1), ("add_labels", 0, ["gpu"]), ("delete_vars", 0, "zone"),
          ("remove_labels", 0, ["gpu"]), ("register", "a"), ("rename", 1, "host-1"),
          ("instance", 1), ("delete", 1), ("activate", 0, False), ("instance", 0)])
def test_log_live_and_as_of_agree(commands: list[tuple[Any, ...]]) -> None:
    svc = bootstrap(Settings(database_url="sqlite://"))
    try:
        fleet = make_fleet(svc)
        ids = [fleet["host"]["id"]]
        history: list[tuple[int, list[dict[str, Any]]]] = []
        for command in commands:
            with svc.db.reading() as conn:
                before_position = timeline.head(conn)
            before = snapshot(svc, None)
            try:
                apply(svc, fleet, ids, command)
            except DomainError:
                with svc.db.reading() as conn:
                    assert timeline.head(conn) == before_position
                assert snapshot(svc, None) == before
            with svc.db.reading() as conn:
                history.append((timeline.head(conn), snapshot(svc, None)))
        assert replay.verify(svc).differences == []
        for position, state in history:
            assert snapshot(svc, position) == state
        for item in snapshot(svc, None):
            aggregate = svc.ledger.aggregate(UUID(item["uuid"]))
            assert item.get("variables", {}) == aggregate.variables
            assert item.get("labels", []) == aggregate.labels
            assert item["name"] == aggregate.fields["name"]
    finally:
        svc.close()

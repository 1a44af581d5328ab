"""A listing page made from the driver's rows, as items or as their JSON text,
equals the same page made from SQLAlchemy's rows, item for item and member for
member; the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from craton import replay
from craton.api.auth import ensure_root
from craton.bootstrap import Services
from craton.domain import clock
from craton.domain.meta import system_meta
from craton.projections import timeline
from craton.projections.items import list_items, list_texts
from craton.projections.listing import PRESENTED, ListQuery, list_rows, present_rows
from craton.projections.spelling import postgres_time
from craton.projections.timeline import sqlite_iso
from tests.conftest import make_fleet

WHOLE = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)  # no microseconds: spelt without them


def both_ways(svc: Services, **asked: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    q = ListQuery(with_labels=True, columns=PRESENTED, **asked)
    with svc.db.reading() as conn:
        rows, more = list_rows(conn, q)
        expected = present_rows(conn, rows, q.at, q.details)
        page = list_items(conn, q)
        spelt = list_texts(conn, q)
        position = timeline.head(conn)
    with svc.db.one_statement() as conn:  # the page and the head in one statement
        once = list_texts(conn, q, with_head=True)
    assert page.more == more
    assert page.kinds == [r.kind for r in rows]
    if spelt is not None:  # the JSON text of the same items, members in the same order
        texts = [json.loads(text) for text in spelt.texts]
        assert texts == expected
        assert [list(t) for t in texts] == [list(e) for e in expected]
        assert (spelt.ids, spelt.kinds, spelt.more) == ([r.id for r in rows], page.kinds, more)
        assert once is not None and [json.loads(text) for text in once.texts] == expected
        assert (once.ids, once.more) == (spelt.ids, more)
        assert once.head == (position if rows else None) and spelt.head is None
    else:
        assert set(q.kinds) & {"project", "user"}
    return page.items, expected


def test_items_from_the_drivers_rows_equal_the_presented_rows(services: Services) -> None:
    with clock.using(lambda: WHOLE):
        f = make_fleet(services)
    led, meta, region = services.ledger, f["meta"], f["region"]["id"]
    for n in range(5):
        moment = WHOLE + timedelta(seconds=n, microseconds=n * 1001)
        with clock.using(lambda moment=moment: moment):  # type: ignore[misc]
            host = led.register(meta, "host", {"name": f"h{n}", "region_id": region,
                                               "ip_address": f"10.0.0.{n}"},
                                variables={"n": n, "big": 2**70}, labels=["gpu", f"r{n}"])
    with services.db.reading() as conn:
        past = timeline.head(conn)
    led.set_variables(meta, "host", host["id"], {"n": "later"})
    led.add_labels(meta, "host", f["host"]["id"], ["zeta", "alpha"])
    led.register(meta, "network-device", {"name": "sw1", "region_id": region,
                                          "device_type": "switch"})
    led.register(system_meta(), "project", {"name": "second"})
    ensure_root(services, "root-token-" + "r" * 30)
    asks: list[dict[str, Any]] = [
        {"kinds": ("host",)},
        {"kinds": ("host",), "details": True},
        {"kinds": ("host",), "limit": 2},
        {"kinds": ("host",), "at": past, "details": True},
        {"kinds": ("host",), "labels": ["gpu"], "sort_dir": "desc"},
        {"kinds": ("host",), "vars": {"n": 1}},
        {"kinds": ("host", "network-device")},
        {"kinds": ("project",)},
        {"kinds": ("user",)},
        {"kinds": ("region",), "project_id": str(f["project"]["uuid"])},
    ]
    for asked in asks:
        items, expected = both_ways(services, **asked)
        assert items == expected, asked
        assert items, asked
    users, _ = both_ways(services, kinds=("user",))
    assert all("username" in u and "name" not in u for u in users)
    # a second page, after a marker; a page past the end
    first, _ = both_ways(services, kinds=("host",), limit=3)
    second, expected = both_ways(services, kinds=("host",), limit=3, marker=first[-1]["id"])
    assert second == expected and second and second[0]["id"] != first[-1]["id"]
    # after a marker made at a whole second (its time bound as SQLAlchemy spells it)
    assert first[0]["created_at"] == WHOLE.isoformat().replace("+00:00", "Z")
    after, expected = both_ways(services, kinds=("host",), limit=3, marker=first[0]["id"])
    assert after == expected and first[0]["id"] not in [h["id"] for h in after]
    empty, expected = both_ways(services, kinds=("host",), labels=["no-such-label"])
    assert empty == expected == []


def test_text_items_keep_escapes_and_label_order(services: Services) -> None:
    f = make_fleet(services)
    odd = 'quote " back \\ slash, tab \t, snow \u2603, nul-ish \u0001'
    labels = ["zeta", "Éclair", "B", "a,b", 'q"uote', "alpha"]
    services.ledger.register(f["meta"], "host", {"name": odd, "region_id": f["region"]["id"]},
                             variables={odd: odd, "empty": {}}, labels=labels)
    services.ledger.register(f["meta"], "cell", {"name": "c-empty", "region_id": f["region"]["id"]})
    for asked in ({"kinds": ("host",)}, {"kinds": ("host",), "details": True},
                  {"kinds": ("cell",), "details": True}):
        items, expected = both_ways(services, **asked)
        assert items == expected
    hosts, _ = both_ways(services, kinds=("host",), details=True)
    mine = next(h for h in hosts if h["name"] == odd)
    assert mine["labels"] == sorted(labels) and mine["variables"][odd] == odd


def test_items_keep_long_integers_exact(services: Services) -> None:
    f = make_fleet(services)
    big = 10**20 + 1
    services.ledger.register(f["meta"], "plan", {"planner": "greedy", "position": big})
    items, expected = both_ways(services, kinds=("plan",))
    assert items == expected
    assert items[0]["position"] == big and type(items[0]["position"]) is int


@pytest.mark.parametrize("stored", [
    "2026-05-01 12:00:00.000000", "2026-05-01 12:00:00.000001", "1999-12-31 23:59:59.999999",
    "2026-05-01 12:00:00", "2026-05-01T12:00:00.250000",
])
def test_sqlite_times_are_respelt_as_iso_spells_them(stored: str) -> None:
    parsed = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    assert sqlite_iso(stored) == timeline.iso(parsed)


@pytest.mark.parametrize("stored", [
    "2026-05-01 12:00:00", "2026-05-01 12:00:00.5", "2026-05-01 12:00:00.000001",
    "1999-12-31 23:59:59.99999", "2026-05-01 12:00:00.123456",
    "2026-05-01T12:00:00.5+00:00",  # not the ISO date style's spelling: parsed instead
])
def test_postgres_times_are_respelt_as_iso_spells_them(stored: str) -> None:
    parsed = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    assert postgres_time(stored) == f'"{timeline.iso(parsed)}"'
    assert postgres_time(None) == "null"


def test_a_rows_own_labels_and_variables_follow_every_change(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    host = led.register(meta, "host", {"name": "docs", "region_id": f["region"]["id"]},
                        variables={"b": 1, "a": {"x": [1, 2]}}, labels=["m", "c"])
    hid = host["id"]

    def mine() -> dict[str, Any]:
        items, expected = both_ways(services, kinds=("host",), details=True)
        assert items == expected
        return next(h for h in items if h["id"] == hid)

    assert (mine()["labels"], mine()["variables"]) == (["c", "m"], {"a": {"x": [1, 2]}, "b": 1})
    led.set_variables(meta, "host", hid, {"b": 2, "Z": None})
    led.add_labels(meta, "host", hid, ["a"])
    assert mine()["variables"] == {"Z": None, "a": {"x": [1, 2]}, "b": 2}
    led.update(meta, "host", hid, {"name": "renamed"})  # a new row version keeps them
    assert (mine()["name"], mine()["labels"]) == ("renamed", ["a", "c", "m"])
    led.delete_variables(meta, "host", hid, ["a", "b", "Z"])
    led.remove_labels(meta, "host", hid, ["a", "c", "m"])
    assert (mine()["labels"], mine()["variables"]) == ([], {})
    led.set_variables(meta, "host", hid, {"again": True})
    assert mine()["variables"] == {"again": True}
    assert replay.verify(services, batch_size=2).differences == []
    replay.rebuild(services, batch_size=3)
    assert mine()["variables"] == {"again": True}

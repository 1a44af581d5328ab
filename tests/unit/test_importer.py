"""Bulk import: batches obey the same rules as single commands."""

from __future__ import annotations

import pytest

from craton import replay
from craton.bootstrap import Services
from craton.domain.errors import HostNotActive, InvalidInput, NameTaken
from craton.domain.meta import Meta, system_meta
from craton.importer import import_fleet
from craton.projections import listing, timeline


def actor(svc: Services) -> Meta:
    project = svc.ledger.register(system_meta(), "project", {"name": "acme"})
    return Meta(actor_id=1, actor_name="importer", source="import",
                project_id=project["uuid"], reason="migration")


DOC = {
    "clouds": [{"name": "c1"}],
    "regions": [{"name": "r1", "cloud": "c1", "variables": {"dns": "10.0.0.2"}}],
    "cells": [{"name": "cell-a", "region": "r1"}],
    "instance-groups": [{"name": "db", "policy": "anti-affinity"}],
    "hosts": [{"name": f"h{n}", "region": "r1", "cell": "cell-a", "labels": ["gpu"],
               "variables": {"rack": n}, "facts": {"vcpus": 64}} for n in range(25)],
    "instances": [{"name": f"vm{n}", "host": f"h{n % 25}", "groups": ["db"] if n < 2 else []}
                  for n in range(60)],
}


def test_import_registers_everything_in_batches(memory_services: Services) -> None:
    meta = actor(memory_services)
    counts = import_fleet(memory_services.ledger, meta, DOC, batch_size=7)
    assert counts == {"clouds": 1, "regions": 1, "cells": 1, "instance-groups": 1,
                      "hosts": 25, "instances": 60}
    with memory_services.db.reading() as conn:
        rows, _ = listing.list_rows(conn, listing.ListQuery(
            kinds=("host",), labels=["gpu"], vars={"rack": 3}, limit=100))
        assert [r.name for r in rows] == ["h3"]
        # the defaults of fields the import left out are filled in, as for one host
        assert {k: rows[0].data[k] for k in ("active", "schedulable", "status")} == {
            "active": True, "schedulable": True, "status": "in-service"}
    assert replay.verify(memory_services).differences == []


def test_a_bad_batch_is_refused_whole(memory_services: Services) -> None:
    meta = actor(memory_services)
    with memory_services.db.reading() as conn:
        before = timeline.head(conn)
    bad = {**DOC, "hosts": [*DOC["hosts"], {"name": "h1", "region": "r1"}]}
    with pytest.raises(NameTaken):
        import_fleet(memory_services.ledger, meta, {k: bad[k] for k in
                                                    ("clouds", "regions", "cells", "hosts")},
                     batch_size=1000)
    with memory_services.db.reading() as conn:
        assert timeline.head(conn) == before  # all or nothing


def test_unknown_names_and_inactive_hosts_are_refused(memory_services: Services) -> None:
    meta = actor(memory_services)
    with pytest.raises(InvalidInput, match="no region named"):
        import_fleet(memory_services.ledger, meta, {"hosts": [{"name": "x", "region": "nope"}]})
    doc = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}],
           "hosts": [{"name": "off", "region": "r", "active": False}],
           "instances": [{"name": "vm", "host": "off"}]}
    with pytest.raises(HostNotActive):
        import_fleet(memory_services.ledger, meta, doc)


def test_mistyped_and_unknown_fields_are_refused(memory_services: Services) -> None:
    meta = actor(memory_services)
    base = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}]}
    with pytest.raises(InvalidInput, match="active: must be of type bool"):
        import_fleet(memory_services.ledger, meta,
                     {**base, "hosts": [{"name": "h", "region": "r", "active": "yes"}]})
    with pytest.raises(InvalidInput, match="colour: unknown field"):
        import_fleet(memory_services.ledger, meta,
                     {**base, "hosts": [{"name": "h", "region": "r", "colour": "red"}]})
    with memory_services.db.reading() as conn:
        rows, _ = listing.list_rows(conn, listing.ListQuery(kinds=("cloud",), limit=10))
        assert rows == []  # nothing of either import stayed


@pytest.mark.parametrize(("host", "said"), [
    ({"name": "n" * 256}, "name: may be at most 255 characters long"),
    ({"name": "h", "device_type": "d" * 65}, "device_type: may be at most 64 characters"),
    ({"name": "h", "cell_id": 2**70}, "cell_id: must name ids from 1 to"),
    ({"name": "h", "cell_id": 0}, "cell_id: must name ids from 1 to"),
])
def test_values_no_column_could_hold_are_refused_before_anything_is_written(
        memory_services: Services, host: dict[str, object], said: str) -> None:
    meta = actor(memory_services)
    base = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}]}
    with pytest.raises(InvalidInput, match=said):
        import_fleet(memory_services.ledger, meta,
                     {**base, "hosts": [{**host, "region": "r"}]})
    with memory_services.db.reading() as conn:
        rows, _ = listing.list_rows(conn, listing.ListQuery(kinds=("cloud",), limit=10))
        assert rows == []

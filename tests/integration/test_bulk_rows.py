"""Rows written in bulk (COPY on PostgreSQL) read back exactly as they were given."""

from __future__ import annotations

from craton import replay
from craton.bootstrap import Services
from craton.domain.meta import Meta, system_meta
from craton.importer import import_fleet
from craton.projections import listing
from craton.projections.tables import LIVE
from craton.projections.variables import values_of

AWKWARD = ["", "a,b", 'say "hi"', "line\nbreak", "carriage\rreturn", "tab\there",
           "back\\slash", "ünï", "NULL", "\\N", " spaced "]


def test_awkward_values_survive_bulk_writes(services: Services) -> None:
    project = services.ledger.register(system_meta(), "project", {"name": "p"})
    meta = Meta(actor_id=None, actor_name="import", source="import",
                project_id=project["uuid"])
    hosts = [{"name": f"h{n}", "region": "r", "note": AWKWARD[n % len(AWKWARD)],
              "active": n % 2 == 0,
              "variables": {"text": AWKWARD[n % len(AWKWARD)], "none": None,
                            "nested": {"q": '"', "list": [1, "x,y", None]}}}
             for n in range(120)]  # enough rows that PostgreSQL takes the COPY path
    import_fleet(services.ledger, meta, {
        "clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}], "hosts": hosts})
    with services.db.reading() as conn:
        rows, _ = listing.list_rows(conn, listing.ListQuery(kinds=("host",), limit=1000))
        by_name = {r.name: r for r in rows}
        values = values_of(conn, LIVE.variables, [r.id for r in rows], None)
    for given in hosts:
        row = by_name[given["name"]]
        assert row.data["note"] == given["note"]
        assert row.active is given["active"]
        assert values[row.id] == given["variables"]
    assert replay.verify(services).differences == []

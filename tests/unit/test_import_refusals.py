"""Bulk import, on SQLite and PostgreSQL: what a document may say, and what is refused.

Every refusal is one readable line and leaves nothing behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from craton.bootstrap import Services, bootstrap
from craton.cli import main
from craton.domain.errors import CycleError, DomainError, InvalidInput, NameTaken
from craton.domain.meta import Meta, system_meta
from craton.importer import import_fleet
from craton.projections import timeline
from craton.projections.tables import LIVE
from craton.settings import Settings


def importer(svc: Services, project_id: str | None = None) -> Meta:
    """An import's actor, into ``project_id`` or into a new project."""
    if project_id is None:
        project_id = str(svc.ledger.register(system_meta(), "project", {"name": "acme"})["uuid"])
    return Meta(actor_id=1, actor_name="importer", source="import", project_id=project_id,
                reason="migration")


def head(svc: Services) -> int:
    with svc.db.reading() as conn:
        return timeline.head(conn)


def live(svc: Services, kind: str) -> list[dict[str, Any]]:
    """The live resources of one kind: fields, id, name and project."""
    t = LIVE.resources
    with svc.db.reading() as conn:
        return [{**dict(d), "id": i, "name": n, "project_id": p}
                for i, n, p, d in conn.execute(
                    select(t.c.id, t.c.name, t.c.project_id, t.c.data)
                    .where(t.c.kind == kind, t.c.valid_to.is_(None)).order_by(t.c.id))]


def refused(svc: Services, meta: Meta, document: Any, error: type[DomainError], match: str,
            batch_size: int = 1000) -> None:
    """The import is refused with ``error`` matching ``match``, and writes nothing."""
    before = head(svc)
    with pytest.raises(error, match=match) as raised:
        import_fleet(svc.ledger, meta, document, batch_size=batch_size)
    assert "\n" not in raised.value.message
    assert head(svc) == before


SMALL = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": "c"}]}
TWO_R = {"clouds": [{"name": "ca"}, {"name": "cb"}],
         "regions": [{"name": "r", "cloud": "ca"}, {"name": "r", "cloud": "cb"}]}


# -- the project ---------------------------------------------------------------------------
@pytest.mark.parametrize(("project", "match"), [
    ("notauuid", "'notauuid' is not a project id"),
    ("00000000-0000-0000-0000-000000000000", "no project 00000000-0000-0000-0000-000000000000"),
])
def test_an_import_into_a_project_that_does_not_exist_is_refused(
        services: Services, project: str, match: str) -> None:
    refused(services, importer(services, project), SMALL, InvalidInput, match)
    assert head(services) == 0  # not even a cloud on a database with no projects


def test_an_import_into_a_deleted_project_is_refused(services: Services) -> None:
    meta = importer(services)
    t = LIVE.resources
    with services.db.reading() as conn:
        project = conn.execute(select(t.c.id).where(t.c.uuid == meta.project_id)).scalar_one()
    services.ledger.delete(system_meta(), "project", project)
    refused(services, meta, SMALL, InvalidInput, f"no project {meta.project_id}")


def test_a_project_id_in_capitals_names_the_same_project(services: Services) -> None:
    meta = importer(services)
    assert meta.project_id is not None
    import_fleet(services.ledger, importer(services, meta.project_id.upper()), SMALL)
    assert [(c["name"], c["project_id"]) for c in live(services, "cloud")] == [
        ("c", meta.project_id)]


# -- names are unique only within their scope ----------------------------------------------
def test_a_region_name_used_in_two_clouds_is_ambiguous_when_named_alone(
        services: Services) -> None:
    meta = importer(services)
    document = {**TWO_R, "cells": [{"name": "cell-x", "region": "r"}],
                "hosts": [{"name": "h", "region": "r"}]}
    refused(services, meta, document, InvalidInput,
            r"^region 'r' named by cell 'cell-x' is ambiguous: there is one in cloud 'ca' "
            r"and one in cloud 'cb'; name its cloud too$")


def test_the_cloud_or_the_cell_tells_which_region_is_meant(services: Services) -> None:
    meta = importer(services)
    document = {**TWO_R,
                "cells": [{"name": "cell-x", "region": "r", "cloud": "ca"},
                          {"name": "cell-y", "region": "r", "cloud": "cb"}],
                "hosts": [{"name": "h", "region": "r", "cloud": "ca"},
                          {"name": "h", "region": "r", "cell": "cell-y"}]}
    import_fleet(services.ledger, meta, document, batch_size=1)
    regions = {r["cloud_id"]: r["id"] for r in live(services, "region")}
    clouds = {c["name"]: c["id"] for c in live(services, "cloud")}
    in_a, in_b = regions[clouds["ca"]], regions[clouds["cb"]]
    assert [(c["name"], c["region_id"]) for c in live(services, "cell")] == [
        ("cell-x", in_a), ("cell-y", in_b)]
    assert [h["region_id"] for h in live(services, "host")] == [in_a, in_b]


def test_a_host_name_used_in_two_regions_is_ambiguous_for_an_instance(
        services: Services) -> None:
    meta = importer(services)
    document = {**TWO_R, "hosts": [{"name": "h", "region": "r", "cloud": "ca"},
                                   {"name": "h", "region": "r", "cloud": "cb"}],
                "instances": [{"name": "vm", "host": "h"}]}
    refused(services, meta, document, InvalidInput,
            r"^host 'h' named by instance 'vm' is ambiguous: there is one in region 'r' of "
            r"cloud 'ca' and one in region 'r' of cloud 'cb'; say which, as "
            r"\"host\": \{\"name\": \"h\", \"cloud\": \"ca\"\}$")


def test_names_in_stored_regions_are_told_apart_by_their_ids(services: Services) -> None:
    meta = importer(services)
    import_fleet(services.ledger, meta, {"clouds": [{"name": "c"}], "regions": [
        {"name": "r1", "cloud": "c"}, {"name": "r2", "cloud": "c"}]})
    r1, r2 = (r["id"] for r in live(services, "region"))
    hosts = [{"name": "h", "region_id": r1}, {"name": "h", "region_id": r2}]
    refused(services, meta, {"hosts": hosts, "instances": [{"name": "vm", "host": "h"}]},
            InvalidInput, rf"there is one in the region with id {r1} and one in the region "
            rf"with id {r2}; say which, as \"host\": \{{\"name\": \"h\", \"region_id\": {r1}\}}$")
    refused(services, meta, {"hosts": [hosts[0], hosts[0]]}, NameTaken,
            rf"^the import names more than one host 'h' in the region with id {r1}$")
    assert import_fleet(services.ledger, meta, {"hosts": hosts}) == {"hosts": 2}
    again = [{**h, "name": "h2"} for h in hosts]
    on_r2 = {"name": "vm", "host": {"name": "h2", "region_id": r2}}
    import_fleet(services.ledger, meta, {"hosts": again, "instances": [on_r2]})
    in_r2 = [h["id"] for h in live(services, "host") if (h["name"], h["region_id"]) == ("h2", r2)]
    assert [i["host_id"] for i in live(services, "instance")] == in_r2


# -- names twice in one scope, whatever the batch size --------------------------------------
@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_name_twice_in_one_scope_is_refused_whatever_the_batch_size(
        services: Services, batch_size: int) -> None:
    meta = importer(services)
    refused(services, meta, {"clouds": [{"name": "c7"}, {"name": "c8"}, {"name": "c7"}]},
            NameTaken, r"^the import names more than one cloud 'c7'$", batch_size)
    document = {**SMALL, "network-devices": [{"name": "d", "region": "r"}],
                "hosts": [{"name": "d", "region": "r"}]}
    refused(services, meta, document, NameTaken,
            r"^the import names more than one device 'd' in region 'r' of cloud 'c'$",
            batch_size)


def test_a_name_already_in_the_project_is_still_refused(services: Services) -> None:
    meta = importer(services)
    import_fleet(services.ledger, meta, {"clouds": [{"name": "c7"}]})
    refused(services, meta, {"clouds": [{"name": "c7"}]}, NameTaken, "clouds already exist: c7")


# -- references ------------------------------------------------------------------------------
def test_an_unknown_group_is_named_in_the_refusal(services: Services) -> None:
    meta = importer(services)
    refused(services, meta, {"instances": [{"name": "i", "groups": ["spread-0"]}]},
            InvalidInput, r"^instance 'i': no instance group named 'spread-0' in the import$")
    document = {"instance-groups": [{"name": "spread-1", "policy": "anti-affinity"}],
                "instances": [{"name": "i", "groups": ["spread-1", "spread-0"]}]}
    refused(services, meta, document, InvalidInput, "no instance group named 'spread-0'")


def test_groups_given_as_one_string_are_refused(services: Services) -> None:
    meta = importer(services)
    document = {"instance-groups": [{"name": "g", "policy": "affinity"}],
                "instances": [{"name": "i", "groups": "g2"}]}
    refused(services, meta, document, InvalidInput,
            r"^instance 'i': groups must be a list of names$")


def test_a_host_or_a_network_device_may_have_a_host_as_parent(services: Services) -> None:
    meta = importer(services)
    document = {**SMALL,
                "network-devices": [{"name": "sw", "region": "r", "parent": "h2"}],
                "hosts": [{"name": "h2", "region": "r", "parent": "ph1"},
                          {"name": "ph1", "region": "r"}]}
    counts = import_fleet(services.ledger, meta, document, batch_size=1)
    assert counts == {"clouds": 1, "regions": 1, "network-devices": 1, "hosts": 2}
    hosts = {h["name"]: h for h in live(services, "host")}
    assert hosts["h2"]["parent_id"] == hosts["ph1"]["id"]
    assert live(services, "network-device")[0]["parent_id"] == hosts["h2"]["id"]


def test_parents_that_go_round_in_a_circle_are_refused(services: Services) -> None:
    meta = importer(services)
    document = {**SMALL, "hosts": [{"name": "a", "region": "r", "parent": "b"},
                                   {"name": "b", "region": "r", "parent": "a"},
                                   {"name": "c", "region": "r", "parent": "c"}]}
    refused(services, meta, document, CycleError,
            r"^devices 'a', 'b', 'c' would each be their own ancestor$")


def test_a_circle_with_a_large_fleet_below_it_is_refused_at_once(services: Services) -> None:
    meta = importer(services)
    below = [{"name": f"h{n}", "region": "r", "parent": f"h{n - 1}" if n else "a"}
             for n in range(20_000)]
    document = {**SMALL, "hosts": [{"name": "a", "region": "r", "parent": "b"},
                                   {"name": "b", "region": "r", "parent": "a"}, *below]}
    refused(services, meta, document, CycleError,
            r"^devices 'a', 'b' would each be their own ancestor$")


def test_an_instance_on_a_network_device_is_refused(services: Services) -> None:
    meta = importer(services)
    document = {**SMALL, "network-devices": [{"name": "sw", "region": "r"}],
                "instances": [{"name": "vm", "host": "sw"}]}
    refused(services, meta, document, InvalidInput,
            r"^instance 'vm': 'sw' is a network device, not a host$")


# -- the document's shape ----------------------------------------------------------------------
BAD_SHAPES: list[tuple[Any, str]] = [
    ([], "the import document must be a JSON object"),
    (None, "the import document must be a JSON object"),
    ("str", "the import document must be a JSON object"),
    ({"servers": []}, "cannot import servers: an import holds clouds, regions, cells, "),
    ({"clouds": 5}, "'clouds' must be a list of objects"),
    ({"clouds": None}, "'clouds' must be a list of objects"),
    ({"clouds": ["x"]}, "'clouds' must be a list of objects: item 1 is not"),
    ({"clouds": [{"name": ["c4"]}]}, "clouds item 1: 'name' must be a string"),
    ({"clouds": [{"name": "c4"}], "regions": [{"name": "r", "cloud": ["c4"]}]},
     "region 'r': 'cloud' must be a name"),
    ({"clouds": [{"name": "x", "variables": 5}]}, "cloud 'x': 'variables' must be an object"),
    ({"hosts": [{"name": "h", "facts": [1]}]}, "host 'h': 'facts' must be an object"),
    ({"hosts": [{"name": "h", "labels": "gpu"}]}, "host 'h': 'labels' must be a list"),
    ({"clouds": [{"name": "c", "region": "r"}]}, "invalid cloud: region: unknown field"),
    ({"clouds": [{"name": "c", "groups": ["g"]}]}, "invalid cloud: groups: unknown field"),
    ({"hosts": [{"name": "h", "region": "r", "region_id": 3}]},
     "host 'h': give 'region' or 'region_id', not both"),
]


@pytest.mark.parametrize(("document", "message"), BAD_SHAPES)
def test_a_badly_shaped_document_is_refused_in_one_line(
        services: Services, document: Any, message: str) -> None:
    refused(services, importer(services), document, InvalidInput, "^" + message)


def test_the_command_says_what_is_wrong_in_one_line_and_exits_2(
        database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svc = bootstrap(Settings(database_url=database_url))
    project_id = importer(svc).project_id
    svc.close()
    assert project_id is not None
    path = tmp_path / "fleet.json"
    lines = []
    for document, project in [([], project_id), ({"clouds": ["x"]}, project_id),
                              (TWO_R | {"cells": [{"name": "cx", "region": "r"}]}, project_id),
                              (SMALL, "notauuid"),
                              (SMALL, "00000000-0000-0000-0000-000000000000")]:
        path.write_text(json.dumps(document))
        assert main(["--database-url", database_url, "import", str(path),
                     "--project", project, "--batch-size", "1"]) == 2
        lines += capsys.readouterr().err.splitlines()
    assert lines == [
        "craton: the import document must be a JSON object",
        "craton: 'clouds' must be a list of objects: item 1 is not",
        "craton: region 'r' named by cell 'cx' is ambiguous: there is one in cloud 'ca' "
        "and one in cloud 'cb'; name its cloud too",
        "craton: 'notauuid' is not a project id (a UUID)",
        "craton: no project 00000000-0000-0000-0000-000000000000",
    ]


def test_a_reference_of_the_wrong_type_is_refused_as_such_not_as_a_name_twice(
        services: Services) -> None:
    meta = importer(services)
    hosts = [{"name": "h", "region_id": True}, {"name": "h", "region_id": True}]
    before = head(services)
    with pytest.raises(DomainError) as raised:
        import_fleet(services.ledger, meta, {"hosts": hosts})
    assert not isinstance(raised.value, NameTaken), raised.value.message
    assert "region_id" in raised.value.message and "\n" not in raised.value.message
    assert head(services) == before

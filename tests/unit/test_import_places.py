"""Bulk import, on SQLite and PostgreSQL: a name used in several regions means the item
in the referring item's own region, or the one its reference says where to find.
"""

from __future__ import annotations

from typing import Any

import pytest

from craton.bootstrap import Services
from craton.domain.errors import InvalidInput
from craton.importer import import_fleet
from tests.unit.test_import_refusals import importer, live, refused

# Two regions of one cloud, each with a cell, a top-of-rack switch "tor", a management
# network "mgmt" and a host "cmp-1": the names every region of a fleet reuses.
REGIONS = ("r1", "r2")
FLEET: dict[str, list[dict[str, Any]]] = {
    "clouds": [{"name": "c"}],
    "regions": [{"name": r, "cloud": "c"} for r in REGIONS],
    "cells": [{"name": f"cell-{r}", "region": r} for r in REGIONS],
    "networks": [{"name": "mgmt", "region": r} for r in REGIONS],
    "network-devices": [{"name": "tor", "region": r} for r in REGIONS],
    "hosts": [{"name": "cmp-1", "region": r, "cell": f"cell-{r}", "parent": "tor"}
              for r in REGIONS],
}


def ids(svc: Services, kind: str) -> dict[tuple[str, int], int]:
    """Each live item of ``kind`` by (name, region id): its id."""
    return {(r["name"], r["region_id"]): r["id"] for r in live(svc, kind)}


def regions(svc: Services) -> list[int]:
    return [r["id"] for r in live(svc, "region")]


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_parent_named_in_every_region_is_the_one_in_the_hosts_region(
        services: Services, batch_size: int) -> None:
    import_fleet(services.ledger, importer(services), FLEET, batch_size=batch_size)
    tors = ids(services, "network-device")
    assert {h["region_id"]: h["parent_id"] for h in live(services, "host")} == {
        r: tors["tor", r] for r in regions(services)}


def test_an_interfaces_network_is_the_one_in_its_devices_region(services: Services) -> None:
    document = {**FLEET, "network-interfaces": [
        {"name": "eth0", "network": "mgmt", "device": {"name": "cmp-1", "region": r}}
        for r in REGIONS]}
    import_fleet(services.ledger, importer(services), document)
    hosts, networks = ids(services, "host"), ids(services, "network")
    assert sorted((i["device_id"], i["network_id"]) for i in live(services, "network-interface")
                  ) == sorted((hosts["cmp-1", r], networks["mgmt", r]) for r in regions(services))


def test_an_instance_says_in_which_region_its_host_is(services: Services) -> None:
    document = {**FLEET, "instances": [{"name": "vm", "host": {"name": "cmp-1", "region": "r2"}}]}
    import_fleet(services.ledger, importer(services), document)
    r2 = regions(services)[1]
    assert [i["host_id"] for i in live(services, "instance")] == [
        ids(services, "host")["cmp-1", r2]]


def test_a_reference_may_name_a_place_in_another_region(services: Services) -> None:
    document = {**FLEET, "hosts": [
        {"name": "cmp-1", "region": "r1", "parent": {"name": "tor", "region": "r2"}}]}
    import_fleet(services.ledger, importer(services), document)
    r2 = regions(services)[1]
    assert [h["parent_id"] for h in live(services, "host")] == [
        ids(services, "network-device")["tor", r2]]


def test_a_host_named_in_two_regions_asks_the_instance_to_say_which(
        services: Services) -> None:
    refused(services, importer(services), {**FLEET, "instances": [{"name": "vm", "host": "cmp-1"}]},
            InvalidInput,
            r"^host 'cmp-1' named by instance 'vm' is ambiguous: there is one in region 'r1' of "
            r"cloud 'c' and one in region 'r2' of cloud 'c'; say which, as "
            r"\"host\": \{\"name\": \"cmp-1\", \"region\": \"r1\"\}$")


def test_a_parent_in_neither_the_hosts_region_nor_one_place_is_ambiguous(
        services: Services) -> None:
    document = {**FLEET, "regions": [*FLEET["regions"], {"name": "r3", "cloud": "c"}],
                "hosts": [{"name": "h", "region": "r3", "parent": "tor"}]}
    refused(services, importer(services), document, InvalidInput,
            r"^network device 'tor' named by host 'h' is ambiguous: there is one in region "
            r"'r1' of cloud 'c' and one in region 'r2' of cloud 'c'; say which, as "
            r"\"parent\": \{\"name\": \"tor\", \"region\": \"r1\"\}$")


def test_a_place_that_holds_no_item_of_that_name_is_refused(services: Services) -> None:
    document = {**FLEET, "instances": [{"name": "vm", "host": {"name": "cmp-1", "cell": "r2"}}]}
    refused(services, importer(services), document, InvalidInput,
            r"^instance 'vm': no host named 'cmp-1' in cell 'r2' in the import$")


BAD_REFERENCES: list[tuple[Any, str]] = [
    ({"region": "r1"}, "instance 'vm': 'host' needs a \"name\" \\(a string\\)"),
    ({"name": "cmp-1", "rack": "7"},
     "instance 'vm': 'host' may give name, cloud, region, cell, cloud_id, region_id, "
     "cell_id: not 'rack'"),
    ({"name": "cmp-1", "region": 1}, "instance 'vm': 'host': 'region' must be a name"),
    ({"name": "cmp-1", "region_id": "r1"},
     "instance 'vm': 'host': 'region_id' must be an id \\(a whole number\\)"),
    (["cmp-1"], "instance 'vm': 'host' must be a name \\(a string\\) or an object such as "),
]


@pytest.mark.parametrize(("host", "message"), BAD_REFERENCES)
def test_a_badly_shaped_reference_is_refused_in_one_line(
        services: Services, host: Any, message: str) -> None:
    document = {**FLEET, "instances": [{"name": "vm", "host": host}]}
    refused(services, importer(services), document, InvalidInput, "^" + message)


def test_a_cloud_is_named_alone(services: Services) -> None:
    document = {"clouds": [{"name": "c"}], "regions": [{"name": "r", "cloud": {"name": "c"}}]}
    refused(services, importer(services), document, InvalidInput,
            r"^region 'r': 'cloud' must be a name \(a string\)$")

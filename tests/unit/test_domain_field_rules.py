"""Field rules the domain enforces for every way in (API, importer, demo)."""

from __future__ import annotations

import pytest

from craton.domain import rules
from craton.domain.errors import HasChildren, InvalidInput
from craton.domain.inventory import Instance, Network
from craton.domain.kinds import KINDS
from craton.domain.validation import check_fields


@pytest.mark.parametrize(("kind", "fields", "named"), [
    ("host", {"ip_address": "10.0.0.256"}, "ip_address"),
    ("network", {"cidr": "10.0.0.0"}, "cidr"),
    ("network", {"netmask": "0.0.0.255"}, "netmask"),
    ("network-device", {"vlans": [0, 10]}, "vlans"),
    ("network-device", {"vlans": ["10"]}, "vlans"),
    ("network-interface", {"port": 65536}, "port"),
    ("instance", {"disk_gb": -1}, "disk_gb"),
    ("instance", {"memory_mb": 2**31}, "memory_mb"),
])
def test_a_field_out_of_range_or_format_is_named(kind, fields, named):
    with pytest.raises(InvalidInput) as refused:
        check_fields(KINDS[kind], fields, creating=False)
    assert set(refused.value.errors) == {named}


def test_a_network_registered_with_a_gateway_outside_its_cidr_is_refused():
    with pytest.raises(InvalidInput) as refused:
        Network.register({}, "p", {"name": "n", "region_id": 1, "cidr": "10.0.0.0/24",
                                   "gateway": "10.9.0.1"}, fields_checked=True)
    assert set(refused.value.errors) == {"gateway"}


def test_a_stored_inconsistency_does_not_block_a_change_of_other_fields():
    net = Network({}, "p", {"name": "n", "region_id": 1, "cidr": "10.0.0.0/24",
                            "gateway": "10.9.0.1"}, {}, [])
    net.update({}, {"nss": "kept as imported"})
    assert net.fields["nss"] == "kept as imported"


def test_an_instance_with_a_negative_vcpu_count_is_refused():
    with pytest.raises(InvalidInput):
        Instance.register({}, "p", {"name": "vm", "vcpus": -1})


def test_a_cell_with_hosts_may_not_change_region_but_may_be_renamed():
    cell = KINDS["cell"]
    fields = {"name": "c", "region_id": 1, "cloud_id": 9}
    assert rules.moved_fields(cell, fields, {"name": "d", "region_id": 1}) == []
    moved = rules.moved_fields(cell, fields, {"region_id": 2})
    with pytest.raises(HasChildren, match="2 hosts, 1 network"):
        rules.check_movable({"kind": "cell", "name": "c"}, moved,
                            {"host": 2, "network": 1})
    rules.check_movable({"kind": "cell", "name": "c"}, moved, {})


def test_only_regions_and_cells_hand_their_location_to_dependents():
    assert rules.copying_reference(KINDS["region"]) == "region_id"
    assert rules.copying_reference(KINDS["cell"]) == "cell_id"
    assert rules.copying_reference(KINDS["host"]) is None

"""The aggregates on their own: decisions and the events they record."""

from __future__ import annotations

import pytest

from craton.domain.errors import InvalidInput, NotFound
from craton.domain.inventory import Host, Instance
from craton.domain.meta import Meta

META = Meta(actor_id=1, actor_name="alice", source="cli", project_id="p").as_dict()


def host(**fields: object) -> Host:
    h = Host.register(META, "p", {"name": "h1", "region_id": 3, **fields})
    assert isinstance(h, Host)
    return h


def names(aggregate: Host | Instance) -> list[str]:
    return [type(e).__qualname__.split(".")[-1] for e in aggregate.collect_events()]


def test_registered_host_carries_defaults_and_metadata() -> None:
    h = host()
    events = h.collect_events()
    assert h.fields["active"] is True
    assert events[0].meta["actor_name"] == "alice"  # type: ignore[attr-defined]


def test_no_op_changes_record_nothing() -> None:
    h = host()
    h.collect_events()
    h.update(META, {"name": "h1"})
    h.add_labels(META, [])
    h.delete_variables(META, ["absent"])
    assert names(h) == []


def test_every_change_is_an_event_in_order() -> None:
    h = host()
    h.set_variables(META, {"a": 1})
    h.add_labels(META, ["gpu"])
    h.remove_labels(META, ["gpu"])
    h.record_facts(META, {"memory_total_mb": 1024})
    h.delete(META)
    assert names(h) == ["Registered", "VariablesSet", "LabelsAdded", "LabelsRemoved",
                        "FactsRecorded", "Deleted"]


def test_unknown_and_mistyped_fields_are_all_listed() -> None:
    with pytest.raises(InvalidInput) as err:
        Host.register(META, "p", {"name": 5, "colour": "red"})
    assert set(err.value.errors) == {"name", "colour", "region_id"}


def test_deleted_resource_refuses_changes() -> None:
    h = host()
    h.delete(META)
    with pytest.raises(NotFound):
        h.set_variables(META, {"a": 1})


def test_actor_is_required() -> None:
    with pytest.raises(InvalidInput):
        Meta(actor_id=None, actor_name="", source="api")


def test_instance_placement_records_where_from() -> None:
    vm = Instance.register(META, "p", {"name": "vm", "host_id": 5})
    assert isinstance(vm, Instance)
    vm.collect_events()
    vm.place(META, 9)
    (placed,) = vm.collect_events()
    assert (placed.from_host_id, placed.host_id) == (5, 9)  # type: ignore[attr-defined]

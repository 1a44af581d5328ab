"""The ledger's rules, on in-memory persistence."""

from __future__ import annotations

from uuid import UUID

import pytest
from sqlalchemy import func, select

from craton.bootstrap import Services
from craton.domain.errors import (
    CycleError,
    HasChildren,
    HostNotActive,
    InvalidInput,
    InvalidReference,
    NameTaken,
    NotFound,
    VersionMismatch,
)
from craton.domain.meta import Meta, system_meta
from craton.projections.tables import LIVE
from tests.conftest import make_fleet


def counts(svc: Services) -> tuple[int, ...]:
    with svc.db.reading() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in LIVE.rebuildable)


def test_names_are_unique_per_region(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta = memory_services.ledger, f["meta"]
    with pytest.raises(NameTaken):
        led.register(meta, "host", {"name": "host-1", "region_id": f["region"]["id"]})
    other = led.register(meta, "region", {"name": "region-2", "cloud_id": f["cloud"]["id"]})
    led.register(meta, "host", {"name": "host-1", "region_id": other["id"]})


def test_references_must_exist_in_the_same_project(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led = memory_services.ledger
    other = led.register(system_meta(), "project", {"name": "other"})
    meta = Meta(actor_id=2, actor_name="eve", source="api", project_id=other["uuid"])
    with pytest.raises(InvalidReference) as err:
        led.register(meta, "cell", {"name": "x", "region_id": f["region"]["id"]})
    assert "region_id" in err.value.errors


def test_cell_outside_the_region_is_refused(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta = memory_services.ledger, f["meta"]
    other = led.register(meta, "region", {"name": "region-2", "cloud_id": f["cloud"]["id"]})
    with pytest.raises(InvalidReference):
        led.register(meta, "host", {"name": "h", "region_id": other["id"],
                                    "cell_id": f["cell"]["id"]})


def test_parent_never_forms_a_cycle(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta = memory_services.ledger, f["meta"]
    child = led.register(meta, "host", {"name": "child", "region_id": f["region"]["id"],
                                        "parent_id": f["host"]["id"]})
    with pytest.raises(CycleError):
        led.update(meta, "host", f["host"]["id"], {"parent_id": child["id"]})
    with pytest.raises(CycleError):
        led.update(meta, "host", child["id"], {"parent_id": child["id"]})


def test_nothing_with_children_can_be_deleted(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta = memory_services.ledger, f["meta"]
    with pytest.raises(HasChildren, match="cell-1"):
        led.delete(meta, "region", f["region"]["id"])
    with pytest.raises(HasChildren):
        led.delete(system_meta(), "project", f["project"]["id"])


def test_instances_only_land_on_active_hosts(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta = memory_services.ledger, f["meta"]
    led.update(meta, "host", f["host"]["id"], {"active": False})
    with pytest.raises(HostNotActive):
        led.register(meta, "instance", {"name": "vm", "host_id": f["host"]["id"]})


def test_stale_expected_version_is_refused(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta, host = memory_services.ledger, f["meta"], f["host"]
    led.set_variables(meta, "host", host["id"], {"a": 1}, expected_version=1)
    with pytest.raises(VersionMismatch):
        led.set_variables(meta, "host", host["id"], {"a": 2}, expected_version=1)


def test_refused_commands_change_nothing(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta = memory_services.ledger, f["meta"]
    before = counts(memory_services)
    for bad in (
        lambda: led.register(meta, "host", {"name": "host-1", "region_id": f["region"]["id"]}),
        lambda: led.delete(meta, "cloud", f["cloud"]["id"]),
        lambda: led.set_variables(meta, "host", 999_999, {"a": 1}),
        lambda: led.register(meta, "host", {"name": "", "region_id": "x"}),
        lambda: led.register(system_meta(), "cloud", {"name": "no project"}),
    ):
        with pytest.raises((NameTaken, HasChildren, NotFound, InvalidInput, InvalidReference)):
            bad()
    assert counts(memory_services) == before


def test_crash_before_commit_leaves_no_events_and_no_rows(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    svc = memory_services
    before = counts(svc)

    def boom(conn: object, recordings: object, pending: object) -> None:
        raise RuntimeError("power cut")

    svc.ledger.after_save.append(boom)
    with pytest.raises(RuntimeError):
        svc.ledger.set_variables(f["meta"], "host", f["host"]["id"], {"a": 1})
    svc.ledger.after_save.remove(boom)
    assert counts(svc) == before
    with svc.db.reading() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM craton_events").scalar_one()
    assert stored == before[LIVE.rebuildable.index(LIVE.events)]


def test_other_projects_resources_are_not_found(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led = memory_services.ledger
    other = led.register(system_meta(), "project", {"name": "other"})
    meta = Meta(actor_id=2, actor_name="eve", source="api", project_id=other["uuid"])
    with pytest.raises(NotFound):
        led.set_variables(meta, "host", f["host"]["id"], {"a": 1})


def test_a_rolled_back_write_leaves_no_cached_state_behind(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta, host = memory_services.ledger, f["meta"], f["host"]
    with pytest.raises(RuntimeError):
        with memory_services.db.writing():
            led.set_variables(meta, "host", host["id"], {"a": 1})
            led.set_variables(meta, "host", host["id"], {"b": 2})  # loads the cached aggregate
            raise RuntimeError("the rest of the command failed")
    led.set_variables(meta, "host", host["id"], {"c": 3})
    assert led.aggregate(UUID(host["uuid"])).variables == {"c": 3}


def test_a_rolled_back_write_forgets_only_what_it_saved(memory_services: Services) -> None:
    f = make_fleet(memory_services)
    led, meta, host, cell = memory_services.ledger, f["meta"], f["host"], f["cell"]
    led.set_variables(meta, "cell", cell["id"], {"kept": True})  # caches the cell
    cache = led.repository.cache
    assert cache is not None
    cache.get(UUID(cell["uuid"]))  # raises KeyError if it was not cached
    with pytest.raises(RuntimeError):
        with memory_services.db.writing():
            led.set_variables(meta, "host", host["id"], {"a": 1})
            led.set_variables(meta, "host", host["id"], {"b": 2})
            raise RuntimeError("the rest of the command failed")
    cache = led.repository.cache
    assert cache is not None
    cache.get(UUID(cell["uuid"]))  # the cell's cached state was true, and is kept
    with pytest.raises(KeyError):
        cache.get(UUID(host["uuid"]))
    assert led.aggregate(UUID(host["uuid"])).variables == {}


def test_every_fiftieth_version_of_a_resource_is_snapshotted(memory_services: Services) -> None:
    svc = memory_services
    f = make_fleet(svc)
    host = f["host"]
    for i in range(60):
        svc.ledger.set_variables(f["meta"], "host", host["id"], {"n": i})  # type: ignore[arg-type,index]
    snapshots = svc.ledger.snapshots
    assert snapshots is not None
    with svc.db.writing():  # the store reads through the write session
        taken = [s.originator_version
                 for s in snapshots.get(UUID(host["uuid"]))]  # type: ignore[index]
    assert taken == [50]
    assert svc.ledger.aggregate(UUID(host["uuid"])).version == 61  # type: ignore[index]

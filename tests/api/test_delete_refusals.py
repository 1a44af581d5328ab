"""A resource that others still refer to is not deleted; the 409 says how many do."""

from __future__ import annotations

from .conftest import build_fleet, ok


def test_a_cell_with_hosts_names_some_and_counts_all(root):
    fleet = build_fleet(root)
    scoped, cell = fleet["root"], fleet["cell"]
    for n in range(6):
        ok(scoped.post("/v1/hosts", json={"name": f"more-{n}", "region_id": fleet["region"]["id"],
                                          "cell_id": cell["id"]}), 201)
    answer = scoped.delete(f"/v1/cells/{cell['id']}")
    assert answer.status_code == 409, answer.text
    said = answer.json["message"]
    assert said.startswith(f"cell {cell['name']!r} still has 7 dependents: host ")
    assert said.endswith(" and 2 more")
    assert ok(scoped.get(f"/v1/cells/{cell['id']}"))["id"] == cell["id"]  # not deleted


def test_one_dependent_is_named_alone(root):
    fleet = build_fleet(root)
    scoped, cell, host = fleet["root"], fleet["cell"], fleet["host"]
    answer = scoped.delete(f"/v1/cells/{cell['id']}")
    assert answer.status_code == 409, answer.text
    assert answer.json["message"] == (f"cell {cell['name']!r} still has 1 dependent: "
                                      f"host {host['name']!r} ({host['id']})")

"""Sorting a listing: only by keys its kind has, and paging that ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import falcon.testing
import pytest

from craton.api import create_app
from craton.api.auth import create_root
from craton.bootstrap import Services

from .conftest import Caller, build_fleet, ok


@pytest.fixture
def fleet_each_db(services: Services) -> Iterator[dict[str, Any]]:
    """A small fleet on SQLite and on PostgreSQL."""
    client = falcon.testing.TestClient(create_app(services))
    yield build_fleet(Caller(client, {"Authorization": f"Bearer {create_root(services)}"}))


def pages(caller: Caller, path: str) -> list[list[int]]:
    """Every page of a listing, following ``next`` links (at most ten)."""
    out: list[list[int]] = []
    while path and len(out) < 10:
        body = ok(caller.get(path))
        plural = next(k for k in body if k != "links")
        out.append([item["id"] for item in body[plural]])
        path = next((link["href"] for link in body["links"] if link["rel"] == "next"), "")
        path = path[path.index("/v1/"):] if path else ""
    return out


@pytest.mark.parametrize("plural", ["cells", "instances", "clouds", "networks"])
def test_sorting_by_a_field_the_kind_lacks_is_refused(fleet_each_db, plural):
    answer = fleet_each_db["root"].get(f"/v1/{plural}?limit=3&sort_keys=active")
    assert answer.status_code == 400, answer.text
    assert "sort_keys" in answer.json["errors"]


def test_a_device_listing_may_be_sorted_by_active_and_every_page_comes_once(fleet_each_db):
    member, region = fleet_each_db["root"], fleet_each_db["region"]["id"]
    for n in range(5):
        ok(member.post("/v1/hosts", json={"name": f"h{n}", "region_id": region,
                                          "active": n % 2 == 0}), 201)
    for direction in ("asc", "desc"):
        seen = pages(member, f"/v1/hosts?limit=2&sort_keys=active&sort_dir={direction}")
        ids = [i for page in seen for i in page]
        assert len(ids) == 6 and len(set(ids)) == 6, seen


def test_cells_sorted_by_name_page_through_every_cell(fleet_each_db):
    member, region = fleet_each_db["root"], fleet_each_db["region"]["id"]
    for n in range(4):
        ok(member.post("/v1/cells", json={"name": f"c{n}", "region_id": region}), 201)
    for direction in ("asc", "desc"):
        seen = pages(member, f"/v1/cells?limit=3&sort_keys=name&sort_dir={direction}")
        assert sorted(i for page in seen for i in page) == sorted(
            c["id"] for c in ok(member.get("/v1/cells?limit=100"))["cells"])

"""Variables (own, resolved, blamed), labels and facts."""

from __future__ import annotations

import json

import pytest

from craton.domain.meta import system_meta

from .conftest import ok


def test_resolved_variables_walk_the_chain_and_blame_says_where(member, fleet, root):
    root.put(f"/v1/projects/{fleet['pid']}/variables", json={"variables": {"p": 1, "z": 0}})
    member.put(f"/v1/regions/{fleet['region']['id']}/variables",
               json={"variables": {"r": 2, "z": 1}})
    member.put(f"/v1/cells/{fleet['cell']['id']}/variables", json={"variables": {"z": 2}})
    path = f"/v1/hosts/{fleet['host']['id']}/variables"
    member.put(path, json={"variables": {"h": 3}})
    body = ok(member.get(path + "?blame=true"))
    assert body["resolved"] is True
    assert body["variables"] == {"p": 1, "r": 2, "z": 2, "h": 3}
    assert body["blame"]["z"] == {"type": "cell", "id": fleet["cell"]["id"],
                                  "name": fleet["cell"]["name"]}
    assert body["blame"]["p"]["id"] == fleet["pid"]
    own = ok(member.get(path + "?resolved-values=false"))
    assert own == {"variables": {"h": 3}, "resolved": False}


def test_put_replaces_values_whole_and_delete_removes_keys(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}/variables"
    ok(member.put(path, json={"variables": {"a": {"x": 1, "y": 2}, "b": 1}}))
    after = ok(member.put(path, json={"variables": {"a": {"x": 9}}}))
    assert after == {"variables": {"a": {"x": 9}, "b": 1}, "resolved": False}
    gone = ok(member.delete(path, json={"variables": ["b", "absent"]}))
    assert gone["variables"] == {"a": {"x": 9}}


def test_variables_body_is_validated(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}/variables"
    assert "variables" in ok(member.put(path, json={"variables": [1]}), 400)["errors"]
    assert "extra" in ok(member.put(path, json={"variables": {}, "extra": 1}), 400)["errors"]
    assert ok(member.delete(path, json={"variables": {"a": 1}}), 400)


def test_labels_add_remove_and_filter(member, fleet):
    host = fleet["host"]["id"]
    path = f"/v1/hosts/{host}/labels"
    assert ok(member.put(path, json={"labels": ["b", "a"]})) == {"labels": ["a", "b"]}
    assert ok(member.put(path, json={"labels": ["c"]})) == {"labels": ["a", "b", "c"]}
    assert ok(member.delete(path, json={"labels": ["b"]})) == {"labels": ["a", "c"]}
    assert ok(member.get(path)) == {"labels": ["a", "c"]}
    assert [h["id"] for h in ok(member.get("/v1/hosts?label=a&label=c"))["hosts"]] == [host]
    assert ok(member.get("/v1/hosts?label=a&label=b"))["hosts"] == []
    assert ok(member.put(path, json={"labels": [""]}), 400)
    assert member.get(f"/v1/regions/{fleet['region']['id']}/labels").status_code == 404


def test_vars_filter_matches_own_or_resolved_values(member, fleet):
    member.put(f"/v1/regions/{fleet['region']['id']}/variables",
               json={"variables": {"zone": "a"}})
    member.put(f"/v1/hosts/{fleet['host']['id']}/variables", json={"variables": {"tier": 3}})
    assert ok(member.get('/v1/hosts?vars=zone:"a"'))["hosts"] == []
    hit = ok(member.get('/v1/hosts?vars=zone:"a",tier:3&resolved-values=true'))["hosts"]
    assert [h["id"] for h in hit] == [fleet["host"]["id"]]
    assert len(ok(member.get("/v1/hosts?vars=tier:3"))["hosts"]) == 1
    assert "vars" in ok(member.get("/v1/hosts?vars=zone:a"), 400)["errors"]


@pytest.mark.parametrize(("value", "asked"), [(True, "1"), (1.0, "1"), (1, "true"),
                                               ([1], "[true]")])
def test_vars_filter_compares_inherited_values_as_it_compares_own_ones(member, fleet, value,
                                                                      asked):
    member.put(f"/v1/hosts/{fleet['host']['id']}/variables", json={"variables": {"k": value}})
    for resolved in ("false", "true"):
        found = ok(member.get("/v1/hosts", params={"vars": f"k:{asked}",
                                                   "resolved-values": resolved}))
        assert found["hosts"] == [], resolved
        same = ok(member.get("/v1/hosts", params={"vars": f"k:{json.dumps(value)}",
                                                  "resolved-values": resolved}))
        assert [h["id"] for h in same["hosts"]] == [fleet["host"]["id"]], resolved


def test_facts_are_read_only_and_apart_from_variables(svc, member, fleet):
    host = fleet["host"]["id"]
    meta = system_meta(source="import").for_project(fleet["pid"])
    svc.ledger.record_facts(meta, "host", host, {"vcpus": 64})
    assert ok(member.get(f"/v1/hosts/{host}/facts")) == {"facts": {"vcpus": 64}}
    assert ok(member.get(f"/v1/hosts/{host}/variables"))["variables"] == {}
    assert member.put(f"/v1/hosts/{host}/facts", json={"facts": {}}).status_code == 405


def test_nested_reads_and_writes_carry_the_version_and_position(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}/variables"
    before = member.get(path)
    etag, position = before.headers["ETag"], int(before.headers["X-Craton-Position"])
    put = member.put(path, json={"variables": {"k": 1}}, headers={"If-Match": etag})
    ok(put)
    assert put.headers["ETag"] != etag
    after = member.get(path)
    assert after.headers["ETag"] == put.headers["ETag"]
    assert int(after.headers["X-Craton-Position"]) > position
    stale = member.put(path, json={"variables": {"k": 2}}, headers={"If-Match": etag})
    assert ok(stale, 412)
    labels = member.get(f"/v1/hosts/{fleet['host']['id']}/labels")
    assert labels.headers["ETag"] == put.headers["ETag"]  # one version per host


def test_an_inherited_value_nothing_holds_is_answered_without_resolving(
        member, fleet, monkeypatch):
    from craton.projections import listing

    member.put(f"/v1/regions/{fleet['region']['id']}/variables",
               json={"variables": {"zone": "a"}})

    def resolving(*args, **kwargs):
        raise AssertionError("resolved every row for a value nothing holds")

    monkeypatch.setattr(listing, "resolved_values", resolving)
    found = ok(member.get('/v1/hosts?vars=zone:"b"&resolved-values=true'))
    assert found["hosts"] == []
    past = ok(member.get('/v1/hosts?vars=zone:"a"&resolved-values=true&as_of=@1'))
    assert past["hosts"] == []  # (held now, by nothing then)
